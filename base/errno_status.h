// errno -> Status: the one mapping from an OS error to a status code, and the one way to word it.
//
// The mapping (ErrnoCode):
//   ENOENT                 -> NOT_FOUND
//   EEXIST                 -> ALREADY_EXISTS
//   EACCES, EPERM, EROFS   -> PERMISSION_DENIED
//   ENOSPC, EDQUOT         -> RESOURCE_EXHAUSTED
//   anything else          -> INTERNAL
// A caller whose contract needs another code says so at its call site with WithCode (the audit
// log, which fails closed, reports every failure but a missing file as UNAVAILABLE).
//
// Thread-safety: pure functions (ErrnoText uses strerrordesc_np, not the racy strerror).
#ifndef LATCHKEY_BASE_ERRNO_STATUS_H_
#define LATCHKEY_BASE_ERRNO_STATUS_H_

#include <string>
#include <string_view>

#include "latchkey/status.h"

namespace latchkey::base {

// The description of `err`, e.g. "No such file or directory"; "errno 1234" for a value the C
// library does not know.
std::string ErrnoText(int err);

// The status code for `err` (table above).
StatusCode ErrnoCode(int err);

// "<op> <path>: <ErrnoText(err)>" with code ErrnoCode(err); "<op>: <text>" when `path` is
// empty. Example: ErrnoStatus("open", "/x/y", ENOENT) is NOT_FOUND "open /x/y: No such file or
// directory".
Status ErrnoStatus(std::string_view op, std::string_view path, int err);

// `s` with its code replaced by `code` (message unchanged); OK stays OK.
Status WithCode(const Status& s, StatusCode code);

}  // namespace latchkey::base

#endif  // LATCHKEY_BASE_ERRNO_STATUS_H_
