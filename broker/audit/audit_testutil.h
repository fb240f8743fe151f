// Test-only helpers shared by the audit tests: a temporary directory, sample records, and a
// one-call verification of a log on disk. Header-only (not compiled into latchkey_broker).
#ifndef LATCHKEY_BROKER_AUDIT_AUDIT_TESTUTIL_H_
#define LATCHKEY_BROKER_AUDIT_AUDIT_TESTUTIL_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "base/testutil.h"
#include "broker/audit/audit_keys.h"
#include "broker/audit/audit_log.h"
#include "broker/audit/log_set.h"
#include "broker/audit/paths.h"
#include "broker/audit/verifier.h"

namespace latchkey::audit::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
using base::testing::TempDir;

inline std::shared_ptr<const AuditKeys> NewKeys() {
  auto keys = GenerateKeys();
  if (!keys.ok()) std::abort();
  return std::make_shared<const AuditKeys>(std::move(keys).value());
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

inline std::vector<std::string> Lines(const std::string& content) {
  std::vector<std::string> lines;
  std::stringstream ss(content);
  std::string line;
  while (std::getline(ss, line)) lines.push_back(line);
  return lines;
}

inline std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

inline AuditOptions QuickOptions(const std::string& path) {
  AuditOptions o;
  o.path = path;
  o.fsync = FsyncMode::kNone;
  o.on_error = [](const std::string&) {};
  return o;
}

inline SessionOpenRecord SampleOpen(const std::string& session) {
  SessionOpenRecord r;
  r.session = session;
  r.requester = "uid=1000(alice) pid=4242";
  r.dockerfile = "/src/app/Dockerfile";
  r.context = "/src/app";
  r.labels = {{"ci", "true"}};
  return r;
}

inline SecretFetchRecord SampleFetch(const std::string& session, const std::string& secret,
                                     FetchOutcome outcome) {
  SecretFetchRecord r;
  r.session = session;
  r.secret = secret;
  r.outcome = outcome;
  r.rule = "allow-npm";
  r.provider = "file";
  r.reference = "/home/alice/.npmrc";
  r.version = "";
  r.step = {"build", 2, 7, "RUN --mount=type=secret,id=" + secret + " npm ci"};
  r.requester = "uid=1000(alice) pid=4242";
  r.duration_us = 120;
  if (outcome == FetchOutcome::kDenied) r.error = "no policy rule allows secret " + secret;
  return r;
}

inline SessionCloseRecord SampleClose(const std::string& session) {
  SessionCloseRecord r;
  r.session = session;
  r.reason = "completed";
  r.fetches = 1;
  r.duration_us = 5000;
  return r;
}

inline SshForwardRecord SampleSsh(const std::string& session, SshOutcome outcome) {
  SshForwardRecord r;
  r.session = session;
  r.ssh = "default";
  r.outcome = outcome;
  r.agent = "/run/user/1000/agent.sock";
  r.required = true;
  r.step = {"build", 3, 9, "RUN --mount=type=ssh git clone git@example.com:x.git"};
  r.requester = "uid=1000(alice) pid=4242";
  if (outcome == SshOutcome::kNotFound) r.error = "unset ssh forward key default";
  return r;
}

// Verifies the log set at `log_path` (and its head file when `use_head`).
inline VerifyReport VerifyPath(const std::string& log_path, const PublicKey& pk,
                               bool use_head = true, bool strict = false) {
  auto files = LoadLogSet({log_path});
  if (!files.ok()) {
    VerifyReport r;
    r.ok = false;
    r.failure = files.status().ToString();
    return r;
  }
  VerifyOptions o;
  o.public_key = pk;
  o.strict = strict;
  if (use_head) {
    o.head_file_path = HeadPathFor(log_path);
    o.head_file_content = ReadFile(o.head_file_path);
  }
  return VerifyLog(*files, o);
}

}  // namespace latchkey::audit::testing

#endif  // LATCHKEY_BROKER_AUDIT_AUDIT_TESTUTIL_H_
