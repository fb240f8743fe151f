// Build sessions: the broker's public interface to the builder.
//
// A SessionManager is created once per process from the configuration (providers, the
// secrets map, policy, the audit log). Each build opens one Session, which:
//   - resolves a secret id to a source: a source the caller declared with --secret first,
//     then the configuration's `secrets:` map;
//   - asks policy whether this session may have it (the deciding rule is recorded);
//   - calls the provider (an instance private to the session: inline, or a process-isolated
//     latchkey-provider-host, broker/provider.h) with the full request context and a deadline;
//     concurrent fetches of one id reach the provider once; a process-isolated provider's crash
//     is audited as provider.crashed and its next fetch starts a fresh host;
//   - writes the secret.fetch audit record durably, and only then releases the value;
//   - keeps the value for the rest of the session unless the provider said "do not cache", its
//     expiry passed, or it comes from the "file" provider (files are re-read for every step, so
//     a rotated file is picked up; the provider itself keeps read-once sources such as FIFOs),
//     and registers it with the redactor so no log line can carry it;
//   - for a file source, opens the file once, lets policy decide on the opened file's real path
//     (a symlink or a "//" cannot step around a path rule) and has the provider read that same
//     open file (broker/source_path.h); the record names the path as written and the real one;
//   - on Close waits for fetches in flight, wipes every value, destroys its provider
//     instances, writes session.close and seals the audit chain with a signed checkpoint.
// Two sessions never share a value or a provider instance.
//
// Thread-safety: SessionManager and Session are thread-safe.
#ifndef LATCHKEY_BROKER_SESSION_H_
#define LATCHKEY_BROKER_SESSION_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "broker/audit/audit_log.h"
#include "broker/plugin_config.h"
#include "broker/policy.h"
#include "broker/provider.h"
#include "broker/secret_flags.h"
#include "broker/source_path.h"
#include "latchkey/status.h"
#include "secure/secret_buffer.h"

