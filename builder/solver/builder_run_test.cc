// Build() driven in-process with a fake executor (step_executor_testutil.h): what the builder's
// RUN path hands the executor, the error it makes of a failed step, the step cache in front of
// it, and cancellation between steps. A fake secret session (secret_session_testutil.h) and a real
// state dir; no runtime.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "builder/executor/cancel.h"
#include "builder/solver/builder.h"
#include "builder/solver/secret_session_testutil.h"
#include "builder/solver/step_executor_testutil.h"

namespace latchkey::build {
namespace {

using executor::BindMount;
using executor::CacheMount;
using executor::CacheSharing;
using executor::SecretMount;
using executor::StepMount;
using testing::FakeStepExecutor;

class BuilderRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lk-builder-run-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_EQ(::mkdir((dir_ + "/ctx").c_str(), 0755), 0);
    null_fd_ = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    ASSERT_GE(null_fd_, 0);
    progress_ = NewProgressWriter(ProgressMode::kPlain, null_fd_);
  }
  void TearDown() override {
    if (null_fd_ >= 0) ::close(null_fd_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  BuildRequest Request(const std::string& dockerfile) {
    BuildRequest req;
    req.context_dir = dir_ + "/ctx";
    req.dockerfile_path = dir_ + "/ctx/Dockerfile";
    req.dockerfile_text = dockerfile;
    req.state_dir = dir_ + "/state";
    req.executor = &executor_;
    return req;
  }
  Result<BuildResult> Run(const BuildRequest& req, BuildFailure* failure = nullptr) {
    return Build(req, secrets_, *progress_, failure);
  }

  std::string dir_;
  FakeStepExecutor executor_;
  testing::FakeSecretSession secrets_;
  int null_fd_ = -1;
  std::unique_ptr<ProgressWriter> progress_;
};

TEST_F(BuilderRunTest, TheStepsCommandEnvAndMountsReachTheExecutor) {
  ASSERT_EQ(::mkdir((dir_ + "/ctx/sub").c_str(), 0755), 0);  // the bind source is keyed
  auto r = Run(Request(
      "FROM scratch\n"
      "ENV A=1\n"
      "ARG B=2\n"
      "WORKDIR /app\n"
      "USER 7:8\n"
      "RUN --network=none --mount=type=secret,id=npmrc,target=/root/.npmrc "
      "--mount=type=cache,target=.cache,sharing=locked --mount=type=bind,source=sub,target=src,rw "
      "make all\n"
      "RUN [\"echo\", \"hi\"]\n"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->steps_run, 2);
  ASSERT_EQ(executor_.steps.size(), 2u);
  const auto& first = executor_.steps[0];
  EXPECT_EQ(first.args, (std::vector<std::string>{"/bin/sh", "-c", "make all"}));
  EXPECT_EQ(first.env_names, (std::vector<std::string>{"PATH", "A", "B"}));
  EXPECT_EQ(first.user, "7:8");
  EXPECT_EQ(first.workdir, "/app");
  EXPECT_EQ(first.network, executor::NetworkMode::kNone);
  // Converted from the frontend's --mount flags: defaults applied, targets absolute.
  EXPECT_EQ(
      first.mounts,
      (std::vector<StepMount>{
          SecretMount{.id = "npmrc", .target = "/root/.npmrc", .mode = 0400},
          CacheMount{.id = ".cache", .target = "/app/.cache", .sharing = CacheSharing::kLocked},
          BindMount{.target = "/app/src", .source = "sub", .readonly = false}}));
  const auto& second = executor_.steps[1];
  EXPECT_EQ(second.args, (std::vector<std::string>{"echo", "hi"}));
  EXPECT_EQ(second.network, executor::NetworkMode::kHost);
  EXPECT_TRUE(second.mounts.empty());
}

TEST_F(BuilderRunTest, AHeredocScriptIsBindMountedFromItsOwnSource) {
  auto r = Run(Request("FROM scratch\nRUN <<EOT\necho one\necho two\nEOT\n"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(executor_.steps.size(), 1u);
  ASSERT_EQ(executor_.steps[0].mounts.size(), 1u);
  const auto* m = std::get_if<BindMount>(&executor_.steps[0].mounts[0]);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->from, "latchkey:heredoc");
  EXPECT_EQ(m->target, "/dev/pipes/" + m->source);
  EXPECT_TRUE(m->readonly);
  EXPECT_EQ(executor_.steps[0].from_sources, std::vector<std::string>{"latchkey:heredoc"});
}

TEST_F(BuilderRunTest, AFailingRunGivesBuildKitsTextItsExitCodeAndItsPlace) {
  executor_.exit_codes["false"] = 3;
  BuildFailure failure;
  auto r = Run(Request("FROM scratch\nENV A=1\nRUN false\n"), &failure);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "process \"/bin/sh -c false\" did not complete successfully: exit code: 3");
  EXPECT_EQ(failure.vertex, "[2/2] RUN false");
  EXPECT_EQ(failure.line, 3);
  // A failed step is not cached: the next build runs it again.
  auto again = Run(Request("FROM scratch\nENV A=1\nRUN false\n"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(executor_.steps.size(), 2u);
}

TEST_F(BuilderRunTest, AFailingRunMasksItsEnvSecretsInTheError) {
  executor_.exit_codes["test \"$TOKEN\" = x"] = 1;
  auto r =
      Run(Request("FROM scratch\nRUN --mount=type=secret,id=tok,env=TOKEN test \"$TOKEN\" = x\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "process \"/bin/sh -c test \\\"****\\\" = x\" did not complete successfully: exit "
            "code: 1");
}

TEST_F(BuilderRunTest, AnExecutorErrorIsTheBuildsErrorUnchanged) {
  executor_.errors["make"] = NotFoundError("secret tok: not found");
  BuildFailure failure;
  auto r = Run(Request("FROM scratch\nRUN --mount=type=secret,id=tok,required make\n"), &failure);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "secret tok: not found");
  EXPECT_EQ(failure.vertex, "[2/2] RUN --mount=type=secret,id=tok,required make");
  EXPECT_EQ(failure.line, 2);
}

TEST_F(BuilderRunTest, ACachedRunDoesNotCallTheExecutor) {
  executor_.files["out/built.txt"] = "built\n";
  const std::string df = "FROM scratch\nRUN make\n";
  auto first = Run(Request(df));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->steps_run, 1);
  ASSERT_EQ(first->image.layers.size(), 1u);
  ASSERT_EQ(executor_.steps.size(), 1u);

  auto second = Run(Request(df));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->steps_cached, 1);
  EXPECT_EQ(second->steps_run, 0);
  EXPECT_EQ(executor_.steps.size(), 1u);  // not called again
  EXPECT_EQ(second->image.layers.at(0).diff_id, first->image.layers.at(0).diff_id);

  BuildRequest no_cache = Request(df);
  no_cache.no_cache = true;
  auto third = Run(no_cache);
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_EQ(third->steps_run, 1);
  EXPECT_EQ(executor_.steps.size(), 2u);
}

// Cancellation is process-wide and cannot be undone: the build runs in a child process, which
// reports on stderr. Ctrl-C during the first RUN: its work is not committed and the second RUN
// never reaches the executor.
TEST_F(BuilderRunTest, CancellationDuringAStepRunsNoFurtherStep) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // the audit log runs a writer thread
  BuildRequest req = Request("FROM scratch\nRUN first\nRUN second\n");
  executor_.on_run = [](const testing::RecordedStep&) { executor::RequestCancel(); };
  EXPECT_EXIT(
      {
        BuildFailure failure;
        auto r = Run(req, &failure);
        std::fprintf(stderr, "[%s] vertex=[%s] executor calls=%zu\n", r.status().ToString().c_str(),
                     failure.vertex.c_str(), executor_.steps.size());
        std::_Exit(r.ok() ? 1 : 0);
      },
      ::testing::ExitedWithCode(0),
      "\\[CANCELLED: build cancelled\\] vertex=\\[\\[2/3\\] RUN first\\] executor calls=1");
}

}  // namespace
}  // namespace latchkey::build
