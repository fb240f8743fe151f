// The audit log's side effects on the filesystem go through base::Env (base/env.h), so that tests
// can inject faults (disk full, permission denied, I/O errors, a write that hangs).
//
// Every failure is a Status whose message is the cause alone, naming the operation and the path
// ("writing /var/lib/latchkey/audit/audit.log: No space left on device"); the AuditLog adds the
// "audit log unavailable: " prefix.
#ifndef LATCHKEY_BROKER_AUDIT_AUDIT_FILE_H_
#define LATCHKEY_BROKER_AUDIT_AUDIT_FILE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/env.h"
#include "latchkey/status.h"

namespace latchkey::audit {

// The audit log's file interface is the base library's Env (base/env.h).
using AuditFile = base::WritableFile;
using AuditFs = base::Env;
using base::FileIdentity;
using base::FileTail;

// base::PosixEnv() with the audit log's fail-closed codes: every failure but a missing file is
// UNAVAILABLE (an explicit override of base::ErrnoCode, which says RESOURCE_EXHAUSTED for a full
// disk, for example); the messages are base::Env's. The returned object is shared and stateless.
std::shared_ptr<AuditFs> PosixAuditFs();

// Wraps `env` so that its failures carry the codes described above PosixAuditFs().
std::shared_ptr<AuditFs> FailClosed(std::shared_ptr<AuditFs> env);

// Reads a whole file into a string (used by the read-only tools); NOT_FOUND when missing,
// UNAVAILABLE naming the path and errno otherwise.
Result<std::string> ReadWholeFile(const std::string& path);

}  // namespace latchkey::audit

#endif  // LATCHKEY_BROKER_AUDIT_AUDIT_FILE_H_