namespace latchkey {

class Provider;
class CrashTracker;
struct ProviderCrash;

// How to make an instance of one configured provider.
struct ProviderSpec {
  std::string name;        // "file", "env", "store", ...
  std::string path;        // the .so
  std::string sha256_pin;  // optional
  std::vector<ConfigValue> config;
  // inline: a ProviderInstance in this process; process: a ProcessProvider
  // (broker/provider_process.h) with the settings below.
  Isolation isolation = Isolation::kInline;
  uint32_t max_crashes = 3;
  std::chrono::milliseconds crash_window{60000};
  std::optional<uint32_t> uid{};
  std::optional<uint32_t> gid{};
  std::vector<int> keep_fds{};
};

// One entry of the configuration's `secrets:` map.
struct ConfiguredSecret {
  std::string provider;
  std::string ref;
};

// One registry credential request: the secret `registry:<host>` (kRegistrySecretPrefix), asked
// for by the registry client to act on one repository.
inline constexpr const char* kRegistrySecretPrefix = "registry:";
// The provider that serves a registry host with no `registries:` entry (Docker's own lookup:
// config.json, credsStore, credHelpers), with the host as its reference.
inline constexpr const char* kDockerConfigProvider = "dockerconfig";
struct RegistryAccess {
  std::string host;        // as in the image reference: "registry.example.com:5000", "docker.io"
  std::string repository;  // "team/app"
  std::string scope;       // "pull" or "push" (push includes pull; "pull,push" is "push")
};

// Decides one request; normally Policy::Decide (broker/policy.h).
using PolicyFn = std::function<PolicyDecision(const PolicyRequest&)>;

// The build step that asks (for the request context and the audit record).
struct StepContext {
  std::string stage;        // stage name, or its index in decimal
  uint32_t index = 0;       // step index within the stage
  uint32_t line = 0;        // Dockerfile line
  std::string instruction;  // the instruction text; secret values are masked before recording
};

struct SessionAttributes {
  std::string id;  // 32 lowercase hex digits; empty: a random 128-bit id is generated
  std::string build_id;
  uint32_t uid = 0;
  std::string user;
  std::string working_dir;
  std::string dockerfile;
  std::string context;
  std::map<std::string, std::string> labels;
  std::vector<SecretSource> declared;  // from --secret, already parsed
  // The caller's environment in /proc/<pid>/environ form (NAME=VALUE\0...), for env sources.
  // Empty: the broker process's environment at the first env fetch.
  std::shared_ptr<const SecretBuffer> environment;
  // Set for sessions opened through latchkeyd: who is on the other end of the connection
  // (docs/daemon.md). Recorded as `peer` in every audit record of the session, and a unix
  // peer's gid and pid in the requester text ("uid=1000(ann) gid=1000 pid=4242"); a TCP peer's
  // client_cn is what policy's `client_cn:` matches, and a TCP peer has no uid (`uid` and
  // `user` are then not given to policy: a `uid:` or `user:` rule never matches it).
  std::optional<audit::PeerInfo> peer;
  std::chrono::system_clock::time_point created{};  // default: now
  std::chrono::seconds max_lifetime{std::chrono::hours(24)};
  // latchkeyd: the provider "client", which asks the client's daemon session for a secret
  // (GetSecret over the session tunnel, under the fetch timeout). A declared source with
  // provider "client" needs it; Open refuses one without it. Errors are the session's
  // (NOT_FOUND for an id the client does not serve).
  std::function<Result<SecretBuffer>(const std::string& secret_id,
                                     std::chrono::steady_clock::time_point deadline)>
      client_secrets;
  // latchkeyd, when the client's session serves moby.filesync.v1.Auth/Credentials: the
  // client's own registry login for `host`, as a credential helper's JSON
  // ({"ServerURL","Username","Secret"}); NOT_FOUND when the client has none. FetchRegistry then
  // asks the client first, as the provider "client" (see there).
  std::function<Result<SecretBuffer>(const std::string& host,
                                     std::chrono::steady_clock::time_point deadline)>
      client_registry;
};

// Where a released value came from and which policy rule granted it: what a SecretView, the
// session's cache and the secret.fetch record each carry.
struct SecretOrigin {
  std::string rule;       // the policy rule that granted it
  std::string provider;   // provider instance name
  std::string reference;  // the provider reference it was read from, as written
  std::string resolved;   // file sources: the opened file's real path; "" otherwise
  std::string version;    // provider-reported version; "" when none
};

// A read-only view of a released value. Shares ownership of the bytes: they stay valid while
// the view lives, even past Session::Close (which drops the session's own reference and stops
// redacting nothing: the view holder must drop it promptly).
class SecretView {
 public:
  SecretView() = default;
  std::span<const uint8_t> bytes() const {
    return value_ ? value_->bytes() : std::span<const uint8_t>();
  }
  size_t size() const { return value_ ? value_->size() : 0; }
  const std::string& id() const { return id_; }
  const std::string& provider() const { return origin_.provider; }
  const std::string& version() const { return origin_.version; }
  // The provider reference it was read from, as written, and (file sources) the real path.
  const std::string& reference() const { return origin_.reference; }
  const std::string& resolved() const { return origin_.resolved; }
  // The policy rule that granted it.
  const std::string& rule() const { return origin_.rule; }
  bool from_cache() const { return from_cache_; }

 private:
  friend class Session;
  std::shared_ptr<const SecretBuffer> value_;
  std::string id_;
  SecretOrigin origin_;
  bool from_cache_ = false;
};

// Why a session may have a secret now, without fetching it (Session::Authorize).
struct SecretAuthorization {
  std::string secret;
  std::string rule;  // the allowing rule
  std::string provider;
  std::string reference;  // as written
  std::string resolved;   // file sources: the opened file's real path
};

class SessionManager;

class Session {
 public:
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Fetches `secret_id` for `step` (see the file comment). Errors:
  //   NOT_FOUND          "secret <id>: not found (tried: ...)" naming the sources tried, or the
  //                      provider's own not-found message;
  //   PERMISSION_DENIED  "secret <id>: denied by policy rule \"<rule>\": <reason>";
  //   UNAVAILABLE        "audit log unavailable: <cause>" (no value is released);
  //   FAILED_PRECONDITION "session <id> expired" / "session <id> is closed";
  //   otherwise the provider's error.
  Result<SecretView> Fetch(const std::string& secret_id, const StepContext& step);

