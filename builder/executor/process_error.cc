#include "builder/executor/process_error.h"

#include <cstdio>

#include "base/go_text.h"

namespace latchkey::executor {

namespace {
bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
}  // namespace

std::string MaskSecretEnvRefs(std::string_view command, const std::vector<std::string>& names) {
  std::string out;
  size_t i = 0;
  while (i < command.size()) {
    if (command[i] == '$') {
      bool matched = false;
      for (const auto& n : names) {
        if (n.empty()) continue;
        std::string braced = "${" + n + "}";
        if (command.substr(i, braced.size()) == braced) {
          out += "****";
          i += braced.size();
          matched = true;
          break;
        }
        if (command.substr(i + 1, n.size()) == n &&
            (i + 1 + n.size() == command.size() || !IsNameChar(command[i + 1 + n.size()]))) {
          out += "****";
          i += 1 + n.size();
          matched = true;
          break;
        }
      }
      if (matched) continue;
    }
    out.push_back(command[i]);
    ++i;
  }
  return out;
}

std::string FormatProcessFailure(const std::vector<std::string>& args,
                                 const std::vector<std::string>& secret_env_names, int exit_code) {
  std::string joined;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i) joined += " ";
    joined += args[i];
  }
  return "process " +
         base::GoQuote(base::TruncateForDisplay(MaskSecretEnvRefs(joined, secret_env_names))) +
         " did not complete successfully: exit code: " + std::to_string(exit_code);
}

}  // namespace latchkey::executor
