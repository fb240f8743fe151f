#include "broker/session.h"

#include <sodium.h>
#include <unistd.h>

#include <algorithm>

#include "broker/logging.h"
#include "broker/plugin_loader.h"
#include "broker/provider_instance.h"
#include "broker/provider_process.h"
#include "broker/state_dir.h"
#include "secure/redactor.h"

namespace latchkey {
namespace {

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool IsSessionId(const std::string& id) {
  return id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// The requester text of a session: its uid and user (and a daemon client's gid and pid), or a
// TCP peer's certificate CN.
// A Docker Engine peer is not the requester: the CLI that opened the session is.
std::string Requester(const SessionAttributes& attrs) {
  bool engine = attrs.peer && attrs.peer->transport == audit::kDockerEngineTransport;
  if (attrs.peer && !engine && attrs.peer->uid < 0) return "client_cn=" + attrs.peer->client_cn;
  std::string s = "uid=" + std::to_string(attrs.uid);
  if (!attrs.user.empty()) s += "(" + attrs.user + ")";
  if (attrs.peer && !engine) {
    s += " gid=" + std::to_string(attrs.peer->gid) + " pid=" + std::to_string(attrs.peer->pid);
  }
  return s;
}

// The audit record's view of a step.
audit::StepInfo StepInfoOf(const StepContext& step) {
  audit::StepInfo info;
  info.stage = step.stage;
  info.index = step.index;
  info.line = step.line;
  info.instruction = step.instruction;
  return info;
}

// True when the plugin takes a config key named `key`.
bool PluginTakesKey(const PluginLibrary& lib, const char* key) {
  const lk_provider_api* api = lib.api();
  if (!LK_HAS(api, lk_provider_api, config_key_count) || api->config_keys == nullptr) return false;
  for (size_t i = 0; i < api->config_key_count; ++i) {
    if (api->config_keys[i].key != nullptr && std::string(api->config_keys[i].key) == key) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string NewSessionId() {
  (void)EnsureSodium();
  uint8_t raw[16];
  randombytes_buf(raw, sizeof raw);
  char hex[33];
  sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
  return std::string(hex, 32);
}

// ---- SessionManager ----------------------------------------------------------------------

Result<std::unique_ptr<SessionManager>> SessionManager::Create(SessionManagerOptions options) {
  if (!options.policy) return InvalidArgumentError("session manager: no policy configured");
  if (options.audit == nullptr) {
    return InvalidArgumentError("session manager: no audit log configured");
  }
  std::map<std::string, int> seen;
  for (const auto& p : options.providers) {
    if (++seen[p.name] > 1) {
      return InvalidArgumentError("session manager: provider \"" + p.name +
                                  "\" is configured twice");
    }
  }
  for (const auto& [id, secret] : options.secrets) {
    if (seen.count(secret.provider) == 0) {
      return InvalidArgumentError("secrets." + id + ": provider \"" + secret.provider +
                                  "\" is not configured");
    }
  }
  for (const auto& [host, source] : options.registries) {
    if (seen.count(source.provider) == 0) {
      return InvalidArgumentError("registries." + host + ": provider \"" + source.provider +
                                  "\" is not configured");
    }
  }
  if (options.requester.empty()) {
    options.requester = "uid=" + std::to_string(geteuid()) + " pid=" + std::to_string(getpid());
  }
  std::unique_ptr<SessionManager> manager(new SessionManager(std::move(options)));
  for (const auto& p : manager->options_.providers) {
    if (p.isolation != Isolation::kProcess) continue;
    manager->crashes_[p.name] = std::make_shared<CrashTracker>(p.max_crashes, p.crash_window);
  }
  return manager;
}

std::shared_ptr<CrashTracker> SessionManager::CrashesOf(const std::string& name) const {
  auto it = crashes_.find(name);
  return it == crashes_.end() ? nullptr : it->second;
}

std::vector<std::string> SessionManager::ProviderNames() const {
  std::vector<std::string> names;
  for (const auto& p : options_.providers) names.push_back(p.name);
  return names;
}

const ProviderSpec* SessionManager::FindProvider(const std::string& name) const {
  for (const auto& p : options_.providers) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

Result<std::shared_ptr<Session>> SessionManager::Open(SessionAttributes attrs) {
  if (attrs.id.empty()) {
    attrs.id = NewSessionId();
  } else if (!IsSessionId(attrs.id)) {
    return InvalidArgumentError("session id \"" + attrs.id + "\" is not 32 lowercase hex digits");
  }
  for (const auto& src : attrs.declared) {
    std::string provider = src.kind == SecretSource::Kind::kFile  ? "file"
                           : src.kind == SecretSource::Kind::kEnv ? "env"
                                                                  : src.provider;
    if (provider == kClientProvider) {
      if (!attrs.client_secrets) {
        return InvalidArgumentError("--secret id=" + src.id +
                                    ": provider \"client\" needs a latchkeyd session");
      }
      continue;
    }
    if (FindProvider(provider) == nullptr) {
      return InvalidArgumentError("--secret id=" + src.id + ": provider \"" + provider +
                                  "\" is not configured");
    }
  }
  // Policy rules match these paths: one spelling for each ("/ctx//./Dockerfile" and a
  // symlinked directory name the same file as "/ctx/Dockerfile").
  attrs.dockerfile = CanonicalPath(attrs.dockerfile);
  attrs.context = CanonicalPath(attrs.context);
  attrs.working_dir = CanonicalPath(attrs.working_dir);
  if (attrs.created == std::chrono::system_clock::time_point{}) {
    attrs.created = std::chrono::system_clock::now();
  }
  audit::SessionOpenRecord rec;
  rec.session = attrs.id;
  rec.requester = Requester(attrs);
  rec.dockerfile = attrs.dockerfile;
  rec.context = attrs.context;
  rec.labels = attrs.labels;
  rec.peer = attrs.peer;
  LK_RETURN_IF_ERROR(options_.audit->Append(std::move(rec)));
  return std::shared_ptr<Session>(new Session(this, std::move(attrs)));
}

// ---- Session -----------------------------------------------------------------------------

Session::Session(SessionManager* manager, SessionAttributes attrs)
    : manager_(manager), attrs_(std::move(attrs)), opened_(std::chrono::steady_clock::now()) {}

Session::~Session() { (void)Close("abandoned"); }

bool Session::Expired() const {
  return std::chrono::system_clock::now() > attrs_.created + attrs_.max_lifetime;
}

// The absolute path a "file" provider reference names: as written when absolute, else under the
// provider's base_dir; "" when neither (the provider reports that).
std::string Session::FileSourcePath(const std::string& ref) const {
  if (!ref.empty() && ref[0] == '/') return ref;
  const ProviderSpec* spec = manager_->FindProvider("file");
  if (spec == nullptr || ref.empty()) return std::string();
  for (const ConfigValue& v : spec->config) {
    if (v.key == "base_dir" && !v.secret && !v.text.empty() && v.text[0] == '/') {
      return JoinPath(v.text, ref);
    }
  }
  return std::string();
}

Result<Session::Resolved> Session::Resolve(const std::string& secret_id) const {
  // A source declared with --secret wins; the last flag with an id was kept by the parser.
  for (const auto& src : attrs_.declared) {
    if (src.id != secret_id) continue;
    Resolved r;
    r.declared = true;
    r.kind = src.kind;
    r.ref = src.path_or_var_or_ref;
    r.provider = src.kind == SecretSource::Kind::kFile  ? "file"
                 : src.kind == SecretSource::Kind::kEnv ? "env"
                                                        : src.provider;
    if (r.provider == "file") r.file_path = FileSourcePath(r.ref);
    return r;
  }
  const auto& secrets = manager_->options().secrets;
  auto it = secrets.find(secret_id);
  if (it != secrets.end()) {
    Resolved r;
    r.declared = false;
    r.kind = SecretSource::Kind::kProvider;
    r.provider = it->second.provider;
    r.ref = it->second.ref;
    if (r.provider == "file") r.file_path = FileSourcePath(r.ref);
    return r;
  }
  return NotFoundError("secret " + secret_id +
                       ": not found (tried: no --secret flag declares id \"" + secret_id +
                       "\"; the configuration's secrets map has no entry \"" + secret_id + "\")");
}

Result<Session::Resolved> Session::ResolveRegistry(const RegistryAccess& access) const {
  const auto& registries = manager_->options().registries;
  auto it = registries.find(access.host);
  Resolved r;
  r.kind = SecretSource::Kind::kProvider;
  if (it != registries.end()) {
    r.declared = false;
    r.provider = it->second.provider;
    r.ref = it->second.ref;
    if (r.provider == "file") r.file_path = FileSourcePath(r.ref);
    return r;
  }
  if (manager_->FindProvider(kDockerConfigProvider) != nullptr) {
    // The user's own Docker login, looked up as Docker does.
    r.declared = true;
    r.provider = kDockerConfigProvider;
    r.ref = access.host;
    return r;
  }
  return NotFoundError(std::string("secret ") + kRegistrySecretPrefix + access.host +
                       ": not found (tried: the configuration's registries map has no entry \"" +
                       access.host + "\"; no " + kDockerConfigProvider +
                       " provider is configured)");
}

Result<Provider*> Session::InstanceFor(const std::string& provider) {
  std::lock_guard lock(instances_mu_);
  auto it = instances_.find(provider);
  if (it != instances_.end()) return it->second.get();
  const ProviderSpec* spec = manager_->FindProvider(provider);
  if (spec == nullptr) {
    return FailedPreconditionError("provider \"" + provider + "\" is not configured");
  }
  std::vector<ConfigValue> config = spec->config;
  bool configured_env = std::any_of(config.begin(), config.end(),
                                    [](const ConfigValue& v) { return v.key == "environment"; });
  std::unique_ptr<Provider> instance;
  if (spec->isolation == Isolation::kProcess) {
    // The plugin is never loaded here: latchkey-provider-host loads it (same checks).
    ProcessProviderOptions o;
    o.name = spec->name;
    o.host_path = manager_->options().provider_host;
    o.plugin_path = spec->path;
    o.sha256_pin = spec->sha256_pin;
    o.config = std::move(config);
    if (!configured_env) o.environment = attrs_.environment;
    o.uid = spec->uid;
    o.gid = spec->gid;
    o.keep_fds = spec->keep_fds;
    o.start_timeout = manager_->options().fetch_timeout;
    o.crashes = manager_->CrashesOf(spec->name);
    o.on_crash = [this](const ProviderCrash& crash) { AuditCrash(crash); };
    LK_ASSIGN_OR_RETURN(instance, ProcessProvider::Create(std::move(o)));
  } else {
    PluginLoadOptions load_options;
    load_options.sha256_pin = spec->sha256_pin;
    LK_ASSIGN_OR_RETURN(auto library, PluginLoader::Load(spec->path, load_options));
    // A provider that serves environment variables gets the caller's environment, not the
    // broker's (unless the configuration pins one).
    if (!configured_env && attrs_.environment && PluginTakesKey(*library, "environment")) {
      LK_ASSIGN_OR_RETURN(SecretBuffer env, SecretBuffer::CopyOf(attrs_.environment->bytes()));
      config.push_back(ConfigValue::Secret("environment", std::move(env)));
    }
    LK_ASSIGN_OR_RETURN(instance, ProviderInstance::Create(std::move(library), config));
  }
  Provider* raw = instance.get();
  instances_.emplace(provider, std::move(instance));
  return raw;
}

void Session::AuditCrash(const ProviderCrash& crash) {
  audit::ProviderCrashedRecord rec;
  rec.session = attrs_.id;
  rec.provider = crash.provider;
  rec.secret = crash.secret_id;
  rec.signal = crash.signal;
  rec.signal_name = crash.signal_name;
  rec.exit_status = crash.exit_status;
  rec.crashes = crash.crashes;
  rec.backoff = crash.backoff;
  // The fetch fails either way; a record that cannot be written is logged by the audit log.
  Status st = manager_->options().audit->Append(std::move(rec));
  if (!st.ok()) {
    GetLogger("broker")->error("session {}: provider {} crashed: {}", attrs_.id, crash.provider,
                               st.message());
  }
}

Status Session::Audit(const std::string& secret_id, const StepContext& step, const FetchAudit& a,
                      const SecretBuffer* value, std::chrono::steady_clock::time_point start) {
  audit::SecretFetchRecord rec;
  rec.session = attrs_.id;
  rec.secret = secret_id;
  rec.outcome = a.outcome;
  rec.rule = a.origin.rule;
  rec.provider = a.origin.provider;
  rec.reference = a.origin.reference;
  rec.resolved = a.origin.resolved;
  rec.version = a.origin.version;
  rec.step = StepInfoOf(step);
  rec.requester = Requester(attrs_);
  rec.duration_us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
  rec.error = a.error;
  if (a.registry != nullptr) {
    rec.registry.host = a.registry->host;
    rec.registry.repository = a.registry->repository;
    rec.registry.scope = a.registry->scope;
  }
  rec.peer = attrs_.peer;
  Status st = manager_->options().audit->AppendFetch(std::move(rec), value);
  if (!st.ok()) {
    GetLogger("broker")->error("session {}: secret {}: {}", attrs_.id, secret_id, st.message());
  }
  return st;
}

Status Session::AuditFailure(const std::string& secret_id, const StepContext& step,
                             audit::FetchOutcome outcome, Status error, FetchAudit* a,
                             std::chrono::steady_clock::time_point start) {
  a->outcome = outcome;
  a->error = error.message();
  Status audited = Audit(secret_id, step, *a, nullptr, start);
  return audited.ok() ? error : audited;
}

SecretView Session::ViewOf(const std::string& secret_id, const CacheEntry& e, bool from_cache) {
  SecretView view;
  view.value_ = e.value;
  view.id_ = secret_id;
  view.origin_ = e.origin;
  view.from_cache_ = from_cache;
  return view;
}

void Session::EndFetch() {
  std::lock_guard lock(mu_);
  if (--active_fetches_ == 0) idle_.notify_all();
}

Result<SecretView> Session::Fetch(const std::string& secret_id, const StepContext& step) {
  auto start = std::chrono::steady_clock::now();
  std::shared_ptr<InFlight> flight;
  {
    std::unique_lock lock(mu_);
    if (closed_ || Expired()) {
      Status st = closed_ ? FailedPreconditionError("session " + attrs_.id + " is closed")
                          : FailedPreconditionError("session " + attrs_.id + " expired");
      ++failed_;
      lock.unlock();
      FetchAudit a;
      return AuditFailure(secret_id, step, audit::FetchOutcome::kError, st, &a, start);
    }
    ++active_fetches_;
  }
  // Close waits until every fetch that got past the check above has returned.
  struct Ender {
    Session* s;
    ~Ender() { s->EndFetch(); }
  } ender{this};
  {
    std::unique_lock lock(mu_);
    ++fetches_;
    auto cached = cache_.find(secret_id);
    if (cached != cache_.end() && cached->second.expires_unix_ms &&
        *cached->second.expires_unix_ms <= NowUnixMs()) {
      cache_.erase(cached);  // expired: fetch again (the value stays registered until Close)
      cached = cache_.end();
    }
    if (cached != cache_.end()) {
      SecretView view = ViewOf(secret_id, cached->second, true);
      ++granted_;
      lock.unlock();
      FetchAudit a;
      a.outcome = audit::FetchOutcome::kGranted;
      a.origin = view.origin_;
      LK_RETURN_IF_ERROR(Audit(secret_id, step, a, view.value_.get(), start));
      return view;
    }
    auto existing = in_flight_.find(secret_id);
    if (existing != in_flight_.end()) {
      // Someone in this session is already asking the provider: share the answer, and record
      // this step's request as the fetcher recorded its own (granted or not).
      flight = existing->second;
      flight->cv.wait(lock, [&] { return flight->done; });
      Result<SecretView> shared = flight->result;
      FetchAudit a = flight->audited;
      lock.unlock();
      if (!shared.ok()) {
        Status audited = Audit(secret_id, step, a, nullptr, start);
        return audited.ok() ? shared.status() : audited;
      }
      shared->from_cache_ = true;
      LK_RETURN_IF_ERROR(Audit(secret_id, step, a, shared->value_.get(), start));
      return shared;
    }
    flight = std::make_shared<InFlight>();
    in_flight_.emplace(secret_id, flight);
  }
  FetchAudit audited;
  Result<SecretView> result = FetchUncached(secret_id, step, start, &audited);
  {
    std::lock_guard lock(mu_);
    flight->result = result;
    flight->audited = audited;
    flight->done = true;
    in_flight_.erase(secret_id);
    if (result.ok()) {
      ++granted_;
    } else if (result.status().code() == StatusCode::kPermissionDenied) {
      ++denied_;
    } else {
      ++failed_;
    }
  }
  flight->cv.notify_all();
  return result;
}

namespace {

// PERMISSION_DENIED "secret registry:<host> (<scope> <repository>): denied by policy rule
// \"<rule>\": <reason>".
Status RegistryDenial(const std::string& secret_id, const RegistryAccess& access,
                      const PolicyDecision& decision) {
  return PermissionDeniedError("secret " + secret_id + " (" + access.scope + " " +
                               access.repository + "): denied by policy rule \"" + decision.rule +
                               "\": " + decision.reason);
}

audit::FetchOutcome OutcomeOf(const Status& st) {
  if (st.code() == StatusCode::kNotFound) return audit::FetchOutcome::kNotFound;
  if (st.code() == StatusCode::kPermissionDenied) return audit::FetchOutcome::kDenied;
  return audit::FetchOutcome::kError;
}

// Replaces every "/proc/self/fd/N" the provider was handed with the path the user wrote, so
// that its error messages name the user's file.
std::string NameTheFile(std::string text, const std::string& proc, const std::string& written) {
  for (size_t pos = 0; (pos = text.find(proc, pos)) != std::string::npos;) {
    size_t end = pos + proc.size();
    if (end < text.size() && text[end] >= '0' && text[end] <= '9') {
      pos = end;
      continue;
    }
    text.replace(pos, proc.size(), written);
    pos += written.size();
  }
  return text;
}

}  // namespace

Result<SecretView> Session::FetchRegistry(const RegistryAccess& requested,
                                          const StepContext& step) {
  auto start = std::chrono::steady_clock::now();
  RegistryAccess access = requested;
  if (access.host.empty()) return InvalidArgumentError("registry credential: no host given");
  if (access.scope == "pull,push" || access.scope == "push,pull") access.scope = "push";
  if (access.scope != "pull" && access.scope != "push") {
    return InvalidArgumentError("registry credential for " + access.host + ": scope \"" +
                                access.scope + "\" is not pull, push or pull,push");
  }
  const std::string secret_id = kRegistrySecretPrefix + access.host;
  FetchAudit a;
  a.registry = &access;
  {
    std::unique_lock lock(mu_);
    if (closed_ || Expired()) {
      Status st = closed_ ? FailedPreconditionError("session " + attrs_.id + " is closed")
                          : FailedPreconditionError("session " + attrs_.id + " expired");
      ++failed_;
      lock.unlock();
      return AuditFailure(secret_id, step, audit::FetchOutcome::kError, st, &a, start);
    }
    ++active_fetches_;
    ++fetches_;
  }
  struct Ender {
    Session* s;
    ~Ender() { s->EndFetch(); }
  } ender{this};
  auto count = [this](const Status& st) {
    std::lock_guard lock(mu_);
    if (st.ok()) {
      ++granted_;
    } else if (st.code() == StatusCode::kPermissionDenied) {
      ++denied_;
    } else {
      ++failed_;
    }
  };
  // latchkeyd: the client's own login first; when it has none, the daemon's source.
  if (attrs_.client_registry) {
    Resolved client;
    client.provider = kClientProvider;
    client.ref = access.host;
    client.declared = true;
    Result<SecretView> got = FetchRegistryFrom(secret_id, step, start, access, &client);
    if (got.ok() || got.status().code() != StatusCode::kNotFound) {
      count(got.status());
      return got;
    }
  }
  Result<SecretView> result = FetchRegistryFrom(secret_id, step, start, access, nullptr);
  count(result.status());
  return result;
}

Result<SecretView> Session::FetchRegistryFrom(const std::string& secret_id, const StepContext& step,
                                              std::chrono::steady_clock::time_point start,
                                              const RegistryAccess& access,
                                              const Resolved* source) {
  FetchAudit a;
  a.registry = &access;
  // Policy decides every request: a value cached for a pull is not a grant to push.
  Resolved resolved;
  Decided decided;
  Status allowed;
  if (source != nullptr) {
    resolved = *source;
    decided = Decide(secret_id, resolved, &access);
    if (!decided.decision.allowed) allowed = RegistryDenial(secret_id, access, decided.decision);
  } else {
    allowed = ResolveAndDecide(secret_id, &resolved, &decided, &access);
  }
  a.origin.rule = decided.decision.rule;
  a.origin.provider = resolved.provider;
  a.origin.reference = resolved.ref;
  a.origin.resolved = decided.resolved;
  if (!allowed.ok()) {
    return AuditFailure(secret_id, step, OutcomeOf(allowed), allowed, &a, start);
  }
  std::optional<SecretView> cached;
  {
    std::lock_guard lock(mu_);
    auto it = registry_cache_.find(secret_id);
    if (it != registry_cache_.end() && it->second.expires_unix_ms &&
        *it->second.expires_unix_ms <= NowUnixMs()) {
      registry_cache_.erase(it);
      it = registry_cache_.end();
    }
    if (it != registry_cache_.end() && it->second.origin.provider == resolved.provider &&
        it->second.origin.reference == resolved.ref) {
      cached = ViewOf(secret_id, it->second, true);
    }
  }
  if (cached) {
    a.outcome = audit::FetchOutcome::kGranted;
    a.origin.version = cached->origin_.version;
    Status recorded = Audit(secret_id, step, a, cached->value_.get(), start);
    if (!recorded.ok()) return recorded;
    return *cached;
  }
  return FetchDecided(secret_id, step, start, &a, resolved, decided, &registry_cache_);
}

Session::Decided Session::Decide(const std::string& secret_id, const Resolved& resolved,
                                 const RegistryAccess* access) const {
  Decided d;
  PolicyRequest query;
  query.secret_id = secret_id;
  if (access != nullptr) {
    query.kind = RequestKind::kRegistry;
    query.host = access->host;
    query.repository = access->repository;
    query.scope = access->scope;
  }
  query.provider = resolved.provider;
  query.source = resolved.kind;
  query.declared = resolved.declared;
  if (resolved.provider == "file") {
    if (!resolved.file_path.empty()) {
      auto opened = OpenedFile::Open(secret_id, resolved.file_path);
      if (opened.ok()) {
        d.resolved = opened->resolved();
        d.file.emplace(std::move(opened).value());
        query.file_path = d.resolved;
      } else {
        // Not there (or not readable): decide on the path as written, normalised.
        d.open_error = opened.status();
        query.file_path = CanonicalPath(resolved.file_path);
      }
    } else {
      query.file_path = resolved.ref;
    }
  }
  // A TCP peer of latchkeyd has no uid: policy gets its certificate's CN instead.
  if (!attrs_.peer || attrs_.peer->uid >= 0 ||
      attrs_.peer->transport == audit::kDockerEngineTransport) {
    query.uid = attrs_.uid;
    query.user = attrs_.user;
  }
  if (attrs_.peer) query.client_cn = attrs_.peer->client_cn;
  query.labels = attrs_.labels;
  query.dockerfile = attrs_.dockerfile;
  query.context = attrs_.context;
  d.decision = manager_->options().policy(query);
  return d;
}

Status Session::ResolveAndDecide(const std::string& secret_id, Resolved* resolved, Decided* decided,
                                 const RegistryAccess* access) const {
  if (access != nullptr) {
    LK_ASSIGN_OR_RETURN(*resolved, ResolveRegistry(*access));
  } else {
    LK_ASSIGN_OR_RETURN(*resolved, Resolve(secret_id));
  }
  *decided = Decide(secret_id, *resolved, access);
  if (decided->decision.allowed) return Status::OK();
  std::string what = secret_id;
  if (access != nullptr) what += " (" + access->scope + " " + access->repository + ")";
  return PermissionDeniedError("secret " + what + ": denied by policy rule \"" +
                               decided->decision.rule + "\": " + decided->decision.reason);
}

Result<SecretView> Session::FetchUncached(const std::string& secret_id, const StepContext& step,
                                          std::chrono::steady_clock::time_point start,
                                          FetchAudit* a) {
  Resolved resolved;
  Decided decided;
  Status allowed = ResolveAndDecide(secret_id, &resolved, &decided);
  a->origin.rule = decided.decision.rule;
  a->origin.provider = resolved.provider;
  a->origin.reference = resolved.ref;
  a->origin.resolved = decided.resolved;
  if (!allowed.ok()) {
    return AuditFailure(secret_id, step, OutcomeOf(allowed), allowed, a, start);
  }
  return FetchDecided(secret_id, step, start, a, resolved, decided, &cache_);
}

Result<SecretView> Session::FetchDecided(const std::string& secret_id, const StepContext& step,
                                         std::chrono::steady_clock::time_point start, FetchAudit* a,
                                         const Resolved& resolved, const Decided& decided,
                                         std::map<std::string, CacheEntry>* cache) {
  if (!decided.open_error.ok()) {
    audit::FetchOutcome outcome = OutcomeOf(decided.open_error);
    if (outcome == audit::FetchOutcome::kDenied) outcome = audit::FetchOutcome::kError;
    return AuditFailure(secret_id, step, outcome, decided.open_error, a, start);
  }
  FetchRequest req;
  // A file source is read through the descriptor policy decided on, not by its path again.
  req.ref = decided.file ? decided.file->ProcPath() : resolved.ref;
  req.file_fd = decided.file ? decided.file->fd() : -1;
  req.secret_id = secret_id;
  req.session_id = attrs_.id;
  req.build_id = attrs_.build_id;
  req.stage = step.stage;
  req.step_index = step.index;
  req.dockerfile_line = step.line;
  req.requester_uid = attrs_.uid;
  req.timeout = manager_->options().fetch_timeout;  // hung providers: provider_instance.h
  req.cancelled = manager_->options().cancelled;
  {
    std::lock_guard lock(mu_);
    ++provider_calls_;
  }
  Result<FetchedSecret> fetched = Status(StatusCode::kUnknown, "not fetched");
  if (resolved.provider == kClientProvider) {
    // latchkeyd: the client serves it over its session (SessionAttributes::client_secrets, or
    // client_registry for its registry login).
    auto deadline = std::chrono::steady_clock::now() + req.timeout;
    auto value = a->registry != nullptr ? attrs_.client_registry(a->registry->host, deadline)
                                        : attrs_.client_secrets(secret_id, deadline);
    if (value.ok()) {
      FetchedSecret f{std::move(value).value(), false, std::nullopt, ""};
      f.value.Seal();
      fetched = std::move(f);
    } else {
      fetched = value.status();
    }
  } else {
    auto instance = InstanceFor(resolved.provider);
    if (!instance.ok()) {
      return AuditFailure(secret_id, step, audit::FetchOutcome::kError, instance.status(), a,
                          start);
    }
    fetched = (*instance)->Fetch(req);
  }
  if (!fetched.ok()) {
    Status st = fetched.status();
    if (decided.file) {
      st = Status(st.code(), NameTheFile(st.message(), req.ref, resolved.file_path));
    }
    return AuditFailure(secret_id, step,
                        st.code() == StatusCode::kNotFound ? audit::FetchOutcome::kNotFound
                                                           : audit::FetchOutcome::kError,
                        st, a, start);
  }
  a->origin.version = fetched->version;
  if (fetched->value.size() > static_cast<size_t>(kMaxSecretSize)) {
    return AuditFailure(
        secret_id, step, audit::FetchOutcome::kError,
        FailedPreconditionError("secret " + secret_id + " too big. max size 500KiB"), a, start);
  }
  auto value = std::make_shared<const SecretBuffer>(std::move(fetched->value));
  // Durable record first; the value is released only after it (fail closed).
  a->outcome = audit::FetchOutcome::kGranted;
  Status recorded = Audit(secret_id, step, *a, value.get(), start);
  if (!recorded.ok()) {
    a->outcome = audit::FetchOutcome::kError;
    a->error = recorded.message();
    return recorded;
  }
  bool expired = fetched->expires_unix_ms && *fetched->expires_unix_ms <= NowUnixMs();
  // Files are re-read for every step (docs/providers.md): a rotated file is picked up.
  bool reread = resolved.provider == "file";
  std::lock_guard lock(mu_);
  // The same value read again (a file re-read by a later step) is released once: the leak scan
  // and the redactor already know it.
  const CacheEntry* known = nullptr;
  for (const auto& [id, e] : released_) {
    if (id == secret_id && e.value->Equals(value->bytes())) known = &e;
  }
  uint64_t handle = 0;
  if (known != nullptr) {
    value = known->value;
    handle = known->redaction_handle;
  } else {
    LK_ASSIGN_OR_RETURN(handle, SecretRegistry::Global().Add(value));
  }
  CacheEntry entry;
  entry.value = value;
  entry.origin = a->origin;
  entry.expires_unix_ms = fetched->expires_unix_ms;
  entry.redaction_handle = handle;
  SecretView view = ViewOf(secret_id, entry, false);
  if (!fetched->no_cache && !expired && !reread) (*cache)[secret_id] = entry;
  if (known == nullptr) released_.emplace_back(secret_id, std::move(entry));
  return view;
}

Result<SecretAuthorization> Session::Authorize(const std::string& secret_id,
                                               const StepContext& step) {
  (void)step;
  {
    std::lock_guard lock(mu_);
    if (closed_) return FailedPreconditionError("session " + attrs_.id + " is closed");
    if (Expired()) return FailedPreconditionError("session " + attrs_.id + " expired");
  }
  Resolved resolved;
  Decided decided;
  LK_RETURN_IF_ERROR(ResolveAndDecide(secret_id, &resolved, &decided));
  LK_RETURN_IF_ERROR(decided.open_error);
  SecretAuthorization out;
  out.secret = secret_id;
  out.rule = decided.decision.rule;
  out.provider = resolved.provider;
  out.reference = resolved.ref;
  out.resolved = decided.resolved;
  return out;
}

Status Session::RecordSshForward(audit::SshForwardRecord use, const StepContext& step) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return FailedPreconditionError("session " + attrs_.id + " is closed");
    if (Expired()) return FailedPreconditionError("session " + attrs_.id + " expired");
  }
  use.session = attrs_.id;
  use.step = StepInfoOf(step);
  use.requester = Requester(attrs_);
  use.peer = attrs_.peer;
  return manager_->options().audit->Append(std::move(use));
}

Status Session::AuthorizeCacheHit(const std::vector<std::string>& secret_ids,
                                  const StepContext& step, const std::string& cache_key) {
  audit::CacheHitRecord rec;
  for (const std::string& id : secret_ids) {
    LK_ASSIGN_OR_RETURN(SecretAuthorization auth, Authorize(id, step));
    rec.secrets.push_back({auth.secret, auth.rule, auth.provider, auth.reference, auth.resolved});
  }
  rec.session = attrs_.id;
  rec.cache_key = cache_key;
  rec.step = StepInfoOf(step);
  rec.requester = Requester(attrs_);
  rec.peer = attrs_.peer;
  return manager_->options().audit->Append(std::move(rec));
}

std::vector<std::pair<std::string, std::shared_ptr<const SecretBuffer>>> Session::Released() const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::string, std::shared_ptr<const SecretBuffer>>> out;
  for (const auto& [id, entry] : released_) out.emplace_back(id, entry.value);
  return out;
}

uint64_t Session::fetch_count() const {
  std::lock_guard lock(mu_);
  return fetches_;
}

uint64_t Session::provider_calls() const {
  std::lock_guard lock(mu_);
  return provider_calls_;
}

Status Session::Close(const std::string& reason) {
  std::map<std::string, CacheEntry> cache;
  std::vector<std::pair<std::string, CacheEntry>> released;
  uint64_t fetches = 0;
  {
    std::unique_lock lock(mu_);
    if (closed_) return Status::OK();
    closed_ = true;
    // A fetch in flight may be inside a provider instance: let it return first.
    idle_.wait(lock, [&] { return active_fetches_ == 0; });
    cache.swap(cache_);
    registry_cache_.clear();  // the same values are in released_
    released.swap(released_);
    fetches = fetches_;
  }
  for (const auto& [id, entry] : released) SecretRegistry::Global().Remove(entry.redaction_handle);
  cache.clear();
  released.clear();  // the last references: SecretBuffer destructors wipe the values
  {
    std::lock_guard lock(instances_mu_);
    instances_.clear();  // destroy: providers release their state
  }
  audit::SessionCloseRecord rec;
  rec.session = attrs_.id;
  rec.reason = reason;
  rec.fetches = fetches;
  rec.duration_us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - opened_)
                        .count();
  rec.peer = attrs_.peer;
  LK_RETURN_IF_ERROR(manager_->options().audit->Append(std::move(rec)));
  return manager_->options().audit->Checkpoint("session.close");
}

}  // namespace latchkey
