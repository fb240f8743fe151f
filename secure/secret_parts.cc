#include "secure/secret_parts.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <string_view>

namespace latchkey {
namespace {

using Bytes = std::span<const uint8_t>;

bool IsSpace(uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

Bytes Trim(Bytes b) {
  while (!b.empty() && IsSpace(b.front())) b = b.subspan(1);
  while (!b.empty() && IsSpace(b.back())) b = b.first(b.size() - 1);
  return b;
}

uint8_t Lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? static_cast<uint8_t>(c + 32) : c; }

bool EqualsCI(Bytes b, std::string_view name) {
  if (b.size() != name.size()) return false;
  for (size_t i = 0; i < b.size(); ++i) {
    if (Lower(b[i]) != static_cast<uint8_t>(name[i])) return false;
  }
  return true;
}

bool EndsWithCI(Bytes b, std::string_view name) {
  return b.size() >= name.size() && EqualsCI(b.last(name.size()), name);
}

bool StartsWith(Bytes b, std::string_view prefix) {
  return b.size() >= prefix.size() && std::memcmp(b.data(), prefix.data(), prefix.size()) == 0;
}

size_t Find(Bytes b, std::string_view needle, size_t from = 0) {
  if (needle.size() > b.size()) return SIZE_MAX;
  for (size_t i = from; i + needle.size() <= b.size(); ++i) {
    if (std::memcmp(b.data() + i, needle.data(), needle.size()) == 0) return i;
  }
  return SIZE_MAX;
}

size_t FindByte(Bytes b, uint8_t c, size_t from = 0) {
  for (size_t i = from; i < b.size(); ++i) {
    if (b[i] == c) return i;
  }
  return SIZE_MAX;
}

// Collects parts: drops short ones, the whole value and repeats; stops at kMaxSecretParts.
class Collector {
 public:
  Collector(Bytes whole, std::vector<SecretPart>& out) : whole_(whole), out_(out) {}

  Status Add(const char* rule, Bytes part, size_t min_length = kMinSecretPartLength) {
    if (part.size() < std::max(min_length, kMinSecretPartLength)) return Status::OK();
    if (out_.size() >= kMaxSecretParts) return Status::OK();
    if (part.size() == whole_.size() && std::memcmp(part.data(), whole_.data(), part.size()) == 0) {
      return Status::OK();
    }
    for (const auto& p : out_) {
      if (p.value.Equals(part)) return Status::OK();
    }
    LK_ASSIGN_OR_RETURN(SecretBuffer copy, SecretBuffer::CopyOf(part));
    out_.push_back(SecretPart{rule, std::move(copy)});
    return Status::OK();
  }

