#include "secure/hardening.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "secure/secret_buffer.h"

namespace latchkey {
namespace {

std::string FormatLimit(rlim_t v) {
  if (v == RLIM_INFINITY) return "unlimited";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(v) / (1024.0 * 1024.0));
  return buf;
}

}  // namespace

Result<HardeningReport> HardenProcess() {
  struct rlimit core = {0, 0};
  if (setrlimit(RLIMIT_CORE, &core) != 0) {
    return InternalError(std::string("hardening: setrlimit(RLIMIT_CORE, 0) failed: ") +
                         std::strerror(errno));
  }
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return InternalError(std::string("hardening: prctl(PR_SET_DUMPABLE, 0) failed: ") +
                         std::strerror(errno));
  }
  LK_RETURN_IF_ERROR(EnsureSodium());
  struct rlimit memlock = {};
  if (getrlimit(RLIMIT_MEMLOCK, &memlock) != 0) {
    return InternalError(std::string("hardening: getrlimit(RLIMIT_MEMLOCK) failed: ") +
                         std::strerror(errno));
  }
  HardeningReport report;
  report.memlock_soft = memlock.rlim_cur == RLIM_INFINITY ? UINT64_MAX : memlock.rlim_cur;
  report.memlock_hard = memlock.rlim_max == RLIM_INFINITY ? UINT64_MAX : memlock.rlim_max;
  report.log_line = "hardening: core dumps disabled; memlock limit " +
                    FormatLimit(memlock.rlim_cur) + " (soft) / " + FormatLimit(memlock.rlim_max) +
                    " (hard)";
  return report;
}

}  // namespace latchkey
