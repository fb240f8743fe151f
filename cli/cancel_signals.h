// Ctrl-C for the commands that talk to the outside world for a while (build, pull, push):
// SIGINT, SIGTERM and SIGHUP request cancellation (executor::RequestCancel), so a running step
// is killed and torn down, a download or upload stops within about a second (its partial blob
// discarded), and the command exits kExitInterrupted (130) after saying what it stopped.
//
// Thread-safety: install once, from the main thread, before starting other threads.
#ifndef LATCHKEY_CLI_CANCEL_SIGNALS_H_
#define LATCHKEY_CLI_CANCEL_SIGNALS_H_

#include <csignal>

#include "latchkey/status.h"

namespace latchkey::cli {

// Installs the handlers (after executor::InitCancellation). Errors name the failed call.
Status InstallCancelSignals();

// The first of those signals received, 0 while none was; async-signal-safe to read.
const volatile sig_atomic_t* CancelSignal();

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_CANCEL_SIGNALS_H_
