#include "cli/registry_login.h"

#include <map>
#include <vector>

#include "cli/registry_setup.h"
#include "registry/registry_client.h"
#include "secure/docker_config.h"
#include "secure/docker_credential_helper.h"

namespace latchkey::cli {
namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// The config file's bytes, or "{}" when it does not exist yet.
Result<SecretBuffer> ReadOrEmpty(const std::string& path) {
  auto file = docker_config::Read(path);
  if (!file.ok() && file.status().code() == StatusCode::kNotFound) {
    return SecretBuffer::CopyOf(Bytes("{}"));
  }
  return file;
}

}  // namespace

std::string UnencryptedWarning(const std::string& path) {
  return "WARNING! Your password will be stored unencrypted in " + path +
         ".\n"
         "Configure a credential helper to remove this warning. See\n"
         "https://docs.docker.com/engine/reference/commandline/login/#credentials-store\n";
}

Result<registry::Credential> TypedCredential::Get(std::string_view, std::string_view,
                                                  std::string_view) {
  registry::Credential c;
  LK_ASSIGN_OR_RETURN(c.username, SecretBuffer::CopyOf(Bytes(username_)));
  LK_ASSIGN_OR_RETURN(c.password, SecretBuffer::CopyOf(password_.bytes()));
  c.source = Describe();
  return c;
}

Status VerifyLogin(registry::HttpTransport& transport, const Config& config,
                   const std::string& host, TypedCredential& credential) {
  registry::RegistryClient client(&transport, &credential, HostOptionsFrom(config));
  return client.CheckLogin(host);
}

Status StoreLogin(const std::string& config_path, const std::string& host,
                  const TypedCredential& credential, std::ostream& warnings) {
  const std::string what = "docker config " + config_path;
  const std::string key = docker_config::ServerKey(host);
  LK_ASSIGN_OR_RETURN(SecretBuffer file, ReadOrEmpty(config_path));
  LK_ASSIGN_OR_RETURN(docker_config::Helper helper,
                      docker_config::HelperFor(file.bytes(), host, what));
  SecretBuffer entry;
  if (!helper.name.empty()) {
    docker_config::HelperRef ref{helper.name, helper.origin + " of " + config_path};
    LK_ASSIGN_OR_RETURN(SecretBuffer json,
                        docker_config::CredentialJson(key, Bytes(credential.username()),
                                                      credential.password().bytes()));
    LK_RETURN_IF_ERROR(docker_config::HelperStore(ref, json.bytes(), nullptr));
    LK_ASSIGN_OR_RETURN(entry, SecretBuffer::CopyOf(Bytes("{}")));
  } else {
    warnings << UnencryptedWarning(config_path);
    warnings.flush();
    LK_ASSIGN_OR_RETURN(entry, docker_config::BasicAuthEntry(Bytes(credential.username()),
                                                             credential.password().bytes()));
  }
  LK_ASSIGN_OR_RETURN(SecretBuffer updated,
                      docker_config::SetAuthsEntry(file.bytes(), key, entry.bytes(), what));
  return docker_config::Write(config_path, updated.bytes());
}

Status Logout(const std::string& config_path, const std::string& server, std::ostream& out,
              std::ostream& warnings) {
  const std::string what = "docker config " + config_path;
  const std::string host = docker_config::NormalizeHost(server);
  const std::string shown = docker_config::ServerKey(host);
  LK_ASSIGN_OR_RETURN(SecretBuffer file, ReadOrEmpty(config_path));
  LK_ASSIGN_OR_RETURN(std::vector<std::string> keys,
                      docker_config::AuthsKeys(file.bytes(), host, what));
  if (keys.empty()) {
    out << "Not logged in to " << shown << "\n";
    return Status::OK();
  }
  out << "Removing login credentials for " << shown << "\n";
  out.flush();
  std::vector<std::string> erased;
  std::vector<std::pair<std::string, Status>> errors;
  for (const auto& k : keys) {
    LK_ASSIGN_OR_RETURN(docker_config::Helper helper,
                        docker_config::HelperFor(file.bytes(), host, what));
    if (!helper.name.empty()) {
      docker_config::HelperRef ref{helper.name, helper.origin + " of " + config_path};
      Status st = docker_config::HelperErase(ref, k, nullptr);
      if (!st.ok() && st.code() != StatusCode::kNotFound) {
        errors.emplace_back(k, st);
        continue;
      }
    }
    erased.push_back(k);
  }
  if (!errors.empty() && erased.empty()) {
    warnings << "WARNING: could not erase credentials:\n";
    for (const auto& [k, st] : errors) warnings << k << ": " << st.message() << "\n";
  }
  if (erased.empty()) return Status::OK();
  LK_ASSIGN_OR_RETURN(SecretBuffer updated,
                      docker_config::RemoveAuthsEntries(file.bytes(), erased, what));
  return docker_config::Write(config_path, updated.bytes());
}

}  // namespace latchkey::cli
