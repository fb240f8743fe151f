#include "base/byte_size.h"

#include <cctype>
#include <cmath>

namespace latchkey::base {

Result<int64_t> ParseRamBytes(std::string_view text) {
  auto bad = [&] { return InvalidArgumentError("invalid size: '" + std::string(text) + "'"); };
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    return i > start;
  };
  if (!digits()) return bad();
  while (i < text.size() && text[i] == '.') {
    ++i;
    if (!digits()) return bad();
  }
  const std::string number(text.substr(0, i));
  if (i < text.size() && text[i] == ' ') ++i;
  double mult = 1;
  if (i < text.size()) {
    switch (std::tolower(static_cast<unsigned char>(text[i]))) {
      case 'k':
        mult = 1024.0;
        break;
      case 'm':
        mult = 1024.0 * 1024;
        break;
      case 'g':
        mult = 1024.0 * 1024 * 1024;
        break;
      case 't':
        mult = 1024.0 * 1024 * 1024 * 1024;
        break;
      case 'p':
        mult = 1024.0 * 1024 * 1024 * 1024 * 1024;
        break;
      default:
        mult = 0;
    }
    if (mult != 0)
      ++i;
    else
      mult = 1;
  }
  if (i < text.size() && (text[i] == 'i' || text[i] == 'I')) ++i;
  if (i < text.size() && (text[i] == 'b' || text[i] == 'B')) ++i;
  if (i != text.size()) return bad();
  double v = std::strtod(number.c_str(), nullptr) * mult;
  if (!std::isfinite(v) || v >= 9.2e18) return bad();
  return static_cast<int64_t>(v);
}

}  // namespace latchkey::base
