#include "cli/remote_gc.h"

#include <iostream>

#include "api/latchkey/v1/control.grpc.pb.h"
#include "daemon/gc_call.h"

namespace latchkey::cli {

Status CheckNoStateDir(const std::string& state_dir, const HostChoice& host) {
  if (state_dir.empty() || host.host.empty()) return Status::OK();
  return InvalidArgumentError("--state-dir applies to embedded mode: latchkeyd at " + host.host +
                              (host.origin.empty() ? "" : " (" + host.origin + ")") +
                              " uses its own state directory (drop --state-dir, or add --host "
                              "embedded)");
}

Result<RemoteDiskUsage> DaemonDiskUsage(const HostChoice& host) {
  LK_ASSIGN_OR_RETURN(auto channel, ConnectDaemon(host.host, host.origin));
  latchkey::v1::DiskUsageResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = latchkey::v1::Control::NewStub(channel)->DiskUsage(
      &ctx, latchkey::v1::DiskUsageRequest(), &resp);
  if (!st.ok()) return DaemonCallError(st);
  return RemoteDiskUsage{resp.state_dir(), daemon::FromProto(resp)};
}

void PrintWaitingForBuilds(const std::string& dir) {
  std::cerr << "waiting for the running builds on " << dir << " to finish\n";
}

Result<build::GcReport> DaemonPrune(const HostChoice& host, latchkey::v1::PruneRequest request,
                                    const std::function<void(const std::string&)>& on_wait) {
  LK_ASSIGN_OR_RETURN(auto channel, ConnectDaemon(host.host, host.origin));
  auto stub = latchkey::v1::Control::NewStub(channel);
  request.set_wait(false);
  for (;;) {
    latchkey::v1::PruneResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = stub->Prune(&ctx, request, &resp);
    if (!st.ok()) return DaemonCallError(st);
    if (!resp.in_use()) return daemon::FromProto(resp);
    if (request.wait()) return InternalError("latchkeyd answered a waiting prune with in_use");
    on_wait(resp.state_dir());
    request.set_wait(true);
  }
}

}  // namespace latchkey::cli
