// Byte sizes as Docker's CLI and BuildKit read them (go-units RAMInBytes): "10GB", "512m",
// "1.5GiB", "100" (bytes). Multipliers are binary (k = 1024) whatever the spelling, so "10GB"
// and "10GiB" are the same size, as in `docker buildx prune --keep-storage` and BuildKit's
// gc policy. Thread-safe (pure functions).
#ifndef LATCHKEY_BASE_BYTE_SIZE_H_
#define LATCHKEY_BASE_BYTE_SIZE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "latchkey/status.h"

namespace latchkey::base {

// Parses `text`: a non-negative number (decimals allowed), an optional space, then an optional
// unit k, m, g, t or p (any case), optionally followed by "i" and/or "b"/"B" ("b" alone means
// bytes). INVALID_ARGUMENT `invalid size: '<text>'` (go-units' text) otherwise, or when the size
// does not fit in 63 bits.
Result<int64_t> ParseRamBytes(std::string_view text);

}  // namespace latchkey::base

#endif  // LATCHKEY_BASE_BYTE_SIZE_H_