  // Fetches the registry credential `registry:<access.host>` for `access` (the secret id the
  // registry client asks for): the source is the options' `registries` entry for the host,
  // else the kDockerConfigProvider provider (reference: the host) when it is configured.
  // With SessionAttributes::client_registry (latchkeyd) the client is asked first, as the
  // source provider "client" (reference: the host, declared): policy decides it like any
  // source (a denial fails the request; the daemon's source is not tried), its secret.fetch
  // record is written first; when the client has no login for the host (NOT_FOUND, recorded
  // as not_found) the daemon's own source above is tried, as BuildKit's daemon falls back on
  // its own auth configuration;
  // policy decides every request on its kind (registry), host, repository and scope, also when
  // the value is cached; the secret.fetch record (with host, repository and scope) is durable
  // before the value is released, and the value is redacted and leak-scanned as any secret.
  // Errors:
  //   NOT_FOUND          "secret registry:<host>: not found (tried: the configuration's
  //                      registries map has no entry \"<host>\"; no dockerconfig provider is
  //                      configured)", or the provider's not-found message;
  //   PERMISSION_DENIED  "secret registry:<host> (<scope> <repository>): denied by policy
  //                      rule \"<rule>\": <reason>";
  //   INVALID_ARGUMENT   an empty host or a scope other than pull, push or pull,push;
  //   otherwise as Fetch.
  // A RUN step's Fetch never sees these values: they are cached apart from build secrets.
  Result<SecretView> FetchRegistry(const RegistryAccess& access, const StepContext& step);

  // Could this session obtain `secret_id` now? Resolves the source (a file source is opened to
  // find its real path, not read) and asks policy; the provider is not called and nothing is
  // audited. Errors: as Fetch gives them for the same cases (NOT_FOUND, PERMISSION_DENIED with
  // the same text, FAILED_PRECONDITION when closed or expired, the file's open error).
  Result<SecretAuthorization> Authorize(const std::string& secret_id, const StepContext& step);

  // For reusing a cached build step that mounted `secret_ids`: Authorize for each id; when all
  // are allowed, writes a durable cache.hit record (ids, rules, `cache_key`, step) and returns
  // OK. Returns the first refusal (nothing audited: the step then runs, and its fetch is
  // audited) or UNAVAILABLE when the record cannot be written.
  Status AuthorizeCacheHit(const std::vector<std::string>& secret_ids, const StepContext& step,
                           const std::string& cache_key);

  // A build step asked for the use of SSH agent `use.ssh` (RUN --mount=type=ssh): writes the
  // ssh.forward record durably, with this session's id, requester and peer and `step`, before
  // the caller hands the step its socket. `use` carries the id, outcome, agent location,
  // required and error; its session, step, requester and peer are set here. Errors:
  // FAILED_PRECONDITION when the session is closed or expired (nothing written), UNAVAILABLE
  // when the record cannot be written: the caller must then not forward the agent (fail
  // closed). Thread-safe.
  Status RecordSshForward(audit::SshForwardRecord use, const StepContext& step);

  // Waits for fetches in flight to return (a provider's own deadline bounds them), then wipes
  // every value, destroys the provider instances, writes session.close with counts and a
  // checkpoint. Idempotent; later fetches fail. `reason`: "completed", "failed", ...
  Status Close(const std::string& reason = "completed");

  const std::string& id() const { return attrs_.id; }
  const SessionAttributes& attributes() const { return attrs_; }
  // Secret ids handed out so far (for the leak scan), with their current cached values.
  std::vector<std::pair<std::string, std::shared_ptr<const SecretBuffer>>> Released() const;
  // Counters.
  uint64_t fetch_count() const;
  uint64_t provider_calls() const;

