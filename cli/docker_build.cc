#include "cli/docker_build.h"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/broker.h"
#include "broker/session.h"
#include "builder/executor/cancel.h"
#include "builder/solver/dockerignore.h"
#include "cli/broker_registry_credentials.h"
#include "cli/broker_secret_session.h"
#include "cli/build_job.h"
#include "cli/buildkit_progress.h"
#include "cli/buildkit_step.h"
#include "cli/caller_session.h"
#include "cli/cli_setup.h"
#include "cli/command_registry.h"
#include "cli/context_tar.h"
#include "cli/docker_image_scan.h"
#include "cli/remote_build.h"
#include "engine/engine_client.h"
#include "engine/engine_session.h"
#include "session/auth_service.h"
#include "session/secrets_service.h"
#include "session/ssh_service.h"

namespace latchkey::cli {
namespace {

// The Dockerfile as POST /build names it: its path relative to the context. It must be a file
// in the context: BuildKit v0.8 reads it from the context tar and copies that tar whole, without
// applying a .dockerignore, so a Dockerfile added to the tar (Docker's client does that for
// classic builds) would land in every `COPY . …`. INVALID_ARGUMENT otherwise.
Result<std::string> DockerfileInContext(const BuildOptions& f, const build::BuildRequest& req) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path ctx = fs::weakly_canonical(req.context_dir, ec);
  fs::path file = fs::weakly_canonical(req.dockerfile_path, ec);
  std::string rel = file.lexically_relative(ctx).generic_string();
  if (f.file != "-" && !req.dockerfile_path.empty() && !rel.empty() && rel != "." &&
      rel.rfind("..", 0) != 0 && fs::is_regular_file(file, ec)) {
    return rel;
  }
  return InvalidArgumentError("-f " + (f.file.empty() ? req.dockerfile_path : f.file) +
                              " is not supported with --builder docker: the Dockerfile must be "
                              "a file in the build context " +
                              req.context_dir +
                              " (Docker Engine reads it from the context latchkey sends); move "
                              "it there, or build with --builder embedded");
}

// POST /build's query for the flags (docs/docker-builder.md, "Flags").
std::vector<std::pair<std::string, std::string>> BuildQuery(const BuildOptions& f,
                                                            const build::BuildRequest& req,
                                                            const std::string& session_id,
                                                            const std::string& dockerfile) {
  std::vector<std::pair<std::string, std::string>> q = {{"version", "2"},
                                                        {"session", session_id},
                                                        {"dockerfile", dockerfile},
                                                        {"rm", "1"},
                                                        {"forcerm", "1"}};
  for (const auto& t : f.tags) q.emplace_back("t", t);
  if (!f.target.empty()) q.emplace_back("target", f.target);
  if (!req.frontend.build_args.empty()) {
    nlohmann::json args = nlohmann::json::object();
    for (const auto& [k, v] : req.frontend.build_args) args[k] = v;
    q.emplace_back("buildargs", args.dump());
  }
  if (!req.labels.empty()) {
    nlohmann::json labels = nlohmann::json::object();
    for (const auto& [k, v] : req.labels) labels[k] = v;
    q.emplace_back("labels", labels.dump());
  }
  if (f.no_cache) q.emplace_back("nocache", "1");
  if (f.pull) q.emplace_back("pull", "1");
  if (f.network == "none" || f.network == "host") q.emplace_back("networkmode", f.network);
  for (const auto& h : req.extra_hosts) q.emplace_back("extrahosts", h.host + ":" + h.ip);
  if (req.shm_size_bytes > 0) q.emplace_back("shmsize", std::to_string(req.shm_size_bytes));
  if (!req.ulimits.empty()) {
    nlohmann::json ul = nlohmann::json::array();
    for (const auto& u : req.ulimits) {
      std::string name = u.type;
      if (name.rfind("RLIMIT_", 0) == 0) name = name.substr(7);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      ul.push_back({{"Name", name},
                    {"Soft", static_cast<int64_t>(u.soft)},
                    {"Hard", static_cast<int64_t>(u.hard)}});
    }
    q.emplace_back("ulimits", ul.dump());
  }
  if (!f.platforms.empty()) q.emplace_back("platform", f.platforms.front());
  return q;
}

// The steps BuildKit is running, by vertex digest, from its progress: which step a GetSecret
// is for (BuildKit does not say). Fed on the main thread, asked on the lookups' threads.
class RunningSteps {
 public:
  void Feed(const moby::buildkit::v1::StatusResponse& status) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& v : status.vertexes()) {
      if (v.has_completed()) {
        names_.erase(v.digest());
      } else if (v.has_started() && ParseBuildkitStepName(v.name())) {
        names_[v.digest()] = v.name();
      }
    }
    changed_.notify_all();
  }

  // The running step whose name mounts secret `id` ("id=<id>" followed by ',', ' ' or the end),
  // else the only running step; "" when neither is known within `wait` (the progress message
  // that starts a step may arrive after the step's first GetSecret).
  std::string For(const std::string& id, std::chrono::milliseconds wait) const {
    std::unique_lock<std::mutex> lock(mu_);
    std::string found;
    changed_.wait_for(lock, wait, [&] { return !(found = Find(id)).empty(); });
    return found;
  }

 private:
  std::string Find(const std::string& id) const {
    std::string key = "id=" + id;
    std::vector<const std::string*> mounting;
    for (const auto& [digest, name] : names_) {
      for (size_t at = name.find(key); at != std::string::npos; at = name.find(key, at + 1)) {
        size_t end = at + key.size();
        bool starts = at > 0 && (name[at - 1] == ',' || name[at - 1] == '=');
        if (starts && (end == name.size() || name[end] == ',' || name[end] == ' ')) {
          mounting.push_back(&name);
          break;
        }
      }
    }
    if (mounting.size() == 1) return *mounting.front();
    if (mounting.empty() && names_.size() == 1) return names_.begin()->second;
    return "";
  }

  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  std::map<std::string, std::string> names_;
};

