#include "cli/cancel_signals.h"

#include <cerrno>
#include <cstring>
#include <string>

#include "builder/executor/cancel.h"

namespace latchkey::cli {
namespace {

volatile sig_atomic_t g_signal = 0;

void OnSignal(int sig) {
  if (g_signal == 0) g_signal = sig;
  executor::RequestCancel();
}

}  // namespace

Status InstallCancelSignals() {
  LK_RETURN_IF_ERROR(executor::InitCancellation());
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    if (::sigaction(sig, &sa, nullptr) != 0) {
      return InternalError(std::string("sigaction: ") + std::strerror(errno));
    }
  }
  return Status::OK();
}

const volatile sig_atomic_t* CancelSignal() { return &g_signal; }

}  // namespace latchkey::cli
