#include "daemon/build_call.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <vector>

#include "base/env.h"
#include "base/errno_status.h"
#include "base/file.h"
#include "base/poll_watcher.h"
#include "base/unique_fd.h"
#include "broker/logging.h"
#include "builder/executor/cancel.h"
#include "builder/solver/progress_json.h"
#include "daemon/build_stream.h"
#include "daemon/context_mirror.h"
#include "daemon/output_send.h"
#include "daemon/session_agent_dialer.h"
#include "daemon/session_registry_auth.h"

namespace latchkey::daemon {
namespace {

grpc::Status Grpc(const Status& st) {
  return grpc::Status(static_cast<grpc::StatusCode>(st.code()), st.message());
}

// The mirror directory of one client context: "<uid>-<32 hex digits of SHA-256(key)>".
std::string MirrorName(const std::optional<PeerCred>& peer, const std::string& key) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  char hex[33];
  sodium_bin2hex(hex, sizeof hex, digest, 16);
  return (peer ? std::to_string(peer->uid) : std::string("unknown")) + "-" + hex;
}

// A daemon-side copy of one client context, updated from the session under its lock (held
// exclusively during the transfer, then shared for the build: builds of this context may share
// it, transfers wait).
struct LockedMirror {
  std::string dir;
  base::UniqueFd lock;
};

Result<LockedMirror> SyncMirror(const std::shared_ptr<grpc::Channel>& channel,
                                const std::string& contexts, const std::optional<PeerCred>& peer,
                                const std::string& key, const std::string& context_name,
                                ContextSyncStats* stats) {
  LockedMirror m;
  m.dir = contexts + "/" + MirrorName(peer, key);
  m.lock = base::UniqueFd(::open((m.dir + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!m.lock.valid()) return base::ErrnoStatus("open", m.dir + ".lock", errno);
  while (::flock(m.lock.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return base::ErrnoStatus("lock", m.dir + ".lock", errno);
  }
  LK_ASSIGN_OR_RETURN(*stats, SyncContext(channel, m.dir, context_name));
  (void)::flock(m.lock.get(), LOCK_SH);
  return m;
}

}  // namespace

grpc::Status ServeBuild(BuildRunner* runner, BrokerHost* broker, RunningBuilds* running,
                        SessionManager& sessions, const std::string& state_dir,
                        const std::optional<PeerCred>& peer, grpc::ServerContext* context,
                        const latchkey::v1::BuildRequest& request,
                        grpc::ServerWriter<latchkey::v1::BuildResponse>* writer) {
  if (runner == nullptr) {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "this latchkeyd does not run builds");
  }
  const std::string& sid = request.session_id();
  auto log = GetLogger("latchkeyd");
  if (sid.empty() ||
      !sessions.WaitFor(sid, SessionManager::Clock::now() + std::chrono::seconds(5))) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no active session for " + sid);
  }
  SessionInfo session_info;
  std::shared_ptr<grpc::Channel> channel = sessions.Channel(sid, &session_info);
  if (channel == nullptr) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no active session for " + sid);
  }

