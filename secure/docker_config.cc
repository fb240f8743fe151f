#include "secure/docker_config.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/env.h"
#include "base/errno_status.h"
#include "base/file.h"
#include "base/unique_fd.h"
#include "secure/secure_json.h"

namespace latchkey::docker_config {
namespace {

using base::ErrnoStatus;
using base::UniqueFd;

constexpr size_t kMaxConfigSize = 4 << 20;

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

bool IsDockerHub(std::string_view h) {
  return h == "docker.io" || h == "index.docker.io" || h == "registry-1.docker.io";
}

bool ValidHelperName(std::string_view n) {
  if (n.empty()) return false;
  for (char c : n) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

// A helper name (not secret) at `keys`, checked.
Result<std::string> HelperName(std::span<const uint8_t> file, const std::vector<std::string>& keys,
                               const std::string& shown, std::string_view what) {
  auto v = SecureJsonString(file, keys, what);
  std::string bad = std::string(what) + ": " + shown + " must be a helper name such as \"pass\"";
  if (!v.ok()) {
    if (v.status().code() == StatusCode::kNotFound) return InvalidArgumentError(bad);
    return v.status();
  }
  std::string name(reinterpret_cast<const char*>(v->data()), v->size());
  if (!ValidHelperName(name)) return InvalidArgumentError(bad);
  return name;
}

}  // namespace

std::string DefaultPath(const std::map<std::string, std::string>& env) {
  if (auto it = env.find("DOCKER_CONFIG"); it != env.end() && !it->second.empty()) {
    return it->second + "/config.json";
  }
  auto home = env.find("HOME");
  return (home != env.end() ? home->second : std::string()) + "/.docker/config.json";
}

Result<SecretBuffer> Read(const std::string& path) {
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

Status Write(const std::string& path, std::span<const uint8_t> bytes) {
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    LK_RETURN_IF_ERROR(base::MakeDirs(path.substr(0, slash), 0700));
  }
  return base::WriteFileAtomic(
      path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), 0600);
}

std::string NormalizeHost(std::string_view server) {
  std::string k(server);
  for (const char* p : {"https://", "http://"}) {
    if (k.rfind(p, 0) == 0) k = k.substr(std::strlen(p));
  }
  size_t slash = k.find('/');
  if (slash != std::string::npos) k = k.substr(0, slash);
  if (IsDockerHub(k)) return "docker.io";
  return k;
}

bool KeyMatches(std::string_view key, std::string_view host) {
  return NormalizeHost(key) == NormalizeHost(host);
}

std::string ServerKey(std::string_view host) {
  if (IsDockerHub(host)) return "https://index.docker.io/v1/";
  return std::string(host);
}

Result<std::vector<std::string>> AuthsKeys(std::span<const uint8_t> file, std::string_view host,
                                           std::string_view what) {
  auto keys = SecureJsonKeys(file, {"auths"}, what);
  if (!keys.ok()) {
    if (keys.status().code() == StatusCode::kNotFound) return std::vector<std::string>();
    return keys.status();
  }
  std::vector<std::string> out;
  for (const auto& k : *keys) {
    if (k == host) out.insert(out.begin(), k);
  }
  for (const auto& k : *keys) {
    if (k != host && KeyMatches(k, host)) out.push_back(k);
  }
  return out;
}

Result<Auth> AuthsCredential(std::span<const uint8_t> file, std::string_view host,
                             std::string_view what) {
  const std::string none = std::string(what) + " has no credential for " + std::string(host);
  LK_ASSIGN_OR_RETURN(std::vector<std::string> keys, AuthsKeys(file, host, what));
  if (keys.empty()) return NotFoundError(none);
  const std::string& entry = keys.front();
  Auth a;
  auto token = SecureJsonString(file, {"auths", entry, "identitytoken"}, what);
  if (token.ok() && !token->empty()) {
    a.identity_token = std::move(*token);
    return a;
  }
  if (!token.ok() && token.status().code() != StatusCode::kNotFound) return token.status();
  auto auth = SecureJsonString(file, {"auths", entry, "auth"}, what);
  if (!auth.ok()) {
    if (auth.status().code() == StatusCode::kNotFound) return NotFoundError(none);
    return auth.status();
  }
  if (auth->empty()) return NotFoundError(none);
  const std::string bad =
      std::string(what) + ": auths." + entry + ".auth is not base64 of user:password";
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
  LK_ASSIGN_OR_RETURN(a.username, SecretBuffer::CopyOf({raw.data(), ulen}));
  LK_ASSIGN_OR_RETURN(a.password, SecretBuffer::CopyOf({colon + 1, len - ulen - 1}));
  return a;
}

Result<Helper> HelperFor(std::span<const uint8_t> file, std::string_view host,
                         std::string_view what) {
  Helper h;
  auto keys = SecureJsonKeys(file, {"credHelpers"}, what);
  if (!keys.ok() && keys.status().code() != StatusCode::kNotFound) return keys.status();
  if (keys.ok()) {
    const std::string* match = nullptr;
    for (const auto& k : *keys) {
      if (k == host) match = &k;
    }
    for (const auto& k : *keys) {
      if (match == nullptr && KeyMatches(k, host)) match = &k;
    }
    if (match != nullptr) {
      LK_ASSIGN_OR_RETURN(h.name,
                          HelperName(file, {"credHelpers", *match}, "credHelpers." + *match, what));
      h.origin = "credHelpers";
      return h;
    }
  }
  auto root = SecureJsonKeys(file, {}, what);
  if (!root.ok()) return root.status();
  for (const auto& k : *root) {
    if (k != "credsStore") continue;
    LK_ASSIGN_OR_RETURN(h.name, HelperName(file, {"credsStore"}, "credsStore", what));
    h.origin = "credsStore";
  }
  return h;
}

Result<SecretBuffer> CredentialJson(std::string_view server_url, std::span<const uint8_t> username,
                                    std::span<const uint8_t> secret) {
  LK_ASSIGN_OR_RETURN(SecretBuffer url, SecureJsonQuote(Bytes(server_url)));
  LK_ASSIGN_OR_RETURN(SecretBuffer user, SecureJsonQuote(username));
  LK_ASSIGN_OR_RETURN(SecretBuffer pass, SecureJsonQuote(secret));
  return SecureConcat({Bytes("{\"ServerURL\":"), url.bytes(), Bytes(",\"Username\":"), user.bytes(),
                       Bytes(",\"Secret\":"), pass.bytes(), Bytes("}")});
}

Result<SecretBuffer> CredentialJson(std::string_view server_url, const Auth& auth) {
  if (!auth.identity_token.empty()) {
    return CredentialJson(server_url, Bytes("<token>"), auth.identity_token.bytes());
  }
  return CredentialJson(server_url, auth.username.bytes(), auth.password.bytes());
}

Result<Auth> ParseCredentialJson(std::span<const uint8_t> json, std::string_view what) {
  Auth a;
  auto root = SecureJsonObjectLayout(json, {}, what);
  if (!root.ok()) {
    if (root.status().code() != StatusCode::kNotFound) return root.status();
    return InvalidArgumentError(std::string(what) + " is not a JSON object");
  }
  auto user = SecureJsonString(json, {"Username"}, what);
  auto secret = SecureJsonString(json, {"Secret"}, what);
  for (auto* r : {&user, &secret}) {
    if (!r->ok() && r->status().code() != StatusCode::kNotFound) return r->status();
  }
  const bool no_user = !user.ok() || user->empty(), no_secret = !secret.ok() || secret->empty();
  if (no_user && no_secret) return NotFoundError(std::string(what) + " has no credential");
  if (no_user || no_secret) {
    return InvalidArgumentError(std::string(what) + " has no Username/Secret");
  }
  if (user->Equals(Bytes("<token>"))) {
    a.identity_token = std::move(*secret);
    return a;
  }
  a.username = std::move(*user);
  a.password = std::move(*secret);
  return a;
}

Result<SecretBuffer> SetAuthsEntry(std::span<const uint8_t> file, std::string_view key,
                                   std::span<const uint8_t> entry, std::string_view what) {
  if (file.empty()) file = Bytes("{}");
  LK_ASSIGN_OR_RETURN(SecretBuffer quoted_key, SecureJsonQuote(Bytes(key)));
  auto auths = SecureJsonObjectLayout(file, {"auths"}, what);
  if (!auths.ok() && auths.status().code() != StatusCode::kNotFound) return auths.status();
  if (!auths.ok()) {
    // No "auths" object: add one at the end of the root object (replacing a non-object one).
    LK_ASSIGN_OR_RETURN(JsonObjectLayout root, SecureJsonObjectLayout(file, {}, what));
    for (const auto& m : root.members) {
      if (m.name != "auths") continue;
      return SecureConcat({file.subspan(0, m.value_begin), Bytes("{"), quoted_key.bytes(),
                           Bytes(": "), entry, Bytes("}"), file.subspan(m.value_end)});
    }
    size_t at = root.members.empty() ? root.open + 1 : root.members.back().value_end;
    return SecureConcat({file.subspan(0, at), Bytes(root.members.empty() ? "\n\t" : ",\n\t"),
                         Bytes("\"auths\": {"), quoted_key.bytes(), Bytes(": "), entry, Bytes("}"),
                         file.subspan(at)});
  }
  for (const auto& m : auths->members) {
    if (m.name != key) continue;
    return SecureConcat({file.subspan(0, m.value_begin), entry, file.subspan(m.value_end)});
  }
  size_t at = auths->members.empty() ? auths->open + 1 : auths->members.back().value_end;
  return SecureConcat({file.subspan(0, at), Bytes(auths->members.empty() ? "\n\t\t" : ",\n\t\t"),
                       quoted_key.bytes(), Bytes(": "), entry, file.subspan(at)});
}

Result<SecretBuffer> RemoveAuthsEntries(std::span<const uint8_t> file,
                                        const std::vector<std::string>& keys,
                                        std::string_view what) {
  LK_ASSIGN_OR_RETURN(SecretBuffer out, SecretBuffer::CopyOf(file));
  for (const auto& key : keys) {
    auto auths = SecureJsonObjectLayout(out.bytes(), {"auths"}, what);
    if (!auths.ok()) {
      if (auths.status().code() == StatusCode::kNotFound) return out;
      return auths.status();
    }
    const auto& ms = auths->members;
    for (size_t i = 0; i < ms.size(); ++i) {
      if (ms[i].name != key) continue;
      // Cut the member with the comma that joins it to a neighbour.
      size_t begin = ms[i].key_begin, end = ms[i].value_end;
      if (i + 1 < ms.size()) {
        end = ms[i + 1].key_begin;
      } else if (i > 0) {
        begin = ms[i - 1].value_end;
      }
      auto bytes = out.bytes();
      LK_ASSIGN_OR_RETURN(out, SecureConcat({bytes.subspan(0, begin), bytes.subspan(end)}));
      break;
    }
  }
  return out;
}

Result<SecretBuffer> BasicAuthEntry(std::span<const uint8_t> username,
                                    std::span<const uint8_t> password) {
  LK_ASSIGN_OR_RETURN(SecretBuffer plain, SecureConcat({username, Bytes(":"), password}));
  const size_t b64_len = sodium_base64_ENCODED_LEN(plain.size(), sodium_base64_VARIANT_ORIGINAL);
  LK_ASSIGN_OR_RETURN(SecretBuffer b64, SecretBuffer::Allocate(b64_len));
  sodium_bin2base64(reinterpret_cast<char*>(b64.mutable_data()), b64_len, plain.data(),
                    plain.size(), sodium_base64_VARIANT_ORIGINAL);
  b64.Truncate(b64_len - 1);  // the NUL
  b64.Seal();
  return SecureConcat({Bytes("{\n\t\t\t\"auth\": \""), b64.bytes(), Bytes("\"\n\t\t}")});
}

}  // namespace latchkey::docker_config
