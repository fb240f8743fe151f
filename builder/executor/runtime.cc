#include "builder/executor/runtime.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "builder/executor/cancel.h"
#include "builder/executor/output_redactor.h"
#include "secure/redactor.h"

namespace latchkey::executor {

Result<int> StreamUntilExit(RunningContainer& container, OutputSink& sink, size_t max_pattern_len) {
  const SecretRegistry& registry = SecretRegistry::Global();
  RedactingStream s_out(registry, max_pattern_len,
                        [&](std::string_view t) { sink.Write(OutputStream::kStdout, t); });
  RedactingStream s_err(registry, max_pattern_len,
                        [&](std::string_view t) { sink.Write(OutputStream::kStderr, t); });
  bool open_out = true, open_err = true;
  char buf[65536];
  bool killed = false;
  while (open_out || open_err) {
    pollfd fds[3] = {{open_out ? container.stdout_fd() : -1, POLLIN, 0},
                     {open_err ? container.stderr_fd() : -1, POLLIN, 0},
                     {!killed ? CancelPollFd() : -1, POLLIN, 0}};
    int ready = ::poll(fds, 3, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[2].revents != 0) {
      container.Kill();
      killed = true;
    }
    for (int i = 0; i < 2; ++i) {
      if (!fds[i].revents) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      RedactingStream& s = i == 0 ? s_out : s_err;
      if (n <= 0) {
        (i == 0 ? open_out : open_err) = false;
        s.Finish();
        continue;
      }
      s.Feed(std::string_view(buf, static_cast<size_t>(n)));
    }
  }
  std::memset(buf, 0, sizeof buf);
  return container.Wait();
}

}  // namespace latchkey::executor
