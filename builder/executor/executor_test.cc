// Integration tests: real runc, real overlayfs, a busybox rootfs built from /bin/busybox.
#include "builder/executor/executor.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <sstream>
#include <thread>

#include "builder/executor/executor_test_util.h"
#include "builder/executor/process_error.h"
#include "secure/redactor.h"

namespace latchkey::executor {
namespace {

using namespace latchkey::executor::testing;  // NOLINT

class ExecutorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0 || std::system("runc --version >/dev/null 2>&1") != 0) return;
    char tmpl[] = "/tmp/lk-exec-test-XXXXXX";
    suite_dir_ = ::mkdtemp(tmpl);
    rootfs_ = BuildBusyboxRootfs(suite_dir_);
  }
  static void TearDownTestSuite() {
    if (!suite_dir_.empty()) fs::remove_all(suite_dir_);
  }

  void SetUp() override {
    if (rootfs_.empty()) GTEST_SKIP() << "needs root and runc";
    char tmpl[] = "/tmp/lk-exec-case-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    options_.state_dir = (dir_ / "state").string();
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // A fresh upper/work pair named `name`.
  StepSpec Step(const std::string& name, const std::string& script,
                std::vector<std::string> lowers = {}) {
    StepSpec s;
    s.lower_dirs = lowers.empty() ? std::vector<std::string>{rootfs_} : lowers;
    s.upper_dir = (dir_ / name / "upper").string();
    s.work_dir = (dir_ / name / "work").string();
    fs::create_directories(s.upper_dir);
    fs::create_directories(s.work_dir);
    s.args = {"/bin/sh", "-c", script};
    s.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
    return s;
  }

  Result<StepResult> Run(const StepSpec& s) {
    return RunStep(options_, s, secrets_, sources_, sink_);
  }

  static inline std::string suite_dir_;
  static inline std::string rootfs_;
  fs::path dir_;
  ExecutorOptions options_;
  MapSecrets secrets_;
  MountSources sources_;
  RecordingSink sink_;
};

