// SourceMark: where a configuration value came from, for messages such as
// "latchkey.yaml:14:5" and for the policy's "which rule decided" explanations.
//
// Thread-safety: plain value.
#ifndef LATCHKEY_BROKER_CONFIG_MARK_H_
#define LATCHKEY_BROKER_CONFIG_MARK_H_

#include <string>

namespace latchkey {

struct SourceMark {
  std::string file;  // the configuration file's path as given; empty for built-in values
  int line = 0;      // 1-based; 0 when unknown
  int column = 0;    // 1-based; 0 when unknown

  // "file:line:column", "file:line" (short) or "built in" when there is no file.
  std::string ToString() const {
    if (file.empty()) return "built in";
    if (line <= 0) return file;
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
  }
  std::string FileAndLine() const {
    if (file.empty()) return "built in";
    if (line <= 0) return file;
    return file + ":" + std::to_string(line);
  }
};

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_CONFIG_MARK_H_
