// Build() driven in-process, with a real session, audit log and state dir: stage and step
// sequencing, the step cache (hit, miss, --no-cache) and cancellation between phases. Builds
// that need no container (scratch, COPY) so that no runtime is involved; COPY mounts an
// overlay, so those tests need root.
#include "builder/build/builder.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "base/testutil.h"
#include "broker/audit/audit_log.h"
#include "broker/session.h"
#include "builder/build/build_run.h"
#include "builder/executor/cancel.h"

namespace latchkey::build {
namespace {

using base::testing::TempDir;

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

class BuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    audit::AuditOptions ao;
    ao.path = dir_.Join("audit.log");
    ao.on_error = [](const std::string&) {};
    auto keys = audit::GenerateKeys();
    ASSERT_TRUE(keys.ok()) << keys.status().ToString();
    auto log =
        audit::AuditLog::Open(ao, std::make_shared<const audit::AuditKeys>(std::move(*keys)));
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(*log);
    SessionManagerOptions o;
    o.policy = [](const PolicyRequest& q) { return Policy().Decide(q); };
    o.audit = log_.get();
    auto m = SessionManager::Create(std::move(o));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    manager_ = std::move(*m);
    SessionAttributes a;
    a.build_id = "build-1";
    a.uid = 0;
    a.user = "root";
    a.dockerfile = dir_.Join("ctx/Dockerfile");
    a.context = dir_.Join("ctx");
    auto s = manager_->Open(std::move(a));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    session_ = *s;
    ASSERT_EQ(::mkdir(dir_.Join("ctx").c_str(), 0755), 0);
    null_fd_ = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    ASSERT_GE(null_fd_, 0);
    progress_ = NewProgressWriter(ProgressMode::kPlain, null_fd_);
  }
  void TearDown() override {
    if (session_) (void)session_->Close("completed");
    if (null_fd_ >= 0) ::close(null_fd_);
  }

  BuildRequest Request(const std::string& dockerfile) {
    BuildRequest req;
    req.context_dir = dir_.Join("ctx");
    req.dockerfile_path = dir_.Join("ctx/Dockerfile");
    req.dockerfile_text = dockerfile;
    req.state_dir = dir_.Join("state");
    return req;
  }

  Result<BuildResult> Run(const BuildRequest& req, BuildFailure* failure = nullptr) {
    return Build(req, *session_, *log_, *progress_, failure);
  }

  TempDir dir_;
  std::unique_ptr<audit::AuditLog> log_;
  std::unique_ptr<SessionManager> manager_;
  std::shared_ptr<Session> session_;
  int null_fd_ = -1;
  std::unique_ptr<ProgressWriter> progress_;
};

TEST(IsFilesystemStep, RunCopyAndAddOnly) {
  using frontend::InstructionKind;
  EXPECT_TRUE(IsFilesystemStep(InstructionKind::kRun));
  EXPECT_TRUE(IsFilesystemStep(InstructionKind::kCopy));
  EXPECT_TRUE(IsFilesystemStep(InstructionKind::kAdd));
  EXPECT_FALSE(IsFilesystemStep(InstructionKind::kEnv));
  EXPECT_FALSE(IsFilesystemStep(InstructionKind::kWorkdir));
  EXPECT_FALSE(IsFilesystemStep(InstructionKind::kLabel));
}

// Metadata instructions on scratch: no step runs, every history entry is an empty layer.
TEST_F(BuilderTest, MetadataOnlyBuildRunsNoStep) {
  auto r = Run(Request("FROM scratch\nENV A=1\nLABEL x=y\nWORKDIR /w\n"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->steps_run, 0);
  EXPECT_EQ(r->steps_cached, 0);
  EXPECT_TRUE(r->image.layers.empty());
  ASSERT_EQ(r->image.config.history.size(), 3u);
  for (const auto& h : r->image.config.history) EXPECT_TRUE(h.empty_layer);
  EXPECT_EQ(r->image.config.labels.at("x"), "y");
  EXPECT_EQ(r->image.config.working_dir, "/w");
}

// The second build of the same COPY hits the cache (same image); --no-cache and a changed
// source run the step again.
TEST_F(BuilderTest, CopyStepHitsTheCacheUntilItsSourceChanges) {
  if (::geteuid() != 0) GTEST_SKIP() << "COPY mounts an overlay: needs root";
  WriteFile(dir_.Join("ctx/a.txt"), "one\n");
  const std::string df = "FROM scratch\nCOPY a.txt /a.txt\n";
  auto first = Run(Request(df));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->steps_run, 1);
  EXPECT_EQ(first->steps_cached, 0);
  ASSERT_EQ(first->image.layers.size(), 1u);

  auto second = Run(Request(df));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->steps_run, 0);
  EXPECT_EQ(second->steps_cached, 1);
  EXPECT_EQ(second->image.layers.at(0).diff_id, first->image.layers.at(0).diff_id);

  BuildRequest no_cache = Request(df);
  no_cache.no_cache = true;
  auto third = Run(no_cache);
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_EQ(third->steps_run, 1);
  EXPECT_EQ(third->steps_cached, 0);

  WriteFile(dir_.Join("ctx/a.txt"), "two\n");
  auto changed = Run(Request(df));
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_EQ(changed->steps_run, 1);
  EXPECT_NE(changed->image.layers.at(0).diff_id, first->image.layers.at(0).diff_id);
}

// After a cancellation request no further phase starts: the build fails with CANCELLED and
// names no step. The request is process-wide and cannot be undone, so it is made in a child.
TEST_F(BuilderTest, CancelledBuildStopsBeforeItsFirstStage) {
  BuildRequest req = Request("FROM scratch\nENV A=1\n");
  req.tags = {"cancelled:test"};
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // the audit log runs a writer thread
  EXPECT_EXIT(
      {
        executor::RequestCancel();
        BuildFailure failure;
        auto r = Run(req, &failure);
        std::fprintf(stderr, "[%s] vertex=[%s]\n", r.status().ToString().c_str(),
                     failure.vertex.c_str());
        std::_Exit(r.ok() ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "\\[CANCELLED: build cancelled\\] vertex=\\[\\]");
}

}  // namespace
}  // namespace latchkey::build
