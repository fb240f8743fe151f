// Build() driven in-process against a FakeSecretSession (secret_session_testutil.h) and a real
// state dir: stage and step sequencing, the step cache (hit, miss, --no-cache), cancellation
// between phases, and what the builder asks of its secret session: fetches for a step, cache
// hits of steps that mounted secrets, leak findings. Builds that need no container (scratch,
// COPY) involve no runtime; COPY mounts an overlay, so those tests need root; the few RUN steps
// run busybox under runc (root and runc, else skipped).
#include "builder/solver/builder.h"

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
#include "builder/executor/cancel.h"
#include "builder/solver/build_run.h"
#include "builder/solver/secret_session_testutil.h"

namespace latchkey::build {
namespace {

using base::testing::TempDir;
using testing::FakeSecretSession;
using testing::SecretOf;

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

// RUN steps need root (overlay, runc), runc and a static busybox to run in a scratch image.
bool CanRunSteps() {
  return ::geteuid() == 0 && ::access("/bin/busybox", X_OK) == 0 &&
         std::system("runc --version >/dev/null 2>&1") == 0;
}

class BuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::mkdir(dir_.Join("ctx").c_str(), 0755), 0);
    null_fd_ = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    ASSERT_GE(null_fd_, 0);
    progress_ = NewProgressWriter(ProgressMode::kPlain, null_fd_);
  }
  void TearDown() override {
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
    return Build(req, session_, *progress_, failure);
  }

  // Puts busybox in the context, for `COPY busybox /bin/busybox` and exec-form RUN steps.
  void AddBusybox() { std::filesystem::copy_file("/bin/busybox", dir_.Join("ctx/busybox")); }

  TempDir dir_;
  FakeSecretSession session_;
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

// Only what tagged images need stays unpacked after a build: the intermediate stage's layers
// keep their blobs and cache entries, a fully cached rebuild unpacks nothing, and a later build
// whose new step needs them unpacks them again from their blobs, with the same content.
TEST_F(BuilderTest, LayersNoImageNeedsAreUnpackedAgainWhenALaterBuildNeedsThem) {
  if (::geteuid() != 0) GTEST_SKIP() << "COPY mounts an overlay: needs root";
  WriteFile(dir_.Join("ctx/a.txt"), "one\n");
  WriteFile(dir_.Join("ctx/b.txt"), "two\n");
  WriteFile(dir_.Join("ctx/c.txt"), "three\n");
  auto unpacked = [&](const std::string& diff_id) {
    return std::filesystem::is_directory(dir_.Join("state/layers/sha256/") +
                                         std::string(image::DigestHex(diff_id)));
  };
  const std::string build_stage = "FROM scratch AS build\nCOPY a.txt /a.txt\nCOPY b.txt /b.txt\n";
  const std::string df = build_stage + "FROM scratch\nCOPY --from=build /a.txt /final.txt\n";
  BuildRequest stage_only = Request(df);
  stage_only.frontend.target = "build";
  auto stage = Run(stage_only);  // untagged: nothing of it stays unpacked
  ASSERT_TRUE(stage.ok()) << stage.status().ToString();
  ASSERT_EQ(stage->image.layers.size(), 2u);
  const image::LayerDescriptor la = stage->image.layers[0], lb = stage->image.layers[1];
  EXPECT_FALSE(unpacked(la.diff_id));
  EXPECT_FALSE(unpacked(lb.diff_id));
  BuildRequest first = Request(df);
  first.tags = {"app:1"};
  // The plain progress of a build, for its "unpacking layers" phases.
  auto logged_run = [&](const BuildRequest& req, std::string* log) {
    const std::string path = dir_.Join("progress.log");
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    auto writer = NewProgressWriter(ProgressMode::kPlain, fd);
    auto r = Build(req, session_, *writer, nullptr);
    writer.reset();
    ::close(fd);
    *log = base::testing::ReadText(path);
    return r;
  };
  std::string log;
  auto r1 = logged_run(first, &log);
  EXPECT_NE(log.find("unpacking layers"), std::string::npos) << log;  // for the COPY --from
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  EXPECT_EQ(r1->steps_cached, 2);
  ASSERT_EQ(r1->image.layers.size(), 1u);
  // The tagged image's layer stays unpacked; the build stage's were unpacked again for the
  // COPY --from and removed after the build.
  EXPECT_TRUE(unpacked(r1->image.layers[0].diff_id));
  EXPECT_FALSE(unpacked(la.diff_id));
  EXPECT_FALSE(unpacked(lb.diff_id));
  image::BlobStore blobs = *image::BlobStore::Open(dir_.Join("state/images"));
  EXPECT_TRUE(blobs.Has(la.digest));
  EXPECT_TRUE(blobs.Has(lb.digest));

  auto cached = logged_run(first, &log);
  ASSERT_TRUE(cached.ok()) << cached.status().ToString();
  EXPECT_EQ(log.find("unpacking layers"), std::string::npos) << log;
  EXPECT_EQ(cached->steps_run, 0);
  EXPECT_EQ(cached->image.manifest_digest, r1->image.manifest_digest);
  // Neither a cache hit nor the COPY --from's key (its source digest is remembered for the
  // stage's layers) unpacks the build stage's layers.
  EXPECT_FALSE(unpacked(la.diff_id));
  EXPECT_FALSE(unpacked(lb.diff_id));
  // A changed stage gives another source digest: the COPY --from runs again.
  WriteFile(dir_.Join("ctx/a.txt"), "uno\n");
  auto changed = Run(first);
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_EQ(changed->steps_run, 3);
  EXPECT_EQ(base::testing::ReadText(
                dir_.Join("state/layers/sha256/") +
                std::string(image::DigestHex(changed->image.layers[0].diff_id)) + "/final.txt"),
            "uno\n");
  WriteFile(dir_.Join("ctx/a.txt"), "one\n");

  BuildRequest later =
      Request(build_stage + "COPY c.txt /c.txt\nFROM scratch\nCOPY --from=build / /all/\n");
  later.tags = {"app:2"};
  auto r2 = Run(later);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ(r2->steps_cached, 2);
  EXPECT_EQ(r2->steps_run, 2);
  ASSERT_EQ(r2->image.layers.size(), 1u);
  const std::string all = dir_.Join("state/layers/sha256/") +
                          std::string(image::DigestHex(r2->image.layers[0].diff_id)) + "/all/";
  EXPECT_EQ(base::testing::ReadText(all + "a.txt"), "one\n");
  EXPECT_EQ(base::testing::ReadText(all + "b.txt"), "two\n");
  EXPECT_EQ(base::testing::ReadText(all + "c.txt"), "three\n");
  EXPECT_FALSE(unpacked(la.diff_id));  // unpacked for the build, removed after it
}

