// Splitting text at a separator character, the loop that reading lines and path elements share.
//
// Thread-safety: pure functions.
#ifndef LATCHKEY_BASE_SPLIT_H_
#define LATCHKEY_BASE_SPLIT_H_

#include <string_view>
#include <vector>

namespace latchkey::base {

// The pieces of `text` between occurrences of `sep`, in order, as views into `text`. A
// separator at the end does not start an empty last piece, and the empty text has no pieces:
// Split("a//b/", '/') == {"a", "", "b"}, Split("", '\n') == {}.
std::vector<std::string_view> Split(std::string_view text, char sep);

}  // namespace latchkey::base

#endif  // LATCHKEY_BASE_SPLIT_H_
