#include "plugins/dockerconfig/dockerconfig_provider.h"

#include <cstdlib>
#include <map>
#include <set>

#include "secure/docker_config.h"
#include "secure/docker_credential_helper.h"
#include "secure/secret_buffer.h"
#include "secure/secure_json.h"

namespace latchkey::dockerconfig_provider {
namespace {

// A host[:port] (IPv6 in brackets), nothing else.
bool IsHost(std::string_view ref) {
  if (ref.empty() || ref.size() > 255) return false;
  for (char c : ref) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '-' || c == '_' || c == ':' || c == '[' || c == ']')) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<DockerConfigProvider>> DockerConfigProvider::Create(
    const sdk::Config& config, sdk::Host&) {
  std::string path = config.GetPath("config_file");
  if (path.empty()) {
    std::map<std::string, std::string> env;
    for (const char* name : {"DOCKER_CONFIG", "HOME"}) {
      if (const char* v = std::getenv(name)) env[name] = v;
    }
    path = docker_config::DefaultPath(env);
  }
  if (path[0] != '/') {
    return InvalidArgumentError(
        "provider dockerconfig: the Docker config file must be an absolute path (got \"" + path +
        "\"); set config_file, or DOCKER_CONFIG/HOME to absolute paths");
  }
  return std::unique_ptr<DockerConfigProvider>(new DockerConfigProvider(std::move(path)));
}

Result<sdk::Response> DockerConfigProvider::Fetch(const sdk::Request& req) {
  const std::string id(req.secret_id.empty() ? req.ref : req.secret_id);
  const std::string prefix = "secret " + id + ": ";
  if (!IsHost(req.ref)) {
    return InvalidArgumentError(prefix + "reference \"" + std::string(req.ref) +
                                "\" is not a registry host (want HOST[:PORT], e.g. "
                                "registry.example.com:5000 or docker.io)");
  }
  const std::string host = docker_config::NormalizeHost(req.ref);
  const std::string what = "docker config " + path_;
  auto wrap = [&](const Status& st) { return Status(st.code(), prefix + st.message()); };
  auto file = docker_config::Read(path_);
  if (!file.ok()) {
    if (file.status().code() == StatusCode::kNotFound) {
      return NotFoundError(prefix + "no credential for " + host + ": " + what + " does not exist");
    }
    return wrap(file.status());
  }
  auto helper = docker_config::HelperFor(file->bytes(), host, what);
  if (!helper.ok()) return wrap(helper.status());
  Result<docker_config::Auth> auth = InternalError("unset");
  if (!helper->name.empty()) {
    docker_config::HelperRef ref{helper->name, helper->origin + " of " + path_};
    auth = docker_config::HelperGet(ref, docker_config::ServerKey(host),
                                    [&req] { return req.CheckDeadline(); });
  } else {
    auth = docker_config::AuthsCredential(file->bytes(), host, what);
  }
  if (!auth.ok()) return wrap(auth.status());
  LK_ASSIGN_OR_RETURN(SecretBuffer json, docker_config::CredentialJson(host, *auth));
  sdk::Response out;
  LK_ASSIGN_OR_RETURN(out.value, req.host.CopySecret(json.data(), json.size()));
  return out;
}

Status DockerConfigProvider::List(const sdk::ListSink& sink) {
  auto file = docker_config::Read(path_);
  if (!file.ok()) {
    return file.status().code() == StatusCode::kNotFound ? Status::OK() : file.status();
  }
  const std::string what = "docker config " + path_;
  std::set<std::string> hosts;
  for (const char* section : {"auths", "credHelpers"}) {
    auto keys = SecureJsonKeys(file->bytes(), {section}, what);
    if (!keys.ok()) {
      if (keys.status().code() == StatusCode::kNotFound) continue;
      return keys.status();
    }
    for (const auto& k : *keys) hosts.insert(docker_config::NormalizeHost(k));
  }
  for (const auto& h : hosts) sink.Emit(h);
  return Status::OK();
}

}  // namespace latchkey::dockerconfig_provider

LATCHKEY_DEFINE_PROVIDER(latchkey::dockerconfig_provider::DockerConfigProvider)
