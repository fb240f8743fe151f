#include "cli/build_report.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "builder/solver/progress_test_util.h"

namespace latchkey::cli {
namespace {

std::string Lines(int n) {
  std::string text;
  for (int i = 1; i <= n; ++i) text += "line" + std::to_string(i) + "\n";
  return text;
}

TEST(DockerfileSnippetTest, OneLineGetsFourLinesAround) {
  EXPECT_EQ(DockerfileSnippet("/ctx/Dockerfile", Lines(10), 5, 0),
            "Dockerfile:5\n"
            "--------------------\n"
            "   3 |     line3\n"
            "   4 |     line4\n"
            "   5 | >>> line5\n"
            "   6 |     line6\n"
            "   7 |     line7\n"
            "--------------------\n");
}

TEST(DockerfileSnippetTest, AtTheStartTheContextIsBelow) {
  // BuildKit's loop: each round counts one more whether or not it added a line.
  EXPECT_EQ(DockerfileSnippet("/ctx/app.Dockerfile", Lines(10), 1, 1),
            "app.Dockerfile:1\n"
            "--------------------\n"
            "   1 | >>> line1\n"
            "   2 |     line2\n"
            "   3 |     line3\n"
            "--------------------\n");
}

TEST(DockerfileSnippetTest, RangeGetsTwoAroundAndStopsAtTheEnd) {
  EXPECT_EQ(DockerfileSnippet("Dockerfile", Lines(4), 3, 4),
            "Dockerfile:3\n"
            "--------------------\n"
            "   2 |     line2\n"
            "   3 | >>> line3\n"
            "   4 | >>> line4\n"
            "--------------------\n");
  // An end past the text is cut to its last line.
  EXPECT_EQ(DockerfileSnippet("Dockerfile", Lines(2), 2, 9),
            "Dockerfile:2\n"
            "--------------------\n"
            "   1 |     line1\n"
            "   2 | >>> line2\n"
            "--------------------\n");
}

TEST(DockerfileSnippetTest, UnknownOrOutOfRangeLineGivesNothing) {
  EXPECT_EQ(DockerfileSnippet("Dockerfile", Lines(3), 0, 0), "");
  EXPECT_EQ(DockerfileSnippet("Dockerfile", Lines(3), 4, 4), "");
  EXPECT_EQ(DockerfileSnippet("Dockerfile", "", 1, 1), "");
}

TEST(FailureTextTest, SnippetThenMessageRedacted) {
  const std::string canary = "cAnArY-snippet-7731";
  build::testing::ScopedSecret secret(canary);
  build::BuildRequest req;
  req.dockerfile_path = "/ctx/Dockerfile";
  req.dockerfile_text = "FROM scratch\nRUN echo " + canary + "\n";
  build::BuildFailure failure;
  failure.line = 2;
  std::string text = FailureText(failure, &req, InternalError("step printed " + canary));
  EXPECT_EQ(text,
            "Dockerfile:2\n"
            "--------------------\n"
            "   1 |     FROM scratch\n"
            "   2 | >>> RUN echo ****\n"
            "--------------------\n"
            "ERROR: failed to solve: step printed ****\n");
}

TEST(FailureTextTest, WithoutALineOnlyTheMessage) {
  build::BuildRequest req;
  req.dockerfile_text = "FROM scratch\n";
  EXPECT_EQ(FailureText(build::BuildFailure(), &req, NotFoundError("no such stage")),
            "ERROR: failed to solve: no such stage\n");
  build::BuildFailure failure;
  failure.line = 1;
  EXPECT_EQ(FailureText(failure, nullptr, NotFoundError("x")), "ERROR: failed to solve: x\n");
}

TEST(WarningSummaryTest, BuildxText) {
  EXPECT_EQ(WarningSummary({"A (line 1)"}, build::ProgressMode::kPlain),
            "\n 1 warning found:\n - A (line 1)\n");
  EXPECT_EQ(WarningSummary({"A", "B"}, build::ProgressMode::kTty),
            "\n 2 warnings found:\n - A\n - B\n");
  EXPECT_EQ(WarningSummary({"A"}, build::ProgressMode::kQuiet), "");
  EXPECT_EQ(WarningSummary({"A"}, build::ProgressMode::kJson), "");
  EXPECT_EQ(WarningSummary({}, build::ProgressMode::kPlain), "");
}

TEST(MetadataJsonTest, BuildxKeys) {
  build::BuildResult r;
  r.image.config_digest = "sha256:c0";
  r.image.manifest_digest = "sha256:m0";
  r.image.manifest_size = 123;
  EXPECT_EQ(MetadataJson(r, "latchkey/local/b1"),
            "{\n"
            "  \"buildx.build.provenance\": {\n"
            "    \"buildType\": \"https://mobyproject.org/buildkit@v1\",\n"
            "    \"materials\": []\n"
            "  },\n"
            "  \"buildx.build.ref\": \"latchkey/local/b1\",\n"
            "  \"containerimage.config.digest\": \"sha256:c0\",\n"
            "  \"containerimage.descriptor\": {\n"
            "    \"digest\": \"sha256:m0\",\n"
            "    \"mediaType\": \"application/vnd.oci.image.manifest.v1+json\",\n"
            "    \"size\": 123\n"
            "  },\n"
            "  \"containerimage.digest\": \"sha256:m0\"\n"
            "}");
  r.tags = {"app:dev", "registry.local:5000/team/app:1"};
  std::string j = MetadataJson(r, "ref");
  EXPECT_NE(j.find("\"image.name\": \"docker.io/library/app:dev,registry.local:5000/team/app:1\""),
            std::string::npos)
      << j;
}

// After a push, containerimage.digest and the descriptor are the pushed manifest's.
TEST(MetadataJsonTest, PushedDigest) {
  build::BuildResult r;
  r.image.config_digest = "sha256:c0";
  r.image.manifest_digest = "sha256:m0";
  r.image.manifest_size = 123;
  r.pushed = {"sha256:p0", "application/vnd.docker.distribution.manifest.v2+json", 456};
  auto j = nlohmann::json::parse(MetadataJson(r, "ref"));
  EXPECT_EQ(j["containerimage.digest"], "sha256:p0");
  EXPECT_EQ(j["containerimage.descriptor"]["digest"], "sha256:p0");
  EXPECT_EQ(j["containerimage.descriptor"]["mediaType"],
            "application/vnd.docker.distribution.manifest.v2+json");
  EXPECT_EQ(j["containerimage.descriptor"]["size"], 456);
  EXPECT_EQ(j["containerimage.config.digest"], "sha256:c0");
}

// The base images go into buildx's provenance materials, with BuildKit's package URLs.
TEST(MetadataJsonTest, ProvenanceMaterials) {
  const std::string h1(64, 'a'), h2(64, 'b'), h3(64, 'c');
  build::BuildResult r;
  r.materials = {
      {"docker.io/library/alpine:3.19", "sha256:" + h1, "linux/amd64", true},
      {"127.0.0.1:5000/team/app:1", "sha256:" + h2, "linux/arm64/v8", false},
      {"docker.io/library/busybox@sha256:" + h3, "sha256:" + h3, "linux/amd64", true},
      {"not a reference", "sha256:" + h1, "linux/amd64", false},
  };
  nlohmann::json j = nlohmann::json::parse(MetadataJson(r, "ref"));
  EXPECT_EQ(j["buildx.build.provenance"].dump(),
            nlohmann::json::parse(R"({"buildType": "https://mobyproject.org/buildkit@v1",
              "materials": [
                {"uri": "pkg:docker/alpine@3.19?platform=linux%2Famd64",
                 "digest": {"sha256": ")" +
                                  h1 + R"("}},
                {"uri": "pkg:docker/127.0.0.1:5000/team/app@1?platform=linux%2Farm64%2Fv8",
                 "digest": {"sha256": ")" +
                                  h2 + R"("}},
                {"uri": "pkg:docker/busybox?digest=sha256:)" +
                                  h3 + R"(&platform=linux%2Famd64",
                 "digest": {"sha256": ")" +
                                  h3 + R"("}}]})")
                .dump());
  EXPECT_EQ(MaterialPackageUrl({"docker.io/team/tool:2@sha256:" + h1, "", "", false}),
            "pkg:docker/team/tool@2?digest=sha256:" + h1);
}

}  // namespace
}  // namespace latchkey::cli
