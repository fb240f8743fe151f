#include "cli/buildkit_step.h"

#include <gtest/gtest.h>

#include <string>

namespace latchkey::cli {
namespace {

TEST(BuildkitStepName, ParsesStepPrefixes) {
  auto s = ParseBuildkitStepName("[2/3] RUN make all");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->stage, "");
  EXPECT_EQ(s->platform, "");
  EXPECT_EQ(s->index, 2);
  EXPECT_EQ(s->total, 3);
  EXPECT_EQ(s->instruction, "RUN");

  // The index is padded to the width of the total.
  s = ParseBuildkitStepName("[ 1/10] FROM docker.io/library/busybox");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->index, 1);
  EXPECT_EQ(s->total, 10);
  EXPECT_EQ(s->instruction, "FROM");

  s = ParseBuildkitStepName("[build 3/4] COPY . /src");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->stage, "build");
  EXPECT_EQ(s->instruction, "COPY");

  s = ParseBuildkitStepName("[linux/arm64 stage-1 1/2] WORKDIR /app");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->platform, "linux/arm64");
  EXPECT_EQ(s->stage, "stage-1");
  EXPECT_EQ(s->instruction, "WORKDIR");
}

TEST(BuildkitStepName, RejectsOtherVertexNames) {
  for (const char* name : {
           "[internal] load metadata for docker.io/library/busybox:latest",
           "[internal] load build definition from Dockerfile",
           "exporting to image",
           "",
           "[0/2] RUN x",      // k from 1
           "[3/2] RUN x",      // k <= n
           "[1/2]RUN x",       // a blank after ']'
           "[1/2] ",           // no instruction
           "[a b c 1/2] RUN",  // too many words
           "[x y 1/2] RUN",    // two stages
           "[1/x] RUN",
           "[1-2] RUN",
           "[1/2 RUN x",
       }) {
    EXPECT_FALSE(ParseBuildkitStepName(name).has_value()) << name;
  }
}

// Line numbers:         1            2              3             4          5
constexpr const char* kOneStage =
    "FROM busybox\n"
    "WORKDIR /app\n"
    "ENV A=1\n"
    "RUN echo one \\\n"
    "    two\n"
    "COPY x /x\n";

TEST(LocateBuildkitStep, OneStageCountsFromAndWorkdir) {
  build::BuildFailure f = LocateBuildkitStep("[3/4] RUN echo one     two", kOneStage);
  EXPECT_EQ(f.vertex, "[3/4] RUN echo one     two");
  EXPECT_EQ(f.line, 4);
  EXPECT_EQ(f.end_line, 5);

  f = LocateBuildkitStep("[1/4] FROM docker.io/library/busybox", kOneStage);
  EXPECT_EQ(f.line, 1);
  EXPECT_EQ(f.end_line, 1);

  f = LocateBuildkitStep("[2/4] WORKDIR /app", kOneStage);
  EXPECT_EQ(f.line, 2);

  f = LocateBuildkitStep("[4/4] COPY x /x", kOneStage);
  EXPECT_EQ(f.line, 6);
  EXPECT_EQ(f.end_line, 6);
}

TEST(LocateBuildkitStep, WorkdirNotCountedWithFileOpsDisabled) {
  // BUILDKIT_DISABLE_FILEOP=1: WORKDIR is no step, n is 3.
  build::BuildFailure f = LocateBuildkitStep("[2/3] RUN echo one     two", kOneStage);
  EXPECT_EQ(f.line, 4);
  EXPECT_EQ(f.end_line, 5);
  f = LocateBuildkitStep("[3/3] COPY x /x", kOneStage);
  EXPECT_EQ(f.line, 6);
}

TEST(LocateBuildkitStep, MultiStageByNameAndIndex) {
  const char* df =
      "FROM busybox AS Build\n"    // 1
      "RUN make\n"                 // 2
      "FROM scratch\n"             // 3
      "COPY --from=build /a /a\n"  // 4
      "COPY b /b\n"                // 5
      "FROM build\n"               // 6
      "RUN test\n";                // 7
  // The stage name is lower-cased; the FROM of an image is step 1.
  EXPECT_EQ(LocateBuildkitStep("[build 2/2] RUN make", df).line, 2);
  EXPECT_EQ(LocateBuildkitStep("[build 1/2] FROM docker.io/library/busybox", df).line, 1);
  // FROM scratch and FROM <stage> are no steps.
  EXPECT_EQ(LocateBuildkitStep("[stage-1 1/2] COPY --from=build /a /a", df).line, 4);
  EXPECT_EQ(LocateBuildkitStep("[stage-1 2/2] COPY b /b", df).line, 5);
  EXPECT_EQ(LocateBuildkitStep("[stage-2 1/1] RUN test", df).line, 7);
  EXPECT_EQ(LocateBuildkitStep("[linux/amd64 stage-2 1/1] RUN test", df).line, 7);
}

TEST(LocateBuildkitStep, BaseWithVariableIsDecidedByTheCount) {
  const char* df =
      "ARG BASE=busybox\n"  // 1
      "FROM $BASE\n"        // 2
      "RUN a\n"             // 3
      "RUN b\n";            // 4
  EXPECT_EQ(LocateBuildkitStep("[1/3] FROM docker.io/library/busybox", df).line, 2);
  EXPECT_EQ(LocateBuildkitStep("[3/3] RUN b", df).line, 4);
  // BASE=scratch: no FROM step.
  EXPECT_EQ(LocateBuildkitStep("[2/2] RUN b", df).line, 4);
}

TEST(LocateBuildkitStep, UnmappableNamesGiveLineZero) {
  const char* df = "FROM busybox\nRUN a\n";
  for (const char* name : {
           "[internal] load metadata for docker.io/library/busybox:latest",
           "exporting to image",
           "[2/2] COPY a /a",      // the step found is a RUN
           "[2/5] RUN a",          // counts that fit no reading of the stage
           "[other 2/2] RUN a",    // no such stage
           "[stage-1 2/2] RUN a",  // no such stage
           "[stage-x 2/2] RUN a",
       }) {
    build::BuildFailure f = LocateBuildkitStep(name, df);
    EXPECT_EQ(f.vertex, name);
    EXPECT_EQ(f.line, 0) << name;
    EXPECT_EQ(f.end_line, 0) << name;
  }
  // A stage prefix in a one-stage Dockerfile is read as its index (BuildKit names the only
  // stage "stage-0" when a COPY --from of an image adds a second source).
  EXPECT_EQ(LocateBuildkitStep("[stage-0 2/2] RUN a", df).line, 2);
  // No prefix in a multi-stage Dockerfile cannot be placed.
  EXPECT_EQ(LocateBuildkitStep("[2/2] RUN a", "FROM a\nRUN a\nFROM b\nRUN a\n").line, 0);
  // A Dockerfile that does not parse.
  EXPECT_EQ(LocateBuildkitStep("[2/2] RUN a", "").line, 0);
  EXPECT_EQ(LocateBuildkitStep("[2/2] RUN a", "RUN a\n").line, 0);
}

}  // namespace
}  // namespace latchkey::cli
