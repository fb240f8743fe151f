// ProcessProvider: a provider whose plugin runs in its own latchkey-provider-host process
// (isolation: process; docs/plugin-abi.md, "Process isolation"), reached over a socketpair
// with the frames of host_protocol.h. The plugin cannot crash, hang or read the broker.
//
// Lifecycle: Create starts the host (fork+exec through posix_spawn with a clean environment,
// the socket on fd 3 and the configured `keep_fds`), waits for READY (or the loader's error,
// passed on verbatim) and sends the validated config (CREATE). Calls are serialised per host.
// When the host dies, hangs or breaks the protocol, the call fails with one of the messages
// below and the host is gone; the next call starts a fresh one — unless the provider crashed
// more than `max_crashes` times within `crash_window` (CrashTracker, shared by every session of
// the broker), which puts it in back-off until enough crashes age out of the window.
//
// Errors of Fetch (besides the plugin's own, passed on as the plugin gave them; WHAT is
// `while fetching "ID"`, `while starting`, `while listing` or `while checking health`):
//   UNAVAILABLE  provider "NAME" crashed (signal 11, SIGSEGV) WHAT; it will be restarted
//   UNAVAILABLE  provider "NAME" exited (status 3) WHAT; it will be restarted
//   UNAVAILABLE  ... crashed (signal 11, SIGSEGV) WHAT; it crashed 4 times within 1m
//                (max_crashes: 3), so it is not started again for 59s
//   UNAVAILABLE  provider "NAME" is not started again for 59s: it crashed 4 times within 1m
//                (max_crashes: 3)
//   DEADLINE_EXCEEDED  provider "NAME" did not answer within 30s WHAT (the host is killed)
//   CANCELLED    provider "NAME" was cancelled WHAT (the host is killed)
//   INTERNAL     provider "NAME" broke the host protocol WHAT (DETAIL); it was stopped and will
//                be restarted
//   UNAVAILABLE  provider "NAME": cannot start latchkey-provider-host PATH: <strerror>
//
// Thread-safety: all methods are thread-safe.
#ifndef LATCHKEY_BROKER_PROVIDER_PROCESS_H_
#define LATCHKEY_BROKER_PROVIDER_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "broker/host_protocol.h"
#include "broker/plugin_config.h"
#include "broker/provider.h"

namespace latchkey {

// Crashes of one configured provider, across sessions. Thread-safe.
class CrashTracker {
 public:
  CrashTracker(uint32_t max_crashes, std::chrono::milliseconds window)
      : max_crashes_(max_crashes), window_(window) {}
  // Records a crash at `now`; returns how many fell within the window, this one included.
  uint32_t Record(std::chrono::steady_clock::time_point now);
  // While more than max_crashes crashes lie within the window: how long until no longer.
  std::optional<std::chrono::milliseconds> BackoffLeft(
      std::chrono::steady_clock::time_point now) const;
  uint32_t CountInWindow(std::chrono::steady_clock::time_point now) const;
  uint32_t max_crashes() const { return max_crashes_; }
  std::chrono::milliseconds window() const { return window_; }

