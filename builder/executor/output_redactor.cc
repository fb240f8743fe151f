#include "builder/executor/output_redactor.h"

#include <algorithm>

namespace latchkey::executor {

RedactingStream::RedactingStream(const SecretRegistry& registry, size_t max_pattern_len,
                                 std::function<void(std::string_view)> emit)
    : registry_(registry),
      keep_(std::max<size_t>(max_pattern_len, 1) - 1),
      emit_(std::move(emit)) {}

void RedactingStream::EmitPrefix(size_t n) {
  if (n == 0) return;
  std::string out = registry_.Redact(std::string_view(pending_).substr(0, n));
  pending_.erase(0, n);
  if (!out.empty()) emit_(out);
}

void RedactingStream::Feed(std::string_view chunk) {
  pending_.append(chunk);
  if (pending_.size() <= keep_) return;
  size_t limit = pending_.size() - keep_;  // bytes [0, limit) may be emitted
  // Prefer to cut just after the last newline before the limit.
  size_t cut = limit;
  size_t nl = std::string_view(pending_).substr(0, limit).rfind('\n');
  if (nl != std::string_view::npos) cut = nl + 1;
  // Safe when no registered value of length <= keep_ + 1 straddles `cut`.
  size_t lo = cut > keep_ ? cut - keep_ : 0;
  size_t hi = std::min(pending_.size(), cut + keep_);
  bool straddle_possible =
      keep_ > 0 && registry_.Contains(std::string_view(pending_).substr(lo, hi - lo));
  if (!straddle_possible) {
    EmitPrefix(cut);
    return;
  }
  if (pending_.size() >= kHardLimit) {
    EmitPrefix(pending_.size());
  }
}

bool RedactingStream::FlushIdle() {
  if (pending_.empty()) return false;
  // A value wholly inside pending_ is masked by EmitPrefix; one that pending_ ends inside of
  // starts within the kept suffix.
  size_t keep = registry_.PartialMatchLength(pending_);
  EmitPrefix(pending_.size() - keep);
  return !pending_.empty();
}

void RedactingStream::Finish() { EmitPrefix(pending_.size()); }

}  // namespace latchkey::executor
