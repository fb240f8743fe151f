#include "builder/build/progress.h"

#include <unistd.h>

#include <cstdlib>
#include <string>
#include <utility>

#include "builder/build/progress_json.h"
#include "builder/build/progress_plain.h"
#include "builder/build/progress_tty.h"

namespace latchkey::build {

Result<ProgressMode> ParseProgressMode(std::string_view value) {
  if (value == "auto") return ProgressMode::kAuto;
  if (value == "plain") return ProgressMode::kPlain;
  if (value == "tty") return ProgressMode::kTty;
  if (value == "json") return ProgressMode::kJson;
  if (value == "quiet") return ProgressMode::kQuiet;
  return InvalidArgumentError("invalid progress mode \"" + std::string(value) +
                              "\": want auto, plain, tty, json or quiet");
}

std::string_view ProgressModeName(ProgressMode mode) {
  switch (mode) {
    case ProgressMode::kAuto:
      return "auto";
    case ProgressMode::kPlain:
      return "plain";
    case ProgressMode::kTty:
      return "tty";
    case ProgressMode::kJson:
      return "json";
    case ProgressMode::kQuiet:
      return "quiet";
  }
  return "auto";
}

ProgressMode ResolveProgressMode(ProgressMode mode, int fd) {
  if (mode != ProgressMode::kAuto) return mode;
  const char* term = std::getenv("TERM");
  bool dumb = term != nullptr && std::string_view(term) == "dumb";
  return ::isatty(fd) == 1 && !dumb ? ProgressMode::kTty : ProgressMode::kPlain;
}

std::unique_ptr<ProgressWriter> NewProgressWriter(ProgressMode mode, int fd, ProgressClock clock) {
  if (!clock) clock = [] { return std::chrono::steady_clock::now(); };
  switch (ResolveProgressMode(mode, fd)) {
    case ProgressMode::kTty:
      return std::make_unique<TtyProgressWriter>(fd, std::move(clock));
    case ProgressMode::kJson:
      return std::make_unique<JsonProgressWriter>(fd, std::move(clock));
    case ProgressMode::kQuiet:
      return std::make_unique<PlainProgressWriter>(fd, /*quiet=*/true, std::move(clock));
    case ProgressMode::kAuto:
    case ProgressMode::kPlain:
      break;
  }
  return std::make_unique<PlainProgressWriter>(fd, /*quiet=*/false, std::move(clock));
}

}  // namespace latchkey::build