// After a cancellation request no further phase starts: the build fails with CANCELLED and
// names no step. The request is process-wide and cannot be undone, so it is made in a child.
TEST_F(BuilderTest, CancelledBuildStopsBeforeItsFirstStage) {
  BuildRequest req = Request("FROM scratch\nENV A=1\n");
  req.tags = {"cancelled:test"};
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // re-runs the test binary in the child
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

// A secret fetch the session fails fails the RUN step with the session's text, unchanged, and
// the session was asked once, for that step.
TEST_F(BuilderTest, FailedSecretFetchFailsTheStepWithTheSessionsText) {
  if (!CanRunSteps()) GTEST_SKIP() << "RUN needs root, runc and /bin/busybox";
  AddBusybox();
  session_.fetch_errors["tok"] = UnavailableError(
      "audit log unavailable: write /var/lib/latchkey/audit/audit.log: No space left on device");
  BuildFailure failure;
  auto r = Run(Request("FROM scratch\nCOPY busybox /bin/busybox\n"
                       "RUN --mount=type=secret,id=tok,required [\"/bin/busybox\", \"true\"]\n"),
               &failure);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(),
            "audit log unavailable: write /var/lib/latchkey/audit/audit.log: No space left on "
            "device");
  EXPECT_EQ(failure.vertex,
            "[3/3] RUN --mount=type=secret,id=tok,required [\"/bin/busybox\", \"true\"]");
  EXPECT_EQ(failure.line, 3);
  auto fetches = session_.fetches();
  ASSERT_EQ(fetches.size(), 1u);
  EXPECT_EQ(fetches[0].first, "tok");
  EXPECT_EQ(fetches[0].second.stage, "0");
  EXPECT_EQ(fetches[0].second.index, 3u);
  EXPECT_EQ(fetches[0].second.line, 3u);
  EXPECT_EQ(fetches[0].second.instruction,
            "RUN --mount=type=secret,id=tok,required [\"/bin/busybox\", \"true\"]");
  EXPECT_TRUE(session_.Released().empty());
}

