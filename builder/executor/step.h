// The executor's interface types: what one RUN step needs (StepSpec), where secrets, bind
// sources and ssh agents come from (SecretProvider, MountSources), where output goes
// (OutputSink), and what comes back (StepResult). RunStep itself is in executor.h.
//
// Secrets: a StepSpec names secrets (in SecretMounts), never holds a value. Values come from the
// SecretProvider when the step runs, live in SecretBuffers, and reach the container through an
// in-memory tmpfs only.
#ifndef LATCHKEY_BUILDER_EXECUTOR_STEP_H_
#define LATCHKEY_BUILDER_EXECUTOR_STEP_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/executor/agent_dialer.h"
#include "builder/executor/mount_spec.h"
#include "latchkey/status.h"
#include "secure/secret_buffer.h"

namespace latchkey::executor {

// BuildKit's default hostname inside RUN steps (executor/oci/spec.go).
inline constexpr const char* kDefaultHostname = "buildkitsandbox";

enum class NetworkMode {
  kHost,  // RUN --network=default or host: the host's network namespace
  kNone,  // RUN --network=none: a fresh network namespace with only a (down) loopback
};

// One --add-host entry: a line "<ip>\t<host>" appended to the step's /etc/hosts.
struct ExtraHost {
  std::string host;
  std::string ip;
  friend bool operator==(const ExtraHost&, const ExtraHost&) = default;
};

// One --ulimit entry, as an OCI process rlimit ("RLIMIT_NOFILE"). -1 (unlimited) is stored as
// UINT64_MAX, as Docker does.
struct Rlimit {
  std::string type;
  uint64_t soft = 0;
  uint64_t hard = 0;
  friend bool operator==(const Rlimit&, const Rlimit&) = default;
};

struct StepSpec {
  // Overlay lower directories, topmost first (extracted layers, or one plain rootfs dir).
  // Paths must not contain ':', ',' or '\\' (overlayfs option syntax).
  std::vector<std::string> lower_dirs;
  // The step's new layer (the overlay upper dir: after the step it holds exactly the diff) and
  // the overlay work dir. Both exist, are on the same filesystem, and work_dir is empty.
  std::string upper_dir;
  std::string work_dir;

  // The final argv: shell form already wrapped as SHELL + [cmd] by the caller, exec form as
  // written. Must not be empty.
  std::vector<std::string> args;
  // KEY=VALUE: image config env + build args in scope, built by the caller. Env secrets are
  // added by the executor (replacing a same-named entry), never by the caller.
  std::vector<std::string> env;
  // "" | name | uid | name:group | uid:gid, resolved in the rootfs (user_lookup.h).
  std::string user;
  // Working directory; created (mkdir -p, 0755, owned by root, as BuildKit does) when missing.
  // "" means "/".
  std::string workdir = "/";
  NetworkMode network = NetworkMode::kHost;
  // RUN --mount mounts (mount_spec.h), in the order written: defaults applied and targets made
  // absolute by the caller; each target is resolved inside the root here.
  std::vector<StepMount> mounts;
  std::string hostname = kDefaultHostname;
  // --add-host entries, in order.
  std::vector<ExtraHost> extra_hosts;
  // /dev/shm size in bytes (--shm-size); 0 = BuildKit's default, 64 MiB.
  int64_t shm_size_bytes = 0;
  // --ulimit: the process's rlimits (runc applies them; it cannot raise a hard limit above the
  // host's).
  std::vector<Rlimit> rlimits;
};

// What became of one ssh mount's agent when the step started (AgentDialer::Check).
enum class SshOutcome {
  kGranted,   // Check was OK: the step gets the forwarding socket
  kNotFound,  // Check said NOT_FOUND (no agent with that id)
  kUnusable,  // any other error of Check (the agent's socket refuses, the session failed)
};

// One ssh mount's use of an agent, as the audit log records it (ssh.forward). Never agent bytes.
struct SshUse {
  std::string id;  // the mount's ssh id
  bool required = true;
  std::string agent;  // AgentDialer::Location(id): where the agent is
  SshOutcome outcome = SshOutcome::kUnusable;
  std::string error;  // Check's message when not granted
};

// Supplies secret values when a step runs (never earlier), and records the step's use of SSH
// agents. Implemented by the build session.
class SecretProvider {
 public:
  virtual ~SecretProvider() = default;
  // The value of secret `id`. nullopt, or a NOT_FOUND status, means "no such secret": an
  // optional mount is then skipped; a required one fails the step with the NOT_FOUND status's
  // message passed through unchanged (for nullopt: "secret <id>: not found"). Any other error
  // fails the step whether the mount is required or not. Called from RunStep's thread.
  virtual Result<std::optional<std::shared_ptr<const SecretBuffer>>> Fetch(
      const std::string& id) = 0;
  // Records `use` durably (the ssh.forward audit record). Called once per ssh mount after the
  // agent was checked and BEFORE the step gets its socket; also when the agent is not granted.
  // A non-OK status fails the step with it, and the agent is not forwarded (fail closed).
  // Called from RunStep's thread.
  virtual Status RecordSshUse(const SshUse& use) = 0;
};

// Where bind and ssh mount sources live on the host.
struct MountSources {
  // The build context directory (bind mounts without from=). "" = none available.
  std::string context_dir;
  // from= value (stage name, stage index or image reference) -> that rootfs directory.
  std::map<std::string, std::string> from_dirs;
  // ssh id -> the host agent socket ($SSH_AUTH_SOCK, or --ssh id=PATH).
  std::map<std::string, std::string> ssh_agents;
  // Where ssh mounts' connections go instead (a latchkeyd build: the client's agents over its
  // session). null: a LocalAgentDialer over ssh_agents.
  std::shared_ptr<AgentDialer> ssh_dialer;
};

enum class OutputStream { kStdout, kStderr };

// Receives the step's output as it arrives, already redacted through
// SecretRegistry::Global(). Called from RunStep's thread only.
class OutputSink {
 public:
  virtual ~OutputSink() = default;
  virtual void Write(OutputStream stream, std::string_view text) = 0;
  // The step's output on `stream` has been quiet for a moment (RedactingStream::kIdleFlushMillis)
  // after Write: a consumer holding a partial line for its newline shows it now. Called from the
  // same thread as Write; the default does nothing.
  virtual void Pause(OutputStream /*stream*/) {}
};

struct StepResult {
  // The process's exit status; 128 + signal number when it was killed by a signal.
  int exit_code = 0;
  // The env= secret names of the step, for FormatProcessFailure's masking.
  std::vector<std::string> secret_env_names;
};

}  // namespace latchkey::executor

#endif  // LATCHKEY_BUILDER_EXECUTOR_STEP_H_
