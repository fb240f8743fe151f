#include "builder/frontend/mount_flags.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "base/go_csv.h"
#include "base/go_text.h"
#include "base/path.h"
#include "builder/frontend/suggest.h"

namespace latchkey::frontend {
namespace {

const std::vector<std::string>& RunFlagNames() {
  static const std::vector<std::string> kNames = {"mount", "network", "security"};
  return kNames;
}

const std::vector<std::string>& MountTypeNames() {
  static const std::vector<std::string> kNames = {"bind", "cache", "tmpfs", "secret", "ssh"};
  return kNames;
}

const std::vector<std::string>& SharingNames() {
  static const std::vector<std::string> kNames = {"shared", "private", "locked"};
  return kNames;
}

// BuildKit's list for "did you mean" on unknown keys, in its order.
const std::vector<std::string>& MountKeyNames() {
  static const std::vector<std::string> kNames = {
      "type",        "from", "source", "target",    "readonly", "id",  "sharing",
      "required",    "size", "mode",   "uid",       "gid",      "src", "dst",
      "destination", "ro",   "rw",     "readwrite", "env"};
  return kNames;
}

// Go strconv.ParseBool.
std::optional<bool> ParseGoBool(std::string_view v) {
  if (v == "1" || v == "t" || v == "T" || v == "TRUE" || v == "true" || v == "True") return true;
  if (v == "0" || v == "f" || v == "F" || v == "FALSE" || v == "false" || v == "False") {
    return false;
  }
  return std::nullopt;
}

// Go strconv.ParseUint(v, base, 32) for base 8 or 10: digits only, no sign, no prefix.
std::optional<uint32_t> ParseGoUint32(std::string_view v, int base) {
  if (v.empty()) return std::nullopt;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c >= '0' + base) return std::nullopt;
    n = n * base + static_cast<uint64_t>(c - '0');
    if (n > std::numeric_limits<uint32_t>::max()) return std::nullopt;
  }
  return static_cast<uint32_t>(n);
}

// docker/go-units RAMInBytes: a decimal number, an optional space, then an optional suffix
// b, k, m, g, t or p (any case; binary multiples) optionally followed by "b" or "ib".
std::optional<int64_t> RamInBytes(std::string_view s) {
  size_t sep = s.find_last_of("0123456789. ");
  if (sep == std::string_view::npos) return std::nullopt;
  std::string_view num = s[sep] == ' ' ? s.substr(0, sep) : s.substr(0, sep + 1);
  std::string sfx = base::AsciiLower(s.substr(sep + 1));
  // strconv.ParseFloat subset: [+]digits[.digits][e[+-]digits] or .digits.
  size_t i = 0;
  if (i < num.size() && num[i] == '+') ++i;
  size_t digits = 0;
  while (i < num.size() && num[i] >= '0' && num[i] <= '9') ++i, ++digits;
  if (i < num.size() && num[i] == '.') {
    ++i;
    while (i < num.size() && num[i] >= '0' && num[i] <= '9') ++i, ++digits;
  }
  if (digits == 0) return std::nullopt;
  if (i < num.size() && (num[i] == 'e' || num[i] == 'E')) {
    ++i;
    if (i < num.size() && (num[i] == '+' || num[i] == '-')) ++i;
    size_t exp_digits = 0;
    while (i < num.size() && num[i] >= '0' && num[i] <= '9') ++i, ++exp_digits;
    if (exp_digits == 0) return std::nullopt;
  }
  if (i != num.size()) return std::nullopt;
  double size = std::strtod(std::string(num).c_str(), nullptr);
  if (!std::isfinite(size)) return std::nullopt;
  if (!sfx.empty()) {
    if (sfx.size() > 3) return std::nullopt;
    if (sfx[0] == 'b') {
      if (sfx.size() > 1) return std::nullopt;
    } else {
      static constexpr std::string_view kUnits = "kmgtp";
      size_t unit = kUnits.find(sfx[0]);
      if (unit == std::string_view::npos) return std::nullopt;
      size *= std::pow(1024.0, static_cast<double>(unit + 1));
      if (sfx.size() == 2 && sfx[1] != 'b') return std::nullopt;
      if (sfx.size() == 3 && sfx.substr(1) != "ib") return std::nullopt;
    }
  }
  if (size >= 9223372036854775808.0) return std::nullopt;  // does not fit in int64
  return static_cast<int64_t>(size);
}

