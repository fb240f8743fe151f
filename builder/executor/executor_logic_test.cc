// RunStep's logic without root: the runtime and the mounts are fakes (runtime_testutil.h), the
// rest is real (the bundle directory, config.json fed through its FIFO, secret files, mount
// stubs, output redaction, teardown). The same behaviour under real runc and overlayfs is
// covered by executor_test.cc (root only).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "builder/executor/cancel.h"
#include "builder/executor/executor.h"
#include "builder/executor/executor_test_util.h"
#include "builder/executor/process_error.h"
#include "builder/executor/runtime_testutil.h"
#include "secure/redactor.h"

namespace latchkey::executor {
namespace {

using namespace latchkey::executor::testing;  // NOLINT

// MapSecrets that also logs "fetch <id>" to the event log.
class LoggedSecrets : public MapSecrets {
 public:
  explicit LoggedSecrets(EventLog& log) : log_(log) {}
  Result<std::optional<std::shared_ptr<const SecretBuffer>>> Fetch(const std::string& id) override {
    log_.Add("fetch " + id);
    return MapSecrets::Fetch(id);
  }
  Status RecordSshUse(const SshUse& use) override {
    static const char* const kOutcome[] = {"granted", "not_found", "unusable"};
    log_.Add("record ssh " + use.id + " " + kOutcome[static_cast<int>(use.outcome)] + " at " +
             use.agent + (use.required ? " required" : " optional") +
             (use.error.empty() ? "" : ": " + use.error));
    return MapSecrets::RecordSshUse(use);
  }

 private:
  EventLog& log_;
};

// A secret file owned by this process's user (the fake bundle is a plain directory: a non-root
// test cannot chown into it).
SecretMount OwnSecret(const std::string& id, const std::string& target) {
  SecretMount m{.id = id, .target = target};
  m.uid = ::geteuid();
  m.gid = ::getegid();
  return m;
}

std::string Joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& e : v) s += e + "\n";
  return s;
}

class ExecutorLogicTest : public ::testing::Test {
 protected:
  static std::string MakeTempDir() {
    char tmpl[] = "/tmp/lk-exec-logic-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) std::abort();
    return tmpl;
  }
  void SetUp() override {
    for (const char* d : {"lower", "upper", "work"}) fs::create_directories(dir_ + "/" + d);
    options_.state_dir = dir_ + "/state";
    options_.container_runtime = &runtime_;
    options_.mounter = &mounter_;
    options_.overlay_volatile = &volatile_;
  }
  void TearDown() override { fs::remove_all(dir_); }

  StepSpec Step() {
    StepSpec s;
    s.lower_dirs = {dir_ + "/lower"};
    s.upper_dir = dir_ + "/upper";
    s.work_dir = dir_ + "/work";
    s.args = {"/bin/sh", "-c", "make"};
    s.env = {"PATH=/bin"};
    return s;
  }
  Result<StepResult> Run(const StepSpec& s) {
    return RunStep(options_, s, secrets_, sources_, sink_);
  }
  // The events that set the step up before any secret: the bundle tmpfs and the overlay.
  std::vector<std::string> SetUpEvents() const {
    return {"mount tmpfs <dir>/state/secrets/<id> mode=0700,size=8388608",
            "mount overlay <dir>/state/secrets/<id>/rootfs lowerdir=<dir>/lower,upperdir=<dir>/"
            "upper,workdir=<dir>/work,redirect_dir=off,metacopy=off,index=off,volatile"};
  }
  std::vector<std::string> TearDownEvents(bool started) const {
    std::vector<std::string> e;
    if (started) e.push_back("delete latchkey-<id>");
    e.push_back("unmount <dir>/state/secrets/<id>/rootfs (0 files)");
    e.push_back("unmount <dir>/state/secrets/<id> (0 files)");
    return e;
  }
  static std::vector<std::string> Concat(std::vector<std::vector<std::string>> parts) {
    std::vector<std::string> out;
    for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
  }

