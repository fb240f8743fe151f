// Shared pieces of the individual conformance checks (checks_*.cc) and the runner.
#ifndef LATCHKEY_SDK_CONFORMANCE_CHECK_SUPPORT_H_
#define LATCHKEY_SDK_CONFORMANCE_CHECK_SUPPORT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "conformance.h"
#include "plugin.h"
#include "test_host.h"

namespace latchkey::conformance {

// What a check sees. In a forked child, `plugin` is loaded fresh and `host` is new.
struct CheckContext {
  const ConformanceOptions* options = nullptr;
  std::vector<std::vector<uint8_t>> expected;  // the bytes of options->refs[i].expect_file
  const Plugin* plugin = nullptr;              // null for checks that do not load it
  TestHost* host = nullptr;
  int report_fd = -1;  // the pipe to the runner (child only)

  // Records what the check is about to do, so a crash or timeout names it.
  void Step(const std::string& what) const;
  // The configured refs, or one that names nothing when none was given.
  std::vector<std::string> FetchRefs() const;
  // The reference that should name nothing.
  std::string MissingRef() const;
};

struct CheckOutput {
  Outcome outcome = Outcome::kPass;
  std::string reason;
};
inline CheckOutput Pass(std::string note = "") { return {Outcome::kPass, std::move(note)}; }
inline CheckOutput Fail(std::string why) { return {Outcome::kFail, std::move(why)}; }
inline CheckOutput Skip(std::string why) { return {Outcome::kSkip, std::move(why)}; }

// `s` in double quotes, as the checks name references and keys in their messages.
inline std::string Quote(const std::string& s) { return "\"" + s + "\""; }

using CheckFn = CheckOutput (*)(const CheckContext&);

struct CheckDef {
  const char* name;
  CheckFn fn;
  bool in_child;      // runs in a forked child with the plugin loaded
  bool needs_create;  // skipped when the `create` check failed
  bool needs_ref;     // skipped without --ref
};

// Every check, in the order they run.
const std::vector<CheckDef>& AllChecks();

// Check functions (one per check; see docs/plugin-abi.md for what each asserts).
CheckOutput CheckExports(const CheckContext& c);
CheckOutput CheckLoad(const CheckContext& c);
CheckOutput CheckHandshake(const CheckContext& c);
CheckOutput CheckProviderTable(const CheckContext& c);
CheckOutput CheckCreate(const CheckContext& c);
CheckOutput CheckStructSize(const CheckContext& c);
CheckOutput CheckConfigUnknownKey(const CheckContext& c);
CheckOutput CheckConfigMissingKey(const CheckContext& c);
CheckOutput CheckConfigWrongType(const CheckContext& c);
CheckOutput CheckOptionalMembers(const CheckContext& c);
CheckOutput CheckErrorPaths(const CheckContext& c);
CheckOutput CheckFetchExpected(const CheckContext& c);
CheckOutput CheckSecretAllocations(const CheckContext& c);
CheckOutput CheckCanary(const CheckContext& c);
CheckOutput CheckConcurrentFetch(const CheckContext& c);
CheckOutput CheckCreateDestroyCycles(const CheckContext& c);
CheckOutput CheckHygiene(const CheckContext& c);
CheckOutput CheckDeadline(const CheckContext& c);

// `n` writable bytes that end exactly at a PROT_NONE guard page, so reading or writing one
// byte past them faults. Never unmapped (children exit soon after).
void* GuardedBytes(size_t n);

// The encodings under which a leaked secret is searched for: the raw bytes, lower and upper
// hex, and standard and URL-safe base64 at each of the three alignments.
struct CanaryForm {
  std::string bytes;
  std::string encoding;  // "raw", "hex", "base64" ...
};
std::vector<CanaryForm> CanaryForms(const std::vector<uint8_t>& secret);

// A config list with the SECRET-free copy of `config` plus/minus/overriding one key.
ConfigList WithKey(const ConfigList& config, const std::string& key, const std::string& value);
ConfigList WithoutKey(const ConfigList& config, const std::string& key);

// "a, b, c" (at most `max` items, then "and N more").
std::string JoinList(const std::vector<std::string>& items, size_t max = 10);

}  // namespace latchkey::conformance

#endif  // LATCHKEY_SDK_CONFORMANCE_CHECK_SUPPORT_H_