// The broker's view of the step a GetSecret is for: the running step RunningSteps names, and
// its place in the Dockerfile as LocateBuildkitStep finds it.
StepContext StepForSecret(const RunningSteps& running, const std::string& id,
                          std::string_view dockerfile_text) {
  StepContext step;
  std::string name = running.For(id, std::chrono::milliseconds(500));
  if (name.empty()) return step;
  step.instruction = name;
  if (auto parsed = ParseBuildkitStepName(name)) {
    step.stage = parsed->stage;
    step.index = static_cast<uint32_t>(parsed->index);
  }
  step.line = static_cast<uint32_t>(LocateBuildkitStep(name, dockerfile_text).line);
  return step;
}

// The leak guard of a Docker build (cli/docker_image_scan.h): scans the image for every value the
// session released, records each finding in the audit log, and removes a refused image from
// the Engine. Allowed findings become warnings.
Status GuardEngineImage(engine::EngineClient& client, const std::string& image_id, Session& session,
                        audit::AuditLog& audit, const std::set<std::string>& allowed,
                        std::vector<std::string>* warnings) {
  auto released = session.Released();
  std::optional<engine::HttpConnection> conn;
  DockerImageLeaks leaks;
  DockerLeakCheckOutput out;
  out.warnings = warnings;
  out.leaks = &leaks;
  Status verdict = CheckDockerImageLeaks(
      released, allowed,
      [&](void* buf, size_t cap) -> Result<size_t> {
        if (!conn) {
          LK_ASSIGN_OR_RETURN(engine::HttpConnection c, client.OpenImageSave(image_id));
          conn.emplace(std::move(c));
        }
        return conn->ReadBody(buf, cap);
      },
      image_id, "the image was removed from Docker Engine", out);
  BrokerSecretSession recorder(session, audit);
  for (const auto& layer : leaks.layers) {
    for (const auto& f : layer.findings) {
      build::LeakRecord rec;
      rec.secret_id = f.secret_id;
      rec.layer =
          layer.diff_id.empty() ? "docker layer " + std::to_string(layer.number) : layer.diff_id;
      rec.path = f.path;
      rec.step.instruction = layer.instruction;
      if (Status st = recorder.RecordLeak(rec); !st.ok()) return st;
    }
  }
  for (const auto& f : leaks.metadata) {
    build::LeakRecord rec;
    rec.secret_id = f.secret_id;
    rec.layer = "config";
    rec.path = f.path;
    if (Status st = recorder.RecordLeak(rec); !st.ok()) return st;
  }
  if (verdict.code() == StatusCode::kFailedPrecondition) {
    if (Status removed = client.RemoveImage(image_id); !removed.ok()) {
      return FailedPreconditionError(
          verdict.message().substr(0, verdict.message().find("; the image was removed")) +
          "; removing the image failed: " + removed.message());
    }
  }
  return verdict;
}

}  // namespace