  std::string dir_ = MakeTempDir();  // first: the event log shows paths relative to it
  EventLog log_{dir_};
  FakeMounter mounter_{log_};
  VolatileSupport volatile_;
  FakeRuntime runtime_{log_, mounter_};
  ExecutorOptions options_;
  LoggedSecrets secrets_{log_};
  MountSources sources_;
  RecordingSink sink_;
};

TEST_F(ExecutorLogicTest, AssemblesTheBundleInOrderAndTearsItDownInReverse) {
  const std::string canary = "file-canary-3c1d77";
  secrets_.values["tok"] = Secret(canary);
  StepSpec s = Step();
  s.mounts = {OwnSecret("tok", "/run/secrets/tok"), TmpfsMount{.target = "/t"}};
  runtime_.run.out = "built\n";
  auto r = Run(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(sink_.out, "built\n");
  // Secrets are fetched after the root filesystem is there and mounted before the start; they
  // are wiped (0 files left) and unmounted first, the bundle last.
  EXPECT_EQ(Joined(log_.events),
            Joined(Concat(
                {SetUpEvents(),
                 {"fetch tok", "mount tmpfs <dir>/state/secrets/<id>/secret0 mode=0700,size=8192",
                  "start latchkey-<id>", "unmount <dir>/state/secrets/<id>/secret0 (0 files)"},
                 TearDownEvents(true)})));
  ASSERT_EQ(runtime_.starts.size(), 1u);
  const StartRecord& start = runtime_.starts[0];
  EXPECT_EQ(start.mounted.size(), 3u);  // bundle, rootfs and the secret's tmpfs
  EXPECT_EQ(log_.Show(start.ref.bundle), "<dir>/state/secrets/<id>");
  EXPECT_EQ(start.ref.state_root, start.ref.bundle + "/runc");
  EXPECT_EQ(start.ref.log_path, start.ref.bundle + "/runc.log");
  EXPECT_TRUE(start.config_is_fifo);
  EXPECT_EQ(start.bound_files.at("/run/secrets/tok"), (SeenFile{canary, 0400}));
  // config.json: the step's process, and the mounts parents first (the tmpfs at /t before the
  // deeper secret, though written after it), after the runtime's defaults and /etc files.
  EXPECT_EQ(start.config["process"]["args"], nlohmann::json(s.args));
  EXPECT_EQ(start.config["process"]["cwd"], "/");
  EXPECT_EQ(start.config["hostname"], "buildkitsandbox");
  EXPECT_EQ(log_.Show(start.config["root"]["path"]), "<dir>/state/secrets/<id>/rootfs");
  std::vector<std::string> destinations;
  for (const auto& m : start.config["mounts"]) destinations.push_back(m["destination"]);
  EXPECT_EQ(Joined(destinations),
            Joined({"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys",
                    "/etc/resolv.conf", "/etc/hosts", "/t", "/run/secrets/tok"}));
  // Nothing is left: no mount, no bundle, no value on disk.
  EXPECT_TRUE(mounter_.mounted().empty());
  EXPECT_TRUE(ListTree(options_.state_dir + "/secrets").empty());
  EXPECT_FALSE(TreeContains(dir_, canary));
}

TEST_F(ExecutorLogicTest, EnvSecretReachesTheRuntimeOnlyThroughTheConfigFifo) {
  const std::string canary = "env-canary-9be21f";
  secrets_.values["tok"] = Secret(canary);
  StepSpec s = Step();
  s.env.push_back("TOKEN=from-build-arg");
  s.mounts = {SecretMount{.id = "tok", .env = "TOKEN"}};
  bool on_disk_at_start = true;
  runtime_.run.on_start = [&](const ContainerRef&) {
    on_disk_at_start = TreeContains(dir_, canary);
  };
  auto r = Run(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->secret_env_names, std::vector<std::string>{"TOKEN"});
  ASSERT_EQ(runtime_.starts.size(), 1u);
  EXPECT_TRUE(runtime_.starts[0].config_is_fifo);
  EXPECT_EQ(runtime_.starts[0].config["process"]["env"],
            nlohmann::json({"PATH=/bin", "TOKEN=" + canary}));
  std::set<std::string> bound;  // the bundle's files the runtime bind-mounts: /etc only
  for (const auto& [dest, file] : runtime_.starts[0].bound_files) bound.insert(dest);
  EXPECT_EQ(bound, (std::set<std::string>{"/etc/hosts", "/etc/resolv.conf"}));
  EXPECT_FALSE(on_disk_at_start);
  EXPECT_FALSE(TreeContains(dir_, canary));
  // No secret tmpfs: the value went nowhere but the FIFO.
  EXPECT_EQ(
      Joined(log_.events),
      Joined(Concat({SetUpEvents(), {"fetch tok", "start latchkey-<id>"}, TearDownEvents(true)})));
}

TEST_F(ExecutorLogicTest, AFailedStartStillWipesAndUnmountsTheSecrets) {
  secrets_.values["tok"] = Secret("v");
  StepSpec s = Step();
  s.mounts = {OwnSecret("tok", "/run/secrets/tok")};
  runtime_.run.start_error =
      FailedPreconditionError("cannot start OCI runtime runc: No such file or directory");
  auto r = Run(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "cannot start OCI runtime runc: No such file or directory");
  EXPECT_EQ(Joined(log_.events),
            Joined(Concat(
                {SetUpEvents(),
                 {"fetch tok", "mount tmpfs <dir>/state/secrets/<id>/secret0 mode=0700,size=8192",
                  "start latchkey-<id>", "unmount <dir>/state/secrets/<id>/secret0 (0 files)"},
                 TearDownEvents(false)})));
  EXPECT_TRUE(mounter_.mounted().empty());
  EXPECT_TRUE(ListTree(options_.state_dir + "/secrets").empty());
}

TEST_F(ExecutorLogicTest, AMissingSecretAfterAMountedOneTearsTheFirstDown) {
  secrets_.values["a"] = Secret("v");
  StepSpec s = Step();
  s.mounts = {OwnSecret("a", "/run/secrets/a"),
              SecretMount{.id = "b", .target = "/run/secrets/b", .required = true}};
  auto r = Run(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "secret b: not found");
  EXPECT_EQ(
      Joined(log_.events),
      Joined(Concat({SetUpEvents(),
                     {"fetch a", "mount tmpfs <dir>/state/secrets/<id>/secret0 mode=0700,size=8192",
                      "fetch b", "unmount <dir>/state/secrets/<id>/secret0 (0 files)"},
                     TearDownEvents(false)})));
  EXPECT_TRUE(runtime_.starts.empty());
}

TEST_F(ExecutorLogicTest, AFailedOverlayMountUnwindsTheBundleAndFetchesNothing) {
  secrets_.values["tok"] = Secret("v");
  StepSpec s = Step();
  s.mounts = {OwnSecret("tok", "/run/secrets/tok")};
  mounter_.fail_at = 1;
  mounter_.failure = PermissionDeniedError("mount overlay on x: Operation not permitted");
  auto r = Run(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "mount overlay on x: Operation not permitted");
  EXPECT_EQ(Joined(log_.events),
            Joined(Concat({SetUpEvents(), {"unmount <dir>/state/secrets/<id> (0 files)"}})));
  EXPECT_TRUE(secrets_.calls.empty());
}

TEST_F(ExecutorLogicTest, AKernelWithoutVolatileGetsTheOverlayWithoutIt) {
  volatile_.Set(VolatileSupport::State::kUnsupported);
  auto r = Run(Step());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_GE(log_.events.size(), 2u);
  EXPECT_EQ(log_.events[1],
            "mount overlay <dir>/state/secrets/<id>/rootfs lowerdir=<dir>/lower,upperdir=<dir>/"
            "upper,workdir=<dir>/work,redirect_dir=off,metacopy=off,index=off");
}

TEST_F(ExecutorLogicTest, ReadWriteBindOverlaysAreVolatileToo) {
  fs::create_directories(dir_ + "/ctx/src");
  sources_.context_dir = dir_ + "/ctx";
  StepSpec s = Step();
  s.mounts = {BindMount{.target = "/src", .source = "src", .readonly = false}};
  auto r = Run(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  int found = 0;
  for (const auto& e : log_.events) {
    if (e.rfind("mount overlay <dir>/state/scratch/<id>/bind0/merged ", 0) == 0) {
      ++found;
      EXPECT_EQ(e,
                "mount overlay <dir>/state/scratch/<id>/bind0/merged lowerdir=<dir>/ctx/src,"
                "upperdir=<dir>/state/scratch/<id>/bind0/upper,workdir=<dir>/state/scratch/"
                "<id>/bind0/work,volatile");
    }
  }
  EXPECT_EQ(found, 1) << Joined(log_.events);
}

TEST_F(ExecutorLogicTest, ARefusedTargetFailsBeforeTheSecretIsFetched) {
  secrets_.values["x"] = Secret("v");
  StepSpec s = Step();
  s.mounts = {OwnSecret("x", "/proc/x")};
  auto r = Run(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "secret target /proc/x is not allowed: /proc and /sys are managed by the runtime");
  EXPECT_TRUE(secrets_.calls.empty());
  EXPECT_TRUE(runtime_.starts.empty());
}

// An agent dialer that logs its checks and answers by id: "default" is there, "down" is
// unusable, anything else is not found.
class LoggedDialer : public AgentDialer {
 public:
  explicit LoggedDialer(EventLog& log) : log_(log) {}
  Status Check(const std::string& id) override {
    log_.Add("check ssh " + id);
    if (id == "down") return FailedPreconditionError("ssh agent socket /a.sock is not usable");
    return id == "default" ? Status::OK() : NotFoundError("unset ssh forward key " + id);
  }
  Status Forward(const std::string&, base::UniqueFd, int) override { return Status::OK(); }
  std::string Location(const std::string& id) const override { return "/agents/" + id; }

 private:
  EventLog& log_;
};

SshMount OwnSsh(const std::string& id, const std::string& target, bool required) {
  SshMount m{.id = id, .target = target, .required = required};
  m.uid = ::geteuid();
  m.gid = ::getegid();
  return m;
}

TEST_F(ExecutorLogicTest, EverySshMountIsRecordedBeforeTheStepStarts) {
  sources_.ssh_dialer = std::make_shared<LoggedDialer>(log_);
  StepSpec s = Step();
  s.mounts = {OwnSsh("default", "/run/ssh0", true), OwnSsh("deploy", "/run/ssh1", false)};
  auto r = Run(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(
      Joined(log_.events),
      Joined(Concat({SetUpEvents(),
                     {"check ssh default", "record ssh default granted at /agents/default required",
                      "check ssh deploy",
                      "record ssh deploy not_found at /agents/deploy optional: unset ssh "
                      "forward key deploy",
                      "start latchkey-<id>"},
                     TearDownEvents(true)})));
  ASSERT_EQ(runtime_.starts.size(), 1u);
  EXPECT_EQ(runtime_.starts[0].config["process"]["env"],
            nlohmann::json({"PATH=/bin", "SSH_AUTH_SOCK=/run/ssh0"}));
}

TEST_F(ExecutorLogicTest, AnSshUseThatCannotBeRecordedIsNotForwarded) {
  sources_.ssh_dialer = std::make_shared<LoggedDialer>(log_);
  secrets_.ssh_record_answer = UnavailableError(
      "audit log unavailable: writing /state/audit/audit.log: No space left on device");
  StepSpec s = Step();
  s.mounts = {OwnSsh("default", "/run/ssh0", true)};
  auto r = Run(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status(), secrets_.ssh_record_answer);
  EXPECT_TRUE(runtime_.starts.empty());
}

TEST_F(ExecutorLogicTest, AnUnusableAgentIsRecordedAndFailsTheStep) {
  sources_.ssh_dialer = std::make_shared<LoggedDialer>(log_);
  StepSpec s = Step();
  s.mounts = {OwnSsh("down", "/run/ssh0", false)};
  auto r = Run(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "ssh agent socket /a.sock is not usable");
  ASSERT_EQ(secrets_.ssh_uses.size(), 1u);
  EXPECT_EQ(secrets_.ssh_uses[0].outcome, SshOutcome::kUnusable);
  EXPECT_EQ(secrets_.ssh_uses[0].error, "ssh agent socket /a.sock is not usable");
  EXPECT_TRUE(runtime_.starts.empty());
}

TEST_F(ExecutorLogicTest, ExitCodesComeBackAndAreNotErrors) {
  StepSpec s = Step();
  runtime_.run.exit_code = 3;
  auto r = Run(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(FormatProcessFailure(s.args, r->secret_env_names, r->exit_code),
            "process \"/bin/sh -c make\" did not complete successfully: exit code: 3");
  runtime_.run.exit_code = 137;
  r = Run(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 137);
  // A runtime error logged by a step that exited 0 is not a failure.
  runtime_.run.exit_code = 0;
  runtime_.run.runtime_error = "ignored";
  r = Run(s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 0);
}

TEST_F(ExecutorLogicTest, TheRuntimesOwnErrorIsSaidOnceAndRedacted) {
  const std::string canary = "log-canary-77aa01";
  auto value = Secret(canary);
  auto handle = SecretRegistry::Global().Add(value);
  ASSERT_TRUE(handle.ok());
  StepSpec s = Step();
  runtime_.run.exit_code = 1;
  runtime_.run.runtime_error =
      "runc run failed: unable to start container process: exec: \"" + canary + "\": not found";
  auto r = Run(s);
  runtime_.run.runtime_error = "container_linux.go:380: starting container process caused: x";
  auto r2 = Run(s);
  SecretRegistry::Global().Remove(*handle);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnknown);
  EXPECT_EQ(r.status().message(),
            "runc run failed: unable to start container process: exec: \"****\": not found");
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.status().message(),
            "runc run failed: container_linux.go:380: starting container process caused: x");
  // The container had started: its runtime state is deleted in teardown.
  EXPECT_EQ(std::count(log_.events.begin(), log_.events.end(), "delete latchkey-<id>"), 2);
}

TEST_F(ExecutorLogicTest, OutputIsRedactedOnBothStreams) {
  const std::string canary = "out-canary-5e5e5e";
  auto value = Secret(canary);
  auto handle = SecretRegistry::Global().Add(value);
  ASSERT_TRUE(handle.ok());
  runtime_.run.out = "token=" + canary + "\nok\n";
  runtime_.run.err = canary;
  auto r = Run(Step());
  SecretRegistry::Global().Remove(*handle);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(sink_.out, "token=****\nok\n");
  EXPECT_EQ(sink_.err, "****");
}

// Cancellation is process-wide and cannot be undone: the step runs in a child process, which
// reports what happened on stderr.
TEST_F(ExecutorLogicTest, CancellationKillsTheContainerAndStillTearsDown) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // the config feeder runs a thread
  secrets_.values["tok"] = Secret("v");
  StepSpec s = Step();
  s.mounts = {OwnSecret("tok", "/run/secrets/tok")};
  runtime_.run.run_until_killed = true;  // without the kill, the step would never end
  runtime_.run.on_start = [](const ContainerRef&) { RequestCancel(); };
  const std::vector<std::string> want =
      Concat({SetUpEvents(),
              {"fetch tok", "mount tmpfs <dir>/state/secrets/<id>/secret0 mode=0700,size=8192",
               "start latchkey-<id>", "kill", "unmount <dir>/state/secrets/<id>/secret0 (0 files)"},
              TearDownEvents(true)});
  EXPECT_EXIT(
      {
        if (!InitCancellation().ok()) std::_Exit(2);
        auto r = Run(s);
        bool same = log_.events == want && mounter_.mounted().empty();
        std::fprintf(stderr, "[%s] events %s\n%s", r.status().ToString().c_str(),
                     same ? "as expected" : "differ:", same ? "" : Joined(log_.events).c_str());
        std::_Exit(same ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "\\[CANCELLED: build cancelled\\] events as expected");
}

}  // namespace
}  // namespace latchkey::executor
