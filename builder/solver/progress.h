// Build progress output: what `latchkey build --progress auto|plain|tty|json|quiet` prints while
// the build runs, modelled on BuildKit's progressui.
//
// The builder reports "vertices" (one per build step, e.g. "[2/5] RUN echo hi" or "[internal]
// load build definition from Dockerfile") to a ProgressWriter: Start, then any number of Log and
// Note calls, then exactly one of Cached, Done or Error. Free lines (warnings, the final error
// summary) go through Print. Several vertices may be running at once.
//
// Modes:
//   plain  BuildKit's plain printer. A vertex's block opens with its header "#3 [2/5] RUN x";
//          its output lines follow as "#3 0.123 <line>" (seconds since the vertex started: 3
//          decimals under 10 s, 2 under 100 s, 1 above), status lines as "#3 <text>", and it
//          closes with "#3 CACHED", "#3 DONE 0.4s" or "#3 ERROR: <message>" and a blank line.
//          A phase prints "#3 writing layer" when it starts and "#3 writing layer 1.2s done"
//          when it ends (BuildKit's "#5 exporting layers 1.2s done").
//          When another vertex prints while a block is open, the open block is closed with
//          "#3 ..." and a blank line, and the header is printed again when it next prints.
//   tty    BuildKit's live view, redrawn every 100 ms in place with ANSI cursor movement:
//          "[+] Building 1.2s (3/7)", then " => [1/5] FROM ...   0.3s" per vertex (" => CACHED
//          ...", " => ERROR ..."; completed lines blue, errors red), running vertices with an
//          animated arrow ("|>", "/>", "->", "\>") instead of "=>" and their last 6 output
//          lines below them as " => => # <line>" (progress_tty_view.h); notes and phases
//          ("writing layer", then "writing layer 1.2s done") show among those lines. Print lines
//          scroll above the view. Finish draws the final view of every vertex, its header ending in
//          "FINISHED" when every vertex completed. As in BuildKit, Error's message is not shown
//          in this mode: the caller's final summary (Print) carries it.
//   json   one JSON object per line (events below) for CI systems.
//   quiet  only Print lines, and for a failed vertex its header and ERROR line as in plain.
//   auto   tty when the output fd is a terminal and TERM is not "dumb", plain otherwise.
//
// Error summary (plain and tty, as BuildKit's progressui): the first Finish prints, for every
// vertex that failed, its last 10 output lines:
//   ------
//    > [3/5] RUN make:
//   0.512 make: *** [all] Error 1
//   ------
// so a caller prints its final error message (Print) after Finish, as buildx does.
//
// JSON events (every object has "event" and "time", the wall-clock time in RFC 3339 UTC with
// milliseconds, e.g. "2026-11-27T17:47:11.123Z"; vertex events have "vertex", the number Start
// returned):
//   {"event":"start","vertex":3,"name":"[2/5] RUN x","time":...}
//   {"event":"log","vertex":3,"stream":"stdout"|"stderr","elapsed":0.123,"data":"hi\n",...}
//       the lines one Log call completed, newlines included; a trailing partial line is
//       flushed without a newline when the output pauses (LogPause) or the vertex ends, and
//       the next event's "data" continues it. "elapsed": seconds from the vertex's
//       start to the first byte of the first line, to the millisecond.
//   {"event":"note","vertex":3,"text":"exporting layers",...}
//   {"event":"phase","vertex":3,"name":"writing layer",...}             PhaseStart
//   {"event":"phase_done","vertex":3,"name":"writing layer","duration":1.2,...}   PhaseDone,
//       seconds, to the millisecond
//   {"event":"cached","vertex":3,...}
//   {"event":"done","vertex":3,"duration":0.4,...}        seconds, to the millisecond
//   {"event":"error","vertex":3,"error":"...",...}
//   {"event":"print","data":"...",...}                    a free line, no newline
// Bytes that are not valid UTF-8 appear as U+FFFD in JSON strings.
//
// Redaction: every byte written passes through SecretRegistry::Global().Redact. Output chunks
// are buffered per vertex and stream until a newline (or a LogPause, which keeps back what could
// begin a secret) so that a secret split across two Log calls is still redacted, and the lines one
// Log call completes are redacted together so that a multi-line value printed at once is too
// (progress_lines.h; step output also passes the executor's RedactingStream first). A line longer
// than kMaxLogLine bytes is emitted in kMaxLogLine pieces. In tty mode, control characters and ANSI
// escape sequences of output lines are removed (redacting before and after), so that "\r" progress
// bars show their latest state.
//
// Thread-safety: every ProgressWriter method may be called from any thread; output of one call
// is never interleaved with another's.
#ifndef LATCHKEY_BUILDER_SOLVER_PROGRESS_H_
#define LATCHKEY_BUILDER_SOLVER_PROGRESS_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string_view>

