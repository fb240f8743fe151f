#include "builder/solver/progress_lines.h"

#include <utility>

namespace latchkey::build {

std::vector<OutputLine> LineSplitter::Feed(std::string_view chunk,
                                           std::chrono::steady_clock::time_point now) {
  std::vector<OutputLine> lines;
  while (!chunk.empty()) {
    if (pending_.empty()) pending_since_ = now;
    size_t nl = chunk.find('\n');
    size_t room = max_line_ - pending_.size();
    if (nl != std::string_view::npos && nl <= room) {
      pending_.append(chunk.substr(0, nl));
      chunk.remove_prefix(nl + 1);
      lines.push_back({std::move(pending_), true, pending_since_});
      pending_.clear();
      continue;
    }
    if (chunk.size() <= room) {
      pending_.append(chunk);
      break;
    }
    pending_.append(chunk.substr(0, room));
    chunk.remove_prefix(room);
    lines.push_back({std::move(pending_), false, pending_since_});
    pending_.clear();
  }
  return lines;
}

std::vector<OutputLine> LineSplitter::Flush() {
  std::vector<OutputLine> lines;
  if (pending_.empty()) return lines;
  lines.push_back({std::move(pending_), false, pending_since_});
  pending_.clear();
  return lines;
}

std::vector<OutputLine> LineSplitter::FlushKeeping(size_t keep) {
  std::vector<OutputLine> lines;
  if (keep >= pending_.size()) return lines;
  lines.push_back({pending_.substr(0, pending_.size() - keep), false, pending_since_});
  pending_.erase(0, pending_.size() - keep);
  return lines;
}

std::vector<OutputLine> RedactLines(const SecretRegistry& registry, std::vector<OutputLine> lines) {
  if (lines.empty()) return lines;
  std::string joined;
  for (size_t i = 0; i < lines.size(); ++i) {
    joined += lines[i].text;
    // Pieces of a line cut at the length limit are joined back without a separator.
    if (i + 1 < lines.size() && lines[i].complete) joined.push_back('\n');
  }
  std::string redacted = registry.Redact(joined);
  std::vector<OutputLine> out;
  std::string_view rest = redacted;
  for (;;) {
    size_t nl = rest.find('\n');
    OutputLine line;
    line.text = std::string(rest.substr(0, nl));
    line.complete = true;
    line.at = out.empty() ? lines.front().at : lines.back().at;
    out.push_back(std::move(line));
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  out.back().complete = lines.back().complete;
  return out;
}

}  // namespace latchkey::build
