// CancelCheck: how a long loop (writing a layer, unpacking a tar, exporting an image) learns that
// its caller gave up, e.g. Ctrl-C during a build.
//
// The loop polls the check between units of work (per tar entry, per chunk of data: 64 KiB read
// or written, 1 MiB copied in the kernel). The check returns OK while the work may go on, and
// otherwise the status the loop must return unchanged (the builder's is CANCELLED "build
// cancelled", builder/solver/build_run.h, which the CLI turns into exit 130 or 143). A loop that
// stops this way removes what it had written but not yet published, as it does for any other
// failure. An empty CancelCheck never cancels.
//
// Thread-safety: a check is called from the thread doing the work; one shared between threads
// must be thread-safe itself (the builder's reads an atomic flag).
#ifndef LATCHKEY_BASE_CANCEL_H_
#define LATCHKEY_BASE_CANCEL_H_

#include <functional>

#include "latchkey/status.h"

namespace latchkey::base {

using CancelCheck = std::function<Status()>;

// OK when `check` is empty, else what it returns.
inline Status PollCancel(const CancelCheck& check) { return check ? check() : Status::OK(); }

}  // namespace latchkey::base

#endif  // LATCHKEY_BASE_CANCEL_H_
