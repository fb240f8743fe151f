#include "builder/solver/progress_tty_view.h"

#include <algorithm>

#include "builder/solver/progress_output.h"

namespace latchkey::build {
namespace {

constexpr std::string_view kArrowFrames[] = {"|>", "/>", "->", "\\>"};

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

size_t Columns(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += IsContinuation(c) ? 0 : 1;
  return n;
}

// The longest prefix of `s` that is at most `columns` code points, cut at a code point boundary.
std::string_view FitColumns(std::string_view s, size_t columns) {
  size_t seen = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (IsContinuation(static_cast<unsigned char>(s[i]))) continue;
    if (seen == columns) return s.substr(0, i);
    ++seen;
  }
  return s;
}

std::string PadRight(std::string_view s, size_t columns) {
  std::string out(FitColumns(s, columns));
  out.append(columns - Columns(out), ' ');
  return out;
}

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

// Removes ANSI escape sequences and control characters, turning tabs (and, when
// `newline_as_space`, newlines and carriage returns) into spaces.
std::string StripControls(std::string_view s, bool newline_as_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0x1b) {
      if (i + 1 < s.size() && s[i + 1] == '[') {  // CSI: parameters, then a final byte @..~
        i += 2;
        while (i < s.size() && !(s[i] >= 0x40 && s[i] <= 0x7e)) ++i;
      } else if (i + 1 < s.size() && s[i + 1] == ']') {  // OSC: ends with BEL or ESC backslash
        i += 2;
        while (i < s.size() && s[i] != '\a' && !(s[i] == 0x1b && i + 1 < s.size())) ++i;
        if (i < s.size() && s[i] == 0x1b) ++i;
      } else {
        ++i;  // a two-byte escape
      }
      continue;
    }
    if (c == '\t' || (newline_as_space && (c == '\n' || c == '\r'))) {
      out.push_back(' ');
      continue;
    }
    if (IsControl(c)) continue;
    out.push_back(static_cast<char>(c));
  }
  return out;
}

std::string Colored(std::string_view color, const std::string& text) {
  return std::string(color) + text + std::string(kAnsiReset);
}

}  // namespace

std::string SanitizeTtyLine(std::string_view line) {
  while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  size_t cr = line.rfind('\r');
  if (cr != std::string_view::npos) line.remove_prefix(cr + 1);
  return StripControls(line, false);
}

std::string SanitizeTtyName(std::string_view name) { return StripControls(name, true); }

std::vector<std::string> RenderTtyView(const std::vector<TtyVertexState>& vertices,
                                       std::chrono::steady_clock::time_point now,
                                       const TtyViewOptions& options) {
  const size_t width = static_cast<size_t>(std::max(options.width, 2));
  std::vector<std::string> lines;

  size_t completed = 0;
  for (const TtyVertexState& v : vertices) completed += v.end.has_value() ? 1 : 0;
  double total = vertices.empty() ? 0 : SecondsBetween(vertices.front().start, now);
  std::string header = "[+] Building " + FormatSeconds(total, 1) + "s (" +
                       std::to_string(completed) + "/" + std::to_string(vertices.size()) + ")";
  if (options.final && !vertices.empty() && completed == vertices.size()) header += " FINISHED";
  lines.emplace_back(FitColumns(header, width - 1));

  // Which vertices get a line: all in the final view; otherwise at most height - 2, leaving
  // out the earliest completed ones first.
  std::vector<bool> shown(vertices.size(), true);
  size_t budget = vertices.size();
  if (!options.final) {
    budget = options.height > 2 ? static_cast<size_t>(options.height - 2) : 0;
    size_t excess = vertices.size() > budget ? vertices.size() - budget : 0;
    for (size_t i = 0; i < vertices.size() && excess > 0; ++i) {
      if (vertices[i].end) {
        shown[i] = false;
        --excess;
      }
    }
    for (size_t i = 0; i < vertices.size() && excess > 0; ++i) {
      if (shown[i]) {
        shown[i] = false;
        --excess;
      }
    }
  }
  size_t vertex_lines = static_cast<size_t>(std::count(shown.begin(), shown.end(), true));
  size_t tail_room = budget > vertex_lines ? budget - vertex_lines : 0;

  for (size_t i = 0; i < vertices.size(); ++i) {
    if (!shown[i]) continue;
    const TtyVertexState& v = vertices[i];
    double elapsed = SecondsBetween(v.start, v.end.value_or(now));
    if (elapsed < 0.05) elapsed = 0;
    std::string timer = FormatSeconds(elapsed, 1) + "s";
    std::string prefix = v.end ? " => " : " " + std::string(kArrowFrames[options.tick % 4]) + " ";
    // prefix + name + two spaces + timer fills width - 1 columns.
    size_t fixed = prefix.size() + 2 + timer.size() + 1;
    if (width < fixed + 12) continue;  // too narrow to show anything useful
    std::string name = v.name;
    if (v.failed) name = "ERROR " + name;
    if (v.cached) name = "CACHED " + name;
    std::string line = prefix + PadRight(name, width - fixed) + "  " + timer;
    if (v.end && v.failed) {
      line = Colored(kAnsiRed, line);
    } else if (v.end) {
      line = Colored(kAnsiBlue, line);
    }
    lines.push_back(std::move(line));
    if (options.final || v.end) continue;
    size_t n = std::min(v.tail.size(), tail_room);
    tail_room -= n;
    for (size_t k = v.tail.size() - n; k < v.tail.size(); ++k) {
      std::string out = " => => # ";
      out.append(FitColumns(v.tail[k], width - 1 - out.size()));
      lines.push_back(Colored(kAnsiFaint, out));
    }
  }
  return lines;
}

}  // namespace latchkey::build
