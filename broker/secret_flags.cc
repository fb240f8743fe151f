#include "broker/secret_flags.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <utility>

#include "broker/state_dir.h"

namespace latchkey {
namespace {

// Go's strconv.Quote for the ASCII range; bytes >= 0x80 pass through unchanged.
std::string GoQuote(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return out;
}

// Go's error text for a failed os.Stat: "stat <path>: no such file or directory".
std::string GoStatError(std::string_view path, int err) {
  std::string text = std::strerror(err);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return "stat " + std::string(path) + ": " + text;
}

// Reads lines the way Go's csv.Reader.readLine does: each line keeps its '\n'; "\r\n"
// becomes "\n"; a final '\r' before EOF is dropped.
class CsvLines {
 public:
  explicit CsvLines(std::string_view in) : in_(in) {}
  // Returns false at EOF (no more bytes).
  bool Next(std::string* line) {
    if (pos_ >= in_.size()) return false;
    size_t nl = in_.find('\n', pos_);
    size_t end = nl == std::string_view::npos ? in_.size() : nl + 1;
    *line = std::string(in_.substr(pos_, end - pos_));
    pos_ = end;
    ++num_line_;
    size_t n = line->size();
    if (n >= 2 && (*line)[n - 2] == '\r' && (*line)[n - 1] == '\n') {
      line->erase(n - 2, 1);
    } else if (nl == std::string_view::npos && n > 0 && (*line)[n - 1] == '\r') {
      line->pop_back();
    }
    return true;
  }
  int num_line() const { return num_line_; }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  int num_line_ = 0;
};

size_t LengthNL(std::string_view s) { return !s.empty() && s.back() == '\n' ? 1 : 0; }

std::string CsvError(int start_line, int line, int col, const char* what) {
  std::string prefix;
  if (start_line != line) prefix = "record on line " + std::to_string(start_line) + "; ";
  return prefix + "parse error on line " + std::to_string(line) + ", column " +
         std::to_string(col) + ": " + what;
}

constexpr const char* kErrBareQuote = "bare \" in non-quoted-field";
constexpr const char* kErrQuote = "extraneous or missing \" in quoted-field";

}  // namespace

const char* SecretSourceKindName(SecretSource::Kind kind) {
  switch (kind) {
    case SecretSource::Kind::kFile:
      return "file";
    case SecretSource::Kind::kEnv:
      return "env";
    case SecretSource::Kind::kProvider:
      return "provider";
  }
  return "file";
}

Result<std::vector<std::string>> ParseCsvRecord(std::string_view input) {
  CsvLines lines(input);
  std::string buf;
  bool have = false;
  // Skip empty lines.
  while ((have = lines.Next(&buf))) {
    if (buf.size() != LengthNL(buf)) break;
  }
  if (!have) return InvalidArgumentError("EOF");
  std::string_view line = buf;
  std::string owned;  // storage when `line` moves to a later physical line
  const int rec_line = lines.num_line();
  int pos_line = rec_line;
  int pos_col = 1;
  std::vector<std::string> fields;
  while (true) {
    if (line.empty() || line[0] != '"') {
      size_t i = line.find(',');
      std::string_view field = i == std::string_view::npos
                                   ? line.substr(0, line.size() - LengthNL(line))
                                   : line.substr(0, i);
      size_t j = field.find('"');
      if (j != std::string_view::npos) {
        return InvalidArgumentError(
            CsvError(rec_line, lines.num_line(), pos_col + static_cast<int>(j), kErrBareQuote));
      }
      fields.emplace_back(field);
      if (i != std::string_view::npos) {
        line = line.substr(i + 1);
        pos_col += static_cast<int>(i) + 1;
        continue;
      }
      return fields;
    }
    // Quoted field.
    std::string field;
    line = line.substr(1);
    pos_col += 1;
    while (true) {
      size_t i = line.find('"');
      if (i != std::string_view::npos) {
        field.append(line.substr(0, i));
        line = line.substr(i + 1);
        pos_col += static_cast<int>(i) + 1;
        if (!line.empty() && line[0] == '"') {
          field += '"';
          line = line.substr(1);
          pos_col += 1;
        } else if (!line.empty() && line[0] == ',') {
          line = line.substr(1);
          pos_col += 1;
          fields.push_back(std::move(field));
          break;  // next field
        } else if (LengthNL(line) == line.size()) {
          fields.push_back(std::move(field));
          return fields;
        } else {
          return InvalidArgumentError(CsvError(rec_line, lines.num_line(), pos_col - 1, kErrQuote));
        }
      } else if (!line.empty()) {
        field.append(line);
        pos_col += static_cast<int>(line.size());
        if (lines.Next(&owned)) {
          line = owned;
          if (!line.empty()) {
            pos_line++;
            pos_col = 1;
          }
        } else {
          line = std::string_view();
        }
      } else {
        return InvalidArgumentError(CsvError(rec_line, pos_line, pos_col, kErrQuote));
      }
    }
  }
}

namespace {

struct RawSecret {
  std::string type;
  std::string id;
  std::string file_path;
  std::string env;
};

// buildx's error for an unknown type=, then what latchkey offers instead: the configured
// providers and, when `type` is a valid plugin name, the configuration lines that add it.
std::string UnsupportedType(const std::string& type, const SecretFlagContext& ctx) {
  std::string msg = "unsupported secret type " + GoQuote(type) + ": the types are file, env";
  std::string configured;
  for (const std::string& p : ctx.providers) {
    if (p == "file" || p == "env") continue;
    configured += (configured.empty() ? "" : ", ") + p;
  }
  msg += configured.empty() ? " (no providers are configured)"
                            : " and the configured providers (" + configured + ")";
  bool plugin_name =
      !type.empty() && type.size() <= 64 && type[0] >= 'a' && type[0] <= 'z' &&
      std::all_of(type.begin(), type.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      });
  if (plugin_name) {
    std::string dir = ctx.provider_dir.empty() ? "/usr/lib/latchkey/providers" : ctx.provider_dir;
    msg += "; to add provider " + type +
           ", install its plugin and add these lines to the configuration file "
           "(docs/configuration.md):\nplugins:\n  - name: " +
           type + "\n    path: " + dir + "/latchkey-" + type + ".so";
  }
  return msg;
}

// buildx util/buildflags/secrets.go parseSecret, plus provider types.
Result<RawSecret> ParseFields(std::string_view flag, const SecretFlagContext& ctx) {
  auto fields = ParseCsvRecord(flag);
  if (!fields.ok()) {
    return InvalidArgumentError("failed to parse csv secret: " + fields.status().message());
  }
  RawSecret s;
  for (const std::string& field : *fields) {
    size_t eq = field.find('=');
    std::string key = field.substr(0, eq);
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (eq == std::string::npos) {
      return InvalidArgumentError("invalid field '" + field + "' must be a key=value pair");
    }
    std::string value = field.substr(eq + 1);
    if (key == "type") {
      if (value != "file" && value != "env" && ctx.providers.count(value) == 0) {
        return InvalidArgumentError(UnsupportedType(value, ctx));
      }
      s.type = value;
    } else if (key == "id") {
      s.id = value;
    } else if (key == "source" || key == "src") {
      s.file_path = value;
    } else if (key == "env") {
      s.env = value;
    } else {
      return InvalidArgumentError("unexpected key '" + key + "' in '" + field + "'");
    }
  }
  if (s.type == "env" && s.env.empty()) {
    s.env = s.file_path;
    s.file_path.clear();
  }
  return s;
}

// Stats `abs` (display name `shown`); checks kind and size.
Status CheckFile(const std::string& id, const std::string& shown, const std::string& abs) {
  struct stat st;
  if (::stat(abs.c_str(), &st) != 0) {
    int err = errno;
    return NotFoundError("failed to stat " + shown + ": " + GoStatError(shown, err));
  }
  if (S_ISDIR(st.st_mode)) {
    return FailedPreconditionError("secret " + id + ": " + shown + " is a directory, not a file");
  }
  if (st.st_size > kMaxSecretSize) {
    return FailedPreconditionError("secret " + id + " too big. max size 500KiB");
  }
  return Status::OK();
}

}  // namespace

