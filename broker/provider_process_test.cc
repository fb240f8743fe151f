#include "broker/provider_process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "broker/plugin_test_util.h"
#include "broker/provider_instance.h"
#include "broker/source_path.h"

namespace latchkey {
namespace {

using plugintest::BuildDir;
using plugintest::FixturePath;
using plugintest::ProviderPath;
using plugintest::ScratchDir;
using plugintest::TestString;

std::string HostPath() { return BuildDir() + "/bin/latchkey-provider-host"; }

ProcessProviderOptions Options(const std::string& plugin_path,
                               std::vector<ConfigValue> config = {ConfigValue::Text("name", "n1")},
                               std::shared_ptr<CrashTracker> crashes = nullptr) {
  ProcessProviderOptions o;
  o.name = "vault";
  o.host_path = HostPath();
  o.plugin_path = plugin_path;
  o.config = std::move(config);
  o.crashes = crashes ? crashes : std::make_shared<CrashTracker>(3, std::chrono::minutes(1));
  return o;
}

std::unique_ptr<ProcessProvider> Start(ProcessProviderOptions o) {
  auto p = ProcessProvider::Create(std::move(o));
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? std::move(*p) : nullptr;
}

FetchRequest Ref(const std::string& ref, std::chrono::milliseconds timeout = {}) {
  FetchRequest r;
  r.ref = ref;
  r.secret_id = "tok";
  r.timeout = timeout;
  return r;
}

std::string FetchString(Provider& p, const std::string& ref) {
  auto r = p.Fetch(Ref(ref));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? TestString(r->value) : "(error)";
}

bool Alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

TEST(ProcessProvider, FetchesThroughTheHostProcess) {
  auto p = Start(Options(FixturePath("fixture-behave")));
  ASSERT_NE(p, nullptr);
  EXPECT_GT(p->host_pid(), 0);
  EXPECT_NE(p->host_pid(), ::getpid());
  auto r = p->Fetch(Ref("metadata"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(TestString(r->value), "meta");
  EXPECT_TRUE(r->value.sealed());
  EXPECT_TRUE(r->no_cache);
  EXPECT_EQ(r->expires_unix_ms, 1234);
  EXPECT_EQ(r->version, "v7");
  EXPECT_EQ(FetchString(*p, "value:hello"), "hello");
  EXPECT_EQ(FetchString(*p, "empty"), "");
  EXPECT_EQ(p->name(), "vault");
  EXPECT_EQ(p->isolation(), Isolation::kProcess);
}

TEST(ProcessProvider, ConfigReachesThePlugin) {
  auto p = Start(Options(FixturePath("fixture-behave"),
                         {ConfigValue::Text("name", "n1"), ConfigValue::Text("token", "t0ken-9")}));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(FetchString(*p, "config:token"), "t0ken-9");
}

TEST(ProcessProvider, ListAndHealthGoThroughTheHost) {
  auto p = Start(Options(FixturePath("fixture-behave")));
  ASSERT_NE(p, nullptr);
  auto refs = p->List();
  ASSERT_TRUE(refs.ok()) << refs.status().ToString();
  EXPECT_EQ(*refs, (std::vector<std::string>{"alpha", "beta"}));
  EXPECT_TRUE(p->Health().ok());
  auto sick =
      Start(Options(FixturePath("fixture-behave"), {ConfigValue::Text("name", "unhealthy")}));
  ASSERT_NE(sick, nullptr);
  Status h = sick->Health();
  EXPECT_EQ(h.code(), StatusCode::kUnavailable);
  EXPECT_EQ(h.message(), "provider behave: backend down");
}

// The plugin's own errors read exactly as they do inline.
TEST(ProcessProvider, PluginErrorsMatchInline) {
  auto lib = PluginLoader::Load(FixturePath("fixture-behave"));
  ASSERT_TRUE(lib.ok());
  auto inline_inst = ProviderInstance::Create(*lib, {ConfigValue::Text("name", "n1")});
  ASSERT_TRUE(inline_inst.ok());
  auto p = Start(Options(FixturePath("fixture-behave")));
  ASSERT_NE(p, nullptr);
  for (const char* ref : {"error:5:no such secret", "nope", "foreign", "len-too-big"}) {
    auto a = (*inline_inst)->Fetch(Ref(ref));
    auto b = p->Fetch(Ref(ref));
    ASSERT_FALSE(a.ok());
    ASSERT_FALSE(b.ok()) << ref;
    EXPECT_EQ(b.status().code(), a.status().code()) << ref;
    EXPECT_EQ(b.status().message(), a.status().message()) << ref;
  }
  EXPECT_EQ(p->Fetch(Ref("error:5:no such secret")).status().message(),
            "provider behave: no such secret");
}

TEST(ProcessProvider, LoadAndCreateErrorsMatchInline) {
  std::string major2 = FixturePath("fixture-major2");
  auto inline_load = PluginLoader::Load(major2);
  ASSERT_FALSE(inline_load.ok());
  auto p = ProcessProvider::Create(Options(major2));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), inline_load.status().code());
  EXPECT_EQ(p.status().message(), inline_load.status().message());

  auto c = ProcessProvider::Create(
      Options(FixturePath("fixture-behave"), {ConfigValue::Text("name", "fail-create")}));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(c.status().message(), "provider behave: create refused for fail-create");

  auto u = ProcessProvider::Create(
      Options(FixturePath("fixture-behave"), {ConfigValue::Text("nmae", "x")}));
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(u.status().message().rfind("provider behave: unknown config key \"nmae\"", 0), 0u)
      << u.status().message();
}

TEST(ProcessProvider, AMissingHostIsNamed) {
  auto o = Options(FixturePath("fixture-behave"));
  o.host_path = "/nonexistent/latchkey-provider-host";
  auto p = ProcessProvider::Create(std::move(o));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(),
            "provider \"vault\": cannot start latchkey-provider-host "
            "/nonexistent/latchkey-provider-host: No such file or directory");
}

TEST(ProcessProvider, ACrashFailsOneFetchAndTheNextStartsAFreshHost) {
  std::vector<ProviderCrash> crashes;
  auto o = Options(FixturePath("fixture-behave"));
  o.on_crash = [&](const ProviderCrash& c) { crashes.push_back(c); };
  auto p = Start(std::move(o));
  ASSERT_NE(p, nullptr);
  pid_t first = p->host_pid();
  auto r = p->Fetch(Ref("crash"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(),
            "provider \"vault\" crashed (signal 11, SIGSEGV) while fetching \"tok\"; it will be "
            "restarted");
  EXPECT_EQ(p->host_pid(), -1);
  EXPECT_FALSE(Alive(first));
  ASSERT_EQ(crashes.size(), 1u);
  EXPECT_EQ(crashes[0].provider, "vault");
  EXPECT_EQ(crashes[0].secret_id, "tok");
  EXPECT_EQ(crashes[0].signal, SIGSEGV);
  EXPECT_EQ(crashes[0].signal_name, "SIGSEGV");
  EXPECT_EQ(crashes[0].crashes, 1u);
  EXPECT_FALSE(crashes[0].backoff);

  EXPECT_EQ(FetchString(*p, "value:again"), "again");
  EXPECT_GT(p->host_pid(), 0);
  EXPECT_NE(p->host_pid(), first);
}

TEST(ProcessProvider, APluginThatExitsIsReported) {
  auto p = Start(Options(FixturePath("fixture-behave")));
  ASSERT_NE(p, nullptr);
  auto r = p->Fetch(Ref("exit:3"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "provider \"vault\" exited (status 3) while fetching \"tok\"; it will be restarted");
  EXPECT_EQ(FetchString(*p, "value:ok"), "ok");
}

TEST(ProcessProvider, AHangPastTheDeadlineKillsTheHost) {
  auto p = Start(Options(FixturePath("fixture-behave")));
  ASSERT_NE(p, nullptr);
  pid_t first = p->host_pid();
  auto r = p->Fetch(Ref("hang", std::chrono::milliseconds(200)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(r.status().message(),
            "provider \"vault\" did not answer within 200ms while fetching \"tok\"");
  EXPECT_FALSE(Alive(first));  // killed and reaped, not abandoned
  EXPECT_EQ(FetchString(*p, "value:after"), "after");
}

TEST(ProcessProvider, CancellationKillsTheHost) {
  auto p = Start(Options(FixturePath("fixture-behave")));
  ASSERT_NE(p, nullptr);
  std::atomic<bool> cancel{true};
  auto req = Ref("hang");
  req.cancelled = &cancel;
  auto r = p->Fetch(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
  EXPECT_EQ(r.status().message(), "provider \"vault\" was cancelled while fetching \"tok\"");
}

TEST(ProcessProvider, GarbageOnTheSocketKillsTheHost) {
  auto p = Start(Options(FixturePath("fixture-behave")));
  ASSERT_NE(p, nullptr);
  pid_t first = p->host_pid();
  auto r = p->Fetch(Ref("scribble"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  EXPECT_EQ(r.status().message(),
            "provider \"vault\" broke the host protocol while fetching \"tok\" (frame of "
            "2139062143 bytes (limit 1048576)); it was stopped and will be restarted");
  EXPECT_FALSE(Alive(first));
  EXPECT_EQ(FetchString(*p, "value:clean"), "clean");
}

TEST(ProcessProvider, TooManyCrashesPutTheProviderInBackOff) {
  auto tracker = std::make_shared<CrashTracker>(1, std::chrono::hours(1));
  auto p =
      Start(Options(FixturePath("fixture-behave"), {ConfigValue::Text("name", "n1")}, tracker));
  ASSERT_NE(p, nullptr);
  auto first = p->Fetch(Ref("crash"));
  EXPECT_EQ(first.status().message(),
            "provider \"vault\" crashed (signal 11, SIGSEGV) while fetching \"tok\"; it will be "
            "restarted");
  auto second = p->Fetch(Ref("crash"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message().rfind(
                "provider \"vault\" crashed (signal 11, SIGSEGV) while fetching \"tok\"; it "
                "crashed 2 times within 1h (max_crashes: 1), so it is not started again for ",
                0),
            0u)
      << second.status().message();
  auto third = p->Fetch(Ref("value:x"));
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), StatusCode::kUnavailable);
  const std::string m = third.status().message();
  EXPECT_EQ(m.rfind("provider \"vault\" is not started again for ", 0), 0u) << m;
  EXPECT_NE(m.find(": it crashed 2 times within 1h (max_crashes: 1)"), std::string::npos) << m;
  // Another instance of the same provider (another session) shares the back-off.
  auto other = ProcessProvider::Create(
      Options(FixturePath("fixture-behave"), {ConfigValue::Text("name", "n1")}, tracker));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().message().rfind("provider \"vault\" is not started again for ", 0), 0u);
}

TEST(CrashTracker, CountsCrashesWithinTheWindow) {
  CrashTracker t(2, std::chrono::seconds(10));
  auto t0 = std::chrono::steady_clock::time_point() + std::chrono::hours(1);
  EXPECT_EQ(t.Record(t0), 1u);
  EXPECT_EQ(t.Record(t0 + std::chrono::seconds(1)), 2u);
  EXPECT_FALSE(t.BackoffLeft(t0 + std::chrono::seconds(1)).has_value());
  EXPECT_EQ(t.Record(t0 + std::chrono::seconds(2)), 3u);
  EXPECT_EQ(t.BackoffLeft(t0 + std::chrono::seconds(2)), std::chrono::milliseconds(8000));
  EXPECT_FALSE(t.BackoffLeft(t0 + std::chrono::seconds(10)).has_value());
  EXPECT_EQ(t.CountInWindow(t0 + std::chrono::seconds(11)), 1u);
}

TEST(ProcessProvider, TheHostIsConfined) {
  auto p = Start(Options(FixturePath("fixture-behave")));
  ASSERT_NE(p, nullptr);
  // A clean environment (PATH only) and no descriptor but stdio (/dev/null) and the socket.
  EXPECT_EQ(FetchString(*p, "inside"), "env=1 fds=0,1,2,3");
  // The seccomp allowlist refuses ptrace: the plugin cannot read the broker's memory.
  EXPECT_EQ(FetchString(*p, "ptrace"), "rc=-1 errno=1");
}

TEST(ProcessProvider, AFileSourceIsHandedOverAsADescriptor) {
  ScratchDir dir;
  std::string path = dir.Write("npmrc", "//registry/:_authToken=abc123");
  auto opened = OpenedFile::Open("npmrc", path);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto o = Options(ProviderPath("file"), {});
  auto p = Start(std::move(o));
  ASSERT_NE(p, nullptr);
  FetchRequest req = Ref(opened->ProcPath());
  req.file_fd = opened->fd();
  auto r = p->Fetch(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(TestString(r->value), "//registry/:_authToken=abc123");
}

TEST(ProcessProvider, TheCallersEnvironmentReachesAnEnvProvider) {
  auto o = Options(ProviderPath("env"), {});
  static const char kEnv[] = "LK_PROC_TEST=from-caller\0OTHER=x\0";
  auto env = SecretBuffer::CopyOf({reinterpret_cast<const uint8_t*>(kEnv), sizeof(kEnv) - 1});
  ASSERT_TRUE(env.ok());
  o.environment = std::make_shared<const SecretBuffer>(std::move(*env));
  auto p = Start(std::move(o));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(FetchString(*p, "LK_PROC_TEST"), "from-caller");
}

}  // namespace
}  // namespace latchkey
