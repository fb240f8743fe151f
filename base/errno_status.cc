#include "base/errno_status.h"

#include <errno.h>
#include <string.h>

namespace latchkey::base {

std::string ErrnoText(int err) {
  const char* text = ::strerrordesc_np(err);
  if (text == nullptr) return "errno " + std::to_string(err);
  return text;
}

StatusCode ErrnoCode(int err) {
  switch (err) {
    case ENOENT:
      return StatusCode::kNotFound;
    case EEXIST:
      return StatusCode::kAlreadyExists;
    case EACCES:
    case EPERM:
    case EROFS:
      return StatusCode::kPermissionDenied;
    case ENOSPC:
    case EDQUOT:
      return StatusCode::kResourceExhausted;
    default:
      return StatusCode::kInternal;
  }
}

Status ErrnoStatus(std::string_view op, std::string_view path, int err) {
  std::string msg(op);
  if (!path.empty()) {
    msg += " ";
    msg += path;
  }
  msg += ": ";
  msg += ErrnoText(err);
  return Status(ErrnoCode(err), std::move(msg));
}

Status WithCode(const Status& s, StatusCode code) {
  if (s.ok()) return s;
  return Status(code, s.message());
}

}  // namespace latchkey::base
