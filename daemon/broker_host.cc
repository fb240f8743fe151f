#include "daemon/broker_host.h"

namespace latchkey::daemon {

Result<std::unique_ptr<BrokerHost>> BrokerHost::Start(const Config& config,
                                                      const std::atomic<bool>* cancelled) {
  std::unique_ptr<BrokerHost> host(new BrokerHost());
  host->cancelled_ = cancelled;
  BrokerOptions options;
  options.cancelled = cancelled;
  LK_ASSIGN_OR_RETURN(host->broker_, Broker::Start(config, options));
  LK_ASSIGN_OR_RETURN(host->current_, host->MakeGeneration(config));
  return host;
}

Result<std::shared_ptr<BrokerHost::Generation>> BrokerHost::MakeGeneration(const Config& config) {
  auto gen = std::make_shared<Generation>();
  gen->config = std::make_shared<const Config>(config);
  LK_ASSIGN_OR_RETURN(gen->sessions, MakeSessionManager(*gen->config, &gen->config->policy,
                                                        &broker_->audit(), cancelled_));
  return gen;
}

Status BrokerHost::Reload(const Config& config) {
  LK_ASSIGN_OR_RETURN(auto gen, MakeGeneration(config));
  std::lock_guard lock(mu_);
  current_ = std::move(gen);
  return Status::OK();
}

std::shared_ptr<BrokerHost::Generation> BrokerHost::Current() const {
  std::lock_guard lock(mu_);
  return current_;
}

Result<std::shared_ptr<Session>> BrokerHost::Open(SessionAttributes attrs) {
  std::shared_ptr<Generation> gen = Current();
  LK_ASSIGN_OR_RETURN(std::shared_ptr<Session> session, gen->sessions->Open(std::move(attrs)));
  Session* raw = session.get();
  // The caller's pointer owns the session, then the generation its manager belongs to.
  return std::shared_ptr<Session>(raw, [session, gen](Session*) mutable {
    session.reset();
    gen.reset();
  });
}

std::shared_ptr<const Config> BrokerHost::config() const { return Current()->config; }

std::vector<std::string> BrokerHost::ProviderNames() const {
  return Current()->sessions->ProviderNames();
}

}  // namespace latchkey::daemon
