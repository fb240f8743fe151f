#include "builder/executor/runtime.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "builder/executor/cancel.h"
#include "builder/executor/output_redactor.h"
#include "secure/redactor.h"

namespace latchkey::executor {

Result<int> StreamUntilExit(RunningContainer& container, OutputSink& sink, size_t max_pattern_len) {
  using Clock = std::chrono::steady_clock;
  const SecretRegistry& registry = SecretRegistry::Global();
  RedactingStream s_out(registry, max_pattern_len,
                        [&](std::string_view t) { sink.Write(OutputStream::kStdout, t); });
  RedactingStream s_err(registry, max_pattern_len,
                        [&](std::string_view t) { sink.Write(OutputStream::kStderr, t); });
  bool open[2] = {true, true};
  // Data arrived since the stream's last idle flush, and when it last did.
  bool fed[2] = {false, false};
  Clock::time_point last[2];
  const auto idle = std::chrono::milliseconds(RedactingStream::kIdleFlushMillis);
  char buf[65536];
  bool killed = false;
  while (open[0] || open[1]) {
    // Wake when a stream that was fed has been quiet for `idle`.
    int timeout = -1;
    const Clock::time_point now = Clock::now();
    for (int i = 0; i < 2; ++i) {
      if (!open[i] || !fed[i]) continue;
      auto left = std::chrono::ceil<std::chrono::milliseconds>(last[i] + idle - now).count();
      int ms = left < 0 ? 0 : static_cast<int>(left);
      timeout = timeout < 0 ? ms : std::min(timeout, ms);
    }
    pollfd fds[3] = {{open[0] ? container.stdout_fd() : -1, POLLIN, 0},
                     {open[1] ? container.stderr_fd() : -1, POLLIN, 0},
                     {!killed ? CancelPollFd() : -1, POLLIN, 0}};
    int ready = ::poll(fds, 3, timeout);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[2].revents != 0) {
      container.Kill();
      killed = true;
    }
    for (int i = 0; i < 2; ++i) {
      RedactingStream& s = i == 0 ? s_out : s_err;
      const OutputStream stream = i == 0 ? OutputStream::kStdout : OutputStream::kStderr;
      if (!fds[i].revents) {
        if (open[i] && fed[i] && Clock::now() - last[i] >= idle) {
          s.FlushIdle();
          sink.Pause(stream);
          fed[i] = false;
        }
        continue;
      }
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {
        open[i] = false;
        s.Finish();
        continue;
      }
      s.Feed(std::string_view(buf, static_cast<size_t>(n)));
      fed[i] = true;
      last[i] = Clock::now();
    }
  }
  std::memset(buf, 0, sizeof buf);
  return container.Wait();
}

}  // namespace latchkey::executor
