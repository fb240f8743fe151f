#include "cli/version.h"

#include "cli/build_info.h"

namespace latchkey::cli {

std::string VersionLine() {
  return std::string("latchkey ") + LATCHKEY_VERSION + " (commit " + LATCHKEY_GIT_COMMIT + ")";
}

}  // namespace latchkey::cli
