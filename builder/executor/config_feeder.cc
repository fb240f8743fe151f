#include "builder/executor/config_feeder.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "builder/executor/sys_util.h"

namespace latchkey::executor {

ConfigFeeder::~ConfigFeeder() { (void)Finish(); }

Status ConfigFeeder::Start(const std::string& path, nlohmann::json config,
                           std::vector<SecretEnv> secret_env) {
  if (::mkfifo(path.c_str(), 0600) != 0) return ErrnoStatus("mkfifo", path, errno);
  path_ = path;
  result_ = std::make_shared<Status>();
  try {
    writer_ = std::thread([this, result = result_, config = std::move(config),
                           secret_env = std::move(secret_env)]() mutable {
      // A reader that stops early must give EPIPE, not a SIGPIPE for the whole process.
      sigset_t pipe;
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
      int fd;
      do {
        fd = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);  // blocks until a reader opens it
      } while (fd < 0 && errno == EINTR);
      if (fd < 0) {
        *result = ErrnoStatus("open", path_, errno);
      } else {
        Status st = WriteOciConfigTo(fd, path_, config, secret_env);
        if (!st.ok() && st.message().find(std::strerror(EPIPE)) == std::string::npos) {
          *result = st;
        }
        ::close(fd);
      }
      secret_env.clear();
      done_.store(true);
    });
  } catch (const std::system_error& e) {
    ::unlink(path.c_str());
    path_.clear();
    return UnavailableError(std::string("cannot start the config writer: ") + e.what());
  }
  return Status::OK();
}

Status ConfigFeeder::Finish() {
  if (!writer_.joinable()) return result_ ? *result_ : Status::OK();
  // The writer is blocked until a reader opens the FIFO, and then until everything it writes
  // is read: be that reader until it is done.
  char buf[4096];
  while (!done_.load()) {
    base::UniqueFd r(::open(path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!r.valid()) break;
    for (int idle = 0; idle < 5 && !done_.load();) {
      pollfd p{r.get(), POLLIN, 0};
      int n = ::poll(&p, 1, 10);
      if (n <= 0) {
        ++idle;
        continue;
      }
      ssize_t got = ::read(r.get(), buf, sizeof buf);
      if (got <= 0) ++idle;
    }
  }
  std::memset(buf, 0, sizeof buf);
  writer_.join();
  ::unlink(path_.c_str());
  return *result_;
}

}  // namespace latchkey::executor
