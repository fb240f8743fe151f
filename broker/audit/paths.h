// Default locations of latchkey's state and of the audit log and its keys.
//
// The state directory is /var/lib/latchkey for root, else $XDG_STATE_HOME/latchkey, else
// ~/.local/state/latchkey. The audit log defaults to <state>/audit/audit.log; the audit keys
// sit directly in <state>. Pure functions of the environment; thread-safe as long as nobody
// calls setenv concurrently.
#ifndef LATCHKEY_BROKER_AUDIT_PATHS_H_
#define LATCHKEY_BROKER_AUDIT_PATHS_H_

#include <string>
#include <vector>

namespace latchkey::audit {

// The default state directory for the current effective user (see above). Never empty: falls
// back to "/var/lib/latchkey" when neither XDG_STATE_HOME nor HOME is set.
std::string DefaultStateDir();

// "<state_dir>/audit/audit.log".
std::string DefaultLogPath(const std::string& state_dir);

// Key files inside a state directory.
std::string SigningKeyPath(const std::string& state_dir);  // <state>/audit-signing.key
std::string PublicKeyPath(const std::string& state_dir);   // <state>/audit-signing.pub
std::string HmacKeyPath(const std::string& state_dir);     // <state>/audit-hmac.key

// The head file that belongs to a log: the log path with a trailing ".log" replaced by ".head"
// ("/x/audit.log" -> "/x/audit.head"), or ".head" appended when there is no ".log".
std::string HeadPathFor(const std::string& log_path);

// The n-th rotated file of a log: "<log_path>.<n>" (n >= 1).
std::string RotatedPath(const std::string& log_path, int n);

// The files of a rotated set that exist, oldest first: <base>.N, ..., <base>.1, <base>.
// Only consecutive numbers from 1 upward are considered.
std::vector<std::string> ExistingRotatedSet(const std::string& log_path);

}  // namespace latchkey::audit

#endif  // LATCHKEY_BROKER_AUDIT_PATHS_H_
