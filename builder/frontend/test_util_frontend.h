// Test helpers for the frontend tests: locating golden data under tests/frontend/.
#ifndef LATCHKEY_BUILDER_FRONTEND_TEST_UTIL_FRONTEND_H_
#define LATCHKEY_BUILDER_FRONTEND_TEST_UTIL_FRONTEND_H_

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace latchkey::frontend::testing {

// The repository root: $LATCHKEY_SOURCE_DIR, else derived from this file's path.
inline std::string SourceDir() {
  if (const char* d = std::getenv("LATCHKEY_SOURCE_DIR"); d != nullptr && *d != '\0') return d;
  std::string f = __FILE__;  // <root>/builder/frontend/test_util_frontend.h
  return f.substr(0, f.rfind("/builder/frontend/"));
}

inline std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace latchkey::frontend::testing

#endif  // LATCHKEY_BUILDER_FRONTEND_TEST_UTIL_FRONTEND_H_
