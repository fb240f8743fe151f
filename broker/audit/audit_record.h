// The events the audit log records, as plain structs. Values are never part of a record: a
// granted fetch carries only the HMAC of its value (see AuditKeys / AuditLog::Append).
//
// The log itself adds the common fields (v, log, seq, time, event, prev) and writes the
// audit.checkpoint records; callers append the event types below. docs/audit-log.md
// documents every field.
#ifndef LATCHKEY_BROKER_AUDIT_AUDIT_RECORD_H_
#define LATCHKEY_BROKER_AUDIT_AUDIT_RECORD_H_

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace latchkey::audit {

// Longest string a field keeps; longer text is cut and ends with "...[truncated]".
inline constexpr size_t kMaxFieldBytes = 2048;

enum class FetchOutcome { kGranted, kDenied, kNotFound, kError };

// "granted", "denied", "not_found", "error".
const char* FetchOutcomeName(FetchOutcome outcome);

// The build step that asked for a secret.
struct StepInfo {
  std::string stage;        // stage name or index as text ("build", "0")
  int64_t index = -1;       // step index within the stage; -1 when unknown
  int64_t line = 0;         // Dockerfile line; 0 when unknown
  std::string instruction;  // instruction text, secret values already masked by the caller
};

// Who is on the other end of the latchkeyd connection that opened a session (docs/daemon.md):
// a local caller by SO_PEERCRED, or a TCP client by its certificate. Written as the object
// `peer` in every record of such a session; absent for sessions a local `latchkey` opened.
// PeerInfo::transport of a session a Docker Engine's BuildKit uses (`latchkey build --builder
// docker`): the peer is the Engine (its credentials on a unix socket, its address); the
// requester stays the CLI's user.
inline constexpr char kDockerEngineTransport[] = "docker";

struct PeerInfo {
  std::string transport;  // "unix" or "tcp"; kDockerEngineTransport
  int64_t uid = -1;       // unix: SO_PEERCRED; -1 on TCP
  int64_t gid = -1;
  int64_t pid = -1;
  std::string user;       // unix: the uid's name ("" when the uid has none)
  std::string client_cn;  // tcp: the verified client certificate's subject CN
  std::string address;    // tcp: "ipv4:127.0.0.1:50312"; unix: ""; docker: the Engine's
                          // address ("unix:///var/run/docker.sock")
};

struct SessionOpenRecord {
  std::string session;
  std::string requester;  // who opened it ("uid=1000(alice) pid=4242")
  std::string dockerfile;
  std::string context;
  // The session's labels (--label key=value) as given. A label is the caller's text and may
  // carry a secret, so its value is never written: AuditLog::Append moves each into
  // label_hmacs and clears this map.
  std::map<std::string, std::string> labels;
  // key -> "hmac-sha256:<hex>" of the label's value, keyed like value_hmac (so `audit search
  // --hmac` of a value finds the sessions labelled with it). Set by AuditLog::Append.
  std::map<std::string, std::string> label_hmacs;
  std::optional<PeerInfo> peer;
};

// A registry credential request (the secret `registry:<host>`): what the registry client was
// about to do with the credential. Written as the record's "registry" object only when `host`
// is set.
struct RegistryAccessInfo {
  std::string host;        // "registry.example.com:5000"
  std::string repository;  // "team/app"
  std::string scope;       // "pull" or "push"
};

struct SecretFetchRecord {
  std::string session;
  std::string secret;  // the id the step asked for
  FetchOutcome outcome = FetchOutcome::kError;
  std::string rule;       // the policy rule that decided
  std::string provider;   // provider instance name
  std::string reference;  // the provider-side reference (path, key, name), as written
  // For a file source: the real path of the file that was opened and served (symlinks
  // resolved); empty otherwise. Written only when non-empty.
  std::string resolved;
  std::string version;          // the provider-reported version; empty when none
  RegistryAccessInfo registry;  // registry requests only
  StepInfo step;
  std::string requester;
  int64_t duration_us = 0;
  // "hmac-sha256:<hex>"; set by AuditLog::Append from the value for granted fetches.
  std::string value_hmac;
  // The HMAC of each credential part of the value (DeriveSecretParts, secure/secret_parts.h),
  // in the same form, so `audit search --hmac` of a part finds the grant; granted fetches only,
  // written only when not empty.
  std::vector<std::string> part_hmacs;
  // Why the fetch was not granted (never contains a value); empty when granted.
  std::string error;
  std::optional<PeerInfo> peer;
};

struct SessionCloseRecord {
  std::string session;
  std::string reason;  // "completed", "failed", "cancelled", ...
  uint64_t fetches = 0;
  int64_t duration_us = 0;
  std::optional<PeerInfo> peer;
};

struct LeakFindingRecord {
  std::string session;
  std::string finding;  // finding id
  std::string secret;   // secret id whose value was found
  std::string layer;    // layer digest or "config"/"history"
  std::string path;     // path inside the layer
  StepInfo step;
  std::optional<PeerInfo> peer;
};

// One secret a reused build step had mounted, and why this session may have it now.
struct CacheHitSecret {
  std::string secret;     // secret id
  std::string rule;       // the policy rule that allows it now
  std::string provider;   // where it would come from
  std::string reference;  // as written
  std::string resolved;   // file sources: the real path; empty otherwise
};

// A build step that mounted secrets was reused from the build cache: the session could obtain
// every one of them now (source resolved, policy allowed), so the cached result is served
// without fetching them.
struct CacheHitRecord {
  std::string session;
  std::string cache_key;
  std::vector<CacheHitSecret> secrets;
  StepInfo step;
  std::string requester;
  std::optional<PeerInfo> peer;
};

// What a start of latchkey cleaned from its state directory after builds that died
// (builder/solver/state_recovery.h). Written only when something was cleaned.
struct RecoveredRecord {
  std::string state_dir;                // the builder state directory
  std::vector<std::string> containers;  // runc containers killed and deleted
  std::vector<std::string> mounts;      // mount points wiped (tmpfs) and unmounted
  std::vector<std::string> dirs;        // directories removed
  // Set by latchkeyd's start after a daemon that did not stop cleanly: the event is then
  // "daemon.recovered" and carries the pid of the daemon that died (0 when unknown).
  bool daemon = false;
  int64_t previous_pid = 0;
};

// A process-isolated provider's host died during a call (broker/provider_process.h): the call
// failed, and the next one starts a fresh host unless the provider is now in back-off.
struct ProviderCrashedRecord {
  std::string session;
  std::string provider;     // configured provider name
  std::string secret;       // the secret id being fetched; empty when not fetching
  int64_t signal = 0;       // the signal that ended the host; 0 when it exited
  std::string signal_name;  // "SIGSEGV"; empty when it exited
  int64_t exit_status = 0;  // when it exited without a signal
  uint64_t crashes = 0;     // crashes of this provider within its crash window, this one included
  bool backoff = false;     // the provider is not restarted until crashes age out of the window
};

// What became of a step's request for an SSH agent (RUN --mount=type=ssh).
enum class SshOutcome {
  kGranted,   // the agent answered: the step gets a socket forwarded to it
  kNotFound,  // no agent with that id (an optional mount is skipped, a required one fails)
  kUnusable,  // the agent is known but cannot be used (its socket refuses; the session failed)
};

// "granted", "not_found", "unusable".
const char* SshOutcomeName(SshOutcome outcome);

// A build step asked for the use of an SSH agent (RUN --mount=type=ssh), one record per step
// and ssh mount, written durably BEFORE the step gets the forwarding socket. Agent traffic is
// never recorded.
struct SshForwardRecord {
  std::string session;
  std::string ssh;  // the mount's ssh id ("default")
  SshOutcome outcome = SshOutcome::kUnusable;
  // Where the agent is: the agent socket's path on the builder's host (an embedded build,
  // `--ssh id=PATH` or $SSH_AUTH_SOCK; a Docker build: the CLI host's agent the Engine is
  // forwarded to), or "client" (a latchkeyd build: the client's agent over its session, the
  // client being `peer`). Empty when the id is unknown here.
  std::string agent;
  // Whether the mount is required (BuildKit's default). nullopt when the asker does not say
  // (a Docker Engine's CheckAgent): then not written.
  std::optional<bool> required;
  StepInfo step;
  std::string requester;
  std::string error;  // why, when not granted (never agent bytes)
  std::optional<PeerInfo> peer;
};

using AuditRecord =
    std::variant<SessionOpenRecord, SecretFetchRecord, SessionCloseRecord, LeakFindingRecord,
                 CacheHitRecord, RecoveredRecord, ProviderCrashedRecord, SshForwardRecord>;

// "session.open", "secret.fetch", "session.close", "leak.finding", "cache.hit",
// "recovered" (or "daemon.recovered"), "provider.crashed", "ssh.forward".
const char* EventName(const AuditRecord& record);
inline constexpr const char* kCheckpointEvent = "audit.checkpoint";

// Appends the event's fields, in their documented order, to `out` (a JSON object).
void AppendEventFields(const AuditRecord& record, nlohmann::ordered_json* out);

// Replaces every occurrence of `value` in the record's free-text fields with "[masked]".
// Values shorter than 4 bytes are not searched for (they would mask ordinary text).
void MaskValue(AuditRecord* record, std::span<const uint8_t> value);

}  // namespace latchkey::audit

#endif  // LATCHKEY_BROKER_AUDIT_AUDIT_RECORD_H_