Result<SecretSource> ParseSecretFlag(std::string_view flag, const SecretFlagContext& ctx) {
  LK_ASSIGN_OR_RETURN(RawSecret s, ParseFields(flag, ctx));
  if (s.id.empty()) return InvalidArgumentError("secret missing ID");
  SecretSource out;
  out.id = s.id;

  if (!s.type.empty() && s.type != "file" && s.type != "env") {
    if (!s.env.empty()) {
      return InvalidArgumentError("secret " + s.id + ": env= cannot be used with type=" + s.type +
                                  "; use src=<reference>");
    }
    if (s.file_path.empty()) {
      return InvalidArgumentError("secret " + s.id + ": type=" + s.type + " needs src=<reference>");
    }
    out.kind = SecretSource::Kind::kProvider;
    out.provider = s.type;
    out.path_or_var_or_ref = s.file_path;
    return out;
  }

  if (s.env.empty() && s.file_path.empty()) {
    if (ctx.env.count(s.id) != 0) {
      out.kind = SecretSource::Kind::kEnv;
      out.path_or_var_or_ref = s.id;
      return out;
    }
    std::string abs = JoinPath(ctx.cwd, s.id);
    Status st = CheckFile(s.id, abs, abs);
    if (!st.ok()) {
      if (st.code() == StatusCode::kNotFound) {
        return NotFoundError("secret " + s.id + ": no environment variable " + s.id + " and " +
                             st.message());
      }
      return st;
    }
    out.kind = SecretSource::Kind::kFile;
    out.path_or_var_or_ref = abs;
    return out;
  }

  if (!s.file_path.empty()) {
    std::string abs = JoinPath(ctx.cwd, s.file_path);
    LK_RETURN_IF_ERROR(CheckFile(s.id, s.file_path, abs));
    out.kind = SecretSource::Kind::kFile;
    out.path_or_var_or_ref = abs;
  }
  if (!s.env.empty()) {  // env wins over src (BuildKit checks Env first)
    if (ctx.env.count(s.env) == 0) {
      return NotFoundError("secret " + s.id + ": environment variable " + s.env + " is not set");
    }
    out.kind = SecretSource::Kind::kEnv;
    out.path_or_var_or_ref = s.env;
  }
  return out;
}

Result<std::vector<SecretSource>> ParseSecretFlags(const std::vector<std::string>& flags,
                                                   const SecretFlagContext& ctx) {
  std::vector<SecretSource> out;
  std::map<std::string, size_t, std::less<>> index;
  for (const std::string& flag : flags) {
    LK_ASSIGN_OR_RETURN(SecretSource s, ParseSecretFlag(flag, ctx));
    auto it = index.find(s.id);
    if (it != index.end()) {
      out[it->second] = std::move(s);
    } else {
      index.emplace(s.id, out.size());
      out.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace latchkey
