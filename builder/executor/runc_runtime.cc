#include "builder/executor/runc_runtime.h"

#include <sys/stat.h>

#include <vector>

#include "builder/executor/runtime_process.h"

namespace latchkey::executor {

Result<std::unique_ptr<RunningContainer>> RuncRuntime::Start(const ContainerRef& ref) {
  std::vector<std::string> argv = {binary_,      "--root",       ref.state_root, "--log",
                                   ref.log_path, "--log-format", "json",         "run",
                                   "--bundle",   ref.bundle,     ref.id};
  LK_ASSIGN_OR_RETURN(std::unique_ptr<RuntimeProcess> p, RuntimeProcess::Start(argv));
  return std::unique_ptr<RunningContainer>(std::move(p));
}

void RuncRuntime::Delete(const ContainerRef& ref) {
  struct stat st;
  if (::stat((ref.state_root + "/" + ref.id).c_str(), &st) != 0) return;
  RunQuietly({binary_, "--root", ref.state_root, "delete", "--force", ref.id});
}

}  // namespace latchkey::executor