  // 2. The context, under the mirror's lock.
  const std::string contexts = state_dir + "/contexts";
  if (Status st = base::MakeDirs(contexts, 0700); !st.ok()) return Grpc(st);
  auto started = std::chrono::steady_clock::now();
  ContextSyncStats synced;
  Result<LockedMirror> main_mirror =
      SyncMirror(channel, contexts, peer,
                 request.context_key().empty() ? sid : request.context_key(), "", &synced);
  if (!main_mirror.ok()) return Grpc(main_mirror.status());
  const std::string mirror = main_mirror->dir;
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  log->info("session {}: context: {} entries, {} files ({} bytes) fetched in {} ms", sid,
            synced.entries, synced.files_fetched, synced.bytes_fetched, took.count());
  // --build-context directories: each into a copy of its own (keyed per client directory).
  std::vector<LockedMirror> named_mirrors;
  std::map<std::string, std::string> named_dirs;
  for (const auto& bc : request.build_contexts()) {
    if (bc.name().empty() || named_dirs.count(bc.name()) != 0) {
      return grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          "invalid build_contexts entry \"" + bc.name() + "\": want a unique, non-empty name");
    }
    ContextSyncStats stats;
    Result<LockedMirror> m = SyncMirror(
        channel, contexts, peer,
        "build-context:" + bc.name() + ":" + (bc.context_key().empty() ? sid : bc.context_key()),
        bc.name(), &stats);
    if (!m.ok()) return Grpc(m.status());
    log->info("session {}: build context {}: {} entries, {} files ({} bytes) fetched", sid,
              bc.name(), stats.entries, stats.files_fetched, stats.bytes_fetched);
    synced.files_fetched += stats.files_fetched;
    synced.bytes_fetched += stats.bytes_fetched;
    named_dirs[bc.name()] = m->dir + "/tree";
    named_mirrors.push_back(std::move(m).value());
  }

  // 3. The Dockerfile in a job directory; the build.
  auto job_dir = base::MakeTempDir(contexts, "job-");
  if (!job_dir.ok()) return Grpc(job_dir.status());
  struct RemoveJob {
    std::string dir;
    ~RemoveJob() { (void)base::RemoveAll(dir); }
  } remove_job{*job_dir};
  std::string name = request.dockerfile_name().empty() ? "Dockerfile" : request.dockerfile_name();
  if (name.find('/') != std::string::npos || name == "." || name == "..") {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "invalid dockerfile_name \"" + name + "\": want a file name");
  }
  DaemonBuild build;
  build.request = &request;
  build.context_dir = mirror + "/tree";
  build.dockerfile_path = *job_dir + "/" + name;
  if (Status st = base::WriteFileAtomic(build.dockerfile_path, request.dockerfile(), 0600);
      !st.ok()) {
    return Grpc(st);
  }
  build.peer = peer;
  build.broker = broker;
  build.job_dir = *job_dir;
  build.build_context_dirs = named_dirs;
  build.send_output = [&sessions, sid](size_t index, const std::string& path) {
    return SendOutput(sessions.Channel(sid), index, path, [] {
      return executor::CancelRequested() ? CancelledError("build cancelled") : Status::OK();
    });
  };
  build.client_secrets = [&sessions, sid](const std::string& id,
                                          std::chrono::steady_clock::time_point deadline) {
    auto left = deadline - std::chrono::steady_clock::now();
    return sessions.GetSecret(
        sid, id,
        SessionManager::Clock::now() +
            std::chrono::duration_cast<SessionManager::Clock::duration>(left));
  };

  // Registry logins: asked from the client first when its session serves them.
  if (std::find(session_info.methods.begin(), session_info.methods.end(), kAuthCredentialsMethod) !=
      session_info.methods.end()) {
    auto auth = std::make_shared<SessionRegistryAuth>(sid, channel);
    build.client_registry = [auth](const std::string& host,
                                   std::chrono::steady_clock::time_point deadline) {
      return auth->Credentials(host, deadline);
    };
    log->info("session {}: registry logins served by the client", sid);
  }
  build.ssh_agents = std::make_shared<SessionAgentDialer>(sid, channel);
  if (request.ssh_ids_size() > 0) {
    std::string ids;
    for (const auto& id : request.ssh_ids()) ids += (ids.empty() ? "" : ", ") + id;
    log->info("session {}: ssh agents served by the client: {}", sid, ids);
  }

  auto token = executor::CancelToken::Create();
  if (!token.ok()) return Grpc(token.status());
  executor::CancelToken* t = token->get();
  // Events reach the client through a bounded queue: a client that stops reading pauses the
  // build, never grows the daemon, and cannot keep a cancelled build from ending.
  BuildStream stream([writer](const latchkey::v1::BuildResponse& r) { return writer->Write(r); },
                     [t] { return t->cancelled(); }, [context] { context->TryCancel(); });
  auto progress = build::NewJsonProgressWriter(
      [&stream](std::string line) {
        latchkey::v1::BuildResponse r;
        r.set_event(std::move(line));
        (void)stream.Send(std::move(r));  // false once the client is gone: the watcher cancels
      },
      {});
  latchkey::v1::BuildResponse response;
  latchkey::v1::BuildResult* result = response.mutable_result();
  Status ran;
  {
    // The client went away or cancelled: cancel the build.
    base::PollWatcher watcher(
        std::chrono::milliseconds(50), [context] { return context->IsCancelled(); },
        [t] { t->Cancel(); });
    executor::CancelScope scope(token->get());
    std::unique_ptr<RunningBuilds::Registration> registered;
    if (running != nullptr) registered = running->Add(t);
    ran = runner->Run(build, *progress, result);
    progress->Finish();
  }
  if (!ran.ok()) {
    stream.Finish(std::nullopt);  // the events up to the failure reach the client first
    return Grpc(ran);
  }
  if ((*token)->cancelled()) stream.Finish(std::nullopt);
  if ((*token)->cancelled() && running != nullptr && running->stopping()) {
    log->info("session {}: build cancelled: latchkeyd is shutting down", sid);
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(kShuttingDownBuildMessage));
  }
  if ((*token)->cancelled()) {
    log->info("session {}: build cancelled by the client", sid);
    return grpc::Status(grpc::StatusCode::CANCELLED, "build cancelled");
  }
  result->set_context_files_sent(static_cast<int64_t>(synced.files_fetched));
  result->set_context_bytes_sent(static_cast<int64_t>(synced.bytes_fetched));
  stream.Finish(std::move(response));
  return grpc::Status::OK;
}

}  // namespace latchkey::daemon