 private:
  friend class SessionManager;
  struct Resolved {
    std::string provider;
    std::string ref;
    SecretSource::Kind kind = SecretSource::Kind::kProvider;
    bool declared = false;
    // For the "file" provider: the absolute path the reference names ("" when relative with
    // no base_dir: the provider reports that).
    std::string file_path;
  };
  // A policy decision about a resolved source. For a file source that opened, `file` holds it
  // (the provider reads it through /proc/self/fd); `open_error` is the open failure when policy
  // allowed the path as written.
  struct Decided {
    PolicyDecision decision;
    std::optional<OpenedFile> file;
    Status open_error;
    std::string resolved;  // file->resolved(), or "" when not opened
  };
  // The fields of one secret.fetch record (also replayed for waiters on the same fetch).
  struct FetchAudit {
    audit::FetchOutcome outcome = audit::FetchOutcome::kError;
    SecretOrigin origin;  // as far as the fetch got
    std::string error;
    const RegistryAccess* registry = nullptr;  // a registry request's host, repository, scope
  };
  struct CacheEntry {
    std::shared_ptr<const SecretBuffer> value;
    SecretOrigin origin;
    std::optional<int64_t> expires_unix_ms;
    uint64_t redaction_handle = 0;
  };
  struct InFlight {
    bool done = false;
    Result<SecretView> result = Status(StatusCode::kUnknown, "in flight");
    FetchAudit audited;  // what the fetcher recorded
    std::condition_variable cv;
  };

  Session(SessionManager* manager, SessionAttributes attrs);
  Result<Resolved> Resolve(const std::string& secret_id) const;
  // The source of a registry credential (FetchRegistry's rules).
  Result<Resolved> ResolveRegistry(const RegistryAccess& access) const;
  std::string FileSourcePath(const std::string& ref) const;
  Result<Provider*> InstanceFor(const std::string& provider);
  // `access`: a registry request (kind registry, its host, repository and scope), or nullptr.
  Decided Decide(const std::string& secret_id, const Resolved& resolved,
                 const RegistryAccess* access = nullptr) const;
  // Resolve, then Decide: the one "may this session have it" used by Fetch and Authorize. OK
  // when policy allows (`decided` may still hold a file's open error); NOT_FOUND (Resolve's
  // text; both outputs untouched) when nothing declares or configures the id;
  // PERMISSION_DENIED "secret <id>: denied by policy rule \"<rule>\": <reason>" (both outputs
  // filled) when policy refuses.
  // With `access` (a registry request) the source is ResolveRegistry's and the denial reads
  // "secret registry:<host> (<scope> <repository>): denied by policy rule ...".
  Status ResolveAndDecide(const std::string& secret_id, Resolved* resolved, Decided* decided,
                          const RegistryAccess* access = nullptr) const;
  // One source of FetchRegistry: `source`, or ResolveRegistry's when nullptr; policy, the
  // registry cache, the provider (or the client) and the audit record. Counts nothing.
  Result<SecretView> FetchRegistryFrom(const std::string& secret_id, const StepContext& step,
                                       std::chrono::steady_clock::time_point start,
                                       const RegistryAccess& access, const Resolved* source);
  Result<SecretView> FetchUncached(const std::string& secret_id, const StepContext& step,
                                   std::chrono::steady_clock::time_point start, FetchAudit* a);
  // FetchUncached after ResolveAndDecide allowed it: the provider call, the audit record and
  // the release. `cache` is where a cacheable value is kept (cache_ or registry_cache_).
  Result<SecretView> FetchDecided(const std::string& secret_id, const StepContext& step,
                                  std::chrono::steady_clock::time_point start, FetchAudit* a,
                                  const Resolved& resolved, const Decided& decided,
                                  std::map<std::string, CacheEntry>* cache);
  // Writes the secret.fetch record `a` describes.
  Status Audit(const std::string& secret_id, const StepContext& step, const FetchAudit& a,
               const SecretBuffer* value, std::chrono::steady_clock::time_point start);
  // Records the failed fetch `a` with `outcome` and `error`'s message, and returns `error`, or
  // the audit log's error when the record cannot be written.
  Status AuditFailure(const std::string& secret_id, const StepContext& step,
                      audit::FetchOutcome outcome, Status error, FetchAudit* a,
                      std::chrono::steady_clock::time_point start);
  // A view of the value `e` holds for `secret_id`.
  static SecretView ViewOf(const std::string& secret_id, const CacheEntry& e, bool from_cache);
  // Writes the provider.crashed record of a process-isolated provider's crash.
  void AuditCrash(const ProviderCrash& crash);
  // Ends a fetch begun under mu_ (wakes Close).
  void EndFetch();
  bool Expired() const;

