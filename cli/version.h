// The version of this latchkey binary, as `latchkey --version` prints it.
#ifndef LATCHKEY_CLI_VERSION_H_
#define LATCHKEY_CLI_VERSION_H_

#include <string>

namespace latchkey::cli {

// "latchkey 0.1.0 (commit 3c79f7a1b2c3)": the project version and the git commit the binary was
// built from, both baked in at build time (cmake/build_info.cmake). The commit carries
// "-dirty" when tracked files had changes, and is "unknown" for a build outside a git work tree
// (a release tarball).
std::string VersionLine();

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_VERSION_H_
