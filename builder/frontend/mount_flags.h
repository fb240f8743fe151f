// RUN instruction flags (--mount, --network, --security) parsed exactly as BuildKit does
// (frontend/dockerfile/instructions/bflag.go, commands_runmount.go, commands_runnetwork.go,
// commands_runsecurity.go, dockerfile2llb/convert_secrets.go and convert_ssh.go).
//
// Two passes, as in BuildKit:
//   1. ParseRunFlags (parse time, no variables known): flag syntax, flag names, --network and
//      --security values, each --mount value's CSV syntax, and the "no variables in from" rule.
//   2. ExpandMounts (dispatch time, ARG/ENV known): every mount value is expanded by the shell
//      lexer, then keys and values are validated and defaults applied, giving MountSpecs.
// Every failure is InvalidArgument with BuildKit's exact message (see the declarations).
//
// Secrets: a MountSpec names a secret (id, target, env var name), never holds its value.
//
// Thread-safety: pure functions over values.
#ifndef LATCHKEY_BUILDER_FRONTEND_MOUNT_FLAGS_H_
#define LATCHKEY_BUILDER_FRONTEND_MOUNT_FLAGS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/frontend/shell_lex.h"
#include "latchkey/status.h"

namespace latchkey::frontend {

enum class MountType { kBind, kCache, kTmpfs, kSecret, kSsh };
// "bind", "cache", "tmpfs", "secret", "ssh".
const char* MountTypeName(MountType type);

enum class CacheSharing { kShared, kPrivate, kLocked };
// "shared", "private", "locked".
const char* CacheSharingName(CacheSharing sharing);

inline constexpr uint32_t kDefaultSecretMode = 0400;
inline constexpr uint32_t kDefaultSshMode = 0600;
inline constexpr uint32_t kDefaultCacheMode = 0755;
inline constexpr const char* kSecretTargetDir = "/run/secrets/";
inline constexpr const char* kSshTargetPrefix = "/run/buildkit/ssh_agent.";

// One RUN --mount after ExpandMounts: every default applied, ready for the executor.
struct MountSpec {
  MountType type = MountType::kBind;

  // secret: the secret id (id=, or src=/source=, or basename of target).
  // ssh: the agent id ("default" unless id= is given).
  // cache: the cache id (id=, default: the target as written).
  // bind/tmpfs: id= as written ("" when absent; unused).
  std::string id;

  // The target as written (after expansion), or the type's default:
  //   secret: /run/secrets/<basename of id> when env is unset; "" when only env is wanted;
  //   ssh: /run/buildkit/ssh_agent.<N>, N = index of this mount among the RUN's ssh mounts.
  // bind/cache/tmpfs targets may be relative: resolve them with ResolveTarget().
  // Secret and ssh targets are absolute from "/" and never relative to WORKDIR.
  std::string target;
  // True when the target was not written and came from a default.
  bool target_defaulted = false;

  // bind/cache: path in the source ("" = its root). secret: as written (it became the id).
  std::string source;
  std::string from;       // bind/cache: stage name, index or image ("" = build context / none).
  bool readonly = true;   // bind/secret/ssh default true; cache/tmpfs default false
  bool required = false;  // secret/ssh only: fail the build when the client lacks it
  CacheSharing sharing = CacheSharing::kShared;  // cache only

  // File metadata. Secret: mode 0400, uid 0, gid 0. ssh: mode 0600, uid 0, gid 0.
  // cache: mode 0755, uid 0, gid 0. Rejected on bind and tmpfs.
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  // Whether mode/uid/gid were written (BuildKit sends secret file options only if any was).
  bool mode_set = false;
  bool uid_set = false;
  bool gid_set = false;

  std::optional<int64_t> size_bytes;  // tmpfs size= in bytes; nullopt = no limit

  // secret only: expose the secret as this environment variable (never empty).
  std::optional<std::string> env;

