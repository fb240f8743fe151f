#include "broker/process_conformance.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <filesystem>
#include <memory>

#include "broker/provider_host.h"
#include "broker/provider_process.h"

namespace latchkey {
namespace {

using conformance::CheckResult;
using conformance::Outcome;

CheckResult Pass(const std::string& name, std::string note = "") {
  return {name, Outcome::kPass, std::move(note)};
}
CheckResult Fail(const std::string& name, std::string reason) {
  return {name, Outcome::kFail, std::move(reason)};
}
CheckResult Skip(const std::string& name, std::string reason) {
  return {name, Outcome::kSkip, std::move(reason)};
}

bool Equal(const SecretBuffer& a, const std::vector<uint8_t>& b) {
  return a.size() == b.size() && a.Equals(b);
}

// The suite's process-mode state: one provider, restarted by the checks that kill its host.
struct Run {
  const conformance::ConformanceOptions& options;
  const std::vector<std::vector<uint8_t>>& expected;
  std::string name;
  std::unique_ptr<ProcessProvider> provider;

  FetchRequest Request(const std::string& ref, const std::string& id,
                       std::chrono::milliseconds timeout) const {
    FetchRequest r;
    r.ref = ref;
    r.secret_id = id;
    r.session_id = "lk-conformance-session";
    r.timeout = timeout;
    return r;
  }

  // After a host was killed: the next call is served by a fresh host. With a --ref, its bytes
  // must come back; without, a missing reference must fail with the plugin's own error.
  std::string Recovered(pid_t old_pid) {
    const auto timeout = std::chrono::seconds(options.timeout_seconds);
    if (!options.refs.empty()) {
      auto r = provider->Fetch(Request(options.refs[0].ref, "lk-conformance-again", timeout));
      if (!r.ok()) return "the next fetch failed: " + r.status().message();
      if (!Equal(r->value, expected[0])) return "the next fetch returned different bytes";
    } else {
      auto r =
          provider->Fetch(Request("lk-conformance-missing-ref", "lk-conformance-again", timeout));
      // Served (a plugin that serves any reference) or its own error: either way, an answer.
      if (!r.ok() && r.status().message().rfind("provider \"" + name + "\"", 0) == 0) {
        return "the next fetch failed in the host: " + r.status().message();
      }
    }
    if (provider->host_pid() == old_pid || provider->host_pid() <= 0) {
      return "the next fetch was not served by a fresh host";
    }
    return "";
  }
};

}  // namespace

std::string HostNextToExecutable() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "latchkey-provider-host";
  return (exe.parent_path() / "latchkey-provider-host").string();
}

