#include "builder/solver/build_flags.h"

#include <arpa/inet.h>
#include <sys/utsname.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string_view>

namespace latchkey::build {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string NormaliseArch(const std::string& a) {
  if (a == "x86_64" || a == "x86-64" || a == "amd64") return "amd64";
  if (a == "aarch64" || a == "arm64") return "arm64";
  if (a == "i386" || a == "i686" || a == "386") return "386";
  return a;
}

// containerd's platforms.Parse, reduced: "os/arch[/variant]", "arch" (linux), "local".
std::string NormalisePlatform(std::string_view v) {
  std::string s = Lower(v);
  if (s == "local") return NativePlatform();
  std::vector<std::string> parts;
  size_t i = 0;
  for (;;) {
    size_t j = s.find('/', i);
    parts.push_back(s.substr(i, j == std::string::npos ? std::string::npos : j - i));
    if (j == std::string::npos) break;
    i = j + 1;
  }
  if (parts.size() == 1) return "linux/" + NormaliseArch(parts[0]);
  std::string out = parts[0] + "/" + NormaliseArch(parts[1]);
  // amd64's v1 variant is plain amd64; arm64's v8 is plain arm64 (containerd's Normalize).
  if (parts.size() > 2 && !((parts[1] == "amd64" && parts[2] == "v1") ||
                            (NormaliseArch(parts[1]) == "arm64" && parts[2] == "v8"))) {
    for (size_t k = 2; k < parts.size(); ++k) out += "/" + parts[k];
  }
  return out;
}

bool ValidIp(const std::string& ip) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, ip.c_str(), buf) == 1 || ::inet_pton(AF_INET6, ip.c_str(), buf) == 1;
}

}  // namespace

std::string NativePlatform() {
  struct utsname u;
  std::string arch = ::uname(&u) == 0 ? NormaliseArch(u.machine) : "amd64";
  return "linux/" + arch;
}

Result<std::string> ParsePlatforms(const std::vector<std::string>& values) {
  const std::string native = NativePlatform();
  for (const auto& v : values) {
    size_t i = 0;
    for (;;) {
      size_t j = v.find(',', i);
      std::string one = v.substr(i, j == std::string::npos ? std::string::npos : j - i);
      if (!one.empty()) {
        std::string p = NormalisePlatform(one);
        if (p != native) {
          return FailedPreconditionError("no emulation for " + p + " on this host");
        }
      }
      if (j == std::string::npos) break;
      i = j + 1;
    }
  }
  return native;
}

Result<executor::ExtraHost> ParseAddHost(std::string_view value) {
  const std::string v(value);
  size_t sep = v.find('=');
  if (sep == std::string::npos) sep = v.find(':');
  if (sep == std::string::npos || sep == 0 || sep + 1 == v.size()) {
    return InvalidArgumentError("invalid host " + v);
  }
  executor::ExtraHost h{v.substr(0, sep), v.substr(sep + 1)};
  if (h.ip == "host-gateway") {
    return InvalidArgumentError("invalid host " + v +
                                ": host-gateway is not supported (RUN steps use the host's "
                                "network, where the host is 127.0.0.1)");
  }
  if (!ValidIp(h.ip)) return InvalidArgumentError("invalid host " + v);
  return h;
}

