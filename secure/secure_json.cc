#include "secure/secure_json.h"

#include <cctype>
#include <cstring>
#include <optional>

namespace latchkey {
namespace {

constexpr int kMaxDepth = 64;

// A recursive-descent walker over JSON bytes. Values are skipped without copies; the one
// wanted string is decoded into secure memory; member names are decoded into std::string.
class Walker {
 public:
  Walker(std::span<const uint8_t> j, std::string_view what) : j_(j), what_(what) {}

  Status Bad() const {
    return InvalidArgumentError(std::string(what_) + " is not valid JSON (at byte " +
                                std::to_string(pos_) + ")");
  }

  void Ws() {
    while (pos_ < j_.size() &&
           (j_[pos_] == ' ' || j_[pos_] == '\t' || j_[pos_] == '\n' || j_[pos_] == '\r')) {
      ++pos_;
    }
  }

  // Decodes the string starting at pos_ (a '"'); `out` may be null (skip). Writes at most
  // the raw length, which always suffices.
  Status String(uint8_t* out, size_t* out_len) {
    if (pos_ >= j_.size() || j_[pos_] != '"') return Bad();
    ++pos_;
    size_t n = 0;
    auto put = [&](uint8_t c) {
      if (out) out[n] = c;
      ++n;
    };
    while (pos_ < j_.size()) {
      uint8_t c = j_[pos_++];
      if (c == '"') {
        if (out_len) *out_len = n;
        return Status::OK();
      }
      if (c < 0x20) return Bad();
      if (c != '\\') {
        put(c);
        continue;
      }
      if (pos_ >= j_.size()) return Bad();
      uint8_t e = j_[pos_++];
      switch (e) {
        case '"':
          put('"');
          break;
        case '\\':
          put('\\');
          break;
        case '/':
          put('/');
          break;
        case 'b':
          put('\b');
          break;
        case 'f':
          put('\f');
          break;
        case 'n':
          put('\n');
          break;
        case 'r':
          put('\r');
          break;
        case 't':
          put('\t');
          break;
        case 'u': {
          auto hex4 = [&](uint32_t* v) -> bool {
            if (pos_ + 4 > j_.size()) return false;
            *v = 0;
            for (int i = 0; i < 4; ++i) {
              uint8_t h = j_[pos_++];
              *v <<= 4;
              if (h >= '0' && h <= '9')
                *v |= h - '0';
              else if (h >= 'a' && h <= 'f')
                *v |= h - 'a' + 10;
              else if (h >= 'A' && h <= 'F')
                *v |= h - 'A' + 10;
              else
                return false;
            }
            return true;
          };
          uint32_t cp = 0;
          if (!hex4(&cp)) return Bad();
          if (cp >= 0xD800 && cp <= 0xDBFF && pos_ + 6 <= j_.size() && j_[pos_] == '\\' &&
              j_[pos_ + 1] == 'u') {
            pos_ += 2;
            uint32_t lo = 0;
            if (!hex4(&lo) || lo < 0xDC00 || lo > 0xDFFF) return Bad();
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          if (cp < 0x80) {
            put(static_cast<uint8_t>(cp));
          } else if (cp < 0x800) {
            put(static_cast<uint8_t>(0xC0 | (cp >> 6)));
            put(static_cast<uint8_t>(0x80 | (cp & 0x3F)));
          } else if (cp < 0x10000) {
            put(static_cast<uint8_t>(0xE0 | (cp >> 12)));
            put(static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F)));
            put(static_cast<uint8_t>(0x80 | (cp & 0x3F)));
          } else {
            put(static_cast<uint8_t>(0xF0 | (cp >> 18)));
            put(static_cast<uint8_t>(0x80 | ((cp >> 12) & 0x3F)));
            put(static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F)));
            put(static_cast<uint8_t>(0x80 | (cp & 0x3F)));
          }
          break;
        }
        default:
          return Bad();
      }
    }
    return Bad();
  }

  Result<std::string> Key() {
    size_t start = pos_;
    LK_RETURN_IF_ERROR(String(nullptr, nullptr));
    size_t raw = pos_ - start;
    pos_ = start;
    std::string k(raw, '\0');
    size_t n = 0;
    LK_RETURN_IF_ERROR(String(reinterpret_cast<uint8_t*>(k.data()), &n));
    k.resize(n);
    return k;
  }

  // After a member's key: blanks, then the ':'.
  Status Colon() {
    Ws();
    if (pos_ >= j_.size() || j_[pos_] != ':') return Bad();
    ++pos_;
    return Status::OK();
  }

  // After a value inside an object or array closed by `close`: blanks, then ',' (true: another
  // member follows) or `close` (false: the container ended), consumed; anything else is Bad.
  Result<bool> NextMember(uint8_t close) {
    Ws();
    if (pos_ >= j_.size()) return Bad();
    if (j_[pos_] == ',') {
      ++pos_;
      return true;
    }
    if (j_[pos_] == close) {
      ++pos_;
      return false;
    }
    return Bad();
  }

  Status Skip(int depth) {
    if (depth > kMaxDepth) return Bad();
    Ws();
    if (pos_ >= j_.size()) return Bad();
    uint8_t c = j_[pos_];
    if (c == '"') return String(nullptr, nullptr);
    if (c == '{' || c == '[') {
      uint8_t close = c == '{' ? '}' : ']';
      ++pos_;
      Ws();
      if (pos_ < j_.size() && j_[pos_] == close) {
        ++pos_;
        return Status::OK();
      }
      for (;;) {
        if (c == '{') {
          Ws();
          LK_RETURN_IF_ERROR(String(nullptr, nullptr));
          LK_RETURN_IF_ERROR(Colon());
        }
        LK_RETURN_IF_ERROR(Skip(depth + 1));
        LK_ASSIGN_OR_RETURN(bool more, NextMember(close));
        if (!more) return Status::OK();
      }
    }
    // number, true, false, null
    size_t start = pos_;
    while (pos_ < j_.size() &&
           (std::isalnum(j_[pos_]) || j_[pos_] == '-' || j_[pos_] == '+' || j_[pos_] == '.')) {
      ++pos_;
    }
    return pos_ > start ? Status::OK() : Bad();
  }

  // Positions pos_ at the value of the member path `keys` (from the root). NOT_FOUND when a
  // member is missing; the rest of the document is checked for syntax as far as it is read.
  Status Seek(const std::vector<std::string>& keys) {
    for (size_t level = 0; level <= keys.size(); ++level) {
      Ws();
      if (level == keys.size()) return Status::OK();
      if (pos_ >= j_.size() || j_[pos_] != '{') {
        if (pos_ >= j_.size()) return Bad();
        return NotFoundError(std::string(what_) + " has no member " + Path(keys, level + 1));
      }
      ++pos_;
      Ws();
      bool found = false;
      if (pos_ < j_.size() && j_[pos_] == '}') {
        ++pos_;
      } else {
        for (;;) {
          Ws();
          LK_ASSIGN_OR_RETURN(std::string k, Key());
          LK_RETURN_IF_ERROR(Colon());
          if (k == keys[level]) {
            found = true;
            break;
          }
          LK_RETURN_IF_ERROR(Skip(level + 1));
          LK_ASSIGN_OR_RETURN(bool more, NextMember('}'));
          if (!more) break;
        }
      }
      if (!found)
        return NotFoundError(std::string(what_) + " has no member " + Path(keys, level + 1));
    }
    return Status::OK();
  }

  static std::string Path(const std::vector<std::string>& keys, size_t n) {
    std::string p;
    for (size_t i = 0; i < n && i < keys.size(); ++i) p += (i ? "." : "") + keys[i];
    return p;
  }

  size_t pos_ = 0;
  std::span<const uint8_t> j_;
  std::string_view what_;
};

}  // namespace