TEST_F(ExecutorTest, RunsCommandAndCapturesOutput) {
  auto s = Step("a", "echo hello; echo oops >&2; hostname");
  auto r = Run(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(sink_.out, "hello\nbuildkitsandbox\n");
  EXPECT_EQ(sink_.err, "oops\n");
}

TEST_F(ExecutorTest, SecretFileModeUidGidAndNoResidueInNextStep) {
  secrets_.values["mysecret"] = Secret("value");
  auto s = Step("a", "stat -c \"%u %g %f\" /mysecret");
  s.mounts = {
      SecretMount{.id = "mysecret", .target = "/mysecret", .mode = 0741, .uid = 100, .gid = 102}};
  auto r = Run(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(sink_.out, "100 102 81e1\n");
  sink_.out.clear();
  auto s2 = Step("b", "if [ -e /mysecret ]; then echo present; else echo absent; fi",
                 {s.upper_dir, rootfs_});
  auto r2 = Run(s2);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ(sink_.out, "absent\n");
}

TEST_F(ExecutorTest, MissingRequiredSecretFails) {
  auto s = Step("a", "true");
  s.mounts = {SecretMount{.id = "mysecret", .target = "/run/secrets/mysecret", .required = true}};
  auto r = Run(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "secret mysecret: not found");
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

TEST_F(ExecutorTest, ProviderNotFoundMessagePassesThrough) {
  secrets_.errors["tok"] = NotFoundError("secret tok: not found (tried: env TOK, file ./tok)");
  auto s = Step("a", "true");
  s.mounts = {SecretMount{.id = "tok", .target = "/run/secrets/tok", .required = true}};
  auto r = Run(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "secret tok: not found (tried: env TOK, file ./tok)");
}

TEST_F(ExecutorTest, ProviderFailureFailsOptionalSecretToo) {
  secrets_.errors["tok"] = UnavailableError("provider vault: connection refused");
  auto s = Step("a", "true");
  s.mounts = {SecretMount{.id = "tok", .target = "/run/secrets/tok"}};
  auto r = Run(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "provider vault: connection refused");
}

TEST_F(ExecutorTest, MissingOptionalSecretGivesNoFile) {
  auto s = Step("a", "if [ -e /run/secrets/nope ]; then echo present; else echo absent; fi");
  s.mounts = {SecretMount{.id = "nope", .target = "/run/secrets/nope"}};
  auto r = Run(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(sink_.out, "absent\n");
  EXPECT_EQ(secrets_.calls, std::vector<std::string>{"nope"});
}

TEST_F(ExecutorTest, EnvSecretOnlyInEnvironment) {
  secrets_.values["tok"] = Secret("s3cr3t");
  auto s = Step("a",
                "[ \"$TOKEN\" = s3cr3t ] && echo match; "
                "if [ -e /run/secrets/tok ]; then echo file; else echo nofile; fi");
  s.mounts = {SecretMount{.id = "tok", .env = "TOKEN"}};
  auto r = Run(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(sink_.out, "match\nnofile\n");
  EXPECT_EQ(r->secret_env_names, std::vector<std::string>{"TOKEN"});
}

TEST_F(ExecutorTest, EnvSecretReplacesSameNamedEnvEntry) {
  secrets_.values["tok"] = Secret("from-secret");
  auto s = Step("a", "env | grep -c '^TOKEN='; [ \"$TOKEN\" = from-secret ] && echo match");
  s.env.push_back("TOKEN=from-build-arg");
  s.mounts = {SecretMount{.id = "tok", .env = "TOKEN"}};
  ASSERT_TRUE(Run(s).ok());
  EXPECT_EQ(sink_.out, "1\nmatch\n");
}

TEST_F(ExecutorTest, MissingOptionalEnvSecretIsEmpty) {
  auto s = Step("a", "env | grep '^TOKEN=' ; echo \"[${TOKEN}]\"");
  s.mounts = {SecretMount{.id = "tok", .env = "TOKEN"}};
  ASSERT_TRUE(Run(s).ok());
  EXPECT_EQ(sink_.out, "TOKEN=\n[]\n");
}

TEST_F(ExecutorTest, EnvSecretWithNulIsRefused) {
  secrets_.values["tok"] = Secret(std::string_view("a\0b", 3));
  auto s = Step("a", "true");
  s.mounts = {SecretMount{.id = "tok", .env = "TOKEN"}};
  auto r = Run(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "secret tok cannot be exposed as environment variable TOKEN: the value contains a "
            "NUL byte; mount it as a file instead (drop env=, or add target=)");
}

TEST_F(ExecutorTest, EnvAndTargetGiveBoth) {
  secrets_.values["tok"] = Secret("both-ways");
  auto s = Step("a", "echo \"$TOKEN\" | wc -c; cat /run/secrets/tok | wc -c");
  s.mounts = {SecretMount{.id = "tok", .target = "/run/secrets/tok", .env = "TOKEN"}};
  ASSERT_TRUE(Run(s).ok());
  EXPECT_EQ(sink_.out, "10\n9\n");
}

TEST_F(ExecutorTest, SecretTargetIsOnTmpfsReadOnly) {
  secrets_.values["x"] = Secret("v");
  auto s = Step("a", "grep ' /run/secrets/x ' /proc/mounts | cut -d' ' -f3,4 | cut -d, -f1-3");
  s.mounts = {SecretMount{.id = "x", .target = "/run/secrets/x"}};
  ASSERT_TRUE(Run(s).ok());
  EXPECT_EQ(sink_.out, "tmpfs ro,nosuid,nodev\n");
}

TEST_F(ExecutorTest, ExecutableModeDropsNoexec) {
  secrets_.values["script"] = Secret("#!/bin/sh\necho ran-secret-script\n");
  auto s = Step("a", "/run/secrets/script");
  s.mounts = {SecretMount{.id = "script", .target = "/run/secrets/script", .mode = 0500}};
  auto r = Run(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(sink_.out, "ran-secret-script\n");
}

TEST_F(ExecutorTest, EmptySecretGivesEmptyFile) {
  secrets_.values["e"] = Secret("");
  auto s = Step("a", "stat -c %s /run/secrets/e");
  s.mounts = {SecretMount{.id = "e", .target = "/run/secrets/e"}};
  ASSERT_TRUE(Run(s).ok());
  EXPECT_EQ(sink_.out, "0\n");
}

TEST_F(ExecutorTest, OutputIsRedactedAcrossReads) {
  const std::string value = "canary-Q7x9-redact-me";
  auto buf = Secret(value);
  auto handle = SecretRegistry::Global().Add(buf);
  ASSERT_TRUE(handle.ok());
  secrets_.values["x"] = buf;
  // The value is printed in two writes 300 ms apart: two separate pipe reads.
  auto s = Step("a",
                "cat /run/secrets/x; echo; head -c 9 /run/secrets/x; sleep 0.3; "
                "tail -c +10 /run/secrets/x; echo; cat /run/secrets/x >&2");
  s.mounts = {SecretMount{.id = "x", .target = "/run/secrets/x"}};
  auto r = Run(s);
  SecretRegistry::Global().Remove(*handle);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(sink_.out, "****\n****\n");
  EXPECT_EQ(sink_.err, "****");
  for (const auto& c : sink_.chunks) EXPECT_EQ(c.find("canary"), std::string::npos) << c;
}

TEST_F(ExecutorTest, SecretValueNeverTouchesDisk) {
  const std::string canary = "disk-canary-5f1e2d";
  secrets_.values["f"] = Secret(canary);
  secrets_.values["e"] = Secret(canary + "-env");
  // The step keeps running while we look at the state directory from outside.
  auto s = Step("a", "cat /run/secrets/f >/dev/null; echo $E >/dev/null; echo done");
  s.mounts = {SecretMount{.id = "f", .target = "/run/secrets/f"},
              SecretMount{.id = "e", .env = "E"}};
  ASSERT_TRUE(Run(s).ok());
  EXPECT_EQ(sink_.out, "done\n");
  EXPECT_FALSE(TreeContains(options_.state_dir, canary));
  EXPECT_FALSE(TreeContains(s.upper_dir, canary));
  EXPECT_TRUE(ListTree(fs::path(options_.state_dir) / "secrets").empty());
  EXPECT_TRUE(ListTree(fs::path(options_.state_dir) / "scratch").empty());
}

TEST_F(ExecutorTest, EnvSecretLivesOnlyOnTmpfsDuringStep) {
  const std::string canary = "tmpfs-only-canary-91ab";
  secrets_.values["e"] = Secret(canary);
  // During the step, config.json (holding the env secret) sits on the bundle tmpfs.
  auto s = Step("a", "echo \"$E\" | wc -c");
  s.mounts = {SecretMount{.id = "e", .env = "E"}};
  std::string seen_fs;
  std::thread watcher([&] {
    for (int i = 0; i < 200 && seen_fs.empty(); ++i) {
      std::ifstream mounts("/proc/self/mounts");
      std::string line;
      while (std::getline(mounts, line)) {
        if (line.find(options_.state_dir + "/secrets/") != std::string::npos &&
            line.find("/rootfs") == std::string::npos &&
            line.find("/secret") != std::string::npos) {
          seen_fs = line.substr(0, line.find(' '));
          break;
        }
      }
      usleep(5000);
    }
  });
  auto r = Run(s);
  watcher.join();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(sink_.out, std::to_string(canary.size() + 1) + "\n");
  EXPECT_EQ(seen_fs, "tmpfs");
}

TEST_F(ExecutorTest, UpperHoldsOnlyWhatTheCommandWrote) {
  secrets_.values["x"] = Secret("v");
  auto s = Step("a", "echo hi > /tmp/out");
  s.mounts = {SecretMount{.id = "x", .target = "/run/secrets/x"},
              SecretMount{.id = "y", .target = "/a/b/c/y"}, TmpfsMount{.target = "/scratch/t"}};
  secrets_.values["y"] = Secret("w");
  auto r = Run(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ListTree(s.upper_dir), (std::set<std::string>{"tmp", "tmp/out"}));
}

TEST_F(ExecutorTest, NonEmptyStubIsKept) {
  auto s = Step("a", "true");
  s.mounts = {TmpfsMount{.target = "/keep/t"}};
  // The command writes next to the mountpoint: /keep is not empty afterwards and stays.
  s.args = {"/bin/sh", "-c", "echo x > /keep/file"};
  ASSERT_TRUE(Run(s).ok());
  EXPECT_EQ(ListTree(s.upper_dir), (std::set<std::string>{"keep", "keep/file"}));
}

TEST_F(ExecutorTest, SymlinkAtTargetResolvesInsideRoot) {
  fs::path lower2 = dir_ / "lower2";
  fs::create_directories(lower2 / "run");
  fs::create_symlink("/etc", lower2 / "run/secrets");
  ASSERT_FALSE(fs::exists("/etc/lk-hostfile-probe"));
  secrets_.values["lk-hostfile-probe"] = Secret("inside");
  auto s = Step("a", "cat /etc/lk-hostfile-probe", {lower2.string(), rootfs_});
  s.mounts = {SecretMount{.id = "lk-hostfile-probe", .target = "/run/secrets/lk-hostfile-probe"}};
  auto r = Run(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(sink_.out, "inside");
  EXPECT_FALSE(fs::exists("/etc/lk-hostfile-probe"));
  EXPECT_FALSE(fs::exists(fs::path(s.upper_dir) / "etc/lk-hostfile-probe"));
}

TEST_F(ExecutorTest, ProcTargetRefused) {
  auto s = Step("a", "true");
  s.mounts = {SecretMount{.id = "x", .target = "/proc/x"}};
  secrets_.values["x"] = Secret("v");
  auto r = Run(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "secret target /proc/x is not allowed: /proc and /sys are managed by the runtime");
  EXPECT_TRUE(secrets_.calls.empty());  // refused before the value is fetched
}

TEST_F(ExecutorTest, SymlinkIntoSysRefused) {
  fs::path lower2 = dir_ / "lower2";
  fs::create_directories(lower2 / "run");
  fs::create_symlink("../../sys", lower2 / "run/s");
  auto s = Step("a", "true", {lower2.string(), rootfs_});
  s.mounts = {SecretMount{.id = "x", .target = "/run/s/x"}};
  auto r = Run(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "secret target /run/s/x is not allowed: it resolves to /sys/x inside the root "
            "filesystem; /proc and /sys are managed by the runtime");
}

TEST_F(ExecutorTest, NetworkNoneHasOnlyLoopback) {
  auto s = Step("a", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '");
  s.network = NetworkMode::kNone;
  ASSERT_TRUE(Run(s).ok());
  EXPECT_EQ(sink_.out, "lo\n");
}

TEST_F(ExecutorTest, NonZeroExitIsReturnedWithBuildKitText) {
  auto s = Step("a", "exit 3");
  auto r = Run(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(FormatProcessFailure(s.args, r->secret_env_names, r->exit_code),
            "process \"/bin/sh -c exit 3\" did not complete successfully: exit code: 3");
}

TEST_F(ExecutorTest, MissingExecutableIsARuntimeError) {
  auto s = Step("a", "");
  s.args = {"/no/such/binary"};
  auto r = Run(s);
  ASSERT_FALSE(r.ok());
  // runc's own message starts with "runc run failed: " too: said once (exact, runc 1.1).
  EXPECT_EQ(r.status().message(),
            "runc run failed: unable to start container process: exec: \"/no/such/binary\": stat "
            "/no/such/binary: no such file or directory");
}

TEST_F(ExecutorTest, UserResolution) {
  struct Case {
    std::string user, want;
  } cases[] = {
      {"app", "100 101 101 102\n"}, {"100", "100 101 101 102\n"}, {"app:extra", "100 102 102\n"},
      {"4242", "4242 0 0\n"},       {"7:8", "7 8 8\n"},           {"", "0 0 0\n"}};
  int n = 0;
  for (const auto& c : cases) {
    sink_.out.clear();
    auto s = Step("u" + std::to_string(n++), "echo $(id -u) $(id -g) $(id -G)");
    s.user = c.user;
    auto r = Run(s);
    ASSERT_TRUE(r.ok()) << c.user << ": " << r.status().ToString();
    EXPECT_EQ(sink_.out, c.want) << c.user;
  }
  auto s = Step("bad", "true");
  s.user = "ghost";
  auto r = Run(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "unable to find user ghost: no matching entries in passwd file");
}

TEST_F(ExecutorTest, WorkdirIsCreated) {
  auto s = Step("a", "pwd; stat -c '%u %a' .");
  s.workdir = "/srv/app";
  s.user = "app";
  ASSERT_TRUE(Run(s).ok());
  EXPECT_EQ(sink_.out, "/srv/app\n0 755\n");
  EXPECT_TRUE(fs::is_directory(fs::path(s.upper_dir) / "srv/app"));
}

TEST_F(ExecutorTest, TmpfsMount) {
  auto s = Step("a", "grep ' /t ' /proc/mounts | cut -d' ' -f1,3; echo x > /t/f && echo written");
  s.mounts = {TmpfsMount{.target = "/t", .size_bytes = 1 << 20}};
  ASSERT_TRUE(Run(s).ok());
  EXPECT_EQ(sink_.out, "tmpfs tmpfs\nwritten\n");
  EXPECT_TRUE(ListTree(s.upper_dir).empty());
}

TEST_F(ExecutorTest, BindMountReadOnlyAndReadWrite) {
  fs::path ctx = dir_ / "context";
  WriteText(ctx / "sub/a.txt", "from-context\n");
  sources_.context_dir = ctx.string();
  auto s = Step("a", "cat /src/a.txt; touch /src/new 2>/dev/null || echo read-only");
  s.mounts = {BindMount{.target = "/src", .source = "sub"}};
  ASSERT_TRUE(Run(s).ok());
  EXPECT_EQ(sink_.out, "from-context\nread-only\n");
  sink_.out.clear();
  auto s2 = Step("b", "echo changed > /src/a.txt; echo n > /src/new; cat /src/a.txt");
  s2.mounts = {BindMount{.target = "/src", .source = "sub", .readonly = false}};
  ASSERT_TRUE(Run(s2).ok());
  EXPECT_EQ(sink_.out, "changed\n");
  EXPECT_EQ(ListTree(ctx), (std::set<std::string>{"sub", "sub/a.txt"}));
  std::ifstream f(ctx / "sub/a.txt");
  std::string content((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "from-context\n");
}

// The mount options of the filesystem at `mount_point` in a /proc/self/mountinfo text (its
// super options, after " - <fstype> <source> "), or "" when nothing is mounted there.
std::string SuperOptions(const std::string& mountinfo, const std::string& mount_point,
                         std::string* fstype) {
  std::istringstream in(mountinfo);
  std::string line, found;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, dev, root, point;
    f >> id >> parent >> dev >> root >> point;
    size_t sep = line.find(" - ");
    if (point != mount_point || sep == std::string::npos) continue;
    std::istringstream rest(line.substr(sep + 3));
    std::string source;
    rest >> *fstype >> source >> found;  // the last mount at that point wins
  }
  return found;
}

TEST_F(ExecutorTest, RootAndReadWriteBindOverlaysAreVolatile) {
  fs::path ctx = dir_ / "context";
  WriteText(ctx / "sub/a.txt", "x\n");
  sources_.context_dir = ctx.string();
  auto s = Step("a", "cat /proc/self/mountinfo");
  s.mounts = {BindMount{.target = "/src", .source = "sub", .readonly = false}};
  auto r = Run(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // This kernel's answer, learnt by the first writable overlay of the process.
  const bool takes_volatile =
      ProcessVolatileSupport().state() != VolatileSupport::State::kUnsupported;
  for (const char* point : {"/", "/src"}) {
    std::string fstype;
    std::string opts = SuperOptions(sink_.out, point, &fstype);
    EXPECT_EQ(fstype, "overlay") << point << "\n" << sink_.out;
    EXPECT_NE(opts.find("upperdir="), std::string::npos) << point << ": " << opts;
    // Linux 6.x shows the option as fsync=volatile, older kernels as volatile.
    const std::string padded = "," + opts + ",";
    EXPECT_EQ(padded.find(",volatile,") != std::string::npos ||
                  padded.find(",fsync=volatile,") != std::string::npos,
              takes_volatile)
        << point << ": " << opts;
  }
}

TEST_F(ExecutorTest, BindMountMissingSource) {
  sources_.context_dir = (dir_ / "context").string();
  fs::create_directories(sources_.context_dir);
  auto s = Step("a", "true");
  s.mounts = {BindMount{.target = "/src", .source = "nope"}};
  auto r = Run(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "bind mount source \"nope\" does not exist in the build context");
  s.mounts = {BindMount{.target = "/src", .from = "builder"}};
  r = Run(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "bind mount from \"builder\" is not available to the executor");
}

TEST_F(ExecutorTest, CacheMountPersistsAcrossSteps) {
  auto s = Step("a", "echo kept > /cache/f; stat -c '%u %g %a' /cache");
  s.mounts = {CacheMount{.id = "c1", .target = "/cache", .mode = 0750, .uid = 100, .gid = 101}};
  ASSERT_TRUE(Run(s).ok());
  EXPECT_EQ(sink_.out, "100 101 750\n");
  EXPECT_TRUE(ListTree(s.upper_dir).empty());
  sink_.out.clear();
  auto s2 = Step("b", "cat /var/cache/f");
  s2.mounts = {CacheMount{.id = "c1", .target = "/var/cache", .sharing = CacheSharing::kLocked}};
  ASSERT_TRUE(Run(s2).ok());
  EXPECT_EQ(sink_.out, "kept\n");
}

TEST_F(ExecutorTest, SshMountForwardsAgentSocket) {
  fs::path agent = dir_ / "agent.sock";
  int lfd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, agent.c_str());
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(lfd, 4), 0);
  sources_.ssh_agents["default"] = agent.string();
  auto s = Step("a",
                "test -S /run/buildkit/ssh_agent.0 && echo sock; echo $SSH_AUTH_SOCK; "
                "stat -c '%a %u' /run/buildkit/ssh_agent.0");
  s.mounts = {SshMount{.target = "/run/buildkit/ssh_agent.0", .uid = 100}};
  auto r = Run(s);
  ::close(lfd);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(sink_.out, "sock\n/run/buildkit/ssh_agent.0\n600 100\n");
  EXPECT_EQ(ListTree(s.upper_dir), std::set<std::string>{});
  // The use was recorded, naming the host's agent socket.
  ASSERT_EQ(secrets_.ssh_uses.size(), 1u);
  EXPECT_EQ(secrets_.ssh_uses[0].id, "default");
  EXPECT_EQ(secrets_.ssh_uses[0].agent, agent.string());
  EXPECT_EQ(secrets_.ssh_uses[0].outcome, SshOutcome::kGranted);
  EXPECT_EQ(secrets_.ssh_uses[0].error, "");
}

TEST_F(ExecutorTest, SshMountMissingAgent) {
  auto s = Step("a", "if [ -e /run/buildkit/ssh_agent.0 ]; then echo sock; else echo none; fi");
  s.mounts = {SshMount{.target = "/run/buildkit/ssh_agent.0"}};
  ASSERT_TRUE(Run(s).ok());
  EXPECT_EQ(sink_.out, "none\n");
  s.mounts = {SshMount{.id = "deploy", .target = "/run/buildkit/ssh_agent.0", .required = true}};
  auto r = Run(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "no SSH key \"deploy\" forwarded from the client");
}

// A dialer given in MountSources (latchkeyd's session dialer) is asked instead of ssh_agents:
// NOT_FOUND skips an optional mount and fails a required one with the embedded text; any other
// error fails the step with its own message.
class ScriptedDialer : public AgentDialer {
 public:
  Status Check(const std::string& id) override {
    checked.push_back(id);
    if (id == "down") return UnavailableError("session s1: ssh agent down: gone");
    return id == "default" ? Status::OK() : NotFoundError("unset ssh forward key " + id);
  }
  Status Forward(const std::string&, base::UniqueFd, int) override { return Status::OK(); }
  std::string Location(const std::string&) const override { return "client"; }
  std::vector<std::string> checked;
};

TEST_F(ExecutorTest, SshMountAsksTheSourcesDialer) {
  auto dialer = std::make_shared<ScriptedDialer>();
  sources_.ssh_dialer = dialer;
  sources_.ssh_agents["deploy"] = "/not/used.sock";
  auto s = Step("a", "for f in 0 1; do [ -S /run/buildkit/ssh_agent.$f ] && echo $f; done; true");
  s.mounts = {SshMount{.target = "/run/buildkit/ssh_agent.0"},
              SshMount{.id = "deploy", .target = "/run/buildkit/ssh_agent.1"}};
  ASSERT_TRUE(Run(s).ok());
  EXPECT_EQ(sink_.out, "0\n");
  EXPECT_EQ(dialer->checked, (std::vector<std::string>{"default", "deploy"}));
  s.mounts = {SshMount{.id = "deploy", .target = "/run/buildkit/ssh_agent.0", .required = true}};
  auto r = Run(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "no SSH key \"deploy\" forwarded from the client");
  s.mounts = {SshMount{.id = "down", .target = "/run/buildkit/ssh_agent.0"}};
  r = Run(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(), "session s1: ssh agent down: gone");
}

}  // namespace
}  // namespace latchkey::executor
