// Secret names, references and data limits of the store, following Docker swarm's rules.
//
//   name:      ^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$, at most 64 characters
//   reference: "name" (the latest version) or "name@N" with N a positive decimal integer
//   data:      1 to 511999 bytes (swarm: larger than 0 and less than 512000)
//
// Thread-safety: pure functions.
#ifndef LATCHKEY_STORE_NAME_H_
#define LATCHKEY_STORE_NAME_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "latchkey/status.h"

namespace latchkey::store {

inline constexpr size_t kMaxNameLength = 64;
// Data must be strictly smaller than this (swarm's MaxSecretSize, 500 KiB).
inline constexpr size_t kMaxSecretSize = 512000;

// OK for a valid name; INVALID_ARGUMENT with swarm's wording otherwise:
// "name must be provided" for an empty name, else "invalid name, only 64 [a-zA-Z0-9-_.]
// characters allowed, and the start and end character must be [a-zA-Z0-9]".
Status ValidateName(std::string_view name);

// OK when 0 < size < kMaxSecretSize; INVALID_ARGUMENT
// "secret data must be larger than 0 and less than 512000 bytes" otherwise.
Status ValidateDataSize(size_t size);

// A parsed reference. version 0 means "the latest".
struct Reference {
  std::string name;
  uint64_t version = 0;

  // "name" or "name@3".
  std::string ToString() const;
};

// Parses "name" or "name@N". INVALID_ARGUMENT for a bad name (ValidateName's text) or
// "invalid secret reference \"<ref>\": the version after @ must be a positive integer".
Result<Reference> ParseReference(std::string_view ref);

}  // namespace latchkey::store

#endif  // LATCHKEY_STORE_NAME_H_