std::vector<CheckResult> RunProcessConformance(const conformance::ConformanceOptions& options,
                                               const std::vector<std::vector<uint8_t>>& expected,
                                               const std::string& host_path) {
  const std::vector<std::string> names = {"process-load",           "process-create",
                                          "process-fetch-expected", "process-error-path",
                                          "process-crash",          "process-hang"};
  std::vector<CheckResult> out;
  auto skip_rest = [&](const std::string& reason) {
    for (size_t i = out.size(); i < names.size(); ++i) out.push_back(Skip(names[i], reason));
    return out;
  };
  if (::access(host_path.c_str(), X_OK) != 0) {
    return skip_rest("latchkey-provider-host not found at " + host_path);
  }
  const auto timeout = std::chrono::seconds(options.timeout_seconds);
  // The crash and hang the checks provoke are expected: their log lines would only be noise
  // in the report (and in --json output).
  PluginLogger("plugin")->set_level(spdlog::level::off);

  auto probe = ProbePlugin("plugin", host_path, options.plugin_path, "", timeout);
  if (!probe.ok()) {
    out.push_back(Fail("process-load", probe.status().message()));
    return skip_rest("the plugin does not load in latchkey-provider-host");
  }
  out.push_back(Pass("process-load",
                     probe->name + " " + probe->version + " in latchkey-provider-host, confined"));

  PluginLogger(probe->name)->set_level(spdlog::level::off);
  Run run{options, expected, probe->name, nullptr};
  ProcessProviderOptions po;
  po.name = probe->name;
  po.host_path = host_path;
  po.plugin_path = options.plugin_path;
  for (const auto& [k, v] : options.config) po.config.push_back(ConfigValue::Text(k, v));
  po.start_timeout = timeout;
  // A plugin that serves environment variables gets this process's environment, as a session
  // hands it the caller's (the host's own environment is clean).
  size_t env_size = 0;
  for (char** e = environ; *e != nullptr; ++e) env_size += std::strlen(*e) + 1;
  auto env_buf = SecretBuffer::Allocate(env_size);
  if (env_buf.ok()) {
    uint8_t* p = env_buf->mutable_data();
    for (char** e = environ; *e != nullptr; ++e) {
      size_t n = std::strlen(*e) + 1;  // with its NUL: NAME=VALUE\0...
      std::memcpy(p, *e, n);
      p += n;
    }
    env_buf->Seal();
  }
  if (env_buf.ok()) po.environment = std::make_shared<const SecretBuffer>(std::move(*env_buf));
  po.crashes = std::make_shared<CrashTracker>(1000, std::chrono::minutes(1));
  auto created = ProcessProvider::Create(std::move(po));
  if (!created.ok()) {
    out.push_back(Fail("process-create", created.status().message()));
    return skip_rest("create with the given config failed in latchkey-provider-host");
  }
  run.provider = std::move(*created);
  out.push_back(Pass("process-create"));

  if (options.refs.empty()) {
    out.push_back(Skip("process-fetch-expected", "needs --ref REF --expect-file FILE"));
  } else {
    std::string problem;
    for (size_t i = 0; i < options.refs.size() && problem.empty(); ++i) {
      auto r = run.provider->Fetch(run.Request(options.refs[i].ref, "lk-conformance", timeout));
      if (!r.ok()) {
        problem = "--ref " + options.refs[i].ref + ": " + r.status().message();
      } else if (!Equal(r->value, expected[i])) {
        problem = "--ref " + options.refs[i].ref + ": the bytes differ from --expect-file " +
                  options.refs[i].expect_file;
      }
    }
    out.push_back(problem.empty() ? Pass("process-fetch-expected")
                                  : Fail("process-fetch-expected", problem));
  }

  {
    pid_t pid = run.provider->host_pid();
    auto r = run.provider->Fetch(
        run.Request("lk-conformance-missing-ref", "lk-conformance-missing", timeout));
    if (run.provider->host_pid() != pid) {
      out.push_back(Fail("process-error-path", "the host did not survive a missing reference: " +
                                                   (r.ok() ? "" : r.status().message())));
    } else {
      // As in process: failures are what is checked; a plugin may serve any reference.
      out.push_back(
          Pass("process-error-path", r.ok() ? "served: the plugin accepts any reference" : ""));
    }
  }

  {
    pid_t pid = run.provider->host_pid();
    ::kill(pid, SIGSEGV);
    auto r = run.provider->Fetch(
        run.Request("lk-conformance-missing-ref", "lk-conformance-crash", timeout));
    std::string want = "provider \"" + run.name +
                       "\" crashed (signal 11, SIGSEGV) while fetching \"lk-conformance-crash\"; "
                       "it will be restarted";
    if (r.ok() || r.status().message() != want) {
      out.push_back(Fail("process-crash", "want \"" + want + "\", got \"" +
                                              (r.ok() ? "a value" : r.status().message()) + "\""));
    } else if (std::string again = run.Recovered(pid); !again.empty()) {
      out.push_back(Fail("process-crash", again));
    } else {
      out.push_back(Pass("process-crash", "clean error, fresh host"));
    }
  }

  {
    pid_t pid = run.provider->host_pid();
    ::kill(pid, SIGSTOP);
    auto r = run.provider->Fetch(run.Request("lk-conformance-missing-ref", "lk-conformance-hang",
                                             std::chrono::milliseconds(300)));
    std::string want = "provider \"" + run.name +
                       "\" did not answer within 300ms while fetching \"lk-conformance-hang\"";
    if (r.ok() || r.status().message() != want) {
      ::kill(pid, SIGKILL);
      out.push_back(Fail("process-hang", "want \"" + want + "\", got \"" +
                                             (r.ok() ? "a value" : r.status().message()) + "\""));
    } else if (std::string again = run.Recovered(pid); !again.empty()) {
      out.push_back(Fail("process-hang", again));
    } else {
      out.push_back(Pass("process-hang", "timed out, host killed, fresh host"));
    }
  }
  return out;
}

}  // namespace latchkey
