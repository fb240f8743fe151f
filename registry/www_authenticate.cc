#include "registry/www_authenticate.h"

#include <cctype>

namespace latchkey::registry {
namespace {

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~/:").find(c) != std::string_view::npos;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Status Bad(const std::string& why) const {
    return InvalidArgumentError("malformed WWW-Authenticate header: " + why);
  }
  void Ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  bool AtEnd() {
    Ws();
    return i_ >= s_.size();
  }
  std::string Token() {
    size_t start = i_;
    while (i_ < s_.size() && IsTokenChar(s_[i_])) ++i_;
    return std::string(s_.substr(start, i_ - start));
  }
  // Token68 ("abc=="), allowed as the only credential of a challenge.
  Result<std::string> Quoted() {
    ++i_;  // opening quote
    std::string out;
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (i_ >= s_.size()) break;
        c = s_[i_++];
      }
      out += c;
    }
    return Bad("unterminated quoted string");
  }

  Result<std::vector<Challenge>> Parse() {
    std::vector<Challenge> out;
    for (;;) {
      // Skip empty list elements.
      while (!AtEnd() && s_[i_] == ',') ++i_;
      if (AtEnd()) break;
      std::string scheme = Token();
      if (scheme.empty()) return Bad("expected an auth scheme at byte " + std::to_string(i_));
      Challenge ch;
      ch.scheme = Lower(scheme);
      // Parameters: name=value, separated by commas, until the next "scheme " (a token not
      // followed by '=').
      for (;;) {
        Ws();
        if (i_ >= s_.size()) break;
        size_t save = i_;
        if (s_[i_] == ',') {
          ++i_;
          Ws();
          save = i_;
        }
        std::string name = Token();
        Ws();
        if (name.empty() || i_ >= s_.size() || s_[i_] != '=') {
          // The start of the next challenge (or a token68, which registries do not send).
          i_ = save;
          if (name.empty() && i_ < s_.size() && s_[i_] != ',') {
            return Bad("unexpected character '" + std::string(1, s_[i_]) + "' at byte " +
                       std::to_string(i_));
          }
          break;
        }
        ++i_;  // '='
        Ws();
        std::string value;
        if (i_ < s_.size() && s_[i_] == '"') {
          LK_ASSIGN_OR_RETURN(value, Quoted());
        } else {
          value = Token();
        }
        ch.params[Lower(name)] = value;
      }
      out.push_back(std::move(ch));
    }
    if (out.empty()) return Bad("no challenge");
    return out;
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

Result<std::vector<Challenge>> ParseWwwAuthenticate(std::string_view header) {
  return Parser(header).Parse();
}

}  // namespace latchkey::registry
