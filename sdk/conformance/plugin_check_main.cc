// latchkey-plugin-check: runs the provider conformance suite against one plugin.
// Usage: see ConformanceUsage(). Runs the suite in process and then through
// latchkey-provider-host (broker/process_conformance.h), found next to this executable. Exit
// status: 0 when every check passed or was skipped, 1 when one failed, 2 on a usage error.
#include <iostream>
#include <string>
#include <vector>

#include "broker/process_conformance.h"
#include "conformance.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      std::cout << latchkey::conformance::ConformanceUsage("latchkey-plugin-check");
      return 0;
    }
  }
  latchkey::Result<latchkey::conformance::ConformanceOptions> options =
      latchkey::conformance::ParseConformanceArgs(args);
  if (!options.ok()) {
    std::cerr << "latchkey-plugin-check: " << options.status().message() << "\n"
              << latchkey::conformance::ConformanceUsage("latchkey-plugin-check");
    return 2;
  }
  // Then the process-mode checks, through the latchkey-provider-host installed beside this tool.
  std::string host = latchkey::HostNextToExecutable();
  options->extra_suite = [host](const latchkey::conformance::ConformanceOptions& o,
                                const std::vector<std::vector<uint8_t>>& expected) {
    return latchkey::RunProcessConformance(o, expected, host);
  };
  latchkey::conformance::ConformanceReport report =
      latchkey::conformance::RunConformance(*options, std::cout);
  return report.ok() ? 0 : 1;
}
