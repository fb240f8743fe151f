// Unlock keys: the 32-byte key-encryption key of a store, shown to people once as
// "LKSKEY-1-<base64>" (in the style of swarm's "SWMKEY-1-...") and kept in a mode-0600 file.
//
// Thread-safety: pure functions and file I/O; no shared state.
#ifndef LATCHKEY_STORE_UNLOCK_KEY_H_
#define LATCHKEY_STORE_UNLOCK_KEY_H_

#include <cstdint>
#include <span>
#include <string>

#include "latchkey/status.h"
#include "secure/secret_buffer.h"

namespace latchkey::store {

inline constexpr char kUnlockKeyPrefix[] = "LKSKEY-1-";

// "LKSKEY-1-<base64 of key>" (no newline) in secure memory.
Result<SecretBuffer> FormatUnlockKey(const SecretBuffer& key);

// Parses the text of an unlock key (surrounding whitespace allowed) into its 32 bytes.
// INVALID_ARGUMENT "unlock key file <origin> does not hold a latchkey store key (expected one
// line LKSKEY-1-<base64>)" otherwise; the message never quotes the text.
Result<SecretBuffer> ParseUnlockKey(std::span<const uint8_t> text, const std::string& origin);

// Reads and parses the unlock key file at `path`.
//   NOT_FOUND          "unlock key file <path> does not exist"
//   PERMISSION_DENIED  "unlock key file <path> is accessible by group or others (mode 0644);
//                       run chmod 600 <path>"
//   plus ParseUnlockKey's errors.
Result<SecretBuffer> ReadUnlockKeyFile(const std::string& path);

// Writes `key` (formatted, one line) to `path` with mode 0600 and fsyncs the file and its
// directory. `exclusive`: fail with ALREADY_EXISTS "unlock key file <path> already exists"
// instead of replacing an existing file.
Status WriteUnlockKeyFile(const std::string& path, const SecretBuffer& key, bool exclusive);

// Renames `from` to `to` and fsyncs the directory of `to`.
Status RenameDurably(const std::string& from, const std::string& to);

}  // namespace latchkey::store

#endif  // LATCHKEY_STORE_UNLOCK_KEY_H_
