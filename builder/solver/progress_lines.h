// LineSplitter: turns a stream of arbitrary output chunks into whole lines, so that progress
// writers redact and prefix complete lines (a secret split across two chunks is then seen in
// one piece). Each line carries the time its first byte arrived.
//
// RedactLines: redacts a batch of lines as one text, so that a value spanning several lines
// of the batch (a PEM key printed by one write) is caught too. A multi-line value whose lines
// arrive in different Log calls is caught only by the executor's RedactingStream, which
// redacts step output before it reaches the progress writer.
//
// Thread-safety: LineSplitter has none (the owning writer serialises calls); RedactLines is
// thread-safe.
#ifndef LATCHKEY_BUILDER_SOLVER_PROGRESS_LINES_H_
#define LATCHKEY_BUILDER_SOLVER_PROGRESS_LINES_H_

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "secure/redactor.h"

namespace latchkey::build {

struct OutputLine {
  std::string text;       // without its newline
  bool complete = false;  // false: flushed without a newline (Flush, or the length limit)
  std::chrono::steady_clock::time_point at;  // when its first byte arrived
};

class LineSplitter {
 public:
  // `max_line` (> 0): a pending line reaching this many bytes without a newline is emitted as
  // an incomplete line when more bytes arrive.
  explicit LineSplitter(size_t max_line) : max_line_(max_line) {}

  // Appends `chunk`, which arrived at `now`; returns the lines it completed, in order.
  std::vector<OutputLine> Feed(std::string_view chunk, std::chrono::steady_clock::time_point now);
  // Returns the pending partial line, if any, as an incomplete line.
  std::vector<OutputLine> Flush();
  // Returns the pending partial line but its last `keep` bytes as an incomplete line (none when
  // that leaves nothing); the kept bytes stay pending.
  std::vector<OutputLine> FlushKeeping(size_t keep);
  std::string_view partial() const { return pending_; }
  bool has_partial() const { return !pending_.empty(); }

 private:
  size_t max_line_;
  std::string pending_;
  std::chrono::steady_clock::time_point pending_since_{};
};

// Redacts `lines` as one text through `registry` and splits the result at its newlines again:
// complete lines are joined with a newline, pieces of a line cut at the length limit without
// one (they come back as one line). The first line keeps its time; lines after it take the time
// of the batch's last line. The last line is incomplete when the batch's last line was.
std::vector<OutputLine> RedactLines(const SecretRegistry& registry, std::vector<OutputLine> lines);

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_PROGRESS_LINES_H_