// A cached step that mounted a secret is reused only when the session authorizes the hit: a
// refusal runs the step again (fetching the secret), an authorization serves it from the cache
// without a fetch. Steps without secrets never ask.
TEST_F(BuilderTest, CacheHitOfASecretStepNeedsTheSessionsAuthorization) {
  if (!CanRunSteps()) GTEST_SKIP() << "RUN needs root, runc and /bin/busybox";
  AddBusybox();
  session_.values["tok"] = SecretOf("s3cret-for-the-cache-test");
  const std::string df =
      "FROM scratch\nCOPY busybox /bin/busybox\n"
      "RUN --mount=type=secret,id=tok [\"/bin/busybox\", \"true\"]\n";
  auto first = Run(Request(df));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->steps_run, 2);
  EXPECT_EQ(session_.fetches().size(), 1u);
  EXPECT_TRUE(session_.cache_hits().empty());  // nothing cached yet

  session_.cache_hit_answer = PermissionDeniedError(
      "secret tok: denied by policy rule \"ci-only\": only CI builds may use tok");
  auto refused = Run(Request(df));
  ASSERT_TRUE(refused.ok()) << refused.status().ToString();
  EXPECT_EQ(refused->steps_cached, 1);  // the COPY, which mounts no secret
  EXPECT_EQ(refused->steps_run, 1);     // the RUN, as if uncached
  auto hits = session_.cache_hits();
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].secret_ids, std::vector<std::string>{"tok"});
  EXPECT_FALSE(hits[0].cache_key.empty());
  EXPECT_EQ(hits[0].step.stage, "0");
  EXPECT_EQ(hits[0].step.index, 3u);
  EXPECT_EQ(hits[0].step.line, 3u);
  EXPECT_EQ(hits[0].step.instruction,
            "RUN --mount=type=secret,id=tok [\"/bin/busybox\", \"true\"]");
  EXPECT_EQ(session_.fetches().size(), 2u);  // the step ran and fetched again

  session_.cache_hit_answer = Status::OK();
  auto allowed = Run(Request(df));
  ASSERT_TRUE(allowed.ok()) << allowed.status().ToString();
  EXPECT_EQ(allowed->steps_cached, 2);
  EXPECT_EQ(allowed->steps_run, 0);
  ASSERT_EQ(session_.cache_hits().size(), 2u);
  EXPECT_EQ(session_.cache_hits()[1].cache_key, hits[0].cache_key);
  EXPECT_EQ(session_.fetches().size(), 2u);  // no fetch for a reused step
}

// A released value found in a new layer is recorded through the session (one LeakRecord naming
// the secret, layer, path and step) and refuses the build with the leak guard's text.
TEST_F(BuilderTest, LeakFindingIsRecordedThroughTheSession) {
  if (::geteuid() != 0) GTEST_SKIP() << "COPY mounts an overlay: needs root";
  const std::string canary = "canary-7d1f0c2a9e";
  session_.Release("tok", SecretOf(canary));
  WriteFile(dir_.Join("ctx/a.txt"), "token=" + canary + "\n");
  BuildFailure failure;
  auto r = Run(Request("FROM scratch\nCOPY a.txt /a.txt\n"), &failure);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "secret \"tok\" leaked into layer 1 (step 2, Dockerfile:2) at /a.txt; the layer was "
            "discarded (if this is intended, pass --allow-secret-leak tok)");
  auto leaks = session_.leaks();
  ASSERT_EQ(leaks.size(), 1u);
  EXPECT_EQ(leaks[0].secret_id, "tok");
  EXPECT_EQ(leaks[0].layer.rfind("sha256:", 0), 0u) << leaks[0].layer;
  EXPECT_EQ(leaks[0].path, "a.txt");
  EXPECT_EQ(leaks[0].step.stage, "0");
  EXPECT_EQ(leaks[0].step.index, 2u);
  EXPECT_EQ(leaks[0].step.line, 2u);
  EXPECT_EQ(leaks[0].step.instruction, "COPY a.txt /a.txt");
  EXPECT_TRUE(session_.fetches().empty());
}

// When the session cannot record a finding, the build fails with that error (fail closed), not
// with the leak text and not as a success under --allow-secret-leak.
TEST_F(BuilderTest, UnrecordableLeakFindingFailsTheBuild) {
  if (::geteuid() != 0) GTEST_SKIP() << "COPY mounts an overlay: needs root";
  const std::string canary = "canary-55b0e4c1d3";
  session_.Release("tok", SecretOf(canary));
  session_.record_leak_answer = UnavailableError("audit log unavailable: disk full");
  WriteFile(dir_.Join("ctx/a.txt"), canary);
  BuildRequest req = Request("FROM scratch\nCOPY a.txt /a.txt\n");
  req.allowed_leaks = {"tok"};
  auto r = Run(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(), "audit log unavailable: disk full");
  EXPECT_TRUE(session_.leaks().empty());
}

}  // namespace
}  // namespace latchkey::build
