// Snapshots of the process-wide state a plugin must not change or leak: open file
// descriptors, threads, signal dispositions and mask, environment, cwd, umask and locale.
//
// Thread-safety: Capture() briefly changes and restores the umask (the only way to read it),
// so call it while no other thread creates files.
#ifndef LATCHKEY_SDK_CONFORMANCE_PROCESS_STATE_H_
#define LATCHKEY_SDK_CONFORMANCE_PROCESS_STATE_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace latchkey::conformance {

// Number of entries in /proc/self/fd (minus the one used to read it), or -1.
int CountOpenFds();
// Number of entries in /proc/self/task (threads), or -1.
int CountThreads();

struct ProcessState {
  std::vector<std::string> signals;  // one text form per signal: "handler flags mask"
  std::string sigmask;
  std::vector<std::string> environment;
  std::string cwd;
  mode_t umask = 0;
  std::string locale;

  static ProcessState Capture();
};

// Human-readable differences ("umask changed from 022 to 077"); empty when equal.
std::vector<std::string> Diff(const ProcessState& before, const ProcessState& after);

}  // namespace latchkey::conformance

#endif  // LATCHKEY_SDK_CONFORMANCE_PROCESS_STATE_H_
