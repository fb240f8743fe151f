#include "cli/buildkit_progress.h"

#include <sodium.h>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <span>
#include <string>

#include "builder/solver/progress_test_util.h"
#include "cli/buildkit_trace_testdata.h"
#include "secure/secret_buffer.h"

namespace latchkey::cli {
namespace {

namespace bk = moby::buildkit::v1;
using build::testing::FakeClock;
using build::testing::MemFd;
using std::chrono::milliseconds;

constexpr const char* kDockerfile =
    "FROM busybox\n"
    "RUN echo hi\n"
    "RUN --mount=type=secret,id=tok \\\n"
    "    cat /run/secrets/tok\n";

// BuildKit's timestamps: whole seconds plus `ms` milliseconds of a fixed day.
google::protobuf::Timestamp At(int ms) {
  google::protobuf::Timestamp t;
  t.set_seconds(1795801631 + ms / 1000);
  t.set_nanos((ms % 1000) * 1000000);
  return t;
}

// One vertex update.
bk::Vertex V(const std::string& digest, const std::string& name, int started = -1,
             int completed = -1, bool cached = false, const std::string& error = "") {
  bk::Vertex v;
  v.set_digest(digest);
  v.set_name(name);
  if (started >= 0) *v.mutable_started() = At(started);
  if (completed >= 0) *v.mutable_completed() = At(completed);
  v.set_cached(cached);
  v.set_error(error);
  return v;
}

bk::VertexStatus S(const std::string& digest, const std::string& id, int64_t current, int64_t total,
                   int started, int completed) {
  bk::VertexStatus s;
  s.set_vertex(digest);
  s.set_id(id);
  s.set_current(current);
  s.set_total(total);
  *s.mutable_timestamp() = At(completed >= 0 ? completed : started);
  if (started >= 0) *s.mutable_started() = At(started);
  if (completed >= 0) *s.mutable_completed() = At(completed);
  return s;
}

bk::VertexLog L(const std::string& digest, int stream, const std::string& msg) {
  bk::VertexLog l;
  l.set_vertex(digest);
  l.set_stream(stream);
  l.set_msg(msg);
  *l.mutable_timestamp() = At(0);
  return l;
}

// A message, marshalled and parsed again as it crosses Docker Engine's stream.
class Msg {
 public:
  Msg& Add(bk::Vertex v) {
    *m_.add_vertexes() = std::move(v);
    return *this;
  }
  Msg& Add(bk::VertexStatus s) {
    *m_.add_statuses() = std::move(s);
    return *this;
  }
  Msg& Add(bk::VertexLog l) {
    *m_.add_logs() = std::move(l);
    return *this;
  }
  Msg& Warn(const std::string& digest, const std::string& text) {
    bk::VertexWarning* w = m_.add_warnings();
    w->set_vertex(digest);
    w->set_level(1);
    w->set_short_(text);
    return *this;
  }
  // The `aux` value Docker Engine sends: base64 of the marshalled message.
  nlohmann::json Aux() const {
    std::string raw = m_.SerializeAsString();
    std::string b64(sodium_base64_ENCODED_LEN(raw.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(b64.data(), b64.size(), reinterpret_cast<const unsigned char*>(raw.data()),
                      raw.size(), sodium_base64_VARIANT_ORIGINAL);
    b64.resize(b64.size() - 1);  // the NUL
    return b64;
  }

 private:
  bk::StatusResponse m_;
};

// A plain-mode writer on a memfd with a fake clock, fed through FeedTrace.
class BuildkitProgressTest : public ::testing::Test {
 protected:
  void Feed(const Msg& m) { ASSERT_TRUE(progress_->FeedTrace(m.Aux()).ok()); }
  std::string Output() {
    progress_->Finish();
    writer_->Finish();
    return out_.contents();
  }

  MemFd out_;
  FakeClock clock_;
  std::unique_ptr<build::ProgressWriter> writer_ =
      build::NewProgressWriter(build::ProgressMode::kPlain, out_.fd(), clock_.fn());
  SecretRegistry registry_;
  std::unique_ptr<BuildkitProgress> progress_ =
      std::make_unique<BuildkitProgress>(*writer_, registry_);
};

// What Docker Engine 20.10's BuildKit sends for kDockerfile's first two steps (names and
// statuses as measured on dockerd), one message per update.
TEST_F(BuildkitProgressTest, PlainOutputHasTheStepLinesOfAnEmbeddedBuild) {
  const std::string def = "sha256:01", ign = "sha256:02", meta = "sha256:03", from = "sha256:04",
                    run = "sha256:05", exp = "sha256:06";
  Feed(Msg().Add(V(def, "[internal] load build definition from Dockerfile", 0)));
  Feed(Msg()
           .Add(S(def, "transferring dockerfile:", 58, 0, 0, 2))
           .Add(V(def, "[internal] load build definition from Dockerfile", 0, 3)));
  clock_.Advance(milliseconds(100));
  Feed(Msg()
           .Add(V(ign, "[internal] load .dockerignore", 4))
           .Add(S(ign, "transferring context:", 2, 0, 4, 50))
           .Add(V(ign, "[internal] load .dockerignore", 4, 60)));
  Feed(Msg().Add(V(meta, "[internal] load metadata for docker.io/library/busybox:latest", 70)));
  clock_.Advance(milliseconds(300));
  Feed(
      Msg().Add(V(meta, "[internal] load metadata for docker.io/library/busybox:latest", 70, 370)));
  // The FROM is first sent queued (not started), then cached.
  Feed(Msg().Add(V(from, "[1/3] FROM docker.io/library/busybox")));
  Feed(Msg().Add(V(from, "[1/3] FROM docker.io/library/busybox", 400, 400, true)));
  Feed(Msg().Add(V(run, "[2/3] RUN echo hi", 410)));
  clock_.Advance(milliseconds(260));
  Feed(Msg().Add(L(run, 1, "hi\n")).Add(V(run, "[2/3] RUN echo hi", 410, 700)));
  Feed(Msg()
           .Add(V(exp, "exporting to image", 710))
           .Add(S(exp, "exporting layers", 0, 0, 710, 900))
           .Add(S(exp, "writing image sha256:77aa", 0, 0, 900, 905))
           .Add(V(exp, "exporting to image", 710, 910)));
  EXPECT_EQ(Output(),
            "#1 [internal] load build definition from Dockerfile\n"
            "#1 transferring dockerfile: 58B done\n"
            "#1 DONE 0.0s\n"
            "\n"
            "#2 [internal] load .dockerignore\n"
            "#2 transferring context: 2B 0.0s done\n"
            "#2 DONE 0.0s\n"
            "\n"
            "#3 [internal] load metadata for docker.io/library/busybox:latest\n"
            "#3 DONE 0.3s\n"
            "\n"
            "#4 [1/3] FROM docker.io/library/busybox\n"
            "#4 CACHED\n"
            "\n"
            "#5 [2/3] RUN echo hi\n"
            "#5 0.260 hi\n"
            "#5 DONE 0.3s\n"
            "\n"
            "#6 exporting to image\n"
            "#6 exporting layers 0.2s done\n"
            "#6 writing image sha256:77aa done\n"
            "#6 DONE 0.0s\n"
            "\n");
  EXPECT_EQ(progress_->steps_run(), 1);
  EXPECT_EQ(progress_->steps_cached(), 0);  // FROM is not counted, as in embedded builds
  EXPECT_EQ(progress_->failed_vertex(), "");
  build::BuildFailure f = progress_->Failure(kDockerfile);
  EXPECT_EQ(f.vertex, "");
  EXPECT_EQ(f.line, 0);
}

TEST_F(BuildkitProgressTest, StatusSizesAndTimesAsBuildKitPrintsThem) {
  const std::string d = "sha256:0a";
  Feed(Msg().Add(V(d, "[1/2] FROM docker.io/library/busybox", 0)));
  // In progress: not shown.
  Feed(Msg().Add(S(d, "sha256:5cc8", 1200000, 2000000, 0, -1)));
  Feed(Msg().Add(S(d, "sha256:5cc8", 2000000, 2000000, 0, 1500)));
  // Shown once, however often BuildKit repeats it.
  Feed(Msg().Add(S(d, "sha256:5cc8", 2000000, 2000000, 0, 1500)));
  Feed(Msg().Add(S(d, "extracting sha256:5cc8", 0, 0, 1500, 1509)));
  Feed(Msg().Add(V(d, "[1/2] FROM docker.io/library/busybox", 0, 1600)));
  EXPECT_EQ(Output(),
            "#1 [1/2] FROM docker.io/library/busybox\n"
            "#1 sha256:5cc8 2.00MB / 2.00MB 1.5s done\n"
            "#1 extracting sha256:5cc8 done\n"
            "#1 DONE 0.0s\n"
            "\n");
}

TEST(FormatBuildkitBytes, FollowsTonistiigiUnits) {
  EXPECT_EQ(FormatBuildkitBytes(0), "0B");
  EXPECT_EQ(FormatBuildkitBytes(58), "58B");
  EXPECT_EQ(FormatBuildkitBytes(999), "999B");
  EXPECT_EQ(FormatBuildkitBytes(1000), "1.00kB");
  EXPECT_EQ(FormatBuildkitBytes(1234), "1.23kB");
  EXPECT_EQ(FormatBuildkitBytes(45100000), "45.10MB");
  EXPECT_EQ(FormatBuildkitBytes(999999), "1000.00kB");
  EXPECT_EQ(FormatBuildkitBytes(3000000000), "3.00GB");
}

TEST_F(BuildkitProgressTest, OutputBeforeItsVertexWaitsForIt) {
  const std::string d = "sha256:0b";
  // Output and a status line of a vertex not sent yet.
  Feed(Msg().Add(L(d, 1, "early\n")).Add(S(d, "resolve", 0, 0, -1, 10)));
  Feed(Msg().Add(V(d, "[2/2] RUN x", 0)).Add(L(d, 2, "late\n")));
  Feed(Msg().Add(V(d, "[2/2] RUN x", 0, 20)));
  EXPECT_EQ(Output(),
            "#1 [2/2] RUN x\n"
            "#1 resolve done\n"  // a message's statuses come before its output
            "#1 0.000 early\n"
            "#1 0.000 late\n"
            "#1 DONE 0.0s\n"
            "\n");
}

TEST_F(BuildkitProgressTest, QueuedVertexStartsWithItsFirstOutput) {
  const std::string d = "sha256:0c";
  Feed(Msg().Add(V(d, "[2/2] RUN x")));  // queued: nothing shown
  Feed(Msg().Add(L(d, 1, "out\n")));
  Feed(Msg().Add(V(d, "[2/2] RUN x", 0, 5)));
  // Updates after completion are ignored.
  Feed(Msg().Add(L(d, 1, "after\n")).Add(V(d, "[2/2] RUN x", 0, 5, false, "boom")));
  EXPECT_EQ(Output(),
            "#1 [2/2] RUN x\n"
            "#1 0.000 out\n"
            "#1 DONE 0.0s\n"
            "\n");
}

TEST_F(BuildkitProgressTest, UpdatesOfOneMessageAddUp) {
  const std::string d = "sha256:0c1";
  // Cached in the first update, completed (without the flag) in the second.
  Feed(Msg().Add(V(d, "[2/2] RUN x", 0, -1, true)).Add(V(d, "[2/2] RUN x", 0, 1)));
  EXPECT_EQ(Output(), "#1 [2/2] RUN x\n#1 CACHED\n\n");
  EXPECT_EQ(progress_->steps_cached(), 1);
}

TEST_F(BuildkitProgressTest, VertexNeverNamedIsShownUnderItsDigestAtFinish) {
  Feed(Msg().Add(L("sha256:0d", 1, "orphan line\npartial")));
  EXPECT_EQ(Output(),
            "#1 sha256:0d\n"
            "#1 0.000 orphan line\n"
            "#1 0.000 partial\n");
}

TEST_F(BuildkitProgressTest, InterleavedVerticesCloseAndReopenBlocks) {
  const std::string a = "sha256:a1", b = "sha256:b1";
  Feed(Msg().Add(V(a, "[stage-0 2/2] RUN a", 0)).Add(V(b, "[stage-1 2/2] RUN b", 0)));
  Feed(Msg().Add(L(a, 1, "from a\n")).Add(L(b, 2, "from b\n")));
  Feed(Msg().Add(V(a, "[stage-0 2/2] RUN a", 0, 10)).Add(V(b, "[stage-1 2/2] RUN b", 0, 10)));
  EXPECT_EQ(Output(),
            "#1 [stage-0 2/2] RUN a\n"
            "#1 ...\n"
            "\n"
            "#2 [stage-1 2/2] RUN b\n"
            "#2 ...\n"
            "\n"
            "#1 [stage-0 2/2] RUN a\n"
            "#1 0.000 from a\n"
            "#1 ...\n"
            "\n"
            "#2 [stage-1 2/2] RUN b\n"
            "#2 0.000 from b\n"
            "#2 ...\n"
            "\n"
            "#1 [stage-0 2/2] RUN a\n"
            "#1 DONE 0.0s\n"
            "\n"
            "#2 [stage-1 2/2] RUN b\n"
            "#2 DONE 0.0s\n"
            "\n");
  EXPECT_EQ(progress_->steps_run(), 2);
}

// The canary is registered only in the test's registry (not SecretRegistry::Global()), so
// only BuildkitProgress's own redaction can mask it.
class ScopedLocalSecret {
 public:
  ScopedLocalSecret(SecretRegistry& registry, std::string_view value) : registry_(registry) {
    auto buf = SecretBuffer::CopyOf(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(value.data()), value.size()));
    EXPECT_TRUE(buf.ok());
    auto h = registry_.Add(std::make_shared<const SecretBuffer>(std::move(buf).value()));
    EXPECT_TRUE(h.ok());
    handle_ = *h;
  }
  ~ScopedLocalSecret() { registry_.Remove(handle_); }

 private:
  SecretRegistry& registry_;
  uint64_t handle_ = 0;
};

constexpr const char* kCanary = "canary-7f3a9c2e51d8b604";

TEST_F(BuildkitProgressTest, SecretSplitAcrossTwoLogMessagesIsRedacted) {
  ScopedLocalSecret secret(registry_, kCanary);
  const std::string d = "sha256:0e";
  Feed(Msg().Add(V(d, "[3/3] RUN --mount=type=secret,id=tok cat /run/secrets/tok", 0)));
  // The value arrives in two messages, split in the middle; then a line on stderr.
  Feed(Msg().Add(L(d, 1, "token=canary-7f3a9c")));
  Feed(Msg().Add(L(d, 1, "2e51d8b604 ok\n")).Add(L(d, 2, "e: canary-7f3a9c2e51d8b604\n")));
  Feed(Msg().Add(V(d, "[3/3] RUN --mount=type=secret,id=tok cat /run/secrets/tok", 0, 10)));
  std::string out = Output();
  EXPECT_EQ(out.find("7f3a9c"), std::string::npos) << out;
  EXPECT_EQ(out.find("2e51d8"), std::string::npos) << out;
  EXPECT_EQ(out,
            "#1 [3/3] RUN --mount=type=secret,id=tok cat /run/secrets/tok\n"
            "#1 0.000 token=**** ok\n"
            "#1 0.000 e: ****\n"
            "#1 DONE 0.0s\n"
            "\n");
}

TEST_F(BuildkitProgressTest, PartialLineIsShownWhenNoSecretCanStartInIt) {
  ScopedLocalSecret secret(registry_, kCanary);
  const std::string d = "sha256:0f";
  Feed(Msg().Add(V(d, "[2/2] RUN x", 0)));
  // "prompt> " cannot begin the canary: it reaches the writer (which shows it at the end);
  // "...canary-7f" could, and is held back until the vertex completes.
  Feed(Msg().Add(L(d, 1, "prompt> ")));
  Feed(Msg().Add(L(d, 1, "then canary-7f")));
  Feed(Msg().Add(V(d, "[2/2] RUN x", 0, 10)));
  EXPECT_EQ(Output(),
            "#1 [2/2] RUN x\n"
            "#1 0.000 prompt> then canary-7f\n"
            "#1 DONE 0.0s\n"
            "\n");
}

TEST_F(BuildkitProgressTest, NamesErrorsAndStatusesAreRedacted) {
  ScopedLocalSecret secret(registry_, kCanary);
  const std::string d = "sha256:10";
  const std::string name = std::string("[2/3] RUN echo ") + kCanary;
  Feed(Msg().Add(V(d, name, 0)).Add(S(d, std::string("fetch ") + kCanary, 0, 0, -1, 1)));
  Feed(Msg().Add(V(d, name, 0, 10, false,
                   std::string("process \"/bin/sh -c echo ") + kCanary +
                       "\" did not complete successfully: exit code: 1")));
  std::string out = Output();
  EXPECT_EQ(out.find("7f3a9c"), std::string::npos) << out;
  EXPECT_EQ(out,
            "#1 [2/3] RUN echo ****\n"
            "#1 fetch **** done\n"
            "#1 ERROR: process \"/bin/sh -c echo ****\" did not complete successfully: exit "
            "code: 1\n"
            "\n"
            "------\n"
            " > [2/3] RUN echo ****:\n"
            "------\n");
  EXPECT_EQ(progress_->failed_vertex(), "[2/3] RUN echo ****");
  EXPECT_EQ(progress_->failed_error(),
            "process \"/bin/sh -c echo ****\" did not complete successfully: exit code: 1");
}

TEST_F(BuildkitProgressTest, FirstRealFailureIsTheFailedStep) {
  const std::string a = "sha256:20", b = "sha256:21";
  const std::string run = "[3/3] RUN --mount=type=secret,id=tok cat /run/secrets/tok";
  Feed(Msg().Add(V(a, "[2/3] RUN echo hi", 0)).Add(V(b, run, 0)));
  Feed(Msg().Add(L(b, 2, "cat: can't open '/run/secrets/tok': No such file or directory\n")));
  // BuildKit cancels the sibling first in this message; the real failure comes second.
  Feed(Msg()
           .Add(V(a, "[2/3] RUN echo hi", 0, 5, false, "context canceled"))
           .Add(V(b, run, 0, 5, false,
                  "executor failed running [/bin/sh -c cat /run/secrets/tok]: exit code: 1")));
  EXPECT_EQ(progress_->failed_vertex(), run);
  EXPECT_EQ(progress_->failed_error(),
            "executor failed running [/bin/sh -c cat /run/secrets/tok]: exit code: 1");
  build::BuildFailure f = progress_->Failure(kDockerfile);
  EXPECT_EQ(f.vertex, run);
  EXPECT_EQ(f.line, 3);
  EXPECT_EQ(f.end_line, 4);
  EXPECT_EQ(Output(),
            "#1 [2/3] RUN echo hi\n"
            "#1 ...\n"
            "\n"
            "#2 [3/3] RUN --mount=type=secret,id=tok cat /run/secrets/tok\n"
            "#2 0.000 cat: can't open '/run/secrets/tok': No such file or directory\n"
            "#2 ...\n"
            "\n"
            "#1 [2/3] RUN echo hi\n"
            "#1 ERROR: context canceled\n"
            "\n"
            "#2 [3/3] RUN --mount=type=secret,id=tok cat /run/secrets/tok\n"
            "#2 ERROR: executor failed running [/bin/sh -c cat /run/secrets/tok]: exit code: 1\n"
            "\n"
            "------\n"
            " > [2/3] RUN echo hi:\n"
            "------\n"
            "------\n"
            " > [3/3] RUN --mount=type=secret,id=tok cat /run/secrets/tok:\n"
            "0.000 cat: can't open '/run/secrets/tok': No such file or directory\n"
            "------\n");
}

TEST_F(BuildkitProgressTest, OnlyCancellationsMakeTheFirstTheFailedStep) {
  Feed(Msg().Add(V("sha256:30", "[2/3] RUN echo hi", 0, 5, false, "context canceled")));
  Feed(Msg().Add(V("sha256:31", "[3/3] RUN x", 0, 5, false, "context canceled")));
  EXPECT_EQ(progress_->failed_vertex(), "[2/3] RUN echo hi");
  EXPECT_EQ(progress_->Failure(kDockerfile).line, 2);
}

TEST_F(BuildkitProgressTest, UnmappableFailedVertexHasLineZero) {
  Feed(Msg().Add(V("sha256:40", "exporting to image", 0, 5, false, "failed to export")));
  build::BuildFailure f = progress_->Failure(kDockerfile);
  EXPECT_EQ(f.vertex, "exporting to image");
  EXPECT_EQ(f.line, 0);
  EXPECT_EQ(f.end_line, 0);
}

TEST_F(BuildkitProgressTest, WarningsAreNotesAndCollected) {
  const std::string d = "sha256:50";
  Feed(Msg().Add(V(d, "[internal] load build definition from Dockerfile", 0)));
  Feed(Msg().Warn(d,
                  "SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive "
                  "data (ARG \"TOKEN\") (line 2)"));
  Feed(Msg().Add(V(d, "[internal] load build definition from Dockerfile", 0, 1)));
  Feed(Msg().Warn(d, "late warning"));
  EXPECT_EQ(Output(),
            "#1 [internal] load build definition from Dockerfile\n"
            "#1 WARN: SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive "
            "data (ARG \"TOKEN\") (line 2)\n"
            "#1 DONE 0.0s\n"
            "\n"
            "WARN: late warning\n");
  ASSERT_EQ(progress_->warnings().size(), 2u);
  EXPECT_EQ(progress_->warnings()[1], "late warning");
}

TEST_F(BuildkitProgressTest, JsonModeShowsTheSameEvents) {
  MemFd out;
  auto writer = build::NewProgressWriter(build::ProgressMode::kJson, out.fd(), clock_.fn());
  BuildkitProgress p(*writer, registry_);
  const std::string d = "sha256:60";
  p.Feed([&] {
    bk::StatusResponse m;
    *m.add_vertexes() = V(d, "[2/2] RUN echo hi", 0, 3);
    *m.add_logs() = L(d, 1, "hi\n");
    return m;
  }());
  p.Finish();
  writer->Finish();
  std::string text = out.contents();
  // start, log, done, in that order, though the completion came in the same message.
  size_t start = text.find("\"event\":\"start\"");
  size_t log = text.find("\"event\":\"log\"");
  size_t done = text.find("\"event\":\"done\"");
  ASSERT_NE(start, std::string::npos) << text;
  ASSERT_NE(log, std::string::npos) << text;
  ASSERT_NE(done, std::string::npos) << text;
  EXPECT_LT(start, log);
  EXPECT_LT(log, done);
  EXPECT_NE(text.find("\"data\":\"hi\\n\""), std::string::npos) << text;
}

// Real streams of Docker Engine 20.10 (buildkit_trace_testdata.h), fed message by message as
// the Engine sent them; the fake clock does not move, so every time the writer measures is 0.
class DockerStreamTest : public BuildkitProgressTest {
 protected:
  // Feeds every moby.buildkit.trace message of `stream`; returns the moby.image.id's ID.
  std::string FeedStream(std::string_view stream) {
    std::string image_id;
    size_t pos = 0;
    while (pos < stream.size()) {
      size_t nl = stream.find('\n', pos);
      nlohmann::json m = nlohmann::json::parse(stream.substr(pos, nl - pos));
      pos = nl + 1;
      if (m.value("id", "") == kBuildkitTraceId) {
        Status st = progress_->FeedTrace(m["aux"]);
        EXPECT_TRUE(st.ok()) << st.message();
      } else if (m.value("id", "") == "moby.image.id") {
        image_id = m["aux"]["ID"];
      }
    }
    return image_id;
  }
};

// The embedded build of the same Dockerfile prints the same step lines ("#N [2/4] ...", "#N
// CACHED", "#N DONE"), with its own internal vertices instead of the Engine's "[internal] load
// remote build context", "copy /context /" and "exporting to image".
TEST_F(DockerStreamTest, SuccessfulBuild) {
  EXPECT_EQ(FeedStream(testdata::kDockerSuccessStream),
            "sha256:9c2218487e4e4331202090eb1967676b52a6249697a1b8a4a317c60139f65a88");
  EXPECT_EQ(Output(),
            "#1 [internal] load remote build context\n"
            "#1 DONE 0.0s\n"
            "\n"
            "#2 copy /context /\n"
            "#2 DONE 0.0s\n"
            "\n"
            "#3 [internal] load metadata for docker.io/library/busybox:test\n"
            "#3 DONE 0.0s\n"
            "\n"
            "#4 [1/4] FROM docker.io/library/busybox:test\n"
            "#4 DONE 0.0s\n"
            "\n"
            "#5 [2/4] WORKDIR /app\n"
            "#5 CACHED\n"
            "\n"
            "#6 [3/4] RUN echo hi; echo warn >&2\n"
            "#6 0.000 hi\n"
            "#6 0.000 warn\n"
            "#6 DONE 0.0s\n"
            "\n"
            "#7 [4/4] COPY file /app/\n"
            "#7 DONE 0.0s\n"
            "\n"
            "#8 exporting to image\n"
            "#8 exporting layers 0.0s done\n"
            "#8 writing image "
            "sha256:9c2218487e4e4331202090eb1967676b52a6249697a1b8a4a317c60139f65a88 done\n"
            "#8 naming to docker.io/library/dkp:2 done\n"
            "#8 DONE 0.0s\n"
            "\n");
  EXPECT_EQ(progress_->steps_run(), 2);
  EXPECT_EQ(progress_->steps_cached(), 1);
  EXPECT_EQ(progress_->failed_vertex(), "");
}

TEST_F(DockerStreamTest, CachedBuild) {
  FeedStream(testdata::kDockerCachedStream);
  EXPECT_EQ(Output(),
            "#1 [internal] load remote build context\n"
            "#1 DONE 0.0s\n"
            "\n"
            "#2 copy /context /\n"
            "#2 CACHED\n"
            "\n"
            "#3 [internal] load metadata for docker.io/library/busybox:test\n"
            "#3 DONE 0.0s\n"
            "\n"
            "#4 [1/4] FROM docker.io/library/busybox:test\n"
            "#4 DONE 0.0s\n"
            "\n"
            "#5 [2/4] WORKDIR /app\n"
            "#5 CACHED\n"
            "\n"
            "#6 [3/4] RUN echo hi; echo warn >&2\n"
            "#6 CACHED\n"
            "\n"
            "#7 [4/4] COPY file /app/\n"
            "#7 CACHED\n"
            "\n"
            "#8 exporting to image\n"
            "#8 exporting layers done\n"
            "#8 writing image "
            "sha256:9c2218487e4e4331202090eb1967676b52a6249697a1b8a4a317c60139f65a88 done\n"
            "#8 naming to docker.io/library/dkp:2 done\n"
            "#8 DONE 0.0s\n"
            "\n");
  EXPECT_EQ(progress_->steps_run(), 0);
  EXPECT_EQ(progress_->steps_cached(), 3);
}

TEST_F(DockerStreamTest, FailedBuild) {
  EXPECT_EQ(FeedStream(testdata::kDockerFailedStream), "");
  EXPECT_EQ(Output(),
            "#1 [internal] load remote build context\n"
            "#1 DONE 0.0s\n"
            "\n"
            "#2 copy /context /\n"
            "#2 CACHED\n"
            "\n"
            "#3 [internal] load metadata for docker.io/library/busybox:test\n"
            "#3 DONE 0.0s\n"
            "\n"
            "#4 [1/4] FROM docker.io/library/busybox:test\n"
            "#4 DONE 0.0s\n"
            "\n"
            "#5 [2/4] WORKDIR /app\n"
            "#5 CACHED\n"
            "\n"
            "#6 [3/4] RUN echo hi\n"
            "#6 0.000 hi\n"
            "#6 DONE 0.0s\n"
            "\n"
            "#7 [4/4] RUN echo one; echo two >&2; exit 3\n"
            "#7 0.000 one\n"
            "#7 0.000 two\n"
            "#7 ERROR: executor failed running [/bin/sh -c echo one; echo two >&2; exit 3]: exit "
            "code: 3\n"
            "\n"
            "------\n"
            " > [4/4] RUN echo one; echo two >&2; exit 3:\n"
            "0.000 one\n"
            "0.000 two\n"
            "------\n");
  EXPECT_EQ(progress_->failed_vertex(), "[4/4] RUN echo one; echo two >&2; exit 3");
  EXPECT_EQ(progress_->failed_error(),
            "executor failed running [/bin/sh -c echo one; echo two >&2; exit 3]: exit code: 3");
  build::BuildFailure f = progress_->Failure(
      "FROM busybox:test\nWORKDIR /app\nRUN echo hi\nRUN echo one; echo two >&2; exit 3\n");
  EXPECT_EQ(f.vertex, "[4/4] RUN echo one; echo two >&2; exit 3");
  EXPECT_EQ(f.line, 4);
  EXPECT_EQ(f.end_line, 4);
}

TEST(DockerStreamTtyTest, EveryVertexEndsInTheFinalView) {
  MemFd out;
  FakeClock clock;
  auto writer = build::NewProgressWriter(build::ProgressMode::kTty, out.fd(), clock.fn());
  BuildkitProgress p(*writer);
  std::string_view stream = testdata::kDockerSuccessStream;
  for (size_t pos = 0; pos < stream.size();) {
    size_t nl = stream.find('\n', pos);
    nlohmann::json m = nlohmann::json::parse(stream.substr(pos, nl - pos));
    pos = nl + 1;
    if (m.value("id", "") == kBuildkitTraceId) {
      ASSERT_TRUE(p.FeedTrace(m["aux"]).ok());
    }
  }
  p.Finish();
  writer->Finish();
  std::string text = out.contents();
  EXPECT_NE(text.find("(8/8) FINISHED"), std::string::npos) << text;
  EXPECT_NE(text.find(" => CACHED [2/4] WORKDIR /app"), std::string::npos) << text;
  EXPECT_NE(text.find(" => [3/4] RUN echo hi; echo warn >&2"), std::string::npos) << text;
}

TEST(DecodeBuildkitTrace, RoundTripsAMessage) {
  bk::StatusResponse m;
  *m.add_vertexes() = V("sha256:70", "[1/1] RUN x", 0, 1, true);
  *m.add_logs() = L("sha256:70", 2, std::string("a\0b", 3));
  std::string raw = m.SerializeAsString();
  std::string b64(sodium_base64_ENCODED_LEN(raw.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(b64.data(), b64.size(), reinterpret_cast<const unsigned char*>(raw.data()),
                    raw.size(), sodium_base64_VARIANT_ORIGINAL);
  b64.resize(b64.size() - 1);
  auto r = DecodeBuildkitTrace(nlohmann::json(b64));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->vertexes_size(), 1);
  EXPECT_EQ(r->vertexes(0).name(), "[1/1] RUN x");
  EXPECT_TRUE(r->vertexes(0).cached());
  EXPECT_EQ(r->vertexes(0).completed().seconds(), 1795801631);
  ASSERT_EQ(r->logs_size(), 1);
  EXPECT_EQ(r->logs(0).msg(), std::string("a\0b", 3));
  EXPECT_EQ(r->logs(0).stream(), 2);
}

// The wire format, byte by byte: field numbers and types as BuildKit publishes them.
TEST(DecodeBuildkitTrace, ReadsBuildKitsFieldNumbers) {
  std::string raw;
  // StatusResponse.vertexes = 1 { digest = 1 "d", name = 3 "n", cached = 4 true,
  //                               error = 7 "e" }
  raw += std::string("\x0a\x0b", 2) +
         "\x0a\x01"
         "d"
         "\x1a\x01"
         "n"
         "\x20\x01"
         "\x3a\x01"
         "e";
  // StatusResponse.statuses = 2 { ID = 1 "i", vertex = 2 "d", current = 4 5, total = 5 6 }
  raw += std::string("\x12\x0a", 2) +
         "\x0a\x01"
         "i"
         "\x12\x01"
         "d"
         "\x20\x05"
         "\x28\x06";
  // StatusResponse.logs = 3 { vertex = 1 "d", stream = 3 2, msg = 4 "m" }
  raw += std::string("\x1a\x08", 2) +
         "\x0a\x01"
         "d"
         "\x18\x02"
         "\x22\x01"
         "m";
  // An unknown field (Vertex.progressGroup = 8 inside a vertex) is skipped.
  raw += std::string("\x0a\x05", 2) +
         "\x42\x03"
         "abc";
  std::string b64(sodium_base64_ENCODED_LEN(raw.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(b64.data(), b64.size(), reinterpret_cast<const unsigned char*>(raw.data()),
                    raw.size(), sodium_base64_VARIANT_ORIGINAL);
  b64.resize(b64.size() - 1);
  auto r = DecodeBuildkitTrace(nlohmann::json(b64));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->vertexes_size(), 2);
  EXPECT_EQ(r->vertexes(0).digest(), "d");
  EXPECT_EQ(r->vertexes(0).name(), "n");
  EXPECT_TRUE(r->vertexes(0).cached());
  EXPECT_EQ(r->vertexes(0).error(), "e");
  ASSERT_EQ(r->statuses_size(), 1);
  EXPECT_EQ(r->statuses(0).id(), "i");
  EXPECT_EQ(r->statuses(0).vertex(), "d");
  EXPECT_EQ(r->statuses(0).current(), 5);
  EXPECT_EQ(r->statuses(0).total(), 6);
  ASSERT_EQ(r->logs_size(), 1);
  EXPECT_EQ(r->logs(0).stream(), 2);
  EXPECT_EQ(r->logs(0).msg(), "m");
}

TEST(DecodeBuildkitTrace, RejectsBadInputWithExactMessages) {
  const std::string head =
      "decoding Docker Engine's build progress: the moby.buildkit.trace aux value is ";
  struct Case {
    nlohmann::json aux;
    std::string message;
  };
  const Case cases[] = {
      {nlohmann::json::object(), head + "an object, not a base64 string"},
      {nlohmann::json::array(), head + "an array, not a base64 string"},
      {nlohmann::json(42), head + "a number, not a base64 string"},
      {nlohmann::json(true), head + "a boolean, not a base64 string"},
      {nlohmann::json(nullptr), head + "null, not a base64 string"},
      {nlohmann::json("not base64!"), head + "not valid base64"},
      {nlohmann::json("AAA"), head + "not valid base64"},  // padding missing
      // "/w==" is the byte 0xff: a field tag whose varint never ends.
      {nlohmann::json("/w=="), head + "not a moby.buildkit.v1.StatusResponse (1 bytes)"},
  };
  for (const Case& c : cases) {
    auto r = DecodeBuildkitTrace(c.aux);
    ASSERT_FALSE(r.ok()) << c.aux.dump();
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
    EXPECT_EQ(r.status().message(), c.message);
  }
}

TEST_F(BuildkitProgressTest, FeedTraceReturnsTheErrorAndShowsNothing) {
  Status st = progress_->FeedTrace(nlohmann::json("/w=="));
  EXPECT_EQ(st.message(),
            "decoding Docker Engine's build progress: the moby.buildkit.trace aux value is not "
            "a moby.buildkit.v1.StatusResponse (1 bytes)");
  // Feeding goes on.
  Feed(Msg().Add(V("sha256:80", "[2/2] RUN x", 0, 1)));
  EXPECT_EQ(Output(), "#1 [2/2] RUN x\n#1 DONE 0.0s\n\n");
}

TEST_F(BuildkitProgressTest, FeedAfterFinishIsIgnored) {
  progress_->Finish();
  Feed(Msg().Add(V("sha256:90", "[2/2] RUN x", 0, 1)));
  EXPECT_EQ(Output(), "");
}

}  // namespace
}  // namespace latchkey::cli
