// The deliberately broken plugins of tests/broken_plugins, run through the process host: each
// defect stays inside the host process and fails (at most) the one call, with an exact message.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "broker/plugin_loader.h"
#include "broker/plugin_test_util.h"
#include "broker/provider_process.h"

namespace latchkey {
namespace {

using plugintest::BuildDir;
using plugintest::TestString;

std::string Broken(const std::string& defect) {
  return BuildDir() + "/lib/latchkey/broken/latchkey-broken-" + defect + ".so";
}

ProcessProviderOptions Options(const std::string& defect) {
  ProcessProviderOptions o;
  o.name = "broken";
  o.host_path = BuildDir() + "/bin/latchkey-provider-host";
  o.plugin_path = Broken(defect);
  o.config = {ConfigValue::Text("prefix", "canary-prefix")};
  o.crashes = std::make_shared<CrashTracker>(3, std::chrono::minutes(1));
  return o;
}

FetchRequest Ref(const std::string& ref, std::chrono::milliseconds timeout = {}) {
  FetchRequest r;
  r.ref = ref;
  r.secret_id = "tok";
  r.timeout = timeout;
  return r;
}

TEST(BrokenPluginsInProcess, ReferenceServes) {
  auto p = ProcessProvider::Create(Options("reference"));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto r = (*p)->Fetch(Ref("alpha"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(TestString(r->value), "canary-prefix-alpha");
}

TEST(BrokenPluginsInProcess, WrongMajorIsRefusedWithTheLoadersMessage) {
  auto p = ProcessProvider::Create(Options("wrong-major"));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(p.status().message(), "plugin " + Broken("wrong-major") +
                                      ": built for ABI 2.x; this host supports 1.0 to 1.0");
  // Exactly what the loader says inline.
  EXPECT_EQ(p.status().message(), PluginLoader::Load(Broken("wrong-major")).status().message());
}

TEST(BrokenPluginsInProcess, ACrashInHealthFailsThatCallOnly) {
  auto p = ProcessProvider::Create(Options("crashes-health"));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  Status h = (*p)->Health();
  EXPECT_EQ(h.code(), StatusCode::kUnavailable);
  EXPECT_EQ(h.message(),
            "provider \"broken\" crashed (signal 11, SIGSEGV) while checking health; it will be "
            "restarted");
  auto r = (*p)->Fetch(Ref("beta"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(TestString(r->value), "canary-prefix-beta-two");
}

TEST(BrokenPluginsInProcess, IgnoringTheDeadlineGetsTheHostKilled) {
  auto p = ProcessProvider::Create(Options("sleeps"));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  pid_t pid = (*p)->host_pid();
  auto r = (*p)->Fetch(Ref("alpha", std::chrono::milliseconds(100)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(r.status().message(),
            "provider \"broken\" did not answer within 100ms while fetching \"tok\"");
  EXPECT_NE((*p)->host_pid(), pid);
}

// Process-wide state a plugin changes stays in its host: the broker's is untouched.
TEST(BrokenPluginsInProcess, EnvironmentUmaskAndSignalChangesStayInTheHost) {
  mode_t before = ::umask(022);
  ::umask(before);
  for (const char* defect : {"sets-env", "changes-umask", "changes-signal", "leaks-thread",
                             "leaks-fd", "writes-stderr", "leaks-secret"}) {
    auto p = ProcessProvider::Create(Options(defect));
    ASSERT_TRUE(p.ok()) << defect << ": " << p.status().ToString();
    auto r = (*p)->Fetch(Ref("alpha"));
    ASSERT_TRUE(r.ok()) << defect << ": " << r.status().ToString();
    EXPECT_EQ(TestString(r->value), "canary-prefix-alpha") << defect;
  }
  EXPECT_EQ(std::getenv("BROKEN_PLUGIN_STATE"), nullptr);
  mode_t after = ::umask(022);
  ::umask(after);
  EXPECT_EQ(after, before);
  struct sigaction sa {};
  ASSERT_EQ(::sigaction(SIGUSR2, nullptr, &sa), 0);
  EXPECT_EQ(sa.sa_handler, SIG_DFL);
}

}  // namespace
}  // namespace latchkey