Result<SecretBuffer> SecureJsonString(std::span<const uint8_t> json,
                                      const std::vector<std::string>& keys, std::string_view what) {
  Walker w(json, what);
  LK_RETURN_IF_ERROR(w.Seek(keys));
  if (w.pos_ >= json.size() || json[w.pos_] != '"') {
    if (w.pos_ >= json.size()) return w.Bad();
    return NotFoundError(std::string(what) + ": " + Walker::Path(keys, keys.size()) +
                         " is not a string");
  }
  size_t start = w.pos_;
  LK_RETURN_IF_ERROR(w.String(nullptr, nullptr));
  size_t raw = w.pos_ - start;
  w.pos_ = start;
  LK_ASSIGN_OR_RETURN(SecretBuffer out, SecretBuffer::Allocate(raw == 0 ? 1 : raw));
  size_t n = 0;
  LK_RETURN_IF_ERROR(w.String(out.mutable_data(), &n));
  out.Truncate(n);
  out.Seal();
  return out;
}

Result<JsonObjectLayout> SecureJsonObjectLayout(std::span<const uint8_t> json,
                                                const std::vector<std::string>& keys,
                                                std::string_view what) {
  Walker w(json, what);
  LK_RETURN_IF_ERROR(w.Seek(keys));
  JsonObjectLayout out;
  if (w.pos_ >= json.size()) return w.Bad();
  if (json[w.pos_] != '{') {
    return NotFoundError(
        std::string(what) + ": " +
        (keys.empty() ? std::string("the document") : Walker::Path(keys, keys.size())) +
        " is not an object");
  }
  out.open = w.pos_;
  ++w.pos_;
  w.Ws();
  if (w.pos_ < json.size() && json[w.pos_] == '}') {
    out.close = w.pos_;
    return out;
  }
  for (;;) {
    w.Ws();
    JsonObjectLayout::Member m;
    m.key_begin = w.pos_;
    LK_ASSIGN_OR_RETURN(m.name, w.Key());
    LK_RETURN_IF_ERROR(w.Colon());
    w.Ws();
    m.value_begin = w.pos_;
    LK_RETURN_IF_ERROR(w.Skip(1));
    m.value_end = w.pos_;
    out.members.push_back(std::move(m));
    w.Ws();
    if (w.pos_ >= json.size()) return w.Bad();
    if (json[w.pos_] == ',') {
      ++w.pos_;
      continue;
    }
    if (json[w.pos_] == '}') {
      out.close = w.pos_;
      return out;
    }
    return w.Bad();
  }
}

