// ParseJsonStringArray: the exec-form (JSON array) argument parser of BuildKit's Dockerfile
// parser (parseJSON in frontend/dockerfile/parser/line_parsers.go), with encoding/json semantics.
//
// Thread-safety: pure function.
#ifndef LATCHKEY_BUILDER_FRONTEND_JSON_ARRAY_H_
#define LATCHKEY_BUILDER_FRONTEND_JSON_ARRAY_H_

#include <string>
#include <string_view>
#include <vector>

namespace latchkey::frontend {

enum class JsonArrayStatus {
  kOk,              // `out` holds the strings
  kNotJson,         // not valid JSON / not an array: the caller falls back to shell form
  kNotStringArray,  // valid JSON array with an element that is not a string: a hard error
};

// The error text BuildKit gives for kNotStringArray.
inline constexpr const char* kNotStringArrayMessage =
    "when using JSON array syntax, arrays must be comprised of strings only";

// Parses `text` (leading Unicode whitespace skipped; it must then start with '[') as Go's
// json.Unmarshal into []any would: whitespace is space/\t/\n/\r, nesting deeper than 10000 is
// invalid, strings decode \uXXXX (surrogate pairs joined, lone surrogates and invalid UTF-8
// become U+FFFD). On kOk, `out` is the element list (possibly empty).
JsonArrayStatus ParseJsonStringArray(std::string_view text, std::vector<std::string>* out);

}  // namespace latchkey::frontend

#endif  // LATCHKEY_BUILDER_FRONTEND_JSON_ARRAY_H_