std::optional<MountType> MountTypeFromName(std::string_view name) {
  if (name == "bind") return MountType::kBind;
  if (name == "cache") return MountType::kCache;
  if (name == "tmpfs") return MountType::kTmpfs;
  if (name == "secret") return MountType::kSecret;
  if (name == "ssh") return MountType::kSsh;
  return std::nullopt;
}

std::optional<CacheSharing> SharingFromName(std::string_view name) {
  if (name == "shared") return CacheSharing::kShared;
  if (name == "private") return CacheSharing::kPrivate;
  if (name == "locked") return CacheSharing::kLocked;
  return std::nullopt;
}

Status Invalid(std::string message) { return InvalidArgumentError(std::move(message)); }

Result<std::vector<std::string>> SplitMountCsv(std::string_view value) {
  auto fields = base::CsvValueFields(value);
  if (!fields.ok()) return fields.status().WithPrefix("failed to parse csv mounts");
  return fields;
}

// Pass-1 check of one --mount value: CSV syntax and no variable in from=.
Status CheckMountValue(std::string_view value) {
  LK_ASSIGN_OR_RETURN(std::vector<std::string> fields, SplitMountCsv(value));
  for (const std::string& field : fields) {
    size_t eq = field.find('=');
    if (eq == std::string::npos) continue;  // evaluated in pass 2
    if (base::AsciiLower(std::string_view(field).substr(0, eq)) != "from") continue;
    std::string_view v = std::string_view(field).substr(eq + 1);
    size_t dollar = v.find('$');
    if (dollar != std::string_view::npos && dollar != v.size() - 1) {
      return Invalid("'from' doesn't support variable expansion, define alias stage instead");
    }
  }
  return Status::OK();
}

}  // namespace

const char* MountTypeName(MountType type) {
  switch (type) {
    case MountType::kBind:
      return "bind";
    case MountType::kCache:
      return "cache";
    case MountType::kTmpfs:
      return "tmpfs";
    case MountType::kSecret:
      return "secret";
    case MountType::kSsh:
      return "ssh";
  }
  return "bind";
}

const char* CacheSharingName(CacheSharing sharing) {
  switch (sharing) {
    case CacheSharing::kShared:
      return "shared";
    case CacheSharing::kPrivate:
      return "private";
    case CacheSharing::kLocked:
      return "locked";
  }
  return "shared";
}

WordExpander ShellExpander(const ShellLex& lex, const VarMap& vars) {
  return [&lex, &vars](std::string_view word) { return lex.ProcessWord(word, vars); };
}

Result<RunFlags> ParseRunFlags(const std::vector<std::string>& flag_words) {
  RunFlags flags;
  bool network_seen = false;
  bool security_seen = false;
  for (const std::string& arg : flag_words) {
    if (arg == "--") break;
    if (arg.rfind("--", 0) != 0) return Invalid("arg should start with -- : " + arg);
    size_t eq = arg.find('=');
    std::string flag_name = arg.substr(0, eq);  // "--mount"
    std::string name = flag_name.substr(2);
    bool has_value = eq != std::string::npos;
    std::string value = has_value ? arg.substr(eq + 1) : "";
    if (name != "mount" && name != "network" && name != "security") {
      return Invalid(WithSuggestion("unknown flag: " + flag_name, name, RunFlagNames()));
    }
    if ((name == "network" && network_seen) || (name == "security" && security_seen)) {
      return Invalid("duplicate flag specified: " + flag_name);
    }
    if (!has_value) return Invalid("missing a value on flag: " + flag_name);
    if (name == "mount") {
      flags.mount_values.push_back(std::move(value));
    } else if (name == "network") {
      network_seen = true;
      flags.network = std::move(value);
    } else {
      security_seen = true;
      flags.security = std::move(value);
    }
  }
  // Post-parse hooks, in BuildKit's order: mounts, network, security.
  for (const std::string& value : flags.mount_values) LK_RETURN_IF_ERROR(CheckMountValue(value));
  if (flags.network && *flags.network != "default" && *flags.network != "none" &&
      *flags.network != "host") {
    return Invalid("invalid network mode " + base::GoQuote(*flags.network));
  }
  if (flags.security && *flags.security != "sandbox" && *flags.security != "insecure") {
    return Invalid("security " + base::GoQuote(*flags.security) + " is not valid");
  }
  return flags;
}

