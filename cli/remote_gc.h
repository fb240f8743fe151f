// `latchkey du`, `latchkey prune` and `latchkey image prune` through latchkeyd (docs/daemon.md,
// "The CLI as a client"): the daemon's DiskUsage and Prune calls (daemon/gc_call.h), answered
// with the GC's own structs so that the commands print them as they print embedded results.
//
// Thread-safety: one call per command; the functions share no state.
#ifndef LATCHKEY_CLI_REMOTE_GC_H_
#define LATCHKEY_CLI_REMOTE_GC_H_

#include <functional>
#include <string>

#include "api/latchkey/v1/control.pb.h"
#include "builder/solver/store_gc.h"
#include "cli/daemon_client.h"
#include "latchkey/status.h"

namespace latchkey::cli {

// INVALID_ARGUMENT when a command that runs through the daemon `host` was given --state-dir
// (`state_dir` not empty): "--state-dir applies to embedded mode: latchkeyd at <host> [(<origin>)]
// uses its own state directory (drop --state-dir, or add --host embedded)". OK otherwise.
Status CheckNoStateDir(const std::string& state_dir, const HostChoice& host);

struct RemoteDiskUsage {
  std::string state_dir;  // the daemon's builder state directory
  build::DiskUsage usage;
};

// DiskUsage of the daemon at `host`. Errors: ConnectDaemon's (INVALID_ARGUMENT for a malformed
// host, UNAVAILABLE "cannot reach latchkeyd at ..."), then DaemonCallError's.
Result<RemoteDiskUsage> DaemonDiskUsage(const HostChoice& host);

// Prints "waiting for the running builds on <dir> to finish" to stderr, as embedded mode does.
void PrintWaitingForBuilds(const std::string& dir);

// Prune through the daemon at `host` with `request` (its `wait` is set here): first without
// waiting; when a build holds the daemon's state dir, `on_wait` is called with the daemon's
// builder state dir and the call is made again, waiting. Errors: as DaemonDiskUsage's; the
// daemon's INVALID_ARGUMENT for a bad flag (the CLI's texts).
Result<build::GcReport> DaemonPrune(
    const HostChoice& host, latchkey::v1::PruneRequest request,
    const std::function<void(const std::string& dir)>& on_wait = PrintWaitingForBuilds);

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_REMOTE_GC_H_
