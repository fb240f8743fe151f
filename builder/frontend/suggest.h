// "Did you mean ...?" suggestions for misspelt words, as BuildKit's util/suggest does them.
//
// Thread-safety: pure functions; safe to call from any thread.
#ifndef LATCHKEY_BUILDER_FRONTEND_SUGGEST_H_
#define LATCHKEY_BUILDER_FRONTEND_SUGGEST_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace latchkey::frontend {

// Returns the candidate closest to `word` whose edit distance (base::EditDistance) is below 3, or
// "" when there is none. When `word` equals a candidate exactly, returns "" (the error was not a
// misspelling). On a tie the earlier candidate wins, so pass candidates in a fixed, meaningful
// order.
//
// With case_sensitive == false both sides are compared lower-cased (ASCII) and the returned
// candidate takes the case of `word`: all lower-case word -> lower-case candidate, all
// upper-case word -> upper-case candidate, otherwise the candidate as listed. BuildKit's
// mount-type, mount-key, sharing and flag suggestions are all case-sensitive (the default).
std::string Suggest(std::string_view word, const std::vector<std::string>& candidates,
                    bool case_sensitive = true);

// Returns `message` followed by " (did you mean <x>?)" when Suggest() finds an <x>; otherwise
// `message` unchanged.
std::string WithSuggestion(std::string message, std::string_view word,
                           const std::vector<std::string>& candidates, bool case_sensitive = true);

}  // namespace latchkey::frontend

#endif  // LATCHKEY_BUILDER_FRONTEND_SUGGEST_H_
