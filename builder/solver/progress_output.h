// Small helpers shared by the progress writers (progress.h): writing to the output fd and
// formatting times the way BuildKit's progressui does.
//
// Thread-safety: free functions without shared state.
#ifndef LATCHKEY_BUILDER_SOLVER_PROGRESS_OUTPUT_H_
#define LATCHKEY_BUILDER_SOLVER_PROGRESS_OUTPUT_H_

#include <chrono>
#include <deque>
#include <string>
#include <string_view>

namespace latchkey::build {

// Writes all of `text` to `fd`, retrying short writes and EINTR. Errors are ignored: progress
// output is best-effort and must never fail a build.
void WriteAll(int fd, std::string_view text);

// `seconds` with `decimals` decimals ("0.4"); negative values print as 0.
std::string FormatSeconds(double seconds, int decimals);

// A log line's timestamp as BuildKit prints it: 3 decimals under 10 s, 2 under 100 s, else 1.
std::string FormatLogElapsed(double seconds);

// Seconds between two steady-clock points, never negative.
double SecondsBetween(std::chrono::steady_clock::time_point from,
                      std::chrono::steady_clock::time_point to);

// RFC 3339 in UTC with milliseconds: "2026-11-27T17:47:11.123Z".
std::string FormatRfc3339Millis(std::chrono::system_clock::time_point t);

// How many of a vertex's last output lines the error summary shows.
inline constexpr size_t kErrorLogLines = 10;

// Appends `line` to `recent`, dropping the oldest beyond kErrorLogLines.
void KeepRecent(std::deque<std::string>& recent, std::string line);

// BuildKit's summary of a failed vertex, printed when the progress finishes:
//   "------\n > <name>:\n<line>\n...------\n"
std::string FormatErrorLogs(std::string_view name, const std::deque<std::string>& recent);

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_PROGRESS_OUTPUT_H_
