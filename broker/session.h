// Build sessions: the broker's public interface to the builder.
//
// A SessionManager is created once per process from the configuration (providers, the
// secrets map, policy, the audit log). Each build opens one Session, which:
//   - resolves a secret id to a source: a source the caller declared with --secret first,
//     then the configuration's `secrets:` map;
//   - asks policy whether this session may have it (the deciding rule is recorded);
//   - calls the provider (an instance private to the session) with the full request context
//     and a deadline; concurrent fetches of one id reach the provider once;
//   - writes the secret.fetch audit record durably, and only then releases the value;
//   - keeps the value for the rest of the session unless the provider said "do not cache" or
//     its expiry passed, and registers it with the redactor so no log line can carry it;
//   - on Close wipes every value, destroys its provider instances, writes session.close and
//     seals the audit chain with a signed checkpoint.
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
#include "broker/secret_buffer.h"
#include "broker/secret_flags.h"
#include "latchkey/status.h"

namespace latchkey {

class ProviderInstance;

// How to make an instance of one configured provider.
struct ProviderSpec {
  std::string name;        // "file", "env", "store", ...
  std::string path;        // the .so
  std::string sha256_pin;  // optional
  std::vector<ConfigValue> config;
};

// One entry of the configuration's `secrets:` map.
struct ConfiguredSecret {
  std::string provider;
  std::string ref;
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
  std::chrono::system_clock::time_point created{};  // default: now
  std::chrono::seconds max_lifetime{std::chrono::hours(24)};
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
  const std::string& provider() const { return provider_; }
  const std::string& version() const { return version_; }
  // The policy rule that granted it.
  const std::string& rule() const { return rule_; }
  bool from_cache() const { return from_cache_; }

 private:
  friend class Session;
  std::shared_ptr<const SecretBuffer> value_;
  std::string id_;
  std::string provider_;
  std::string version_;
  std::string rule_;
  bool from_cache_ = false;
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

  // Wipes every value, destroys the provider instances, writes session.close with counts and a
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
  };
  struct CacheEntry {
    std::shared_ptr<const SecretBuffer> value;
    std::string provider;
    std::string version;
    std::string rule;  // the policy rule that granted it
    std::optional<int64_t> expires_unix_ms;
    uint64_t redaction_handle = 0;
  };
  struct InFlight {
    bool done = false;
    Result<SecretView> result = Status(StatusCode::kUnknown, "in flight");
    std::condition_variable cv;
  };

  Session(SessionManager* manager, SessionAttributes attrs);
  Result<Resolved> Resolve(const std::string& secret_id) const;
  Result<ProviderInstance*> InstanceFor(const std::string& provider);
  Result<SecretView> FetchUncached(const std::string& secret_id, const StepContext& step,
                                   std::chrono::steady_clock::time_point start);
  Status Audit(const std::string& secret_id, const StepContext& step, audit::FetchOutcome outcome,
               const std::string& rule, const std::string& provider, const std::string& ref,
               const std::string& version, const std::string& error, const SecretBuffer* value,
               std::chrono::steady_clock::time_point start);
  bool Expired() const;

  SessionManager* manager_;
  SessionAttributes attrs_;
  std::chrono::steady_clock::time_point opened_;

  mutable std::mutex mu_;
  bool closed_ = false;
  std::map<std::string, CacheEntry> cache_;
  // Every value handed out (cached or not), kept registered with the redactor and available to
  // the leak scan until Close.
  std::vector<std::pair<std::string, CacheEntry>> released_;
  std::map<std::string, std::shared_ptr<InFlight>> in_flight_;
  std::map<std::string, std::unique_ptr<ProviderInstance>> instances_;
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
  PolicyFn policy;                   // required
  audit::AuditLog* audit = nullptr;  // required; not owned; must outlive the manager
  std::chrono::milliseconds fetch_timeout{30000};
  // Set (by a signal handler, say) to cancel the fetches in flight: they return CANCELLED at
  // once (provider_instance.h). May be nullptr; must outlive the manager.
  const std::atomic<bool>* cancelled = nullptr;
  // Who opened sessions, for session.open ("uid=0(root) pid=42"); default derived.
  std::string requester;
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

 private:
  explicit SessionManager(SessionManagerOptions options) : options_(std::move(options)) {}
  SessionManagerOptions options_;
};

// A random 128-bit id as 32 lowercase hex digits.
std::string NewSessionId();

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_SESSION_H_
