// The plugin conformance suite: runs every check of docs/plugin-abi.md ("Conformance") against
// one provider plugin and reports PASS/FAIL/SKIP per check.
//
// Each check that calls into the plugin runs in a forked child process with its own
// instrumented host (test_host.h), with stdout and stderr redirected to capture files, and
// under a timeout; a plugin that crashes or hangs fails that check instead of taking the
// suite down. RunConformance therefore forks: call it from a single-threaded process, or at
// least one whose other threads hold no locks the children need (the `latchkey plugin check`
// command and the latchkey-plugin-check tool both qualify).
#ifndef LATCHKEY_SDK_CONFORMANCE_CONFORMANCE_H_
#define LATCHKEY_SDK_CONFORMANCE_CONFORMANCE_H_

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "latchkey/status.h"

namespace latchkey::conformance {

struct ExpectedRef {
  std::string ref;          // a reference the plugin can serve with the given config
  std::string expect_file;  // a file holding exactly the bytes it must return
};

enum class Outcome { kPass, kFail, kSkip };

struct CheckResult {
  std::string name;
  Outcome outcome = Outcome::kPass;
  std::string reason;  // why it failed or was skipped; a note for a pass
};

struct ConformanceOptions;

// A second suite that hosts the plugin another way (latchkey's process isolation:
// broker/process_conformance.h). It gets the options and the contents of each --expect-file.
using ExtraSuite = std::function<std::vector<CheckResult>(
    const ConformanceOptions& options, const std::vector<std::vector<uint8_t>>& expected)>;

struct ConformanceOptions {
  std::string plugin_path;
  std::vector<std::pair<std::string, std::string>> config;  // --config key=value
  std::vector<ExpectedRef> refs;                            // --ref REF --expect-file FILE
  int threads = 8;                                          // --threads N
  int cycles = 1000;                                        // create/destroy cycles
  int timeout_seconds = 60;                                 // per check
  int deadline_slack_ms = 2000;                             // see the deadline check
  bool json = false;                                        // --json
  // Run after the in-process checks, its results printed and counted like theirs (their
  // names start with "process-"). Unset: only the in-process suite runs.
  ExtraSuite extra_suite;
};

struct ConformanceReport {
  std::vector<CheckResult> checks;
  int passed = 0;
  int failed = 0;
  int skipped = 0;
  bool ok() const { return failed == 0; }
};

// Parses the command line of latchkey-plugin-check / `latchkey plugin check` (without the
// program name): PLUGIN.so [--config key=value]... [--ref REF --expect-file FILE]...
// [--threads N] [--cycles N] [--timeout SECONDS] [--json]. INVALID_ARGUMENT names the bad flag.
// A PLUGIN.so with no "/" names the file in the current directory: plugin_path is "./PLUGIN.so"
// (dlopen would search the library path for a bare name).
Result<ConformanceOptions> ParseConformanceArgs(const std::vector<std::string>& args);

// The usage text printed for --help and after a usage error.
std::string ConformanceUsage(const std::string& program);

// Runs every check, printing one line per check as it completes ("PASS name",
// "FAIL name: reason", "SKIP name: reason") and the summary "N passed, N failed[, N skipped]"
// to `out` (or one JSON document when options.json). Returns the report; the plugin is
// conformant iff report.ok().
ConformanceReport RunConformance(const ConformanceOptions& options, std::ostream& out);

}  // namespace latchkey::conformance

#endif  // LATCHKEY_SDK_CONFORMANCE_CONFORMANCE_H_
