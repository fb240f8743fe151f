// Reading a rotated set of audit log files as one chain, oldest first. Used by the read-only
// tools (verify, search); the writer never reads through this.
//
// Thread-compatible: plain values.
#ifndef LATCHKEY_BROKER_AUDIT_LOG_SET_H_
#define LATCHKEY_BROKER_AUDIT_LOG_SET_H_

#include <string>
#include <vector>

#include "latchkey/status.h"

namespace latchkey::audit {

struct LogFile {
  std::string path;
  std::string content;  // the whole file
};

// Turns command-line arguments into the files of one chain. An argument that names a log whose
// rotated siblings (<arg>.1, <arg>.2, ...) exist stands for the whole set; any other argument is
// one file. Duplicates are dropped and the files are ordered by the seq of their first record
// (files without a readable first record keep their relative order, last). NOT_FOUND:
// "audit log <path> not found"; INVALID_ARGUMENT when `args` is empty.
Result<std::vector<LogFile>> LoadLogSet(const std::vector<std::string>& args);

// Splits a file into lines. A final line without '\n' is returned with `complete` false.
struct RawLine {
  std::string_view text;
  size_t number = 0;  // 1-based line number within the file
  bool complete = true;
};
std::vector<RawLine> SplitLines(const std::string& content);

}  // namespace latchkey::audit

#endif  // LATCHKEY_BROKER_AUDIT_LOG_SET_H_
