// libFuzzer target: the whole Dockerfile frontend on arbitrary bytes. Parse, dump, instruction
// parsing, the stage graph, stage evaluation (no image resolution) and the outline must never
// crash, hang or read out of bounds; errors must be values with a "file:line:" prefix.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "builder/frontend/config_eval.h"
#include "builder/frontend/dump.h"
#include "builder/frontend/outline.h"
#include "builder/frontend/parser.h"

using namespace latchkey::frontend;

namespace {
void CheckPrefix(const latchkey::Status& s) {
  if (!s.ok() && s.message().rfind("Dockerfile:", 0) != 0) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = Parse(text);
  if (!parsed.ok()) {
    CheckPrefix(parsed.status());
    return 0;
  }
  if (parsed->children.empty()) std::abort();
  const std::string dump = Dump(*parsed);
  if (dump.empty() || dump.front() != '(' || dump.back() != '\n') std::abort();
  CheckPrefix(CheckInstructionNames(*parsed));
  auto df = ParseInstructions(*parsed);
  if (!df.ok()) {
    CheckPrefix(df.status());
    return 0;
  }
  BuildOptions opts;
  opts.build_args = {{"A", "1"}, {"HTTP_PROXY", "p"}};
  EmptyImageResolver resolver;
  auto eval = EvaluateBuild(*df, opts, resolver);
  if (!eval.ok()) CheckPrefix(eval.status());
  auto outline = OutlineDockerfile(text, OutlineOptions{});
  if (outline.ok()) {
    (void)OutlineToJson(*outline);
    (void)OutlineToTable(*outline);
  }
  return 0;
}
