#include "builder/solver/progress.h"

#include <unistd.h>

#include <cstdlib>
#include <string>
#include <utility>

#include "builder/solver/progress_json.h"
#include "builder/solver/progress_plain.h"
#include "builder/solver/progress_tty.h"

namespace latchkey::build {

namespace {

// Every mode and its --progress spelling.
constexpr std::pair<std::string_view, ProgressMode> kModeNames[] = {
    {"auto", ProgressMode::kAuto}, {"plain", ProgressMode::kPlain}, {"tty", ProgressMode::kTty},
    {"json", ProgressMode::kJson}, {"quiet", ProgressMode::kQuiet},
};

}  // namespace

Result<ProgressMode> ParseProgressMode(std::string_view value) {
  for (const auto& [name, mode] : kModeNames) {
    if (value == name) return mode;
  }
  return InvalidArgumentError("invalid progress mode \"" + std::string(value) +
                              "\": want auto, plain, tty, json or quiet");
}

std::string_view ProgressModeName(ProgressMode mode) {
  for (const auto& [name, m] : kModeNames) {
    if (m == mode) return name;
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
      return NewJsonProgressWriter(fd, std::move(clock));
    case ProgressMode::kQuiet:
      return NewPlainProgressWriter(fd, /*quiet=*/true, std::move(clock));
    case ProgressMode::kAuto:
    case ProgressMode::kPlain:
      break;
  }
  return NewPlainProgressWriter(fd, /*quiet=*/false, std::move(clock));
}

}  // namespace latchkey::build
