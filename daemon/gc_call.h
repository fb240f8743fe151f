// DiskUsage and Prune: latchkeyd's latchkey.v1.Control calls over its builder state directory
// (docs/daemon.md, "API"), run by the same functions as `latchkey du` and `latchkey prune`
// (builder/solver/store_gc.h), and the conversions between those functions' structs and the
// wire messages, with which the CLI prints a daemon's answer exactly as it prints its own.
//
// Concurrency with the daemon's builds: every build holds the state dir's GC lock shared for its
// whole run (builder/solver/builder.cc: from before its first read of the store to after its
// image is tagged and exported), and CollectGarbage sweeps only under the exclusive lock; both
// are flocks on separate open files, which exclude each other within one process as between
// processes. So a Prune never deletes what a running build references or is about to commit: it
// runs before the build takes the lock (the build then waits for it, and finds what it needs
// afresh), or after the build released it. The context mirrors and job directories of Build
// calls live outside the builder state dir (<state_dir>/contexts) and are never collected.
//
// Thread-safety: the functions may run concurrently with each other and with builds.
#ifndef LATCHKEY_DAEMON_GC_CALL_H_
#define LATCHKEY_DAEMON_GC_CALL_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "api/latchkey/v1/control.pb.h"
#include "broker/audit/audit_record.h"
#include "builder/solver/store_gc.h"

namespace latchkey::daemon {

// How often a waiting Prune tries the state dir's GC lock again.
inline constexpr std::chrono::milliseconds kPruneRetryInterval{100};

// DiskUsage of `builder_state_dir` (MeasureDiskUsage): the store's errors as the call's status.
grpc::Status ServeDiskUsage(const std::string& builder_state_dir,
                            latchkey::v1::DiskUsageResponse* response);

// What a Prune call may be ended by while it waits for running builds.
struct PruneWaitEnd {
  std::function<bool()> cancelled;  // the call was cancelled (client gone, deadline): CANCELLED
  std::function<bool()> stopping;   // the daemon stops: UNAVAILABLE "latchkeyd is shutting down"
};

// Prune of `builder_state_dir` for `caller` (for the log: DescribeCaller). The request's flags
// are parsed by PruneFlagsToPolicy (daemon/prune_flags.h: INVALID_ARGUMENT with the CLI's
// texts); keep_cache leaves the build cache alone (image prune). While a build holds the state
// dir: with request.wait false the answer is `in_use` and nothing is deleted; with wait true the
// lock is tried every kPruneRetryInterval until it is free or `end` says stop. Every prune that
// ran is logged to the "latchkeyd" logger with its caller, flags and what it freed.
grpc::Status ServePrune(const std::string& builder_state_dir,
                        const latchkey::v1::PruneRequest& request, const std::string& caller,
                        const PruneWaitEnd& end, latchkey::v1::PruneResponse* response);

// The caller of a call for the daemon's log: "uid=1000(ann) gid=1000 pid=4242" on the unix
// socket, "client_cn=ci address=ipv4:127.0.0.1:50312" on TCP, "an unidentified caller" when
// the daemon does not know it.
std::string DescribeCaller(const std::optional<audit::PeerInfo>& peer);

// The GC's structs on the wire, and back. FromProto(ToProto(x)) == x field for field.
void ToProto(const build::DiskUsage& usage, const std::string& state_dir,
             latchkey::v1::DiskUsageResponse* out);
build::DiskUsage FromProto(const latchkey::v1::DiskUsageResponse& in);
void ToProto(const build::GcReport& report, latchkey::v1::PruneResponse* out);
build::GcReport FromProto(const latchkey::v1::PruneResponse& in);

}  // namespace latchkey::daemon

#endif  // LATCHKEY_DAEMON_GC_CALL_H_