#include "builder/executor/step.h"
#include "latchkey/status.h"

namespace latchkey::build {

enum class ProgressMode { kAuto, kPlain, kTty, kJson, kQuiet };

// Longest output line held back waiting for its newline.
inline constexpr size_t kMaxLogLine = 1u << 20;

// The clock progress writers measure elapsed times with.
using ProgressClock = std::function<std::chrono::steady_clock::time_point()>;

// Parses a --progress value: "auto", "plain", "tty", "json" or "quiet". Otherwise
// INVALID_ARGUMENT `invalid progress mode "<v>": want auto, plain, tty, json or quiet`.
Result<ProgressMode> ParseProgressMode(std::string_view value);

// The spelling ParseProgressMode accepts for `mode` ("plain").
std::string_view ProgressModeName(ProgressMode mode);

class ProgressWriter {
 public:
  // Destruction calls Finish().
  virtual ~ProgressWriter() = default;

  // A new vertex named `name`; returns its number (1, 2, ...) and records its start time.
  virtual int Start(std::string_view name) = 0;
  // Output of a running vertex, in arbitrary chunks (not line-aligned). Unknown vertex numbers
  // are ignored.
  virtual void Log(int vertex, executor::OutputStream stream, std::string_view chunk) = 0;
  // The vertex's output on `stream` has paused (executor::OutputSink::Pause): its partial line,
  // if any, is shown now instead of when its newline arrives, except a suffix that could be the
  // beginning of a registered secret (SecretRegistry::PartialMatchLength), which waits for more.
  virtual void LogPause(int vertex, executor::OutputStream stream) = 0;
  // A status line of a vertex, e.g. "exporting layers".
  virtual void Note(int vertex, std::string_view text) = 0;
  // A long phase of a running vertex after its command (e.g. "writing layer": writing, digesting
  // and leak-scanning the step's layer): PhaseStart when it begins, PhaseDone with the same
  // `name` when it ends; the writer measures its duration. A PhaseDone without a PhaseStart
  // shows a duration of 0.
  virtual void PhaseStart(int vertex, std::string_view name) = 0;
  virtual void PhaseDone(int vertex, std::string_view name) = 0;
  // The vertex completed from the cache / ran successfully / failed with `message`. Each
  // flushes the vertex's partial output line first. Call one of them once per vertex.
  virtual void Cached(int vertex) = 0;
  virtual void Done(int vertex) = 0;
  virtual void Error(int vertex, std::string_view message) = 0;
  // A free line outside any vertex (warnings, the final error summary), printed as is; a
  // trailing newline is optional.
  virtual void Print(std::string_view line) = 0;
  // Flushes every partial output line and, in tty mode, stops the refresher thread and draws
  // the final view. Idempotent. Calls after Finish still print (tty: Print lines only, without
  // the live view).
  virtual void Finish() = 0;
};

// A writer for `mode` writing to `fd` (not owned; the CLI passes stderr, as buildx does). kAuto
// becomes kTty when isatty(fd) and TERM is not "dumb", else kPlain. `clock` measures elapsed
// times (default steady_clock::now). Write errors on `fd` are ignored (progress is best-effort).
std::unique_ptr<ProgressWriter> NewProgressWriter(ProgressMode mode, int fd,
                                                  ProgressClock clock = {});

// The mode kAuto resolves to for `fd`; other modes are returned unchanged.
ProgressMode ResolveProgressMode(ProgressMode mode, int fd);

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_PROGRESS_H_
