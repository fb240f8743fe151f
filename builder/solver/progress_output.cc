#include "builder/solver/progress_output.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <utility>

namespace latchkey::build {

void WriteAll(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    text.remove_prefix(static_cast<size_t>(n));
  }
}

std::string FormatSeconds(double seconds, int decimals) {
  if (!(seconds > 0)) seconds = 0;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, seconds);
  return buf;
}

std::string FormatLogElapsed(double seconds) {
  int decimals = 1;
  if (seconds < 10) {
    decimals = 3;
  } else if (seconds < 100) {
    decimals = 2;
  }
  return FormatSeconds(seconds, decimals);
}

double SecondsBetween(std::chrono::steady_clock::time_point from,
                      std::chrono::steady_clock::time_point to) {
  if (to <= from) return 0;
  return std::chrono::duration<double>(to - from).count();
}

std::string FormatRfc3339Millis(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  long long secs = ms / 1000;
  long long frac = ms % 1000;
  if (frac < 0) {
    frac += 1000;
    secs -= 1;
  }
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

void KeepRecent(std::deque<std::string>& recent, std::string line) {
  recent.push_back(std::move(line));
  while (recent.size() > kErrorLogLines) recent.pop_front();
}

std::string FormatErrorLogs(std::string_view name, const std::deque<std::string>& recent) {
  std::string out = "------\n > ";
  out.append(name);
  out += ":\n";
  for (const std::string& line : recent) {
    out += line;
    out.push_back('\n');
  }
  out += "------\n";
  return out;
}

}  // namespace latchkey::build
