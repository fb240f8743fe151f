// The conformance suite's process mode: the checks `latchkey-plugin-check` and `latchkey
// plugin check` run through latchkey-provider-host after the in-process suite
// (sdk/conformance/conformance.h, ExtraSuite; docs/plugin-abi.md, "Conformance"):
//   process-load            the host loads the plugin (same loader, under its confinement)
//   process-create          create with the given --config, in the host
//   process-fetch-expected  each --ref returns its --expect-file's bytes through the host
//   process-error-path      a missing reference is answered (the plugin's error, or a value from
//                           a plugin that serves any reference) and the host lives on
//   process-crash           a host killed with SIGSEGV fails that one fetch with
//                           `provider "NAME" crashed (signal 11, SIGSEGV) while fetching
//                           "lk-conformance-crash"; it will be restarted` and the next one is
//                           served by a fresh host
//   process-hang            a host that stops answering (SIGSTOP) fails the fetch with
//                           `provider "NAME" did not answer within 300ms while fetching
//                           "lk-conformance-hang"`, is killed, and the next fetch is served
// Every check is SKIP when the host executable is not at `host_path`.
#ifndef LATCHKEY_BROKER_PROCESS_CONFORMANCE_H_
#define LATCHKEY_BROKER_PROCESS_CONFORMANCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "sdk/conformance/conformance.h"

namespace latchkey {

std::vector<conformance::CheckResult> RunProcessConformance(
    const conformance::ConformanceOptions& options,
    const std::vector<std::vector<uint8_t>>& expected, const std::string& host_path);

// latchkey-provider-host next to the running executable.
std::string HostNextToExecutable();

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_PROCESS_CONFORMANCE_H_
