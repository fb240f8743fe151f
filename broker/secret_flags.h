// Parsing `--secret` flags exactly as buildx and buildctl do (see
// shared/reference/buildkit-secrets.md section 5), plus two clearer errors and one extension.
//
// One flag is one CSV record (Go encoding/csv: double quotes group, "" is a literal quote) of
// key=value fields. Keys are case-insensitive; values are not.
//   id=<id>                  required
//   type=file|env|<provider> "file" and "env" are the client-side kinds; any other value must
//                            name a configured provider (extension, e.g. type=store). An
//                            unconfigured one fails with buildx's "unsupported secret type
//                            \"vault\"", followed by the configured providers and, for a valid
//                            plugin name, the configuration lines that would add it.
//   src=<v> | source=<v>     file: a path (relative to the working directory);
//                            env: the variable name (when env= is absent);
//                            provider: the provider's reference ("ci/npmrc@2")
//   env=<VAR>                the variable to read; wins over src= (BuildKit)
// With only id=: the variable named <id> when it is set (even to ""), else the file <id>
// relative to the working directory (BuildKit PR #1534).
// File sources are stat'ed at parse time (BuildKit does too), including a src= that env=
// overrides; a file larger than 512000 bytes is refused. The file is not read here.
//
// Deliberate differences from buildx (docker/buildx#3285):
//   - env=X (or type=env,src=X) with X unset fails: "secret <id>: environment variable X is
//     not set" (buildx silently sends an empty secret).
//   - A bare id with neither a variable nor a file fails naming both sources tried:
//     "secret <id>: no environment variable <id> and failed to stat <cwd>/<id>: stat
//     <cwd>/<id>: no such file or directory".
//   - A directory is refused: "secret <id>: <path> is a directory, not a file".
//
// Thread-safety: pure functions of their arguments plus stat(2).
#ifndef LATCHKEY_BROKER_SECRET_FLAGS_H_
#define LATCHKEY_BROKER_SECRET_FLAGS_H_

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "broker/config_env.h"
#include "latchkey/status.h"

namespace latchkey {

// BuildKit's secretsprovider.MaxSecretSize: 500 KiB. Exactly this many bytes is allowed.
inline constexpr int64_t kMaxSecretSize = 500 * 1024;

// Where one declared secret comes from.
struct SecretSource {
  enum class Kind {
    kFile,      // path_or_var_or_ref: absolute, lexically normalised path; provider: ""
    kEnv,       // path_or_var_or_ref: the variable name (may differ from id); provider: ""
    kProvider,  // path_or_var_or_ref: the provider's reference; provider: its name
  };
  std::string id;
  Kind kind = Kind::kFile;
  std::string path_or_var_or_ref;
  std::string provider;

  friend bool operator==(const SecretSource&, const SecretSource&) = default;
};

// "file", "env" or "provider".
const char* SecretSourceKindName(SecretSource::Kind kind);

// What the parser may consult instead of the process's globals.
struct SecretFlagContext {
  // Names of the variables set in the client's environment (values are never needed).
  EnvNames env;
  // Absolute working directory against which relative file paths are resolved.
  std::string cwd;
  // Names of configured providers that type= may name (besides "file" and "env").
  std::set<std::string, std::less<>> providers;
  // Where installed provider plugins live (<prefix>/lib/latchkey/providers); shown in the
  // config lines that the error for an unconfigured type= suggests. "" = /usr/lib/...
  std::string provider_dir;
};

// Parses one flag value (without "--secret"). Errors (INVALID_ARGUMENT for syntax,
// NOT_FOUND for a missing variable or file, FAILED_PRECONDITION for size and directories)
// carry the exact texts listed above and in secret_flags_test.cc.
Result<SecretSource> ParseSecretFlag(std::string_view flag, const SecretFlagContext& ctx);

// Parses several flags. When two flags share an id the later one wins (buildx keeps a map
// keyed by id), but every flag is still validated. The result keeps the first position of
// each id.
Result<std::vector<SecretSource>> ParseSecretFlags(const std::vector<std::string>& flags,
                                                   const SecretFlagContext& ctx);

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_SECRET_FLAGS_H_
