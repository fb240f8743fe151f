#include "base/edit_distance.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "base/go_text.h"

namespace latchkey::base {
namespace {

// The code points of `s`; an invalid byte b becomes 0x110000 + b (outside Unicode).
std::vector<uint32_t> Units(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    DecodedRune d = DecodeRune(s, i);
    if (d.rune == kRuneError && d.width == 1) {
      out.push_back(0x110000u + static_cast<unsigned char>(s[i]));
    } else {
      out.push_back(d.rune);
    }
    i += d.width;
  }
  return out;
}

}  // namespace

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<uint32_t> x = Units(a);
  std::vector<uint32_t> y = Units(b);
  std::vector<size_t> row(y.size() + 1);
  for (size_t j = 0; j <= y.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= x.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= y.size(); ++j) {
      size_t up = row[j];
      size_t cost = x[i - 1] == y[j - 1] ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + cost});
      diag = up;
    }
  }
  return row[y.size()];
}

}  // namespace latchkey::base
