// ServeBuild: latchkeyd's latchkey.v1.Control/Build (docs/daemon.md, "Build").
//
//  1. The session named by the request (waited for up to 5 s: a client opens it just before)
//     gives the tunnel channel; NOT_FOUND "no active session for <id>" otherwise.
//  2. The client's context is brought up to date in the daemon's mirror of it
//     (<state_dir>/contexts/<uid>-<key digest>/, context_mirror.h), under an exclusive lock of
//     that mirror, then held under a shared lock for the build (two builds of one context run
//     together; a third one's transfer waits for them).
//  3. The Dockerfile is written to a job directory; the runner builds (build_runner.h) with a
//     json progress writer whose events become the call's messages, under a CancelScope whose
//     token a watcher cancels within 50 ms of the call being cancelled (the client pressed
//     Ctrl-C, was killed, or its connection broke).
//  4. The result, with the context transfer's counts, is the last message.
//
// Thread-safety: one call per thread (gRPC's sync handler threads); calls run concurrently.
#ifndef LATCHKEY_DAEMON_BUILD_CALL_H_
#define LATCHKEY_DAEMON_BUILD_CALL_H_

#include <grpcpp/grpcpp.h>

#include <optional>
#include <string>

#include "api/latchkey/v1/control.grpc.pb.h"
#include "daemon/build_runner.h"
#include "daemon/peer.h"
#include "daemon/running_builds.h"
#include "daemon/session_manager.h"

namespace latchkey::daemon {

// `runner` null: UNIMPLEMENTED "this latchkeyd does not run builds". `state_dir`: the
// daemon's state directory (mirrors and job directories live below it).
// The status message of a Build call whose build latchkeyd cancelled because it is stopping
// (SIGTERM); the call's code is UNAVAILABLE.
inline constexpr char kShuttingDownBuildMessage[] =
    "latchkeyd is shutting down: the build was cancelled";

// `broker`: the daemon's broker host, handed to the runner (DaemonBuild::broker). `running`:
// where the build's cancel token is registered while it runs (SIGTERM cancels it).
grpc::Status ServeBuild(BuildRunner* runner, BrokerHost* broker, RunningBuilds* running,
                        SessionManager& sessions, const std::string& state_dir,
                        const std::optional<PeerCred>& peer, grpc::ServerContext* context,
                        const latchkey::v1::BuildRequest& request,
                        grpc::ServerWriter<latchkey::v1::BuildResponse>* writer);

}  // namespace latchkey::daemon

#endif  // LATCHKEY_DAEMON_BUILD_CALL_H_
