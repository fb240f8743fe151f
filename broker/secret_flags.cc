#include "broker/secret_flags.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <utility>

#include "base/go_csv.h"
#include "base/go_text.h"
#include "broker/state_dir.h"

namespace latchkey {
namespace {

// Go's error text for a failed os.Stat: "stat <path>: no such file or directory".
std::string GoStatError(std::string_view path, int err) {
  std::string text = std::strerror(err);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return "stat " + std::string(path) + ": " + text;
}

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
  std::string msg = "unsupported secret type " + base::GoQuote(type) + ": the types are file, env";
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
  auto fields = base::ReadCsvRecord(flag);
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
