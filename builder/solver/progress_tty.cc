#include "builder/solver/progress_tty.h"

#include <sys/ioctl.h>

#include <algorithm>
#include <utility>

#include "builder/solver/progress_output.h"
#include "secure/redactor.h"

namespace latchkey::build {
namespace {

constexpr std::string_view kHideCursor = "\x1b[?25l";
constexpr std::string_view kShowCursor = "\x1b[?25h";
constexpr std::string_view kClearToEol = "\x1b[K";
constexpr std::string_view kClearBelow = "\x1b[J";

// Redacts, sanitises with `sanitize`, and redacts again: the first pass catches values that
// contain control characters, the second values that sanitising joined together.
template <typename Fn>
std::string CleanForView(std::string_view text, Fn sanitize) {
  const SecretRegistry& registry = SecretRegistry::Global();
  return registry.Redact(sanitize(registry.Redact(text)));
}

}  // namespace

TtyProgressWriter::TtyProgressWriter(int fd, ProgressClock clock,
                                     std::chrono::milliseconds interval)
    : VertexWriter(std::move(clock)), fd_(fd), interval_(interval) {
  refresher_ = std::thread([this] { Loop(); });
}

TtyProgressWriter::~TtyProgressWriter() { Finish(); }

int TtyProgressWriter::frames_drawn() const {
  std::lock_guard<std::mutex> lock(mu_);
  return frames_;
}

void TtyProgressWriter::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, interval_);
    if (stopping_) break;
    ++tick_;
    Draw(false);
  }
}

void TtyProgressWriter::OnStart(Vertex& v, std::string_view name) {
  v.raw_name = SecretRegistry::Global().Redact(name);
  v.state.name = CleanForView(name, SanitizeTtyName);
  v.state.start = v.start;
}

void TtyProgressWriter::OnLines(Vertex& v, executor::OutputStream /*stream*/,
                                std::vector<OutputLine> lines, TimePoint /*now*/) {
  lines = RedactLines(SecretRegistry::Global(), std::move(lines));
  // Only the last lines are ever shown: the view's tail and the error summary's.
  const size_t keep = std::max(kErrorLogLines, kTtyTailLines);
  for (size_t i = lines.size() > keep ? lines.size() - keep : 0; i < lines.size(); ++i) {
    std::string entry = FormatLogElapsed(SecondsBetween(v.state.start, lines[i].at)) + " ";
    entry += lines[i].text;
    KeepRecent(v.recent, std::move(entry));  // redacted again when the summary is written
    AddTail(v, lines[i].text);
  }
}

void TtyProgressWriter::AddTail(Vertex& v, std::string_view text) {
  v.state.tail.push_back(CleanForView(text, SanitizeTtyLine));
  while (v.state.tail.size() > kTtyTailLines) v.state.tail.pop_front();
}

void TtyProgressWriter::OnNote(Vertex& v, std::string_view text) { AddTail(v, text); }

void TtyProgressWriter::OnPhase(Vertex& v, std::string_view name, std::optional<double> seconds) {
  std::string text(name);
  if (seconds) text += " " + FormatSeconds(*seconds, 1) + "s done";
  AddTail(v, text);
}

void TtyProgressWriter::OnEnd(Vertex& v, VertexEnd how, std::string_view /*message*/,
                              TimePoint now) {
  if (how == VertexEnd::kCached) v.state.cached = true;
  if (how == VertexEnd::kError) v.state.failed = true;
  FlushLines(v, now);
  if (!v.state.end) v.state.end = now;
}

std::string TtyProgressWriter::EraseView() {
  if (drawn_lines_ == 0) return "";
  std::string out = "\x1b[" + std::to_string(drawn_lines_) + "A\r";
  out += kClearBelow;
  drawn_lines_ = 0;
  return out;
}

void TtyProgressWriter::Draw(bool final) {
  TtyViewOptions options;
  options.final = final;
  options.tick = tick_;
  winsize ws{};
  if (::ioctl(fd_, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
    options.width = ws.ws_col;
    options.height = ws.ws_row;
  }
  std::vector<TtyVertexState> states;
  states.reserve(vertices_.size());
  for (const auto& v : vertices_) states.push_back(v->state);
  std::vector<std::string> lines = RenderTtyView(states, clock_(), options);

  std::string out;
  if (!cursor_hidden_) {
    out += kHideCursor;
    cursor_hidden_ = true;
  }
  // Overwrite the previous view line by line (no flicker), then clear what is left of it.
  if (drawn_lines_ > 0) out += "\x1b[" + std::to_string(drawn_lines_) + "A";
  out += "\r";
  for (const std::string& line : lines) {
    out += line;
    out += kClearToEol;
    out += "\n";
  }
  out += kClearBelow;
  drawn_lines_ = static_cast<int>(lines.size());
  ++frames_;
  WriteAll(fd_, SecretRegistry::Global().Redact(out));
}

void TtyProgressWriter::OnPrint(std::string_view line) {
  std::string out = EraseView();
  out.append(line);
  if (line.empty() || line.back() != '\n') out.push_back('\n');
  WriteAll(fd_, SecretRegistry::Global().Redact(out));
  if (!finished_) Draw(false);
}

void TtyProgressWriter::Finish() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  refresher_.join();
  std::lock_guard<std::mutex> lock(mu_);
  FlushAll(clock_());
  Draw(true);
  finished_ = true;
  drawn_lines_ = 0;  // the final view stays; later output goes below it
  std::string out(kShowCursor);
  for (const auto& v : vertices_) {
    if (v->state.failed) out += FormatErrorLogs(v->raw_name, v->recent);
  }
  WriteAll(fd_, SecretRegistry::Global().Redact(out));
}

}  // namespace latchkey::build
