// libFuzzer target: RUN flag parsing (pass 1) and --mount value parsing with expansion (pass 2)
// from mount_flags.h, on arbitrary flag words. The first input byte picks how many flag words
// the rest is split into (at newlines).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "builder/frontend/mount_flags.h"
#include "builder/frontend/shell_lex.h"

using namespace latchkey::frontend;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> words;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    words.emplace_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  auto flags = ParseRunFlags(words);
  const ShellLex lex('\\');
  const VarMap vars = {{"ID", "npmrc"}, {"DIR", "/run/x"}, {"T", "secret"}, {"E", ""}};
  if (flags.ok()) {
    auto mounts = ExpandMounts(*flags, ShellExpander(lex, vars));
    if (mounts.ok()) {
      for (const MountSpec& m : *mounts) {
        (void)ResolveTarget(m, "/work");
        (void)MountSpecCacheKey(m);
      }
    }
  }
  // Each raw word also as one mount value.
  for (const std::string& w : words) {
    auto m = ParseMountValue(w, ShellExpander(lex, vars));
    if (m.ok()) (void)ResolveTarget(*m, "rel");
  }
  return 0;
}
