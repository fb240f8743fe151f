#include "broker/provider_server.h"

#include <spdlog/sinks/base_sink.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <mutex>

#include "broker/host_protocol.h"
#include "broker/logging.h"
#include "broker/plugin_loader.h"
#include "broker/provider_instance.h"

namespace latchkey {
namespace {

using hostproto::Decoder;
using hostproto::Encoder;
using hostproto::FrameChannel;
using hostproto::Type;

// Sends every log line to the broker as a LOG frame.
class LogFrameSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit LogFrameSink(FrameChannel* channel) : channel_(channel) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    Encoder e;
    e.U32(static_cast<uint32_t>(msg.level));
    e.Str(std::string_view(msg.payload.data(), msg.payload.size()));
    (void)channel_->Send(Type::kLog, e.out());
  }
  void flush_() override {}

 private:
  FrameChannel* channel_;
};

Status SendError(FrameChannel& ch, const Status& st) {
  Encoder e;
  e.U32(static_cast<uint32_t>(st.code()));
  e.Str(st.message());
  return ch.Send(Type::kError, e.out());
}

// The SECRET frame for `s`: its plain metadata, then the value sent straight from its own
// SecretBuffer (no second secure copy on this side).
Status SendSecret(FrameChannel& ch, const FetchedSecret& s) {
  Encoder meta;
  meta.U32(s.no_cache ? 1u : 0u);
  meta.I64(s.expires_unix_ms.value_or(0));
  meta.Str(s.version);
  meta.U32(static_cast<uint32_t>(s.value.size()));
  const std::span<const uint8_t> parts[2] = {meta.out(), s.value.bytes()};
  return ch.SendParts(Type::kSecret, parts);
}

std::chrono::steady_clock::time_point SteadyFromUnixMs(int64_t ms) {
  auto wall = std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
  return std::chrono::steady_clock::now() +
         std::chrono::duration_cast<std::chrono::steady_clock::duration>(
             wall - std::chrono::system_clock::now());
}

// Replaces `from` (a /proc/self/fd/N path, not followed by another digit) with `to`.
std::string ReplaceRef(std::string text, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = text.find(from, pos)) != std::string::npos;) {
    size_t end = pos + from.size();
    if (end < text.size() && text[end] >= '0' && text[end] <= '9') {
      pos = end;
      continue;
    }
    text.replace(pos, from.size(), to);
    pos += to.size();
  }
  return text;
}

Status ServeFetch(FrameChannel& ch, ProviderInstance& instance, hostproto::Frame& frame) {
  Decoder d(frame.payload());
  FetchRequest req;
  req.ref = d.Str();
  req.secret_id = d.Str();
  req.session_id = d.Str();
  req.build_id = d.Str();
  req.stage = d.Str();
  req.step_index = d.U32();
  req.dockerfile_line = d.U32();
  req.requester_uid = d.U32();
  int64_t deadline_ms = d.I64();
  uint64_t timeout_ms = d.U64();
  if (!d.ok() || !d.at_end()) return DataLossError("malformed FETCH frame");
  if (deadline_ms != 0) req.deadline = SteadyFromUnixMs(deadline_ms);
  req.timeout = std::chrono::milliseconds(timeout_ms);
  req.direct = true;  // the broker enforces the deadline by stopping this process
  std::string broker_ref;
  if (frame.fd.valid()) {
    // A file the broker opened: read it through this process's own descriptor.
    broker_ref = req.ref;
    req.ref = "/proc/self/fd/" + std::to_string(frame.fd.get());
    req.file_fd = frame.fd.get();
  }
  Result<FetchedSecret> fetched = instance.Fetch(req);
  frame.fd.reset();
  if (!fetched.ok()) {
    // Messages name the broker's descriptor path, which the broker maps to the user's path.
    Status st = fetched.status();
    if (!broker_ref.empty()) st = Status(st.code(), ReplaceRef(st.message(), req.ref, broker_ref));
    return SendError(ch, st);
  }
  return SendSecret(ch, *fetched);  // `fetched` (and its buffer) is wiped on return
}

