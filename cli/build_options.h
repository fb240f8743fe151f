// `latchkey build`'s flags: their CLI11 set-up (AddBuildOptions) and their validation into a
// build::BuildRequest (MakeBuildRequest), with docker build's and buildx's error texts. Kept out
// of build_cmd.cc so that every bad flag has a unit test (build_options_test.cc); the command
// file only wires: parse, call the builder, print.
//
// Thread-safety: pure functions, apart from AddBuildOptions, which binds `options` to the
// CLI11 app (the app writes it while parsing).
#ifndef LATCHKEY_CLI_BUILD_OPTIONS_H_
#define LATCHKEY_CLI_BUILD_OPTIONS_H_

#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "broker/config.h"
#include "builder/solver/builder.h"
#include "builder/solver/progress.h"
#include "latchkey/status.h"

namespace latchkey::cli {

// The flags as given, unvalidated (defaults are docker build's).
struct BuildOptions {
  std::string context;
  std::string file;
  std::string target;
  std::vector<std::string> build_args;
  std::vector<std::string> secrets;  // --secret, parsed by the broker (ParseSecretFlags)
  std::vector<std::string> ssh;
  std::vector<std::string> build_contexts;
  std::vector<std::string> tags;
  std::vector<std::string> outputs;
  bool no_cache = false;
  bool pull = false;  // --pull
  bool push = false;  // --push: -o type=registry (every -t name is pushed)
  std::vector<std::string> no_cache_filter;
  std::string progress = "auto";
  std::string network = "default";
  std::string runtime;
  std::vector<std::string> allow_leaks;
  std::vector<std::string> labels;
  std::string iidfile;
  std::vector<std::string> platforms;
  bool quiet = false;
  std::vector<std::string> add_hosts;
  std::string metadata_file;
  std::string shm_size;
  std::vector<std::string> ulimits;
  // --builder: nullopt when not given (then $LATCHKEY_BUILDER, config builder.use, embedded:
  // cli/builder_choice.h).
  std::optional<std::string> builder;
};

// Adds the `build` flags to `build` (the subcommand), bound to `*options`, which must outlive
// the parse.
void AddBuildOptions(CLI::App* build, BuildOptions* options);

// Looks up an environment variable: null when unset. The CLI passes std::getenv.
using EnvLookup = std::function<const char*(const char*)>;

// `path` made absolute against the working directory and lexically normalised; unchanged when
// the working directory cannot be read.
std::string AbsolutePath(const std::string& path);

// The progress mode: "quiet" with -q, else --progress (ParseProgressMode's error).
Result<build::ProgressMode> BuildProgressMode(const BuildOptions& options);

// --ssh default | default=PATH | ID=PATH[,PATH...] (the first socket of a list): id -> absolute
// socket path. A value without "=" takes $SSH_AUTH_SOCK. INVALID_ARGUMENT:
//   invalid --ssh "<v>": SSH_AUTH_SOCK is not set; start an agent or pass --ssh <id>=PATH
//   invalid --ssh "<v>": want ID[=PATH]
Result<std::map<std::string, std::string>> ParseSshFlags(const std::vector<std::string>& values,
                                                         const EnvLookup& env);

// Validates every flag and reads the Dockerfile. Relative paths are made absolute against the
// working directory. `config` supplies the runtime (when --runtime is not given; else runc)
// and the builder state directory; `env` the --build-arg NAME values, $SSH_AUTH_SOCK and
// $SOURCE_DATE_EPOCH (a SOURCE_DATE_EPOCH build arg wins). Errors, in flag order:
//   NOT_FOUND        build context <dir> is not a directory (pass the directory holding your
//                    files, e.g. `latchkey build .`)
//   NOT_FOUND        failed to read dockerfile: open <path>: <errno text>
//   INVALID_ARGUMENT invalid --build-arg "<v>": want KEY=VALUE
//   INVALID_ARGUMENT invalid argument "<v>" for "-t, --tag" flag: <reference error>
//   INVALID_ARGUMENT invalid --label "<v>": want KEY=VALUE
//   INVALID_ARGUMENT invalid --network "<v>": want default, none or host
//   INVALID_ARGUMENT invalid SOURCE_DATE_EPOCH "<v>": want seconds since the epoch
//   INVALID_ARGUMENT invalid argument "<v>" for "--shm-size" flag: <ParseShmSize error>
//   INVALID_ARGUMENT invalid argument "<v>" for "--ulimit" flag: <ParseUlimit error>
//   INVALID_ARGUMENT tag is needed when pushing to registry   (--push or -o type=registry
//                    without -t or name=; BuildKit's text)
// and the errors of ParseNamedContext (--build-context), ParseBuildOutputSpec (-o), ParseSshFlags,
// ParsePlatforms (FAILED_PRECONDITION for a platform this host cannot run) and ParseAddHost.
Result<build::BuildRequest> MakeBuildRequest(const BuildOptions& options, const Config& config,
                                             const EnvLookup& env);

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_BUILD_OPTIONS_H_
