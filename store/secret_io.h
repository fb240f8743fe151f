// Reading secret data and passphrases straight into secure memory (never a std::string).
//
// Reads from a terminal turn echo off for their duration and restore it afterwards.
// Thread-safety: no shared state; terminal reads change the terminal's settings, so only one
// thread should read from a given terminal at a time.
#ifndef LATCHKEY_STORE_SECRET_IO_H_
#define LATCHKEY_STORE_SECRET_IO_H_

#include <string>

#include "latchkey/status.h"
#include "secure/secret_buffer.h"

namespace latchkey::store {

inline constexpr size_t kMaxPassphraseBytes = 4096;

// The whole file at `path`, sealed. NOT_FOUND "secret file <path> does not exist"; size
// errors as ValidateDataSize.
Result<SecretBuffer> ReadSecretFile(const std::string& path);

// Everything readable from `fd` until end of file, sealed; echo is off when `fd` is a
// terminal. Stops reading (and fails with ValidateDataSize's message) once the data reaches
// the size limit.
Result<SecretBuffer> ReadSecretFd(int fd);

// A passphrase from `fd` (read to end of file; one trailing "\n" or "\r\n" removed).
// INVALID_ARGUMENT "passphrase from file descriptor <fd> is empty" or "... is longer than 4096
// bytes"; FAILED_PRECONDITION "cannot read the passphrase from file descriptor <fd>: <errno>".
Result<SecretBuffer> ReadPassphraseFd(int fd);

// Prompts on /dev/tty (no echo) and reads one line. FAILED_PRECONDITION "no terminal to read
// the passphrase from; pass --passphrase-fd N" when there is none. With `confirm`, asks twice
// and fails with INVALID_ARGUMENT "the passphrases do not match" when they differ.
Result<SecretBuffer> PromptPassphrase(const std::string& prompt, bool confirm);

}  // namespace latchkey::store

#endif  // LATCHKEY_STORE_SECRET_IO_H_
