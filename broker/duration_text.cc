#include "broker/duration_text.h"

#include <cstdint>

namespace latchkey {

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms >= 3'600'000) {
    out += std::to_string(ms / 3'600'000) + "h";
    ms %= 3'600'000;
  }
  if (ms >= 60'000) {
    out += std::to_string(ms / 60'000) + "m";
    ms %= 60'000;
  }
  if (ms >= 1000 && ms % 1000 == 0) {
    out += std::to_string(ms / 1000) + "s";
    ms = 0;
  } else if (ms >= 1000) {
    out += std::to_string(ms / 1000) + "s";
    ms %= 1000;
  }
  if (ms > 0) out += std::to_string(ms) + "ms";
  return out;
}

}  // namespace latchkey
