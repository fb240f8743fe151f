#include "process_state.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <clocale>
#include <cstdio>
#include <cstring>

extern char** environ;

namespace latchkey::conformance {

namespace {

int CountDir(const char* path) {
  DIR* d = opendir(path);
  if (d == nullptr) return -1;
  int n = 0;
  while (struct dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) ++n;
  }
  closedir(d);
  return n;
}

std::string MaskText(const sigset_t& set) {
  std::string s;
  for (int sig = 1; sig < NSIG; ++sig) s += sigismember(&set, sig) == 1 ? '1' : '0';
  return s;
}

std::string SignalText(int sig) {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  if (sigaction(sig, nullptr, &sa) != 0) return "unqueryable";
  char buf[64];
  void* handler = (sa.sa_flags & SA_SIGINFO) != 0 ? reinterpret_cast<void*>(sa.sa_sigaction)
                                                  : reinterpret_cast<void*>(sa.sa_handler);
  if (handler == reinterpret_cast<void*>(SIG_DFL)) {
    std::snprintf(buf, sizeof buf, "SIG_DFL");
  } else if (handler == reinterpret_cast<void*>(SIG_IGN)) {
    std::snprintf(buf, sizeof buf, "SIG_IGN");
  } else {
    std::snprintf(buf, sizeof buf, "handler %p", handler);
  }
  char flags[32];
  std::snprintf(flags, sizeof flags, " (flags 0x%x, mask ", static_cast<unsigned>(sa.sa_flags));
  return std::string(buf) + flags + MaskText(sa.sa_mask) + ")";
}

}  // namespace

int CountOpenFds() {
  int n = CountDir("/proc/self/fd");
  return n < 0 ? -1 : n - 1;  // the directory stream itself
}

int CountThreads() { return CountDir("/proc/self/task"); }

ProcessState ProcessState::Capture() {
  ProcessState s;
  for (int sig = 1; sig < NSIG; ++sig) s.signals.push_back(SignalText(sig));
  sigset_t mask;
  sigemptyset(&mask);
  sigprocmask(SIG_BLOCK, nullptr, &mask);
  s.sigmask = MaskText(mask);
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) s.environment.push_back(*e);
  std::sort(s.environment.begin(), s.environment.end());
  char cwd[4096];
  s.cwd = getcwd(cwd, sizeof cwd) != nullptr ? cwd
                                             : std::string("(error ") + std::to_string(errno) + ")";
  s.umask = ::umask(022);
  ::umask(s.umask);
  const char* loc = std::setlocale(LC_ALL, nullptr);
  s.locale = loc != nullptr ? loc : "";
  return s;
}

std::vector<std::string> Diff(const ProcessState& before, const ProcessState& after) {
  std::vector<std::string> d;
  for (size_t i = 0; i < before.signals.size() && i < after.signals.size(); ++i) {
    if (before.signals[i] != after.signals[i]) {
      int sig = static_cast<int>(i) + 1;
      const char* name = sigabbrev_np(sig);
      // The handler alone reads best; flags and mask only when the handler stayed the same.
      auto handler = [](const std::string& s) { return s.substr(0, s.find(" (flags")); };
      bool same = handler(before.signals[i]) == handler(after.signals[i]);
      d.push_back("the disposition of signal " + std::to_string(sig) + " (SIG" +
                  (name != nullptr ? name : "?") + ") changed from " +
                  (same ? before.signals[i] : handler(before.signals[i])) + " to " +
                  (same ? after.signals[i] : handler(after.signals[i])));
    }
  }
  if (before.sigmask != after.sigmask) d.push_back("the signal mask changed");
  if (before.environment != after.environment) {
    std::vector<std::string> added, removed;
    std::set_difference(after.environment.begin(), after.environment.end(),
                        before.environment.begin(), before.environment.end(),
                        std::back_inserter(added));
    std::set_difference(before.environment.begin(), before.environment.end(),
                        after.environment.begin(), after.environment.end(),
                        std::back_inserter(removed));
    // Name variables only, never their values (they may be secrets).
    auto names = [](const std::vector<std::string>& v) {
      std::string out;
      for (const std::string& e : v) {
        if (!out.empty()) out += ", ";
        out += e.substr(0, e.find('='));
      }
      return out;
    };
    std::string msg = "the environment changed";
    if (!added.empty()) msg += "; set: " + names(added);
    if (!removed.empty()) msg += "; unset or replaced: " + names(removed);
    d.push_back(msg);
  }
  if (before.cwd != after.cwd) {
    d.push_back("the working directory changed from " + before.cwd + " to " + after.cwd);
  }
  if (before.umask != after.umask) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "the umask changed from %03o to %03o",
                  static_cast<unsigned>(before.umask), static_cast<unsigned>(after.umask));
    d.push_back(buf);
  }
  if (before.locale != after.locale) {
    d.push_back("the locale changed from " + before.locale + " to " + after.locale);
  }
  return d;
}

}  // namespace latchkey::conformance