Result<int64_t> ParseShmSize(std::string_view value) {
  // ^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$
  const std::string v(value);
  auto bad = [&] { return InvalidArgumentError("invalid size: '" + v + "'"); };
  size_t i = 0;
  while (i < v.size() && (std::isdigit(static_cast<unsigned char>(v[i])) || v[i] == '.')) ++i;
  std::string num = v.substr(0, i);
  if (num.empty() || !std::isdigit(static_cast<unsigned char>(num.front())) || num.back() == '.' ||
      num.find("..") != std::string::npos) {
    return bad();
  }
  if (i < v.size() && v[i] == ' ') ++i;
  int64_t mult = 1;
  if (i < v.size()) {
    // k, m, g, t, p: 1024 to the power 1 to 5.
    const size_t unit = std::string_view("kmgtp").find(
        static_cast<char>(std::tolower(static_cast<unsigned char>(v[i]))));
    if (unit != std::string_view::npos) {
      mult = int64_t{1} << (10 * (unit + 1));
      ++i;
    }
  }
  if (i < v.size() && (v[i] == 'i' || v[i] == 'I')) ++i;
  if (i < v.size() && (v[i] == 'b' || v[i] == 'B')) ++i;
  if (i != v.size()) return bad();
  errno = 0;
  double n = std::strtod(num.c_str(), nullptr);
  if (errno != 0 || !std::isfinite(n * static_cast<double>(mult)) ||
      n * static_cast<double>(mult) > 9.2e18) {
    return bad();
  }
  return static_cast<int64_t>(n * static_cast<double>(mult));
}

Result<executor::Rlimit> ParseUlimit(std::string_view value) {
  static constexpr std::array<std::pair<const char*, const char*>, 15> kTypes = {{
      {"core", "RLIMIT_CORE"},
      {"cpu", "RLIMIT_CPU"},
      {"data", "RLIMIT_DATA"},
      {"fsize", "RLIMIT_FSIZE"},
      {"locks", "RLIMIT_LOCKS"},
      {"memlock", "RLIMIT_MEMLOCK"},
      {"msgqueue", "RLIMIT_MSGQUEUE"},
      {"nice", "RLIMIT_NICE"},
      {"nofile", "RLIMIT_NOFILE"},
      {"nproc", "RLIMIT_NPROC"},
      {"rss", "RLIMIT_RSS"},
      {"rtprio", "RLIMIT_RTPRIO"},
      {"rttime", "RLIMIT_RTTIME"},
      {"sigpending", "RLIMIT_SIGPENDING"},
      {"stack", "RLIMIT_STACK"},
  }};
  const std::string v(value);
  size_t eq = v.find('=');
  if (eq == std::string::npos || v.find('=', eq + 1) != std::string::npos) {
    return InvalidArgumentError("invalid ulimit argument: " + v);
  }
  const std::string name = v.substr(0, eq);
  const std::string limits = v.substr(eq + 1);
  executor::Rlimit r;
  for (const auto& [n, t] : kTypes) {
    if (name == n) r.type = t;
  }
  if (r.type.empty()) return InvalidArgumentError("invalid ulimit type: " + name);
  std::vector<std::string> parts;
  for (size_t i = 0;;) {
    size_t j = limits.find(':', i);
    parts.push_back(limits.substr(i, j == std::string::npos ? std::string::npos : j - i));
    if (j == std::string::npos) break;
    i = j + 1;
  }
  if (parts.size() > 2) {
    return InvalidArgumentError("too many limit value arguments - " + limits +
                                ", can only have up to two, `soft[:hard]`");
  }
  std::vector<int64_t> nums;
  for (const auto& p : parts) {
    char* end = nullptr;
    errno = 0;
    long long n = std::strtoll(p.c_str(), &end, 10);
    if (p.empty() || errno != 0 || *end != '\0' || n < -1) {
      return InvalidArgumentError("invalid ulimit argument: " + v);
    }
    nums.push_back(n);
  }
  int64_t soft = nums[0], hard = nums.size() > 1 ? nums[1] : nums[0];
  if (soft != -1 && hard != -1 && soft > hard) {
    return InvalidArgumentError("ulimit soft limit must be less than or equal to hard limit: " +
                                std::to_string(soft) + " > " + std::to_string(hard));
  }
  r.soft = soft == -1 ? UINT64_MAX : static_cast<uint64_t>(soft);
  r.hard = hard == -1 ? UINT64_MAX : static_cast<uint64_t>(hard);
  return r;
}

}  // namespace latchkey::build
