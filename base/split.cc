#include "base/split.h"

namespace latchkey::base {

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> pieces;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find(sep, i);
    if (j == std::string_view::npos) j = text.size();
    pieces.push_back(text.substr(i, j - i));
    i = j + 1;
  }
  return pieces;
}

}  // namespace latchkey::base