Result<std::vector<ConfigValue>> DecodeConfig(const hostproto::Frame& frame) {
  Decoder d(frame.payload());
  uint32_t n = d.U32();
  std::vector<ConfigValue> config;
  for (uint32_t i = 0; i < n && d.ok(); ++i) {
    std::string key = d.Str();
    auto value = d.Bytes();
    if (!d.ok()) break;
    LK_ASSIGN_OR_RETURN(SecretBuffer v, SecretBuffer::CopyOf(value));
    config.push_back(ConfigValue::Secret(std::move(key), std::move(v)));
  }
  if (!d.ok() || !d.at_end()) return DataLossError("malformed CREATE frame");
  return config;
}

}  // namespace

int ServeProvider(int sock, const ProviderServerOptions& options) {
  FrameChannel ch{base::UniqueFd(sock)};
  LogOptions log;
  log.level = "debug";
  log.sink = std::make_shared<LogFrameSink>(&ch);
  (void)InitLogging(log);

  PluginLoadOptions load;
  load.sha256_pin = options.sha256_pin;
  load.hash_unpinned = false;  // the broker gets no digest from the host: only a pin needs one
  auto library = PluginLoader::Load(options.plugin_path, load);
  if (!library.ok()) {
    (void)SendError(ch, library.status());
    return kHostExitLoadFailed;
  }
  {
    Encoder e;
    e.Str((*library)->name());
    e.Str((*library)->version());
    const lk_provider_api* api = (*library)->api();
    e.U32(api->threading);
    e.U64(api->capabilities);
    e.U32((*library)->effective_minor());
    // The config keys it declares (the broker adds the caller's environment only when asked).
    uint32_t n = api->config_keys == nullptr ? 0 : static_cast<uint32_t>(api->config_key_count);
    e.U32(n);
    for (uint32_t i = 0; i < n; ++i) {
      e.Str(api->config_keys[i].key != nullptr ? api->config_keys[i].key : "");
    }
    if (!ch.Send(Type::kReady, e.out()).ok()) return kHostExitOk;
  }
  auto create = ch.Receive(std::nullopt);
  if (!create.ok())
    return create.status().code() == StatusCode::kUnavailable ? kHostExitOk : kHostExitProtocol;
  if (create->type != Type::kCreate) return kHostExitProtocol;
  auto config = DecodeConfig(*create);
  if (!config.ok()) return kHostExitProtocol;
  auto instance = ProviderInstance::Create(*library, *config);
  config->clear();
  *create = hostproto::Frame();
  if (!instance.ok()) {
    (void)SendError(ch, instance.status());
    return kHostExitCreateFailed;
  }
  if (!ch.Send(Type::kOk, {}).ok()) return kHostExitOk;

  for (;;) {
    auto frame = ch.Receive(std::nullopt);
    if (!frame.ok()) {
      return frame.status().code() == StatusCode::kUnavailable ? kHostExitOk : kHostExitProtocol;
    }
    Status sent;
    switch (frame->type) {
      case Type::kFetch:
        sent = ServeFetch(ch, **instance, *frame);
        if (sent.code() == StatusCode::kDataLoss) return kHostExitProtocol;
        break;
      case Type::kList: {
        auto refs = (*instance)->List();
        if (!refs.ok()) {
          sent = SendError(ch, refs.status());
        } else {
          Encoder e;
          e.U32(static_cast<uint32_t>(refs->size()));
          for (const auto& r : *refs) e.Str(r);
          sent = ch.Send(Type::kRefs, e.out());
        }
        break;
      }
      case Type::kHealth: {
        Status h = (*instance)->Health();
        sent = h.ok() ? ch.Send(Type::kOk, {}) : SendError(ch, h);
        break;
      }
      default:
        return kHostExitProtocol;
    }
    if (!sent.ok()) return kHostExitOk;  // the broker is gone
  }
}

}  // namespace latchkey
