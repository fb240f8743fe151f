#include "cli/remote_build.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/latchkey/v1/control.grpc.pb.h"
#include "base/poll_watcher.h"
#include "base/unique_fd.h"
#include "broker/secret_flags.h"
#include "broker/session.h"
#include "builder/executor/cancel.h"
#include "builder/image/export_spec.h"
#include "builder/solver/dockerignore.h"
#include "cli/build_job.h"
#include "cli/cli_setup.h"
#include "cli/client_registry_logins.h"
#include "cli/command_registry.h"
#include "cli/daemon_client.h"
#include "cli/output_receiver.h"
#include "session/auth_service.h"
#include "session/context_mux.h"
#include "session/context_service.h"
#include "session/secrets_service.h"
#include "session/session_client.h"
#include "session/ssh_service.h"

namespace latchkey::cli {
namespace {

// A --secret file source, read into secure memory.
Result<SecretBuffer> ReadSecretFile(const std::string& id, const std::string& path) {
  base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0) {
    return NotFoundError("secret " + id + ": open " + path + ": " + std::strerror(errno));
  }
  size_t cap = static_cast<size_t>(kMaxSecretSize) + 1;
  LK_ASSIGN_OR_RETURN(SecretBuffer buf, SecretBuffer::Allocate(cap));
  size_t got = 0;
  while (got < cap) {
    ssize_t n = ::read(fd.get(), buf.mutable_data() + got, cap - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return UnavailableError("secret " + id + ": read " + path + ": " + std::strerror(errno));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got > static_cast<size_t>(kMaxSecretSize)) {
    return FailedPreconditionError("secret " + id + " too big. max size 500KiB");
  }
  buf.Truncate(got);
  buf.Seal();
  return buf;
}

// --ssh: the agents (id -> socket, parsed on this side) served on the session as BuildKit's
// moby.sshforward.v1.SSH; the Build names their ids only. Nothing is served without --ssh (the
// daemon then finds no agent, as BuildKit does for a client without an ssh provider).
std::unique_ptr<session::SshService> ServeSshAgents(const build::BuildRequest& req,
                                                    latchkey::v1::BuildRequest* breq,
                                                    std::vector<session::ServedService>* services) {
  if (req.ssh_agents.empty()) return nullptr;
  for (const auto& [id, socket] : req.ssh_agents) breq->add_ssh_ids(id);
  auto ssh = std::make_unique<session::SshService>(req.ssh_agents);
  services->push_back({ssh.get(), "moby.sshforward.v1.SSH"});
  return ssh;
}

// The -o outputs that land on the client: `receiver` expects each (its dest checked and
// prepared now, with the embedded build's errors) and `breq` carries the specs, the client's
// destinations and --push. True when the session must serve FileSend.
Result<bool> PrepareClientOutputs(const BuildOptions& f, const build::BuildRequest& req,
                                  OutputReceiver* receiver, latchkey::v1::BuildRequest* breq) {
  bool any = false;
  for (size_t i = 0; i < f.outputs.size() && i < req.outputs.size(); ++i) {
    const image::ExportSpec& out = req.outputs[i];
    breq->add_outputs(f.outputs[i]);
    if (out.type == image::ExportType::kImage) {
      breq->add_output_dests("");
      continue;
    }
    ClientOutputKind kind = out.type == image::ExportType::kOciArchive ? ClientOutputKind::kFile
                            : out.type == image::ExportType::kOciLayout
                                ? ClientOutputKind::kOciLayout
                                : ClientOutputKind::kDirectory;
    LK_RETURN_IF_ERROR(receiver->Expect(i, kind, out.dest));
    breq->add_output_dests(out.dest);
    any = true;
  }
  breq->set_push(f.push);
  return any;
}

// --build-context directories (NAME=DIR, and the directory of NAME=oci-layout://DIR[:TAG]),
// served on the session by `mux` next to the main context (no .dockerignore, as in embedded
// mode); `breq` names them.
void ServeBuildContexts(const build::BuildRequest& req, session::ContextMux* mux,
                        std::vector<std::unique_ptr<session::ContextService>>* services,
                        latchkey::v1::BuildRequest* breq) {
  for (const build::NamedContext& nc : req.named_contexts) {
    services->push_back(
        std::make_unique<session::ContextService>(nc.path, session::ContextFilter{}));
    mux->Add(nc.name, services->back().get());
    auto* bc = breq->add_build_contexts();
    bc->set_name(nc.name);
    bc->set_oci_layout(nc.kind == build::NamedContext::Kind::kOciLayout);
    bc->set_tag(nc.tag);
    bc->set_context_key(ContextKey(nc.path));
  }
}

}  // namespace

std::string ContextKey(const std::string& context_dir) {
  char host[256] = {};
  (void)::gethostname(host, sizeof host - 1);
  std::string key = std::string(host) + ":" + context_dir;
  unsigned char d[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(d, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  char hex[2 * sizeof d + 1];
  sodium_bin2hex(hex, sizeof hex, d, sizeof d);
  return hex;
}

void ProgressReplay::Event(std::string_view json) {
  auto e = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!e.is_object()) return;
  std::string kind = e.value("event", "");
  if (kind == "print") {
    out_.Print(e.value("data", ""));
    return;
  }
  int remote = e.value("vertex", 0);
  if (kind == "start") {
    vertices_[remote] = out_.Start(e.value("name", ""));
    return;
  }
  auto it = vertices_.find(remote);
  if (it == vertices_.end()) return;
  int v = it->second;
  if (kind == "log") {
    out_.Log(v,
             e.value("stream", "") == "stderr" ? executor::OutputStream::kStderr
                                               : executor::OutputStream::kStdout,
             e.value("data", ""));
  } else if (kind == "note") {
    out_.Note(v, e.value("text", ""));
  } else if (kind == "phase") {
    out_.PhaseStart(v, e.value("name", ""));
  } else if (kind == "phase_done") {
    out_.PhaseDone(v, e.value("name", ""));
  } else if (kind == "cached") {
    out_.Cached(v);
  } else if (kind == "done") {
    out_.Done(v);
  } else if (kind == "error") {
    out_.Error(v, e.value("error", ""));
  }
}

int RunRemoteBuild(const HostChoice& host, const BuildOptions& f, build::ProgressMode mode,
                   const build::BuildRequest& req, const Config& config,
                   const volatile sig_atomic_t* signal) {
  auto channel = ConnectDaemon(host.host, host.origin);
  if (!channel.ok()) return FailFlags(channel.status());
  auto stub = latchkey::v1::Control::NewStub(*channel);

  // --secret, parsed against the daemon's providers; file and env sources read here.
  latchkey::v1::InfoResponse info;
  {
    grpc::ClientContext ctx;
    grpc::Status st = stub->Info(&ctx, latchkey::v1::InfoRequest(), &info);
    if (!st.ok()) return Fail(DaemonCallError(st));
  }
  SecretFlagContext flag_ctx;
  flag_ctx.env = ProcessEnvNames();
  std::error_code ec;
  flag_ctx.cwd = std::filesystem::current_path(ec).string();
  for (const auto& p : info.providers()) {
    if (p != "file" && p != "env") flag_ctx.providers.insert(p);
  }
  auto sources = ParseSecretFlags(f.secrets, flag_ctx);
  if (!sources.ok()) return FailFlags(sources.status());
  session::SecretsService secrets;
  latchkey::v1::BuildRequest breq;
  for (const SecretSource& s : *sources) {
    auto* out = breq.add_secrets();
    out->set_id(s.id);
    out->set_ref(s.path_or_var_or_ref);
    if (s.kind == SecretSource::Kind::kProvider) {
      out->set_kind(s.provider);
      continue;
    }
    out->set_kind(s.kind == SecretSource::Kind::kFile ? "file" : "env");
    Result<SecretBuffer> value = [&s]() -> Result<SecretBuffer> {
      if (s.kind == SecretSource::Kind::kFile) return ReadSecretFile(s.id, s.path_or_var_or_ref);
      const char* v = std::getenv(s.path_or_var_or_ref.c_str());
      std::string_view sv = v != nullptr ? v : "";
      return SecretBuffer::CopyOf(
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(sv.data()), sv.size()));
    }();
    if (!value.ok()) return Fail(value.status());
    value->Seal();
    if (Status st = secrets.Add(s.id, std::make_shared<const SecretBuffer>(std::move(*value)));
        !st.ok()) {
      return Fail(st);
    }
  }

  // The context, .dockerignore applied here (a broken one is reported by the daemon's build, at
  // the same step as in embedded mode: it is sent unfiltered).
  session::ContextFilter filter;
  auto ignore = std::make_shared<build::IgnoreMatcher>();
  if (auto ig = build::IgnoreMatcher::Load(req.context_dir, req.dockerfile_path); ig.ok()) {
    *ignore = std::move(ig).value();
    filter.excluded = [ignore](std::string_view p) { return ignore->Excluded(p); };
    filter.may_include_under = [ignore](std::string_view p) { return ignore->MayIncludeUnder(p); };
  }
  session::ContextService context(req.context_dir, std::move(filter));
  session::ContextMux contexts;
  contexts.Add("", &context);
  std::vector<std::unique_ptr<session::ContextService>> named_contexts;
  ServeBuildContexts(req, &contexts, &named_contexts, &breq);

  // -o outputs that land here: checked before anything is built.
  OutputReceiver outputs;
  auto client_outputs = PrepareClientOutputs(f, req, &outputs, &breq);
  if (!client_outputs.ok()) return Fail(client_outputs.status());

  // Registry logins, read from this host's sources when the daemon asks (its broker decides and
  // records them as provider "client"; it falls back on its own when this host has none).
  ClientRegistryLogins logins(config);
  session::AuthService auth([&logins](const std::string& host) { return logins.Lookup(host); });
  std::vector<session::ServedService> services = {
      {&secrets, "moby.buildkit.secrets.v1.Secrets"},
      {&contexts, "latchkey.v1.ContextSync"},
      {&auth, "moby.filesync.v1.Auth", {"Credentials"}}};
  if (*client_outputs) services.push_back({&outputs, "moby.filesync.v1.FileSend"});
  std::unique_ptr<session::SshService> ssh = ServeSshAgents(req, &breq, &services);

  session::SessionOptions so;
  so.id = NewSessionId();
  so.name = "latchkey build";
  auto session = session::SessionClient::Open(*channel, so, services);
  if (!session.ok()) return Fail(session.status());

  breq.set_session_id(so.id);
  breq.set_dockerfile(req.dockerfile_text);
  breq.set_dockerfile_name(std::filesystem::path(req.dockerfile_path).filename().string());
  breq.set_context_key(ContextKey(req.context_dir));
  for (const auto& [k, v] : req.frontend.build_args) (*breq.mutable_build_args())[k] = v;
  breq.set_target(f.target);
  for (const auto& t : f.tags) breq.add_tags(t);
  for (const auto& [k, v] : req.labels) (*breq.mutable_labels())[k] = v;
  breq.set_no_cache(f.no_cache);
  for (const auto& s : f.no_cache_filter) breq.add_no_cache_filter(s);
  std::string platforms;
  for (const auto& p : f.platforms) platforms += (platforms.empty() ? "" : ",") + p;
  breq.set_platform(platforms);
  breq.set_network(f.network);
  breq.set_pull(f.pull);
  for (const auto& l : f.allow_leaks) breq.add_allow_secret_leaks(l);
  for (const auto& h : f.add_hosts) breq.add_add_hosts(h);
  breq.set_shm_size(f.shm_size);
  for (const auto& u : f.ulimits) breq.add_ulimits(u);
  if (const char* sde = std::getenv("SOURCE_DATE_EPOCH")) breq.set_source_date_epoch(sde);

  auto progress = build::NewProgressWriter(mode, STDERR_FILENO);
  ProgressReplay replay(*progress);
  latchkey::v1::BuildResponse msg;
  std::optional<latchkey::v1::BuildResult> result;
  grpc::Status call;
  {
    grpc::ClientContext ctx;
    // Ctrl-C (executor::RequestCancel) cancels the Build call.
    base::PollWatcher cancel(
        std::chrono::milliseconds(20), [] { return executor::CancelRequested(); },
        [&ctx] { ctx.TryCancel(); });
    auto reader = stub->Build(&ctx, breq);
    while (reader->Read(&msg)) {
      if (msg.has_result()) {
        result = msg.result();
      } else {
        replay.Event(msg.event());
      }
    }
    call = reader->Finish();
  }
  (*session)->Close();

  BuildJobOutcome job;
  job.started = true;
  if (result) {
    job.build_ref = result->build_ref();
    if (result->code() != 0) {
      job.result = Status(static_cast<StatusCode>(result->code()), result->message());
      job.failure.vertex = result->failed_vertex();
      job.failure.line = result->failed_line();
      job.failure.end_line = result->failed_end_line();
    } else {
      build::BuildResult b;
      b.image.config_digest = result->image_id();
      b.image.manifest_digest = result->manifest_digest();
      b.image.manifest_size = result->manifest_size();
      b.tags.assign(result->tags().begin(), result->tags().end());
      b.warnings.assign(result->warnings().begin(), result->warnings().end());
      for (const auto& m : result->materials()) {
        b.materials.push_back({m.ref(), m.digest(), m.platform(), m.pulled()});
      }
      b.steps_run = result->steps_run();
      b.steps_cached = result->steps_cached();
      job.result = std::move(b);
      if (Status missing = outputs.Missing(); !missing.ok()) job.result = missing;
    }
  } else if (executor::CancelRequested()) {
    job.result = CancelledError("build cancelled");
  } else {
    progress->Finish();
    outputs.Abandon();
    Status st = call.ok() ? UnavailableError("latchkeyd connection lost") : DaemonCallError(call);
    return st.code() == StatusCode::kInvalidArgument ? FailFlags(st) : Fail(st);
  }
  if (!job.result.ok()) outputs.Abandon();
  return ReportBuild(f, mode, req, job, *progress, *signal);
}

}  // namespace latchkey::cli