int RunDockerBuild(const std::string& address, const BuildOptions& f, build::ProgressMode mode,
                   build::BuildRequest& req, const Config& config,
                   const volatile sig_atomic_t* signal) {
  auto dockerfile = DockerfileInContext(f, req);
  if (!dockerfile.ok()) return FailFlags(dockerfile.status());
  engine::EngineClient client(address);
  if (auto v = client.Negotiate(); !v.ok()) return Fail(v.status());

  BrokerOptions broker_options;
  broker_options.cancelled = &executor::CancelFlag();
  auto broker = Broker::Start(config, broker_options);
  if (!broker.ok()) return Fail(broker.status());
  SessionAttributes attrs;
  if (Status st = SetCallerAttributes(**broker, f.secrets, &attrs); !st.ok()) return FailFlags(st);
  // The .dockerignore is checked before anything reaches the Engine.
  auto ignore = build::IgnoreMatcher::Load(req.context_dir, req.dockerfile_path);
  if (!ignore.ok()) return Fail(ignore.status());

  auto progress = build::NewProgressWriter(mode, STDERR_FILENO);
  BuildkitProgress trace(*progress);
  RunningSteps running;

  // GetSecret -> the broker session (opened once the Engine session tells who the peer is;
  // BuildKit asks nothing before POST /build).
  std::shared_ptr<Session> broker_session;
  session::SecretsService secrets(
      [&](const std::string& id, const std::map<std::string, std::string>&)
          -> Result<std::shared_ptr<const SecretBuffer>> {
        StepContext step = StepForSecret(running, id, req.dockerfile_text);
        LK_ASSIGN_OR_RETURN(SecretView view, broker_session->Fetch(id, step));
        LK_ASSIGN_OR_RETURN(SecretBuffer copy, SecretBuffer::CopyOf(view.bytes()));
        copy.Seal();
        return std::make_shared<const SecretBuffer>(std::move(copy));
      });
  // Registry credentials for the images the Engine's BuildKit pulls: the session's
  // `registry:<host>` secret, as for an embedded build's pulls (policy kind registry, audited).
  // BuildKit names the host only.
  std::unique_ptr<BrokerRegistryCredentials> registry_credentials;
  session::AuthService auth([&](const std::string& host) -> Result<session::RegistryLogin> {
    registry_credentials->SetStep(StepContext{"", 0, 0, "pull from " + host + " (Docker Engine)"});
    LK_ASSIGN_OR_RETURN(registry::Credential cred, registry_credentials->Get(host, "", "pull"));
    session::RegistryLogin login;
    if (cred.identity_token.size() > 0) {
      login.secret = std::make_shared<const SecretBuffer>(std::move(cred.identity_token));
    } else {
      login.username = std::make_shared<const SecretBuffer>(std::move(cred.username));
      login.secret = std::make_shared<const SecretBuffer>(std::move(cred.password));
    }
    return login;
  });
  // --ssh: this host's agents, asked by the Engine's BuildKit (CheckAgent, ForwardAgent) for
  // RUN --mount=type=ssh; its /build API has no ssh parameter (docker's CLI serves them so too).
  std::vector<session::ServedService> services = {
      {&secrets, "moby.buildkit.secrets.v1.Secrets"},
      {&auth, "moby.filesync.v1.Auth", {"Credentials"}}};
  // Each CheckAgent is recorded (ssh.forward, the step as for GetSecret; `required` unknown:
  // BuildKit does not say) before the Engine gets the answer.
  session::SshService ssh(
      req.ssh_agents,
      [&](const std::string& id, const std::string& agent, const Status& answer) -> Status {
        if (broker_session == nullptr) {
          return FailedPreconditionError("ssh agent " + id +
                                         " was asked for before the build's session opened");
        }
        audit::SshForwardRecord use;
        use.ssh = id;
        use.outcome = answer.ok()                              ? audit::SshOutcome::kGranted
                      : answer.code() == StatusCode::kNotFound ? audit::SshOutcome::kNotFound
                                                               : audit::SshOutcome::kUnusable;
        use.agent = agent;
        use.error = answer.message();
        return broker_session->RecordSshForward(std::move(use),
                                                StepForSecret(running, id, req.dockerfile_text));
      });
  if (!req.ssh_agents.empty()) services.push_back({&ssh, "moby.sshforward.v1.SSH"});
  engine::EngineSessionOptions so;
  so.id = NewSessionId();
  so.name = std::filesystem::path(req.context_dir).filename().string();
  so.shared_key = ContextKey(req.context_dir);
  auto engine_session = engine::EngineSession::Open(address, client.api_prefix(), so, services);
  if (!engine_session.ok()) return Fail(engine_session.status());

  audit::PeerInfo peer;
  peer.transport = audit::kDockerEngineTransport;
  peer.uid = (*engine_session)->peer().uid;
  peer.gid = (*engine_session)->peer().gid;
  peer.pid = (*engine_session)->peer().pid;
  peer.address = address;
  attrs.peer = peer;
  attrs.build_id = so.id;
  attrs.dockerfile = req.dockerfile_path;
  attrs.context = req.context_dir;
  attrs.labels = req.labels;
  auto opened = (*broker)->sessions().Open(std::move(attrs));
  if (!opened.ok()) return Fail(opened.status());
  broker_session = *opened;
  registry_credentials = std::make_unique<BrokerRegistryCredentials>(
      *broker_session, StepContext{}, config.FindPlugin(kDockerConfigProvider) != nullptr);

  std::string image_id;
  Status built = client.Build(
      BuildQuery(f, req, so.id, *dockerfile),
      [&](engine::HttpConnection& conn) {
        return WriteContextTar(req.context_dir, *ignore,
                               [&conn](std::string_view block) { return conn.WriteChunk(block); });
      },
      [&](const engine::EngineMessage& m) -> Status {
        if (m.id == kBuildkitTraceId) {
          LK_ASSIGN_OR_RETURN(moby::buildkit::v1::StatusResponse status,
                              DecodeBuildkitTrace(m.aux));
          running.Feed(status);
          trace.Feed(status);
          return Status::OK();
        }
        if (m.id == "moby.image.id" && m.aux.is_object()) {
          image_id = m.aux.value("ID", "");
        } else if (!m.stream.empty() && m.stream.rfind("Successfully ", 0) != 0) {
          // Docker's classic "Successfully built/tagged" lines are not part of a BuildKit
          // build's output (the image may yet be refused by the leak guard).
          progress->Print(m.stream);
        }
        return Status::OK();
      },
      [] { return executor::CancelRequested(); });
  if (built.ok() && image_id.empty()) {
    built =
        DataLossError("Docker Engine at " + address + " finished the build without an image id");
  }
  trace.Finish();
  // The leak guard, over the image as Docker Engine stored it.
  std::vector<std::string> warnings = trace.warnings();
  if (built.ok()) {
    built = GuardEngineImage(client, image_id, *broker_session, (*broker)->audit(),
                             req.allowed_leaks, &warnings);
  }
  (*engine_session)->Close();

  BuildJobOutcome job;
  job.started = true;
  job.build_ref = "docker/" + so.id;
  bool cancelled = !built.ok() && built.code() == StatusCode::kCancelled;
  job.closed = broker_session->Close(built.ok() ? "completed" : cancelled ? "cancelled" : "failed");
  if (built.ok()) {
    build::BuildResult result;
    result.image.config_digest = image_id;
    result.tags = f.tags;
    result.warnings = std::move(warnings);
    result.steps_run = trace.steps_run();
    result.steps_cached = trace.steps_cached();
    job.result = std::move(result);
  } else {
    job.result = built;
    job.failure = trace.Failure(req.dockerfile_text);
  }
  return ReportBuild(f, mode, req, job, *progress, *signal);
}

}  // namespace latchkey::cli
