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
// A pipe that goes quiet (the command printed a prompt or its last line without a newline, then
// paused) would leave that text withheld until the next write or the end of the step; the reader
// calls FlushIdle after kIdleFlush without new data. FlushIdle emits the withheld bytes except
// the longest suffix that could be the beginning of a registered value or encoding
// (SecretRegistry::PartialMatchLength), so a value split across the pause is still masked when
// its rest arrives: nothing before the kept suffix can be part of it. One residue: when a value
// printed base64-encoded at an alignment mixes its first bits into the character just before its
// core, a pause exactly before the core can show that one character.
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
  // How long a pipe stays quiet before its reader calls FlushIdle.
  static constexpr int kIdleFlushMillis = 100;

  // `registry` must outlive the stream. `emit` receives redacted text, never empty.
  RedactingStream(const SecretRegistry& registry, size_t max_pattern_len,
                  std::function<void(std::string_view)> emit);

  // Adds raw bytes read from the pipe; emits what is safe to emit.
  void Feed(std::string_view chunk);
  // The pipe has been quiet for kIdleFlushMillis: emits what is withheld except a suffix that
  // could begin a registered form. Returns true when something is still withheld after it.
  bool FlushIdle();
  // True when bytes are withheld (a FlushIdle could emit something, or must keep them).
  bool withholding() const { return !pending_.empty(); }
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
