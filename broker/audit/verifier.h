// Verifies an audit log chain: every link, every checkpoint signature, and (given the head file
// the writer keeps) that nothing was cut off the end. docs/audit-log.md, "What verify can and
// cannot detect", states exactly what a pass means.
//
// Pure function of its inputs; thread-safe.
#ifndef LATCHKEY_BROKER_AUDIT_VERIFIER_H_
#define LATCHKEY_BROKER_AUDIT_VERIFIER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "broker/audit/audit_keys.h"
#include "broker/audit/log_set.h"

namespace latchkey::audit {

struct VerifyOptions {
  PublicKey public_key{};
  // Contents of the writer's head file (HeadPathFor(log)); empty: no head check.
  std::string head_file_content;
  std::string head_file_path;  // for messages
  // Turn warnings (unsigned tail, unclosed sessions, chain not starting at seq 1, head file
  // behind the log) into failures.
  bool strict = false;
};

struct VerifyReport {
  bool ok = true;
  // The first failure: "<file>:<line>: seq <n>: <what>" (or a message about the head file).
  std::string failure;
  std::vector<std::string> warnings;
  std::string log_id;
  uint64_t records = 0;      // lines checked (checkpoints included)
  uint64_t checkpoints = 0;  // valid checkpoints
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  uint64_t last_checkpoint_seq = 0;  // 0: none
  size_t files = 0;
};

VerifyReport VerifyLog(const std::vector<LogFile>& files, const VerifyOptions& options);

// The report as printed by `latchkey audit verify`: "OK: ..." or "FAIL: ...", then one
// "warning: ..." line each.
std::string FormatVerifyReport(const VerifyReport& report, const std::string& key_id);

}  // namespace latchkey::audit

#endif  // LATCHKEY_BROKER_AUDIT_VERIFIER_H_
