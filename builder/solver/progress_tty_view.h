// The live view of `--progress tty` (progress.h), as a pure function of the build's state so
// that its layout can be tested without a terminal, plus the sanitising of text shown in it.
//
// Thread-safety: free functions and plain structs.
#ifndef LATCHKEY_BUILDER_SOLVER_PROGRESS_TTY_VIEW_H_
#define LATCHKEY_BUILDER_SOLVER_PROGRESS_TTY_VIEW_H_

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace latchkey::build {

// Output lines shown under a running vertex.
inline constexpr size_t kTtyTailLines = 6;

// ANSI sequences of the view.
inline constexpr std::string_view kAnsiBlue = "\x1b[34m";
inline constexpr std::string_view kAnsiRed = "\x1b[31m";
inline constexpr std::string_view kAnsiFaint = "\x1b[2m";
inline constexpr std::string_view kAnsiReset = "\x1b[0m";

struct TtyVertexState {
  std::string name;  // sanitised and redacted
  std::chrono::steady_clock::time_point start;
  std::optional<std::chrono::steady_clock::time_point> end;  // set when completed
  bool cached = false;
  bool failed = false;
  std::deque<std::string> tail;  // last kTtyTailLines output lines, sanitised and redacted
};

struct TtyViewOptions {
  int width = 80;      // terminal columns; every line is at most width - 1 columns wide
  int height = 24;     // terminal rows; the live view uses at most height - 2 lines
  bool final = false;  // the final view: every vertex, no output lines, no height limit
  unsigned tick = 0;   // animation frame of the running vertices' arrows
};

// The view's lines, without newlines, ANSI colours included:
//   "[+] Building 1.2s (3/7)"                               (" FINISHED" in a final view when
//                                                             every vertex completed)
//   " => [1/5] FROM docker.io/library/alpine       0.3s"    (completed, blue)
//   " => CACHED [2/5] RUN apk add curl             0.0s"
//   " => ERROR [3/5] RUN false                     0.1s"    (red)
//   " |> [4/5] RUN make                            2.4s"    (running; "|>" "/>" "->" "\>")
//   " => => # cc -c main.c"                                 (its last output lines, faint)
// Times: since each vertex started (until it ended), under 0.05 s shown as 0.0s; the header's
// since the first vertex started. When the vertex lines do not fit in height - 2 lines, the
// earliest completed vertices are left out first; output lines are shown only in the room
// left. Widths count UTF-8 code points.
std::vector<std::string> RenderTtyView(const std::vector<TtyVertexState>& vertices,
                                       std::chrono::steady_clock::time_point now,
                                       const TtyViewOptions& options);

// One output line made fit for the view: only the text after the last carriage return (as a
// terminal shows a "\r" progress bar), tabs as spaces, ANSI escape sequences and other control
// characters removed.
std::string SanitizeTtyLine(std::string_view line);

// A vertex name made fit for the view: tabs and newlines as spaces, other control characters
// removed.
std::string SanitizeTtyName(std::string_view name);

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_PROGRESS_TTY_VIEW_H_
