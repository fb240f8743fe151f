#include "broker/broker.h"

#include <filesystem>

#include "broker/audit/audit_file.h"
#include "broker/audit/audit_keys.h"
#include "broker/audit_locations.h"
#include "broker/logging.h"

namespace latchkey {

audit::FsyncMode ToFsyncMode(AuditFsync fsync) {
  switch (fsync) {
    case AuditFsync::kPerRecord:
      return audit::FsyncMode::kPerRecord;
    case AuditFsync::kGroup:
      return audit::FsyncMode::kGroup;
    case AuditFsync::kNone:
      return audit::FsyncMode::kNone;
  }
  return audit::FsyncMode::kGroup;
}

Broker::~Broker() {
  sessions_.reset();
  audit_.reset();
}

Result<std::unique_ptr<Broker>> Broker::Start(const Config& config, const BrokerOptions& options) {
  std::unique_ptr<Broker> broker(new Broker());
  broker->config_ = config;

  // The same resolution as `latchkey audit ...` (broker/audit_locations.h).
  AuditLocations where = ResolveAuditLocations(config);
  std::string key_dir = std::filesystem::path(where.keys.signing).parent_path().string();
  // Several builds may start at once on a fresh state directory: with key creation allowed,
  // load (and, when missing, create) the keys under a lock, so that no process reads a key
  // file another one is still writing, and all of them end up with the same keys.
  std::shared_ptr<void> key_lock;
  if (options.create_missing_keys) {
    auto fs = audit::PosixAuditFs();
    LK_RETURN_IF_ERROR(fs->CreateDirs(key_dir));
    LK_ASSIGN_OR_RETURN(key_lock, fs->LockExclusive(key_dir + "/audit-keys.lock"));
  }
  auto keys = audit::LoadKeys(where.keys);
  if (!keys.ok() && keys.status().code() == StatusCode::kNotFound && options.create_missing_keys) {
    Status missing = keys.status();
    keys = audit::WriteNewKeys(where.keys, /*force=*/false);
    // Some of the files exist (a configured HMAC key file is missing, say): report the
    // missing one rather than creating a mismatched set.
    if (!keys.ok() && keys.status().code() == StatusCode::kAlreadyExists) keys = missing;
    if (keys.ok()) {
      GetLogger("broker")->info("created audit keys in {} (public key {})", key_dir, keys->key_id);
    }
  }
  key_lock.reset();
  if (!keys.ok()) return keys.status();

  audit::AuditOptions ao;
  ao.path = where.log;
  ao.fsync = ToFsyncMode(config.audit.fsync);
  ao.write_timeout = config.audit.timeout;
  ao.checkpoint_every = config.audit.checkpoint_interval;
  ao.max_bytes = config.audit.rotation_max_bytes;
  ao.max_files = static_cast<int>(config.audit.rotation_max_files);
  LK_ASSIGN_OR_RETURN(
      broker->audit_,
      audit::AuditLog::Open(ao, std::make_shared<const audit::AuditKeys>(std::move(*keys))));

  LK_ASSIGN_OR_RETURN(broker->sessions_,
                      MakeSessionManager(broker->config_, &broker->config_.policy,
                                         broker->audit_.get(), options.cancelled));
  return broker;
}

Result<std::unique_ptr<SessionManager>> MakeSessionManager(const Config& config,
                                                           const Policy* policy,
                                                           audit::AuditLog* audit,
                                                           const std::atomic<bool>* cancelled) {
  SessionManagerOptions so;
  for (const auto& p : config.plugins) {
    ProviderSpec spec;
    spec.name = p.name;
    spec.path = p.path;
    spec.sha256_pin = p.sha256;
    spec.isolation = p.isolation;
    spec.max_crashes = p.max_crashes;
    spec.crash_window = p.crash_window;
    spec.uid = p.uid;
    spec.gid = p.gid;
    spec.keep_fds = p.keep_fds;
    for (const auto& [key, value] : p.config) spec.config.push_back(ConfigValue::Text(key, value));
    so.providers.push_back(std::move(spec));
  }
  for (const auto& binding : config.secrets) {
    so.secrets[binding.id] = ConfiguredSecret{binding.provider, binding.ref};
  }
  for (const auto& r : config.registries) {
    if (!r.provider.empty()) so.registries[r.host] = ConfiguredSecret{r.provider, r.ref};
  }
  so.policy = [policy](const PolicyRequest& request) { return policy->Decide(request); };
  so.audit = audit;
  so.fetch_timeout = config.fetch_timeout;
  so.cancelled = cancelled;
  so.provider_host = config.provider_host;
  return SessionManager::Create(std::move(so));
}

SecretFlagContext Broker::FlagContext(EnvNames env, std::string cwd) const {
  SecretFlagContext ctx;
  ctx.env = std::move(env);
  ctx.cwd = std::move(cwd);
  ctx.provider_dir = config_.provider_dir;
  for (const auto& p : config_.plugins) {
    if (p.name != "file" && p.name != "env") ctx.providers.insert(p.name);
  }
  return ctx;
}

}  // namespace latchkey
