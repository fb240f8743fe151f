#include "cli/state_recovery_setup.h"

#include <memory>

#include "broker/broker.h"
#include "broker/logging.h"
#include "builder/solver/state_recovery.h"

namespace latchkey::cli {

Status RecoverBuilderState(const Config& config, const std::string& builder_state_dir,
                           const std::string& runtime, audit::AuditLog* audit,
                           const RecoveryEvent& event) {
  std::string rt = !runtime.empty()                  ? runtime
                   : !config.builder.runtime.empty() ? config.builder.runtime
                                                     : "runc";
  build::RecoveryReport report;
  Status st = build::RecoverState(builder_state_dir, rt, &report);
  const bool daemon_died = event.daemon_start && event.previous_pid != 0;
  if (!report.empty() || daemon_died) {
    if (daemon_died) {
      GetLogger("latchkeyd")
          ->warn(
              "latchkeyd pid {} did not stop cleanly; recovered {}: {} container(s), {} mount(s), "
              "{} "
              "director(y/ies) cleaned",
              event.previous_pid, builder_state_dir, report.containers.size(), report.mounts.size(),
              report.dirs.size());
    } else {
      GetLogger("builder")->warn(
          "recovered {} after a build that died: {} container(s), {} mount(s), {} "
          "director(y/ies) cleaned",
          builder_state_dir, report.containers.size(), report.mounts.size(), report.dirs.size());
    }
    std::unique_ptr<Broker> broker;
    if (audit == nullptr) {
      LK_ASSIGN_OR_RETURN(broker, Broker::Start(config));
      audit = &broker->audit();
    }
    audit::RecoveredRecord rec;
    rec.state_dir = builder_state_dir;
    rec.containers = std::move(report.containers);
    rec.mounts = std::move(report.mounts);
    rec.dirs = std::move(report.dirs);
    rec.daemon = event.daemon_start;
    rec.previous_pid = event.previous_pid;
    LK_RETURN_IF_ERROR(audit->Append(std::move(rec)));
    LK_RETURN_IF_ERROR(audit->Checkpoint("recovered"));
  }
  if (!st.ok()) return st.WithPrefix("recovering " + builder_state_dir);
  return Status::OK();
}

}  // namespace latchkey::cli
