// Reading secret values the CLI is handed on the command line -- a FILE argument, or standard
// input for "-" -- straight into secure memory (never a std::string): `secret create|rotate`
// and `audit hash --value-file`.
//
// Thread-safety: no shared state; reading standard input consumes it.
#ifndef LATCHKEY_CLI_SECRET_INPUT_H_
#define LATCHKEY_CLI_SECRET_INPUT_H_

#include <cstddef>
#include <ostream>
#include <string>

#include "latchkey/status.h"
#include "secure/secret_buffer.h"

namespace latchkey::cli {

// `secret create|rotate NAME [FILE]`: the whole of `file`, or of `stdin_fd` when `file` is ""
// or "-" (its echo off when it is a terminal; then "Reading the secret from the terminal (not
// echoed); end with Ctrl-D.\n" is written to `notice` first). Sealed. Errors are the store's
// (store/secret_io.h): a missing file, a value over the secret size limit, a read error.
Result<SecretBuffer> ReadSecretData(const std::string& file, int stdin_fd, std::ostream& notice);

// Largest value `audit hash` reads: the secret size limit (BuildKit's 500 KiB).
inline constexpr size_t kMaxHashValueBytes = 512000;

// `audit hash --value-file PATH`: at most kMaxHashValueBytes from `path`, or from `stdin_fd`
// when `path` is "-", sealed. Errors:
//   UNAVAILABLE      cannot read value file <path>: <errno text>
//   INVALID_ARGUMENT value file <path> is larger than 512000 bytes, the largest secret latchkey
//                    hands out
Result<SecretBuffer> ReadHashValue(const std::string& path, int stdin_fd);

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_SECRET_INPUT_H_
