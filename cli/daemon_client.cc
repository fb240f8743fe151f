#include "cli/daemon_client.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <iostream>
#include <optional>

#include "api/latchkey/v1/control.grpc.pb.h"
#include "base/unique_fd.h"
#include "base/unix_address.h"
#include "builder/image/digest.h"
#include "builder/image/export_spec.h"
#include "builder/image/image_ref.h"
#include "cli/cli_setup.h"
#include "cli/table.h"

namespace latchkey::cli {

void AddHostOption(CLI::App* app, GlobalOptions* global) {
  app->add_option("--host", global->host,
                  "latchkeyd to run through, unix:///path, or embedded (default: "
                  "$LATCHKEY_HOST, else the configuration's host:, else embedded)")
      ->each([global](const std::string&) { global->host_given = true; });
}

namespace {

// The decision of --host and $LATCHKEY_HOST; nullopt when neither is set.
std::optional<HostChoice> FlagOrEnvHost(const GlobalOptions& global, const EnvLookup& env) {
  if (global.host_given || !global.host.empty()) {
    if (global.host.empty() || global.host == kEmbeddedHost) return HostChoice{};
    return HostChoice{global.host, ""};
  }
  const char* e = env(kHostEnvVar);
  if (e == nullptr || *e == '\0') return std::nullopt;
  if (std::string_view(e) == kEmbeddedHost) return HostChoice{};
  return HostChoice{e, ""};
}

}  // namespace

HostChoice ChooseHost(const GlobalOptions& global, const Config& config, const EnvLookup& env) {
  if (auto h = FlagOrEnvHost(global, env)) return *h;
  if (config.host.empty() || config.host == kEmbeddedHost) return HostChoice{};
  return HostChoice{config.host, "host: in " + config.host_where.ToString()};
}

Result<HostChoice> ChooseHost(const GlobalOptions& global) {
  if (auto h = FlagOrEnvHost(global, std::getenv)) return *h;
  LK_ASSIGN_OR_RETURN(Config config, LoadProcessConfig(global));
  return ChooseHost(global, config, std::getenv);
}

bool ExplicitDaemonHost(const GlobalOptions& global, const EnvLookup& env) {
  auto h = FlagOrEnvHost(global, env);
  return h.has_value() && !h->host.empty();
}

Result<std::string> ParseHost(const std::string& host) {
  constexpr std::string_view kScheme = "unix://";
  if (host.compare(0, kScheme.size(), kScheme) != 0 || host.size() <= kScheme.size() ||
      host[kScheme.size()] != '/') {
    return InvalidArgumentError("invalid --host " + host + ": want unix:///absolute/path");
  }
  return host.substr(kScheme.size());
}

Result<std::shared_ptr<grpc::Channel>> ConnectDaemon(const std::string& host,
                                                     const std::string& origin) {
  LK_ASSIGN_OR_RETURN(std::string path, ParseHost(host));
  auto addr = base::UnixAddress(path);
  if (!addr) {
    return InvalidArgumentError("invalid --host " + host + ": the path is longer than " +
                                std::to_string(base::kMaxUnixPathBytes) + " bytes");
  }
  base::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid() ||
      ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) != 0) {
    return UnavailableError("cannot reach latchkeyd at " + host +
                            (origin.empty() ? "" : " (" + origin + ")") + ": " +
                            std::strerror(errno));
  }
  grpc::ChannelArguments args;
  // A build's progress stream may carry large log events.
  args.SetMaxReceiveMessageSize(64 << 20);
  return grpc::CreateCustomChannel("unix:" + path, grpc::InsecureChannelCredentials(), args);
}

Status DaemonCallError(const grpc::Status& status) {
  // The daemon says why it ends the call (a build it cancelled at SIGTERM): keep its words.
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
      status.error_message().rfind("latchkeyd is shutting down", 0) == 0) {
    return UnavailableError(status.error_message());
  }
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      (status.error_code() == grpc::StatusCode::CANCELLED &&
       status.error_message().find("RST_STREAM") != std::string::npos)) {
    return UnavailableError("latchkeyd connection lost");
  }
  return Status(static_cast<StatusCode>(status.error_code()), status.error_message());
}

int RunRemoteImages(const HostChoice& host, bool no_trunc) {
  auto channel = ConnectDaemon(host.host, host.origin);
  if (!channel.ok()) return FailFlags(channel.status());
  latchkey::v1::ImagesResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st =
      latchkey::v1::Control::NewStub(*channel)->Images(&ctx, latchkey::v1::ImagesRequest(), &resp);
  if (!st.ok()) return Fail(DaemonCallError(st));
  std::vector<std::vector<std::string>> rows = {
      {"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"}};
  for (const auto& i : resp.images()) {
    size_t colon = i.ref().rfind(':');
    std::string id = std::string(image::DigestHex(i.id()));
    if (!no_trunc) id = id.substr(0, 12);
    rows.push_back({i.ref().substr(0, colon), i.ref().substr(colon + 1), id,
                    i.created().empty() ? "-" : i.created(), image::HumanSize(i.size())});
  }
  std::cout << FormatTable(rows);
  return kExitOk;
}

int RunRemoteRemove(const HostChoice& host, const std::string& ref) {
  auto channel = ConnectDaemon(host.host, host.origin);
  if (!channel.ok()) return FailFlags(channel.status());
  latchkey::v1::RemoveImageRequest req;
  req.set_ref(ref);
  latchkey::v1::RemoveImageResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = latchkey::v1::Control::NewStub(*channel)->RemoveImage(&ctx, req, &resp);
  if (!st.ok()) return Fail(DaemonCallError(st));
  std::cout << "Untagged: " << image::ParseImageRef(ref)->ToString() << "\n";
  return kExitOk;
}

}  // namespace latchkey::cli
