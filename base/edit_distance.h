// Edit distance for "did you mean ...?" suggestions (the Dockerfile frontend, the configuration
// loader and the plugin-config validator all rank candidates with it).
//
// Thread-safety: pure function.
#ifndef LATCHKEY_BASE_EDIT_DISTANCE_H_
#define LATCHKEY_BASE_EDIT_DISTANCE_H_

#include <cstddef>
#include <string_view>

namespace latchkey::base {

// Levenshtein distance between `a` and `b` counted in Unicode code points (UTF-8 input, decoded
// as Go does; each invalid byte counts as one unit, distinct from every code point and from
// other invalid bytes). Insert, delete and substitute each cost 1. For ASCII input this is the
// byte distance.
size_t EditDistance(std::string_view a, std::string_view b);

}  // namespace latchkey::base

#endif  // LATCHKEY_BASE_EDIT_DISTANCE_H_
