// Build cancellation: Ctrl-C or SIGTERM must stop a build promptly AND let every step tear down
// (secret tmpfs wiped and unmounted, overlay unmounted, session closed). A signal handler calls
// RequestCancel(); a running step notices through a self-pipe it polls together with the
// runtime's output, kills its container (by killing runc, the init of the container's enclosing
// PID namespace: runtime_process.h; the container's PID 1 ignores SIGINT/SIGTERM it has no
// handler for), and returns; a step waiting for a provider's fetch returns too (the broker
// polls CancelFlag()); the builder then stops before the next step with CANCELLED.
//
// Thread-safety: RequestCancel is async-signal-safe; everything else is thread-safe.
#ifndef LATCHKEY_BUILDER_EXECUTOR_CANCEL_H_
#define LATCHKEY_BUILDER_EXECUTOR_CANCEL_H_

#include <atomic>

#include "latchkey/status.h"

namespace latchkey::executor {

// Creates the self-pipe. Call once before installing a signal handler that calls
// RequestCancel (later calls do nothing). Errors name the failed pipe(2).
Status InitCancellation();

// Marks the process as cancelled and wakes running steps. Async-signal-safe; idempotent.
void RequestCancel() noexcept;

// True once RequestCancel has been called.
bool CancelRequested() noexcept;

// The flag behind CancelRequested, for code that polls an atomic (the broker's provider
// fetches: BrokerOptions::cancelled). Lives as long as the process.
const std::atomic<bool>& CancelFlag() noexcept;

// A descriptor that becomes (and stays) readable after RequestCancel; -1 before
// InitCancellation.
int CancelPollFd() noexcept;

}  // namespace latchkey::executor

#endif  // LATCHKEY_BUILDER_EXECUTOR_CANCEL_H_