Result<MountSpec> ParseMountValue(std::string_view value, const WordExpander& expand,
                                  int ssh_index) {
  LK_ASSIGN_OR_RETURN(std::vector<std::string> fields, SplitMountCsv(value));
  MountSpec m;
  bool ro_auto = true;
  bool sharing_set = false;
  std::optional<uint32_t> mode, uid, gid;
  const auto type_name = [&m] { return std::string(MountTypeName(m.type)); };
  const auto secret_or_ssh = [&m] {
    return m.type == MountType::kSecret || m.type == MountType::kSsh;
  };

  for (const std::string& field : fields) {
    size_t eq = field.find('=');
    std::string key = base::AsciiLower(std::string_view(field).substr(0, eq));
    if (eq == std::string::npos) {
      if (key == "readonly" || key == "ro") {
        m.readonly = true;
        ro_auto = false;
      } else if (key == "readwrite" || key == "rw") {
        m.readonly = false;
        ro_auto = false;
      } else if (key == "required") {
        if (!secret_or_ssh()) {
          return Invalid("unexpected key 'required' for mount type '" + type_name() + "'");
        }
        m.required = true;
      } else {
        return Invalid("invalid field '" + field + "' must be a key=value pair");
      }
      continue;
    }
    LK_ASSIGN_OR_RETURN(std::string v, expand(std::string_view(field).substr(eq + 1)));

    if (key == "type") {
      std::optional<MountType> type = MountTypeFromName(base::AsciiLower(v));
      if (!type) {
        return Invalid(
            WithSuggestion("unsupported mount type " + base::GoQuote(v), v, MountTypeNames()));
      }
      m.type = *type;
    } else if (key == "from") {
      m.from = v;
    } else if (key == "source" || key == "src") {
      m.source = v;
    } else if (key == "target" || key == "dst" || key == "destination") {
      m.target = v;
    } else if (key == "readonly" || key == "ro" || key == "readwrite" || key == "rw") {
      std::optional<bool> b = ParseGoBool(v);
      if (!b) return Invalid("invalid value for " + key + ": " + v);
      m.readonly = (key == "readonly" || key == "ro") ? *b : !*b;
      ro_auto = false;
    } else if (key == "required") {
      if (!secret_or_ssh()) {
        return Invalid("unexpected key 'required' for mount type '" + type_name() + "'");
      }
      std::optional<bool> b = ParseGoBool(v);
      if (!b) return Invalid("invalid value for required: " + v);
      m.required = *b;
    } else if (key == "size") {
      if (m.type != MountType::kTmpfs) {
        return Invalid("unexpected key 'size' for mount type '" + type_name() + "'");
      }
      std::optional<int64_t> size = RamInBytes(v);
      if (!size) return Invalid("invalid value for size: " + v);
      m.size_bytes = *size;
    } else if (key == "id") {
      m.id = v;
    } else if (key == "sharing") {
      std::optional<CacheSharing> sharing = SharingFromName(base::AsciiLower(v));
      if (!sharing) {
        return Invalid(
            WithSuggestion("unsupported sharing value " + base::GoQuote(v), v, SharingNames()));
      }
      m.sharing = *sharing;
      sharing_set = true;
    } else if (key == "mode") {
      mode = ParseGoUint32(v, 8);
      if (!mode) return Invalid("invalid value " + v + " for mode");
    } else if (key == "uid") {
      uid = ParseGoUint32(v, 10);
      if (!uid) return Invalid("invalid value " + v + " for uid");
    } else if (key == "gid") {
      gid = ParseGoUint32(v, 10);
      if (!gid) return Invalid("invalid value " + v + " for gid");
    } else if (key == "env") {
      m.env = v;
    } else {
      return Invalid(
          WithSuggestion("unexpected key '" + key + "' in '" + field + "'", key, MountKeyNames()));
    }
  }

  // validateMount, in BuildKit's order.
  const std::string type = type_name();
  const bool file_info_allowed =
      m.type == MountType::kSecret || m.type == MountType::kSsh || m.type == MountType::kCache;
  if (!file_info_allowed) {
    if (mode) return Invalid("mode not allowed for " + base::GoQuote(type) + " type mounts");
    if (uid) return Invalid("uid not allowed for " + base::GoQuote(type) + " type mounts");
    if (gid) return Invalid("gid not allowed for " + base::GoQuote(type) + " type mounts");
  }
  if (ro_auto) m.readonly = !(m.type == MountType::kCache || m.type == MountType::kTmpfs);
  if (m.type == MountType::kSecret) {
    if (!m.from.empty()) return Invalid("secret mount should not have a from");
    if (sharing_set) return Invalid("secret mount should not define sharing");
    if (m.source.empty() && m.target.empty() && m.id.empty()) {
      return Invalid("invalid secret mount. one of source, target required");
    }
    if (!m.source.empty() && !m.id.empty()) return Invalid("both source and id can't be set");
  }
  if (sharing_set && m.type != MountType::kCache) {
    return Invalid("invalid cache sharing set for " + type + " mount");
  }
  // Checks BuildKit leaves to dispatch time or does not make.
  if (m.env && m.type != MountType::kSecret) {
    return Invalid("unexpected key 'env' for mount type '" + type + "'");
  }
  if (m.env && m.env->empty()) {
    return Invalid(
        "secret mount env name must not be empty (write env=NAME, or drop env to "
        "mount the secret as a file)");
  }
  if (m.type == MountType::kSsh && !m.source.empty()) {
    return Invalid("ssh does not support source");
  }

  // Defaults (convert_secrets.go, convert_ssh.go, convert_runmount.go).
  m.mode_set = mode.has_value();
  m.uid_set = uid.has_value();
  m.gid_set = gid.has_value();
  m.uid = uid.value_or(0);
  m.gid = gid.value_or(0);
  switch (m.type) {
    case MountType::kSecret:
      if (!m.source.empty()) m.id = m.source;
      if (m.id.empty()) m.id = base::BaseName(m.target);
      if (m.target.empty() && !m.env) {
        m.target = std::string(kSecretTargetDir) + base::BaseName(m.id);
        m.target_defaulted = true;
      }
      m.mode = mode.value_or(kDefaultSecretMode);
      break;
    case MountType::kSsh:
      if (m.id.empty()) m.id = "default";
      if (m.target.empty()) {
        m.target = std::string(kSshTargetPrefix) + std::to_string(ssh_index);
        m.target_defaulted = true;
      }
      m.mode = mode.value_or(kDefaultSshMode);
      break;
    case MountType::kCache:
      if (m.id.empty()) m.id = m.target;
      m.mode = mode.value_or(kDefaultCacheMode);
      break;
    case MountType::kBind:
    case MountType::kTmpfs:
      break;
  }
  return m;
}

