#include "builder/frontend/lint.h"

#include <algorithm>

#include "base/go_text.h"
#include "builder/frontend/shell_lex.h"

namespace latchkey::frontend {
namespace {

constexpr const char* kSecretsRule = "SecretsUsedInArgOrEnv";

// `# check=skip=A,B;error=true`: whether `rule` is skipped.
bool RuleSkipped(const std::vector<Directive>& directives, std::string_view rule) {
  for (const Directive& d : directives) {
    if (d.name != "check") continue;
    std::string_view v = d.value;
    while (!v.empty()) {
      size_t semi = v.find(';');
      std::string_view part = base::TrimGoSpace(v.substr(0, semi));
      v = semi == std::string_view::npos ? std::string_view() : v.substr(semi + 1);
      if (part.substr(0, 5) != "skip=") continue;
      std::string_view list = part.substr(5);
      while (!list.empty()) {
        size_t comma = list.find(',');
        std::string_view item = base::TrimGoSpace(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
        if (item == "all" || item == rule) return true;
      }
    }
  }
  return false;
}

void Check(const Instruction& ins, std::vector<LintWarning>& out) {
  if (ins.kind != InstructionKind::kArg && ins.kind != InstructionKind::kEnv) return;
  const char* what = ins.kind == InstructionKind::kArg ? "ARG" : "ENV";
  for (const KeyValue& kv : ins.kvs) {
    if (!IsSecretLikeName(kv.key)) continue;
    out.push_back(
        LintWarning{kSecretsRule,
                    std::string("Do not use ARG or ENV instructions for sensitive data (") + what +
                        " " + base::GoQuote(kv.key) + ")",
                    ins.line});
  }
}

}  // namespace

bool IsSecretLikeName(std::string_view name) {
  static const std::vector<std::string> kDeny = {"apikey", "auth",     "credential", "credentials",
                                                 "key",    "password", "pword",      "passwd",
                                                 "secret", "token"};
  static const std::vector<std::string> kAllow = {"public", "file", "version"};
  const std::string lower = base::AsciiLower(name);
  bool deny = false;
  bool allow = false;
  size_t start = 0;
  while (start <= lower.size()) {
    size_t us = lower.find('_', start);
    if (us == std::string::npos) us = lower.size();
    const std::string word = lower.substr(start, us - start);
    deny = deny || std::find(kDeny.begin(), kDeny.end(), word) != kDeny.end();
    allow = allow || std::find(kAllow.begin(), kAllow.end(), word) != kAllow.end();
    start = us + 1;
  }
  return deny && !allow;
}

std::vector<LintWarning> LintDockerfile(const Dockerfile& df) {
  std::vector<LintWarning> out;
  if (RuleSkipped(df.directives, kSecretsRule)) return out;
  for (const Instruction& ins : df.meta_args) Check(ins, out);
  for (const Stage& st : df.stages) {
    for (const Instruction& ins : st.commands) Check(ins, out);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const LintWarning& a, const LintWarning& b) { return a.line < b.line; });
  return out;
}

std::string FormatLintWarning(const LintWarning& w, std::string_view filename) {
  return std::string(filename) + ":" + std::to_string(w.line) + ": " + w.rule + ": " + w.message;
}

}  // namespace latchkey::frontend
