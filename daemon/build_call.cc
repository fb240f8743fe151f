#include "daemon/build_call.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <chrono>

#include "base/env.h"
#include "base/errno_status.h"
#include "base/file.h"
#include "base/poll_watcher.h"
#include "base/unique_fd.h"
#include "broker/logging.h"
#include "builder/executor/cancel.h"
#include "builder/solver/progress_json.h"
#include "daemon/context_mirror.h"
#include "daemon/output_send.h"

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
  std::shared_ptr<grpc::Channel> channel = sessions.Channel(sid);
  if (channel == nullptr) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no active session for " + sid);
  }

  // 2. The context, under the mirror's lock.
  const std::string contexts = state_dir + "/contexts";
  if (Status st = base::MakeDirs(contexts, 0700); !st.ok()) return Grpc(st);
  const std::string mirror =
      contexts + "/" +
      MirrorName(peer, request.context_key().empty() ? sid : request.context_key());
  base::UniqueFd lock(::open((mirror + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock.valid()) return Grpc(base::ErrnoStatus("open", mirror + ".lock", errno));
  while (::flock(lock.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return Grpc(base::ErrnoStatus("lock", mirror + ".lock", errno));
  }
  auto started = std::chrono::steady_clock::now();
  Result<ContextSyncStats> synced = SyncContext(channel, mirror);
  if (!synced.ok()) return Grpc(synced.status());
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  log->info("session {}: context: {} entries, {} files ({} bytes) fetched in {} ms", sid,
            synced->entries, synced->files_fetched, synced->bytes_fetched, took.count());
  (void)::flock(lock.get(), LOCK_SH);  // builds of this context may share it; transfers wait

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

  auto token = executor::CancelToken::Create();
  if (!token.ok()) return Grpc(token.status());
  std::mutex write_mu;  // the sink is called under the writer's own mutex; Write is not shared
  auto progress = build::NewJsonProgressWriter(
      [writer, &write_mu](std::string line) {
        latchkey::v1::BuildResponse r;
        r.set_event(std::move(line));
        std::lock_guard<std::mutex> l(write_mu);
        (void)writer->Write(r);  // false once the client is gone: the watcher cancels
      },
      {});
  latchkey::v1::BuildResponse response;
  latchkey::v1::BuildResult* result = response.mutable_result();
  Status ran;
  {
    // The client went away or cancelled: cancel the build.
    executor::CancelToken* t = token->get();
    base::PollWatcher watcher(
        std::chrono::milliseconds(50), [context] { return context->IsCancelled(); },
        [t] { t->Cancel(); });
    executor::CancelScope scope(token->get());
    std::unique_ptr<RunningBuilds::Registration> registered;
    if (running != nullptr) registered = running->Add(t);
    ran = runner->Run(build, *progress, result);
    progress->Finish();
  }
  if (!ran.ok()) return Grpc(ran);
  if ((*token)->cancelled() && running != nullptr && running->stopping()) {
    log->info("session {}: build cancelled: latchkeyd is shutting down", sid);
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(kShuttingDownBuildMessage));
  }
  if ((*token)->cancelled()) {
    log->info("session {}: build cancelled by the client", sid);
    return grpc::Status(grpc::StatusCode::CANCELLED, "build cancelled");
  }
  result->set_context_files_sent(static_cast<int64_t>(synced->files_fetched));
  result->set_context_bytes_sent(static_cast<int64_t>(synced->bytes_fetched));
  std::lock_guard<std::mutex> l(write_mu);
  writer->Write(response);
  return grpc::Status::OK;
}

}  // namespace latchkey::daemon
