#include "cli/registry_setup.h"

#include <sys/stat.h>

#include <utility>

#include "broker/state_dir.h"
#include "cli/caller_session.h"

namespace latchkey::cli {
namespace {

bool IsFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

registry::HostOptions RegistryHostOptions(const Config& config, const std::string& host) {
  registry::HostOptions o;
  if (!config.certs_dir.empty()) {
    // Docker's layout: certs.d/<host:port>/{ca.crt,client.cert,client.key}.
    o.certs_dir = JoinPath(config.certs_dir, host);
    if (std::string ca = JoinPath(o.certs_dir, "ca.crt"); IsFile(ca)) o.ca_file = ca;
    std::string cert = JoinPath(o.certs_dir, "client.cert");
    std::string key = JoinPath(o.certs_dir, "client.key");
    if (IsFile(cert) && IsFile(key)) {
      o.client_cert = cert;
      o.client_key = key;
    }
  }
  if (const RegistryHostConfig* r = config.FindRegistry(host)) {
    o.insecure = r->insecure;
    if (!r->ca_file.empty()) o.ca_file = r->ca_file;
    if (!r->client_cert.empty()) {
      o.client_cert = r->client_cert;
      o.client_key = r->client_key;
    }
  }
  return o;
}

registry::HostOptionsFn HostOptionsFrom(const Config& config) {
  return [&config](const std::string& host) { return RegistryHostOptions(config, host); };
}

StepContext PullStep(const std::string& ref) {
  StepContext step;
  step.instruction = "pull " + ref;
  return step;
}

StepContext PushStep(const std::string& ref) {
  StepContext step;
  step.instruction = "push " + ref;
  return step;
}

CliRegistry::CliRegistry(std::unique_ptr<registry::CurlTransport> transport, const Config& config,
                         Session& session, StepContext step)
    : transport_(std::move(transport)),
      credentials_(session, std::move(step), config.FindPlugin(kDockerConfigProvider) != nullptr),
      client_(transport_.get(), &credentials_, HostOptionsFrom(config)) {}

Result<std::unique_ptr<CliRegistry>> CliRegistry::Open(const Config& config, Session& session,
                                                       StepContext step) {
  LK_ASSIGN_OR_RETURN(std::unique_ptr<registry::CurlTransport> transport,
                      registry::CurlTransport::Create());
  return std::unique_ptr<CliRegistry>(
      new CliRegistry(std::move(transport), config, session, std::move(step)));
}

Result<std::unique_ptr<RegistryCommandSession>> RegistryCommandSession::Start(
    const Config& config, std::map<std::string, std::string> labels) {
  std::unique_ptr<RegistryCommandSession> s(new RegistryCommandSession());
  LK_ASSIGN_OR_RETURN(s->broker_, Broker::Start(config));
  SessionAttributes attrs;
  LK_RETURN_IF_ERROR(SetCallerAttributes(*s->broker_, {}, &attrs));
  attrs.labels = std::move(labels);
  LK_ASSIGN_OR_RETURN(s->session_, s->broker_->sessions().Open(std::move(attrs)));
  return s;
}

Result<registry::PullResult> PullIntoStore(registry::RegistryClient& client,
                                           image::ImageStore& store, const image::Reference& ref,
                                           const registry::PullOptions& options,
                                           const std::string& tag) {
  LK_ASSIGN_OR_RETURN(registry::PullResult r, registry::Pull(client, store.blobs(), ref, options));
  if (!tag.empty()) LK_RETURN_IF_ERROR(store.Tag(tag, r.image));
  return r;
}

}  // namespace latchkey::cli