Result<std::vector<std::string>> SecureJsonKeys(std::span<const uint8_t> json,
                                                const std::vector<std::string>& keys,
                                                std::string_view what) {
  LK_ASSIGN_OR_RETURN(JsonObjectLayout layout, SecureJsonObjectLayout(json, keys, what));
  std::vector<std::string> out;
  for (auto& m : layout.members) out.push_back(std::move(m.name));
  return out;
}

Result<SecretBuffer> SecureJsonQuote(std::span<const uint8_t> text) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t n = 2;
  for (uint8_t c : text) n += (c == '"' || c == '\\') ? 2 : (c < 0x20 ? 6 : 1);
  LK_ASSIGN_OR_RETURN(SecretBuffer out, SecretBuffer::Allocate(n));
  uint8_t* p = out.mutable_data();
  *p++ = '"';
  for (uint8_t c : text) {
    if (c == '"' || c == '\\') {
      *p++ = '\\';
      *p++ = c;
    } else if (c < 0x20) {
      *p++ = '\\';
      *p++ = 'u';
      *p++ = '0';
      *p++ = '0';
      *p++ = static_cast<uint8_t>(kHex[c >> 4]);
      *p++ = static_cast<uint8_t>(kHex[c & 15]);
    } else {
      *p++ = c;
    }
  }
  *p++ = '"';
  out.Seal();
  return out;
}

Result<SecretBuffer> SecureConcat(std::initializer_list<std::span<const uint8_t>> parts) {
  size_t n = 0;
  for (auto part : parts) n += part.size();
  LK_ASSIGN_OR_RETURN(SecretBuffer out, SecretBuffer::Allocate(n == 0 ? 1 : n));
  size_t at = 0;
  for (auto part : parts) {
    if (!part.empty()) std::memcpy(out.mutable_data() + at, part.data(), part.size());
    at += part.size();
  }
  out.Truncate(n);
  out.Seal();
  return out;
}

}  // namespace latchkey
