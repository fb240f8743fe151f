#include "daemon/daemon.h"

#include <grpcpp/security/server_credentials.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "base/file.h"
#include "broker/logging.h"

namespace latchkey::daemon {
namespace {

// The PEM text of `path` given as `flag`, checked to hold `marker`.
Result<std::string> ReadPem(const std::string& flag, const std::string& path, const char* marker,
                            const char* what) {
  auto text = base::ReadFile(path);
  if (!text.ok()) {
    return FailedPreconditionError("cannot read " + flag + " " + path + ": " +
                                   text.status().message());
  }
  if (text->find(marker) == std::string::npos) {
    return InvalidArgumentError(flag + " " + path + " is not a PEM " + what);
  }
  return std::move(*text);
}

// Mutual TLS: the client must present a certificate the CA signed.
Result<std::shared_ptr<grpc::ServerCredentials>> TlsCredentials(const TlsFiles& tls) {
  grpc::SslServerCredentialsOptions opts(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  LK_ASSIGN_OR_RETURN(opts.pem_root_certs,
                      ReadPem("--tls-ca", tls.ca, "-----BEGIN CERTIFICATE-----", "certificate"));
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  LK_ASSIGN_OR_RETURN(pair.cert_chain, ReadPem("--tls-cert", tls.cert,
                                               "-----BEGIN CERTIFICATE-----", "certificate"));
  LK_ASSIGN_OR_RETURN(pair.private_key,
                      ReadPem("--tls-key", tls.key, "PRIVATE KEY-----", "private key"));
  opts.pem_key_cert_pairs.push_back(std::move(pair));
  return grpc::SslServerCredentials(opts);
}

}  // namespace

Result<std::unique_ptr<Daemon>> Daemon::Start(DaemonOptions options) {
  std::vector<const ListenAddress*> tcp;
  for (const auto& a : options.listen) {
    if (a.kind == ListenAddress::Kind::kTcp) tcp.push_back(&a);
  }
  if (!tcp.empty() &&
      (options.tls.cert.empty() || options.tls.key.empty() || options.tls.ca.empty())) {
    return InvalidArgumentError("--listen tcp://" + tcp.front()->hostport +
                                ": needs --tls-cert, --tls-key and --tls-ca");
  }
  std::shared_ptr<grpc::ServerCredentials> tls;
  if (!tcp.empty()) {
    LK_ASSIGN_OR_RETURN(tls, TlsCredentials(options.tls));
  }

  LK_RETURN_IF_ERROR(base::MakeDirs(options.info.state_dir, 0700));
  LK_ASSIGN_OR_RETURN(StateDirLock lock, StateDirLock::Acquire(options.info.state_dir));
  std::unique_ptr<Daemon> d(new Daemon(std::move(lock)));
  // The sockets first (nothing is accepted before the server starts): a socket that cannot be
  // served stops the start before the broker creates anything (audit keys, the log).
  for (int fd : options.activated_fds) {
    LK_ASSIGN_OR_RETURN(auto l, UnixListener::Adopt(fd));
    d->listeners_.push_back(std::move(l));
  }
  for (const auto& a : options.listen) {
    if (a.kind != ListenAddress::Kind::kUnix) continue;
    LK_ASSIGN_OR_RETURN(auto l, UnixListener::Open(a.path));
    d->listeners_.push_back(std::move(l));
  }
  LK_ASSIGN_OR_RETURN(d->broker_, BrokerHost::Start(options.config));
  if (options.recover) {
    LK_RETURN_IF_ERROR(options.recover(*d->broker_, d->lock_.previous_pid()));
  }
  d->access_.Set(options.config.daemon);
  LK_ASSIGN_OR_RETURN(image::ImageStore store, image::ImageStore::Open(options.builder_state_dir));
  d->images_.emplace(std::move(store));
  options.info.providers = d->broker_->ProviderNames();
  d->control_ =
      std::make_unique<ControlService>(options.info, &d->sessions_, &*d->images_, &d->peers_);
  d->control_->SetBuildRunner(options.builds, d->broker_.get(), &d->running_builds_);
  grpc::ServerBuilder builder;
  builder.RegisterService(d->control_.get());
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, kMaxConnectionIdleMs);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMs);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA,
                             0);  // a stalled stream sends none
  builder.SetMaxReceiveMessageSize(kMaxReceiveMessageBytes);
  // One completion queue and at most two polling threads for the synchronous handlers
  // (Info, Images, RemoveImage, DiskUsage, Prune, Build); Session uses the callback API.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::NUM_CQS, 1);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 2);
  std::vector<int> ports(tcp.size(), 0);
  for (size_t i = 0; i < tcp.size(); ++i) {
    builder.AddListeningPort(tcp[i]->hostport, tls, &ports[i]);
  }
  d->server_ = builder.BuildAndStart();
  for (size_t i = 0; i < tcp.size(); ++i) {
    if (ports[i] == 0) {
      return UnavailableError("cannot listen on tcp://" + tcp[i]->hostport +
                              " (address in use or not local)");
    }
  }
  if (d->server_ == nullptr) return InternalError("cannot start the gRPC server");
  LK_ASSIGN_OR_RETURN(d->refusal_, RefusalServer::Start());
  for (auto& l : d->listeners_) {
    l->Start(d->server_.get(), &d->peers_, &d->access_, d->refusal_.get());
    d->addresses_.push_back("unix://" + l->path());
  }
  for (size_t i = 0; i < tcp.size(); ++i) {
    const std::string& hp = tcp[i]->hostport;
    d->addresses_.push_back("tcp://" + hp.substr(0, hp.rfind(':')) + ":" +
                            std::to_string(ports[i]));
  }
  d->started_ = true;
  return d;
}

Status Daemon::Reload(const Config& config) {
  LK_RETURN_IF_ERROR(broker_->Reload(config));
  access_.Set(config.daemon);
  control_->SetProviders(broker_->ProviderNames());
  return Status::OK();
}

Status Daemon::Shutdown() {
  if (stopped_) return Status::OK();
  stopped_ = true;
  for (auto& l : listeners_) l->Stop();
  // Running builds first: each ends cancelled (its broker session closed) while its client
  // session still answers, and before the checkpoint below.
  running_builds_.CancelAll();
  sessions_.CloseAll();
  if (server_) {
    // gRPC's Shutdown waits for every handler, and a Build handler whose client stopped reading
    // is stuck in a Write that neither the deadline nor TryCancel ends (the socket's send
    // buffer is full, so not even a keepalive ping goes out). Past the grace, the client
    // connections are shut down under gRPC, which ends those writes.
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    std::thread watchdog([&] {
      std::unique_lock<std::mutex> lock(mu);
      if (cv.wait_for(lock, std::chrono::seconds(6), [&] { return done; })) return;
      int n = peers_.ShutdownConnections();
      GetLogger("latchkeyd")
          ->warn("stopping: {} client connection(s) still open after the grace; shut down", n);
    });
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    server_->Wait();
    {
      std::lock_guard<std::mutex> lock(mu);
      done = true;
    }
    cv.notify_all();
    watchdog.join();
  }
  if (refusal_) refusal_->Shutdown();
  Status st = Status::OK();
  if (broker_) st = broker_->audit().Checkpoint("shutdown");
  Status marked = lock_.MarkStopped(started_ ? 0 : lock_.previous_pid());
  return st.ok() ? marked : st;
}

Daemon::~Daemon() { (void)Shutdown(); }

}  // namespace latchkey::daemon