 private:
  Bytes whole_;
  std::vector<SecretPart>& out_;
};

// Base64 (standard alphabet, padded or not) decoded; an empty buffer when `b` is not base64.
Result<SecretBuffer> DecodeBase64(Bytes b) {
  LK_RETURN_IF_ERROR(EnsureSodium());
  LK_ASSIGN_OR_RETURN(SecretBuffer out, SecretBuffer::Allocate(b.size() / 4 * 3 + 3));
  for (int variant : {sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING}) {
    size_t len = 0;
    const char* end = nullptr;
    if (sodium_base642bin(out.mutable_data(), out.size(), reinterpret_cast<const char*>(b.data()),
                          b.size(), nullptr, &len, &end, variant) == 0 &&
        end == reinterpret_cast<const char*>(b.data()) + b.size()) {
      out.Truncate(len);
      out.Seal();
      return out;
    }
  }
  return SecretBuffer();
}

// The password of base64("user:password"), when `b` decodes to that shape.
Status AddBasicAuthPassword(Collector& c, const char* rule, Bytes b) {
  LK_ASSIGN_OR_RETURN(SecretBuffer decoded, DecodeBase64(b));
  size_t colon = FindByte(decoded.bytes(), ':');
  if (colon == SIZE_MAX) return Status::OK();
  return c.Add(rule, decoded.bytes().subspan(colon + 1));
}

int HexDigit(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// PEM blocks in `b`: the block, each body line of >= 16 bytes, the body as one line.
Status PemRule(Collector& c, Bytes b) {
  size_t pos = 0;
  while ((pos = Find(b, "-----BEGIN ", pos)) != SIZE_MAX) {
    size_t body = FindByte(b, '\n', pos);
    size_t end = Find(b, "-----END ", pos);
    if (body == SIZE_MAX || end == SIZE_MAX || end < body) break;
    size_t close = Find(b, "-----", end + 9);
    if (close == SIZE_MAX) break;
    size_t block_end = close + 5;
    LK_RETURN_IF_ERROR(c.Add("pem", b.subspan(pos, block_end - pos)));
    LK_ASSIGN_OR_RETURN(SecretBuffer joined, SecretBuffer::Allocate(end - body));
    size_t joined_len = 0;
    for (size_t line = body + 1; line < end;) {
      size_t nl = FindByte(b, '\n', line);
      if (nl == SIZE_MAX || nl > end) nl = end;
      Bytes l = Trim(b.subspan(line, nl - line));
      if (!l.empty() && FindByte(l, ':') == SIZE_MAX) {
        LK_RETURN_IF_ERROR(c.Add("pem", l, 16));
        std::memcpy(joined.mutable_data() + joined_len, l.data(), l.size());
        joined_len += l.size();
      }
      line = nl + 1;
    }
    joined.Truncate(joined_len);
    joined.Seal();
    LK_RETURN_IF_ERROR(c.Add("pem", joined.bytes(), 16));
    pos = block_end;
  }
  return Status::OK();
}

bool KnownLineKey(Bytes key) {
  for (std::string_view name : {"_authtoken", "_auth", "password", "aws_secret_access_key",
                                "aws_session_token", "token", "secret"}) {
    if (EndsWithCI(key, name)) return true;
  }
  return false;
}

// KEY=VALUE and KEY: VALUE lines.
Status LineRule(Collector& c, Bytes b) {
  for (size_t start = 0; start < b.size();) {
    size_t nl = FindByte(b, '\n', start);
    if (nl == SIZE_MAX) nl = b.size();
    Bytes line = Trim(b.subspan(start, nl - start));
    start = nl + 1;
    if (line.empty() || line[0] == '#' || line[0] == ';' || line[0] == '"' || line[0] == '{' ||
        line[0] == '[' || StartsWith(line, "-----")) {
      continue;
    }
    size_t sep = FindByte(line, '=');
    for (size_t i = 0; i + 1 < line.size() && i < sep; ++i) {
      if (line[i] == ':' && (line[i + 1] == ' ' || line[i + 1] == '\t')) {
        sep = i;
        break;
      }
    }
    if (sep == SIZE_MAX || sep == 0) continue;
    Bytes key = Trim(line.first(sep));
    Bytes value = Trim(line.subspan(sep + 1));
    if (value.size() >= 2 && (value[0] == '"' || value[0] == '\'') && value.back() == value[0]) {
      value = value.subspan(1, value.size() - 2);
    }
    if (key.empty() || value.empty()) continue;
    if (KnownLineKey(key)) {
      LK_RETURN_IF_ERROR(c.Add("key", value));
      if (EndsWithCI(key, "_auth")) LK_RETURN_IF_ERROR(AddBasicAuthPassword(c, "key", value));
      if (EndsWithCI(key, "_password")) {
        LK_ASSIGN_OR_RETURN(SecretBuffer decoded, DecodeBase64(value));
        LK_RETURN_IF_ERROR(c.Add("key", decoded.bytes()));
      }
    } else if (Find(value, "://") == SIZE_MAX) {
      LK_RETURN_IF_ERROR(c.Add("key", value, kMinGenericPartLength));
    }
  }
  return Status::OK();
}

// .netrc: the token after each "password" token.
Status NetrcRule(Collector& c, Bytes b) {
  bool after_password = false;
  for (size_t i = 0; i < b.size();) {
    while (i < b.size() && IsSpace(b[i])) ++i;
    size_t s = i;
    while (i < b.size() && !IsSpace(b[i])) ++i;
    if (s == i) break;
    Bytes token = b.subspan(s, i - s);
    if (after_password) LK_RETURN_IF_ERROR(c.Add("netrc", token));
    after_password = token.size() == 8 && std::memcmp(token.data(), "password", 8) == 0;
  }
  return Status::OK();
}

// scheme://user:password@host: the password, as written and percent-decoded.
Status UrlRule(Collector& c, Bytes b) {
  static constexpr std::string_view kStop = "/?#@ \t\r\n\"'<>";
  for (size_t pos = 0; (pos = Find(b, "://", pos)) != SIZE_MAX;) {
    size_t start = pos + 3, i = start;
    while (i < b.size() && kStop.find(static_cast<char>(b[i])) == std::string_view::npos) ++i;
    pos = start;
    if (i >= b.size() || b[i] != '@') continue;
    Bytes userinfo = b.subspan(start, i - start);
    size_t colon = FindByte(userinfo, ':');
    if (colon == SIZE_MAX) continue;
    Bytes password = userinfo.subspan(colon + 1);
    LK_RETURN_IF_ERROR(c.Add("url", password));
    if (FindByte(password, '%') == SIZE_MAX) continue;
    LK_ASSIGN_OR_RETURN(SecretBuffer decoded, SecretBuffer::Allocate(password.size()));
    size_t n = 0;
    for (size_t k = 0; k < password.size(); ++k) {
      int hi = k + 2 < password.size() && password[k] == '%' ? HexDigit(password[k + 1]) : -1;
      int lo = hi >= 0 ? HexDigit(password[k + 2]) : -1;
      if (lo >= 0) {
        decoded.mutable_data()[n++] = static_cast<uint8_t>(hi * 16 + lo);
        k += 2;
      } else {
        decoded.mutable_data()[n++] = password[k];
      }
    }
    decoded.Truncate(n);
    decoded.Seal();
    LK_RETURN_IF_ERROR(c.Add("url", decoded.bytes()));
  }
  return Status::OK();
}

bool CredentialJsonKey(Bytes key) {
  if (EqualsCI(key, "auth") || EqualsCI(key, "identitytoken") || EqualsCI(key, "registrytoken")) {
    return true;
  }
  for (std::string_view suffix : {"token", "secret", "password", "key"}) {
    if (EndsWithCI(key, suffix)) return true;
  }
  return false;
}

// A JSON string's contents unescaped; an empty buffer when it has a \u escape beyond ASCII or a
// malformed escape.
Result<SecretBuffer> JsonUnescape(Bytes s) {
  LK_ASSIGN_OR_RETURN(SecretBuffer out, SecretBuffer::Allocate(s.size()));
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    uint8_t ch = s[i];
    if (ch != '\\') {
      out.mutable_data()[n++] = ch;
      continue;
    }
    if (++i >= s.size()) return SecretBuffer();
    switch (s[i]) {
      case 'n':
        ch = '\n';
        break;
      case 't':
        ch = '\t';
        break;
      case 'r':
        ch = '\r';
        break;
      case 'b':
        ch = '\b';
        break;
      case 'f':
        ch = '\f';
        break;
      case '"':
      case '\\':
      case '/':
        ch = s[i];
        break;
      case 'u': {
        if (i + 4 >= s.size()) return SecretBuffer();
        int v = 0;
        for (size_t k = 1; k <= 4; ++k) {
          int d = HexDigit(s[i + k]);
          if (d < 0) return SecretBuffer();
          v = v * 16 + d;
        }
        if (v >= 0x80) return SecretBuffer();
        ch = static_cast<uint8_t>(v);
        i += 4;
        break;
      }
      default:
        return SecretBuffer();
    }
    out.mutable_data()[n++] = ch;
  }
  out.Truncate(n);
  out.Seal();
  return out;
}

// JSON string values of credential keys (only when the value looks like a JSON document).
Status JsonRule(Collector& c, Bytes b) {
  Bytes t = Trim(b);
  if (t.empty() || (t[0] != '{' && t[0] != '[')) return Status::OK();
  Bytes key;
  bool have_key = false;
  for (size_t i = 0; i < t.size(); ++i) {
    if (IsSpace(t[i])) continue;
    if (t[i] != '"') {
      have_key = false;
      continue;
    }
    size_t s = i + 1, e = s;
    bool escaped = false;
    while (e < t.size() && t[e] != '"') {
      if (t[e] == '\\') {
        escaped = true;
        ++e;
      }
      ++e;
    }
    if (e >= t.size()) break;
    Bytes str = t.subspan(s, e - s);
    size_t j = e + 1;
    while (j < t.size() && IsSpace(t[j])) ++j;
    if (j < t.size() && t[j] == ':') {
      key = str;
      have_key = true;
      i = j;
      continue;
    }
    i = e;
    if (!have_key) continue;
    have_key = false;
    if (!CredentialJsonKey(key)) continue;
    LK_RETURN_IF_ERROR(c.Add("json", str));
    if (EqualsCI(key, "auth")) LK_RETURN_IF_ERROR(AddBasicAuthPassword(c, "json", str));
    if (escaped) {
      LK_ASSIGN_OR_RETURN(SecretBuffer plain, JsonUnescape(str));
      LK_RETURN_IF_ERROR(c.Add("json", plain.bytes()));
      LK_RETURN_IF_ERROR(PemRule(c, plain.bytes()));
    }
  }
  return Status::OK();
}

}  // namespace

Result<std::vector<SecretPart>> DeriveSecretParts(std::span<const uint8_t> value) {
  std::vector<SecretPart> parts;
  // Binary values (a DER key, random bytes) have no text structure.
  for (uint8_t c : value) {
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) return parts;
  }
  Collector c(value, parts);
  LK_RETURN_IF_ERROR(PemRule(c, value));
  LK_RETURN_IF_ERROR(JsonRule(c, value));
  LK_RETURN_IF_ERROR(LineRule(c, value));
  LK_RETURN_IF_ERROR(NetrcRule(c, value));
  LK_RETURN_IF_ERROR(UrlRule(c, value));
  return parts;
}

}  // namespace latchkey