Result<std::vector<MountSpec>> ExpandMounts(const RunFlags& flags, const WordExpander& expand) {
  std::vector<MountSpec> mounts;
  int ssh_index = 0;
  for (const std::string& value : flags.mount_values) {
    LK_ASSIGN_OR_RETURN(MountSpec spec, ParseMountValue(value, expand, ssh_index));
    if (spec.type == MountType::kSsh) ++ssh_index;
    mounts.push_back(std::move(spec));
  }
  return mounts;
}

std::string ResolveTarget(const MountSpec& spec, std::string_view workdir) {
  if (spec.type == MountType::kSecret || spec.type == MountType::kSsh) {
    if (spec.target.empty()) return "";
    return base::JoinPath({"/", spec.target});
  }
  std::string cleaned = base::CleanPath(spec.target);
  if (!cleaned.empty() && cleaned.front() == '/') return cleaned;
  return base::JoinPath({"/", workdir, spec.target});
}

std::string MountSpecCacheKey(const MountSpec& spec) {
  std::string key = "type=";
  key += MountTypeName(spec.type);
  key += ";id=" + base::GoQuote(spec.id);
  key += ";target=" + base::GoQuote(spec.target);
  // A secret's source is only another spelling of its id, which is already in the key.
  key += ";source=" + base::GoQuote(spec.type == MountType::kSecret ? "" : spec.source);
  key += ";from=" + base::GoQuote(spec.from);
  key += std::string(";readonly=") + (spec.readonly ? "true" : "false");
  key += std::string(";required=") + (spec.required ? "true" : "false");
  key += std::string(";sharing=") + CacheSharingName(spec.sharing);
  key += ";mode=" + std::to_string(spec.mode);
  key += ";uid=" + std::to_string(spec.uid);
  key += ";gid=" + std::to_string(spec.gid);
  key += ";size=" + (spec.size_bytes ? std::to_string(*spec.size_bytes) : std::string("none"));
  key += ";env=" + (spec.env ? base::GoQuote(*spec.env) : std::string("none"));
  return key;
}

}  // namespace latchkey::frontend