 private:
  void Expire(std::chrono::steady_clock::time_point now) const;
  const uint32_t max_crashes_;
  const std::chrono::milliseconds window_;
  mutable std::mutex mu_;
  mutable std::deque<std::chrono::steady_clock::time_point> crashes_;  // GUARDED_BY(mu_)
};

// What the owner hears about a crash (the session writes it as provider.crashed).
struct ProviderCrash {
  std::string provider;
  std::string secret_id;  // "" when not fetching
  int signal = 0;         // 0 when the host exited
  std::string signal_name;
  int exit_status = 0;
  uint32_t crashes = 0;  // within the window, this one included
  bool backoff = false;  // the provider is now in back-off
};

struct ProcessProviderOptions {
  std::string name;       // the configured provider name, used in messages
  std::string host_path;  // latchkey-provider-host
  std::string plugin_path;
  std::string sha256_pin;
  std::vector<ConfigValue> config;
  // The caller's environment (NAME=VALUE\0...): added to the config as "environment" when the
  // plugin declares that key (READY lists its keys) and `config` does not set it. May be null.
  std::shared_ptr<const SecretBuffer> environment;
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::vector<int> keep_fds;  // >= 4
  // Bounds the start (READY and CREATE) when the call has no deadline of its own.
  std::chrono::milliseconds start_timeout{30000};
  std::shared_ptr<CrashTracker> crashes;  // required
  std::function<void(const ProviderCrash&)> on_crash;
};

// What a host reports about its plugin once loaded (the READY frame).
struct PluginProbe {
  std::string name;
  std::string version;
  uint32_t threading = 0;
  uint64_t capabilities = 0;
  uint16_t abi_minor = 0;  // the effective minor
  std::vector<std::string> config_keys;
};

// Loads the plugin in a latchkey-provider-host (the same checks as a session's start) and
// reports what it said, without creating an instance: what `latchkey plugin list` shows for a
// process-isolated plugin, which is never loaded into latchkey itself. Errors: the loader's,
// and the start errors of ProcessProvider. `name` names the provider in messages.
Result<PluginProbe> ProbePlugin(const std::string& name, const std::string& host_path,
                                const std::string& plugin_path, const std::string& sha256_pin,
                                std::chrono::milliseconds timeout);

class ProcessProvider : public Provider {
 public:
  // Starts the host and creates the instance (errors: the loader's and the plugin's create
  // errors, as inline; the start errors of the file comment).
  static Result<std::unique_ptr<ProcessProvider>> Create(ProcessProviderOptions options);
  // Closes the socket (the host destroys the instance and exits); kills the host when it has
  // not exited within 1 s.
  ~ProcessProvider() override;
  ProcessProvider(const ProcessProvider&) = delete;
  ProcessProvider& operator=(const ProcessProvider&) = delete;

  Result<FetchedSecret> Fetch(const FetchRequest& request) override;
  Result<std::vector<std::string>> List() override;
  Status Health() override;
  const std::string& name() const override { return options_.name; }
  Isolation isolation() const override { return Isolation::kProcess; }

  // The running host's pid, or -1 (for tests and benchmarks).
  pid_t host_pid() const;

 private:
  friend Result<PluginProbe> ProbePlugin(const std::string&, const std::string&, const std::string&,
                                         const std::string&, std::chrono::milliseconds);
  explicit ProcessProvider(ProcessProviderOptions options) : options_(std::move(options)) {}
  using Deadline = std::optional<std::chrono::steady_clock::time_point>;
  struct Reply;
  // Starts a host when none runs (back-off checked first). Caller holds mu_.
  Status EnsureHost(const std::string& what, Deadline deadline, std::chrono::milliseconds limit,
                    const std::atomic<bool>* cancelled, const std::string& secret_id);
  // Starts the host process and waits for READY. Caller holds mu_.
  Status Spawn(const std::string& what, Deadline deadline, std::chrono::milliseconds limit,
               PluginProbe* probe, const std::atomic<bool>* cancelled = nullptr,
               const std::string& secret_id = "");
  // Sends CREATE with the config (and the caller's environment when the plugin takes it).
  Status SendCreate(const std::string& what, Deadline deadline, std::chrono::milliseconds limit,
                    const std::atomic<bool>* cancelled, const std::string& secret_id,
                    bool takes_environment);
  // Sends `type` and waits for the answer, forwarding LOG frames. On a dead, hung or
  // misbehaving host, stops it and returns the matching error. Caller holds mu_.
  Result<hostproto::Frame> Call(hostproto::Type type, std::span<const uint8_t> payload, int fd,
                                const std::string& what, Deadline deadline,
                                std::chrono::milliseconds limit, const std::atomic<bool>* cancelled,
                                const std::string& secret_id);
  Result<hostproto::Frame> Await(const std::string& what, Deadline deadline,
                                 std::chrono::milliseconds limit,
                                 const std::atomic<bool>* cancelled, const std::string& secret_id);
  // The host is gone (end of stream): reap it and build the crash error.
  Status HostDied(const std::string& what, const std::string& secret_id);
  // SIGKILL (when `kill`) and reap.
  void StopHost(bool kill);
  Status ErrorFrom(const hostproto::Frame& frame) const;
  std::string Quoted() const { return "provider \"" + options_.name + "\""; }

  ProcessProviderOptions options_;
  mutable std::timed_mutex mu_;
  pid_t pid_ = -1;                                 // GUARDED_BY(mu_)
  std::unique_ptr<hostproto::FrameChannel> chan_;  // GUARDED_BY(mu_)
  std::string plugin_name_;                        // from READY
};

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_PROVIDER_PROCESS_H_
