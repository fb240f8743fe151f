#include "builder/executor/oci_config.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "base/go_text.h"
#include "builder/executor/sys_util.h"

namespace latchkey::executor {
namespace {

const char* const kDefaultCaps[] = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE",
};

const char* const kMaskedPaths[] = {
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
};

const char* const kReadonlyPaths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

// \u0001 cannot occur in a caller's env entry unescaped-equal to this token: placeholders are
// searched in the dumped JSON, where control bytes are always escaped.
std::string Placeholder(size_t i) {
  return std::string("\x01latchkey-secret-env-") + std::to_string(i) + "\x01";
}
std::string EscapedPlaceholder(size_t i) {
  return "\\u0001latchkey-secret-env-" + std::to_string(i) + "\\u0001";
}

}  // namespace

std::vector<OciMount> DefaultMounts(int64_t shm_size_bytes) {
  const std::string shm_size =
      shm_size_bytes > 0 ? "size=" + std::to_string(shm_size_bytes) : "size=65536k";
  return {
      {"/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}},
      {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}},
      {"/dev/pts",
       "devpts",
       "devpts",
       {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
      {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", shm_size}},
      {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}},
      {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}},
  };
}

nlohmann::json BuildOciConfig(const OciConfigInput& in, const std::vector<SecretEnv>& secret_env) {
  using nlohmann::json;
  json caps = json::array();
  for (const char* c : kDefaultCaps) caps.push_back(c);

  json env = json::array();
  for (const auto& e : in.env) {
    bool replaced = false;
    for (const auto& s : secret_env) {
      replaced = replaced || (e.size() > s.name.size() &&
                              e.compare(0, s.name.size(), s.name) == 0 && e[s.name.size()] == '=');
    }
    if (!replaced) env.push_back(e);
  }
  for (size_t i = 0; i < secret_env.size(); ++i) {
    env.push_back(secret_env[i].name + "=" + Placeholder(i));
  }

  json user = {{"uid", in.user.uid}, {"gid", in.user.gid}};
  if (!in.user.additional_gids.empty()) user["additionalGids"] = in.user.additional_gids;

  json mounts = json::array();
  for (const auto& m : in.mounts) {
    mounts.push_back({{"destination", m.destination},
                      {"type", m.type},
                      {"source", m.source},
                      {"options", m.options}});
  }

  json namespaces =
      json::array({{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}});
  if (in.network == NetworkMode::kNone) namespaces.push_back({{"type", "network"}});

  json masked = json::array();
  for (const char* p : kMaskedPaths) masked.push_back(p);
  json ro = json::array();
  for (const char* p : kReadonlyPaths) ro.push_back(p);

  json process = {{"terminal", false},
                  {"user", user},
                  {"args", in.args},
                  {"env", env},
                  {"cwd", in.cwd},
                  {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
                  {"noNewPrivileges", true}};
  if (!in.rlimits.empty()) {
    json rl = json::array();
    for (const auto& r : in.rlimits)
      rl.push_back({{"type", r.type}, {"soft", r.soft}, {"hard", r.hard}});
    process["rlimits"] = rl;
  }
  return json{
      {"ociVersion", "1.0.2-dev"},
      {"process", process},
      {"root", {{"path", in.rootfs_path}, {"readonly", false}}},
      {"hostname", in.hostname},
      {"mounts", mounts},
      {"linux",
       {{"resources", {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}}},
        {"namespaces", namespaces},
        {"maskedPaths", masked},
        {"readonlyPaths", ro}}},
  };
}

Status CheckEnvSecretValue(const std::string& id, const std::string& name,
                           const SecretBuffer& value) {
  std::string prefix =
      "secret " + id + " cannot be exposed as environment variable " + name + ": the value ";
  const std::string fix = "; mount it as a file instead (drop env=, or add target=)";
  auto bytes = value.bytes();
  if (std::memchr(bytes.data(), 0, bytes.size()) != nullptr) {
    return InvalidArgumentError(prefix + "contains a NUL byte" + fix);
  }
  std::string_view view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  size_t i = 0;
  while (i < view.size()) {
    auto [r, width] = base::DecodeRune(view, i);
    if (r == base::kRuneError && width == 1) {
      return InvalidArgumentError(prefix + "is not valid UTF-8" + fix);
    }
    i += width;
  }
  return Status::OK();
}

Status WriteOciConfig(const std::string& path, const nlohmann::json& config,
                      const std::vector<SecretEnv>& secret_env) {
  base::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoStatus("create", path, errno);
  return WriteOciConfigTo(fd.get(), path, config, secret_env);
}

Status WriteOciConfigTo(int out_fd, const std::string& path, const nlohmann::json& config,
                        const std::vector<SecretEnv>& secret_env) {
  std::string text = config.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  size_t pos = 0;
  for (size_t i = 0; i < secret_env.size(); ++i) {
    std::string token = EscapedPlaceholder(i);
    size_t at = text.find(token, pos);
    if (at == std::string::npos) return InternalError("config.json: secret env placeholder lost");
    LK_RETURN_IF_ERROR(WriteAll(out_fd, text.data() + pos, at - pos, path));
    pos = at + token.size();
    if (!secret_env[i].value || secret_env[i].value->empty()) continue;
    auto raw = secret_env[i].value->bytes();
    LK_ASSIGN_OR_RETURN(SecretBuffer escaped, SecretBuffer::Allocate(raw.size() * 6));
    uint8_t* out = escaped.mutable_data();
    size_t n = 0;
    static const char* kHex = "0123456789abcdef";
    for (uint8_t c : raw) {
      if (c == '"' || c == '\\') {
        out[n++] = '\\';
        out[n++] = c;
      } else if (c < 0x20 || c == 0x7f) {
        out[n++] = '\\';
        out[n++] = 'u';
        out[n++] = '0';
        out[n++] = '0';
        out[n++] = static_cast<uint8_t>(kHex[c >> 4]);
        out[n++] = static_cast<uint8_t>(kHex[c & 15]);
      } else {
        out[n++] = c;
      }
    }
    LK_RETURN_IF_ERROR(WriteAll(out_fd, out, n, path));
  }
  return WriteAll(out_fd, text.data() + pos, text.size() - pos, path);
}

}  // namespace latchkey::executor