  SessionManager* manager_;
  SessionAttributes attrs_;
  std::chrono::steady_clock::time_point opened_;

  mutable std::mutex mu_;
  bool closed_ = false;
  int active_fetches_ = 0;        // Fetch calls past the closed check, not yet returned
  std::condition_variable idle_;  // signalled when active_fetches_ drops to 0
  std::map<std::string, CacheEntry> cache_;
  // Registry credentials by secret id, apart from cache_ so that Fetch never serves them.
  std::map<std::string, CacheEntry> registry_cache_;
  // Every value handed out (cached or not), kept registered with the redactor and available to
  // the leak scan until Close.
  std::vector<std::pair<std::string, CacheEntry>> released_;
  std::map<std::string, std::shared_ptr<InFlight>> in_flight_;
  std::map<std::string, std::unique_ptr<Provider>> instances_;
  std::mutex instances_mu_;  // serialises instance creation
  uint64_t fetches_ = 0;
  uint64_t provider_calls_ = 0;
  uint64_t granted_ = 0;
  uint64_t denied_ = 0;
  uint64_t failed_ = 0;
};

struct SessionManagerOptions {
  std::vector<ProviderSpec> providers;
  std::map<std::string, ConfiguredSecret> secrets;
  // The `registries:` entries that name a provider: host -> where `registry:<host>` is read.
  std::map<std::string, ConfiguredSecret> registries;
  PolicyFn policy;                   // required
  audit::AuditLog* audit = nullptr;  // required; not owned; must outlive the manager
  std::chrono::milliseconds fetch_timeout{30000};
  // Set (by a signal handler, say) to cancel the fetches in flight: they return CANCELLED at
  // once (provider_instance.h). May be nullptr; must outlive the manager.
  const std::atomic<bool>* cancelled = nullptr;
  // Who opened sessions, for session.open ("uid=0(root) pid=42"); default derived.
  std::string requester;
  // latchkey-provider-host, for providers with isolation: process.
  std::string provider_host;
};

class SessionManager {
 public:
  // INVALID_ARGUMENT when policy or audit is missing, or a provider name repeats.
  static Result<std::unique_ptr<SessionManager>> Create(SessionManagerOptions options);

  // Opens a session and writes session.open durably (UNAVAILABLE when the audit log cannot).
  // INVALID_ARGUMENT when attrs.id is set but not 32 lowercase hex digits, or a declared source
  // names an unknown provider.
  Result<std::shared_ptr<Session>> Open(SessionAttributes attrs);

  const SessionManagerOptions& options() const { return options_; }
  // Names of the configured providers.
  std::vector<std::string> ProviderNames() const;
  const ProviderSpec* FindProvider(const std::string& name) const;
  // The crash accounting of a process-isolated provider, shared by every session; nullptr for
  // an inline one.
  std::shared_ptr<CrashTracker> CrashesOf(const std::string& name) const;

 private:
  explicit SessionManager(SessionManagerOptions options) : options_(std::move(options)) {}
  SessionManagerOptions options_;
  std::map<std::string, std::shared_ptr<CrashTracker>> crashes_;
};

// A random 128-bit id as 32 lowercase hex digits.
std::string NewSessionId();

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_SESSION_H_
