#include "registry/docker_config_credentials.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "base/errno_status.h"
#include "base/unique_fd.h"
#include "registry/secure_json.h"

namespace latchkey::registry {
namespace {

using base::ErrnoStatus;
using base::UniqueFd;

constexpr size_t kMaxConfigSize = 4 << 20;

// Reads the whole file into a sealed SecretBuffer (it holds credentials).
Result<SecretBuffer> ReadSecureFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return NotFoundError("docker config " + path + " does not exist");
    return ErrnoStatus("open", path, errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("stat", path, errno);
  if (static_cast<uint64_t>(st.st_size) > kMaxConfigSize) {
    return InvalidArgumentError("docker config " + path + " is larger than 4 MiB");
  }
  LK_ASSIGN_OR_RETURN(SecretBuffer buf, SecretBuffer::Allocate(st.st_size == 0 ? 1 : st.st_size));
  size_t got = 0;
  while (got < static_cast<size_t>(st.st_size)) {
    ssize_t n = ::read(fd.get(), buf.mutable_data() + got, st.st_size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("read", path, errno);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  buf.Truncate(got);
  buf.Seal();
  return buf;
}

std::string StripScheme(std::string_view key) {
  std::string k(key);
  for (const char* p : {"https://", "http://"}) {
    if (k.rfind(p, 0) == 0) k = k.substr(std::strlen(p));
  }
  size_t slash = k.find('/');
  if (slash != std::string::npos) k = k.substr(0, slash);
  return k;
}

bool KeyMatches(std::string_view key, std::string_view host) {
  std::string h = StripScheme(key);
  if (h == host) return true;
  if (host == "docker.io" &&
      (h == "index.docker.io" || h == "registry-1.docker.io" || h == "docker.io")) {
    return true;
  }
  return false;
}

}  // namespace

std::string DockerConfigCredentials::DefaultPath(const std::map<std::string, std::string>& env) {
  if (auto it = env.find("DOCKER_CONFIG"); it != env.end() && !it->second.empty()) {
    return it->second + "/config.json";
  }
  auto home = env.find("HOME");
  return (home != env.end() ? home->second : std::string()) + "/.docker/config.json";
}

Result<Credential> DockerConfigCredentials::Get(std::string_view host, std::string_view,
                                                std::string_view) {
  const std::string what = Describe();
  LK_ASSIGN_OR_RETURN(SecretBuffer file, ReadSecureFile(path_));
  auto keys = SecureJsonKeys(file.bytes(), {"auths"}, what);
  if (!keys.ok()) {
    if (keys.status().code() == StatusCode::kNotFound) {
      return NotFoundError(what + " has no credential for " + std::string(host));
    }
    return keys.status();
  }
  // The exact host first, then the other spellings Docker accepts.
  std::string entry;
  for (const auto& k : *keys) {
    if (k == host) entry = k;
  }
  if (entry.empty()) {
    for (const auto& k : *keys) {
      if (KeyMatches(k, host)) {
        entry = k;
        break;
      }
    }
  }
  if (entry.empty()) return NotFoundError(what + " has no credential for " + std::string(host));
  Credential c;
  c.source = what;
  auto token = SecureJsonString(file.bytes(), {"auths", entry, "identitytoken"}, what);
  if (token.ok() && !token->empty()) {
    c.identity_token = std::move(*token);
    return c;
  }
  if (!token.ok() && token.status().code() != StatusCode::kNotFound) return token.status();
  auto auth = SecureJsonString(file.bytes(), {"auths", entry, "auth"}, what);
  if (!auth.ok()) {
    if (auth.status().code() == StatusCode::kNotFound) {
      return NotFoundError(what + " has no credential for " + std::string(host));
    }
    return auth.status();
  }
  if (auth->empty()) return NotFoundError(what + " has no credential for " + std::string(host));
  const std::string bad = what + ": auths." + entry + ".auth is not base64 of user:password";
  LK_ASSIGN_OR_RETURN(SecretBuffer raw, SecretBuffer::Allocate(auth->size()));
  size_t len = 0;
  if (sodium_base642bin(raw.mutable_data(), auth->size(),
                        reinterpret_cast<const char*>(auth->data()), auth->size(), "\n\r ", &len,
                        nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
    return InvalidArgumentError(bad);
  }
  const uint8_t* colon = static_cast<const uint8_t*>(std::memchr(raw.data(), ':', len));
  if (colon == nullptr || colon == raw.data() || colon + 1 == raw.data() + len) {
    return InvalidArgumentError(bad);
  }
  size_t ulen = static_cast<size_t>(colon - raw.data());
  LK_ASSIGN_OR_RETURN(c.username, SecretBuffer::CopyOf({raw.data(), ulen}));
  LK_ASSIGN_OR_RETURN(c.password, SecretBuffer::CopyOf({colon + 1, len - ulen - 1}));
  return c;
}

}  // namespace latchkey::registry
