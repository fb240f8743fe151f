#include "builder/executor/process_error.h"

#include <cstdio>

#include "builder/frontend/go_text.h"

namespace latchkey::executor {

std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  size_t i = 0;
  char buf[16];
  while (i < s.size()) {
    auto [r, width] = frontend::DecodeRune(s, i);
    if (r == frontend::kRuneError && width == 1) {
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(s[i]));
      out += buf;
      i += 1;
      continue;
    }
    switch (r) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (r < 0x20 || r == 0x7f) {
          std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(r));
          out += buf;
        } else if ((r >= 0x80 && r < 0xa0) || r == 0xad || r == 0xfeff) {
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(r));
          out += buf;
        } else {
          out.append(s.substr(i, width));
        }
    }
    i += width;
  }
  out += "\"";
  return out;
}

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
  return "process " + GoQuote(MaskSecretEnvRefs(joined, secret_env_names)) +
         " did not complete successfully: exit code: " + std::to_string(exit_code);
}

}  // namespace latchkey::executor
