// RedactingStream: passes a step's stdout or stderr to a sink through
// SecretRegistry::Redact, so that a registered secret (or its base64/hex form) printed by the
// command reaches the sink as "****" even when the pipe delivered it in two reads.
//
// How chunk boundaries are handled: the stream withholds the last `max_pattern_len - 1` bytes
// it has seen (a possible beginning of a secret) and emits everything before a safe cut point.
// A cut point is safe when no registered value straddles it: the stream checks the window of
// max_pattern_len - 1 bytes on either side with SecretRegistry::Contains and prefers to cut just
// after a newline. When a value does sit in the window, the stream waits for more data (up to
// kHardLimit buffered bytes, after which it emits everything it has, redacted). Finish() emits
// the rest. `max_pattern_len` must cover the longest registered form the caller cares about
// (the executor uses 3 * the longest secret fetched for the step + 4: its URL-encoded form,
// %XX per byte, is the longest of the forms secure/secret_patterns.h lists); longer registered
// values are still redacted when they arrive within one cut window.
//
// Thread-safety: one stream per pipe, used from one thread.
#ifndef LATCHKEY_BUILDER_EXECUTOR_OUTPUT_REDACTOR_H_
#define LATCHKEY_BUILDER_EXECUTOR_OUTPUT_REDACTOR_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "secure/redactor.h"

namespace latchkey::executor {

class RedactingStream {
 public:
  static constexpr size_t kHardLimit = 16u << 20;

  // `registry` must outlive the stream. `emit` receives redacted text, never empty.
  RedactingStream(const SecretRegistry& registry, size_t max_pattern_len,
                  std::function<void(std::string_view)> emit);

  // Adds raw bytes read from the pipe; emits what is safe to emit.
  void Feed(std::string_view chunk);
  // Emits everything still withheld (the pipe reached EOF).
  void Finish();

 private:
  void EmitPrefix(size_t n);

  const SecretRegistry& registry_;
  size_t keep_;  // bytes withheld: max_pattern_len - 1
  std::function<void(std::string_view)> emit_;
  std::string pending_;
};

}  // namespace latchkey::executor

#endif  // LATCHKEY_BUILDER_EXECUTOR_OUTPUT_REDACTOR_H_