  friend bool operator==(const MountSpec&, const MountSpec&) = default;
};

// Flags of one RUN instruction after ParseRunFlags.
struct RunFlags {
  // The raw value of each --mount flag, in order (one CSV record each, not yet expanded).
  std::vector<std::string> mount_values;
  std::optional<std::string> network;   // "default", "none" or "host" when given
  std::optional<std::string> security;  // "sandbox" or "insecure" when given
};

// Expands one mount value (a CSV field's value). ShellExpander() adapts a ShellLex + VarMap.
using WordExpander = std::function<Result<std::string>(std::string_view)>;

// Returns an expander that runs lex.ProcessWord(word, vars). Both must outlive the expander.
WordExpander ShellExpander(const ShellLex& lex, const VarMap& vars);

// Pass 1. `flag_words` are the RUN flags as the parser split them, each starting with "--"
// ("--mount=type=secret,id=x", "--network=none", "--mount"). Parsing stops at a bare "--".
// Errors (exact):
//   arg should start with -- : <word>
//   unknown flag: --<name>                      + " (did you mean <x>?)" (mount/network/security)
//   missing a value on flag: --<name>           ("--mount" with no "=")
//   duplicate flag specified: --<name>          (--network/--security; --mount repeats freely)
//   invalid network mode "<v>"                  (--network other than default/none/host)
//   security "<v>" is not valid                 (--security other than sandbox/insecure)
//   failed to parse csv mounts: <Go csv error>
//   'from' doesn't support variable expansion, define alias stage instead
Result<RunFlags> ParseRunFlags(const std::vector<std::string>& flag_words);

// Pass 2 for one value: CSV-split, expand each key=value value with `expand` (never the bare
// fields), validate in BuildKit's order, apply the type's defaults. `ssh_index` is N for the
// default ssh target. Errors (exact; <t> is the mount type, <v> the expanded value):
//   failed to parse csv mounts: <Go csv error>
//   <whatever `expand` returns>                 e.g. failed to process "${X:?}": X: ...
//   unsupported mount type "<v>"                + " (did you mean <x>?)" when one is close
//   unexpected key '<key>' in '<field>'         + " (did you mean <x>?)" when one is close
//   invalid field '<field>' must be a key=value pair   (bare field other than ro/rw/required)
//   unexpected key 'required' for mount type '<t>'     (required before type=secret/ssh)
//   unexpected key 'size' for mount type '<t>'         (size on a non-tmpfs mount)
//   invalid value for <key>: <v>                (ro/readonly/rw/readwrite/required/size)
//   invalid value <v> for mode / uid / gid      (mode octal; uid, gid decimal; all uint32)
//   unsupported sharing value "<v>"             + " (did you mean <x>?)"
//   mode not allowed for "<t>" type mounts      (likewise uid, gid; on bind and tmpfs)
//   secret mount should not have a from
//   secret mount should not define sharing
//   invalid secret mount. one of source, target required
//   both source and id can't be set
//   invalid cache sharing set for <t> mount
// and three checks BuildKit makes at dispatch time or not at all:
//   unexpected key 'env' for mount type '<t>'   (env on a non-secret mount)
//   secret mount env name must not be empty (write env=NAME, or drop env to mount the secret
//     as a file)
//   ssh does not support source
Result<MountSpec> ParseMountValue(std::string_view value, const WordExpander& expand,
                                  int ssh_index = 0);

// Pass 2 for a whole RUN: ParseMountValue on each of flags.mount_values in order, numbering
// ssh mounts 0, 1, ... for their default targets.
Result<std::vector<MountSpec>> ExpandMounts(const RunFlags& flags, const WordExpander& expand);

// Returns the absolute container path of spec.target: secret and ssh targets are made
// absolute from "/" ("a/b" -> "/a/b"); bind/cache/tmpfs targets that are relative are joined
// to `workdir` (BuildKit: path.Join("/", workdir, target)). The result is cleaned (no "//",
// "." or ".." components). An empty secret target (env-only) stays "".
std::string ResolveTarget(const MountSpec& spec, std::string_view workdir);

// A canonical, stable text of the fields that belong in the build cache key: type, id, target,
// source, from, readonly, required, sharing, mode, uid, gid, size, env name. It contains names
// only, never a secret value (a MountSpec never holds one).
std::string MountSpecCacheKey(const MountSpec& spec);

}  // namespace latchkey::frontend

#endif  // LATCHKEY_BUILDER_FRONTEND_MOUNT_FLAGS_H_
