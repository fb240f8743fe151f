#include "builder/frontend/stages.h"

#include <gtest/gtest.h>

namespace latchkey::frontend {
namespace {

Result<StageGraph> Graph(const std::string& text, const std::string& target = "") {
  LK_ASSIGN_OR_RETURN(Dockerfile df, ParseDockerfile(text));
  BuildOptions opts;
  opts.target = target;
  return BuildStageGraph(df, opts);
}

const char* kMulti =
    "FROM golang AS Build\nRUN make\n"
    "FROM alpine AS unused\nRUN --mount=type=secret,id=never cat\n"
    "FROM scratch AS final\nCOPY --from=build /out /out\nCOPY --from=nginx:1 /etc/x /x\n"
    "RUN --mount=from=tools,target=/t true\n";

TEST(StageGraph, TargetDefaultsToLastAndPrunes) {
  auto g = Graph(kMulti);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(g->target, 2);
  EXPECT_EQ(g->build_order, (std::vector<int>{0, 2}));
  EXPECT_FALSE(g->reachable[1]);
  EXPECT_EQ(g->stages[0].name, "build");
}

TEST(StageGraph, ImplicitImageSourcesAreListed) {
  auto g = Graph(kMulti);
  ASSERT_TRUE(g.ok());
  ASSERT_EQ(g->implicit_images.size(), 2u);
  EXPECT_EQ(g->implicit_images[0].image, "nginx:1");
  EXPECT_EQ(g->implicit_images[0].lines, std::vector<int>{7});
  EXPECT_EQ(g->implicit_images[0].used_by, std::vector<int>{2});
  EXPECT_EQ(g->implicit_images[1].image, "tools");
}

TEST(StageGraph, TargetIsCaseInsensitive) {
  auto g = Graph(kMulti, "UNUSED");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->build_order, std::vector<int>{1});
  EXPECT_TRUE(g->implicit_images.empty());
}

TEST(StageGraph, UnknownTarget) {
  auto g = Graph(kMulti, "nope");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().message(), "Dockerfile:5: target stage \"nope\" could not be found");
}

TEST(StageGraph, CopyFromIndex) {
  auto g = Graph("FROM a\nFROM b\nCOPY --from=0 /x /y\n");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->build_order, (std::vector<int>{0, 1}));
  auto bad = Graph("FROM a\nCOPY --from=7 /x /y\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "Dockerfile:2: invalid stage index 7 (stages 0..0)");
}

TEST(StageGraph, MountFromStageIsADependency) {
  auto g = Graph("FROM a AS tools\nFROM b AS other\nFROM c\nRUN --mount=from=TOOLS,target=/t x\n");
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(g->build_order, (std::vector<int>{0, 2}));
  EXPECT_TRUE(g->implicit_images.empty());
}

TEST(StageGraph, CycleIsAnError) {
  auto g = Graph("FROM scratch AS a\nCOPY --from=b /x /x\nFROM a AS b\n");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().message(), "Dockerfile:3: circular dependency detected on stage: b");
  auto self = Graph("FROM scratch AS a\nCOPY --from=a /x /x\n");
  ASSERT_FALSE(self.ok());
  EXPECT_EQ(self.status().message(), "Dockerfile:1: circular dependency detected on stage: a");
}

TEST(StageGraph, FromOnlyNamesEarlierStages) {
  auto g = Graph("FROM later AS first\nFROM scratch AS later\n");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->stages[0].base_stage, -1);
  EXPECT_EQ(g->build_order, std::vector<int>{1});
}

TEST(StageGraph, VariableInCopyFrom) {
  auto g = Graph("FROM a\nARG X=a\nCOPY --from=$X /x /y\n");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().message(),
            "Dockerfile:3: variable expansion is not supported for --from, define a new stage "
            "with FROM using ARG from global scope as a workaround");
}

TEST(StageGraph, VariableInMountFrom) {
  auto g = Graph("FROM a\nRUN --mount=from=$X,target=/x true\n");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().message(),
            "Dockerfile:2: 'from' doesn't support variable expansion, define alias stage instead");
}

TEST(StageGraph, GlobalArgSelectsBaseStage) {
  auto df = ParseDockerfile(
      "ARG BASE=dev\nFROM scratch AS dev\nFROM scratch AS prod\n"
      "FROM ${BASE}\n");
  ASSERT_TRUE(df.ok());
  BuildOptions opts;
  opts.build_args = {{"BASE", "prod"}};
  auto g = BuildStageGraph(*df, opts);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->stages[2].base_stage, 1);
  EXPECT_EQ(g->build_order, (std::vector<int>{1, 2}));
  EXPECT_EQ(g->stages[2].used_meta_args, std::vector<std::string>{"BASE"});
}

TEST(StageGraph, BlankBaseAndErrors) {
  auto g = Graph("ARG NOTHING\nFROM $NOTHING\n");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().message(), "Dockerfile:2: base name ($NOTHING) should not be blank");
  auto dup = Graph("FROM a AS x\nFROM b AS X\n");
  EXPECT_EQ(dup.status().message(), "Dockerfile:2: duplicate stage name \"x\"");
  auto none = Graph("ARG A=1\n");
  EXPECT_EQ(none.status().message(), "Dockerfile:1: dockerfile contains no stages to build");
}

TEST(Instructions, ErrorsBeforeFromAndArgCounts) {
  EXPECT_EQ(ParseDockerfile("RUN x\n").status().message(),
            "Dockerfile:1: no build stage in current context");
  EXPECT_EQ(ParseDockerfile("FROM a b\n").status().message(),
            "Dockerfile:1: FROM requires either one or three arguments");
  EXPECT_EQ(ParseDockerfile("FROM a AS 1x\n").status().message(),
            "Dockerfile:1: invalid name for build stage: \"1x\", name can't start with a number "
            "or contain symbols");
  EXPECT_EQ(ParseDockerfile("FROM a\nCOPY x\n").status().message(),
            "Dockerfile:2: COPY requires at least two arguments, but only one was provided. "
            "Destination could not be determined");
  EXPECT_EQ(ParseDockerfile("FROM a\nCOPY --fro=x a b\n").status().message(),
            "Dockerfile:2: unknown flag: --fro (did you mean from?)");
  EXPECT_EQ(ParseDockerfile("FROM a\nSHELL bash\n").status().message(),
            "Dockerfile:2: SHELL requires the arguments to be in JSON form");
  EXPECT_EQ(ParseDockerfile("FROM a\nONBUILD FROM b\n").status().message(),
            "Dockerfile:2: FROM isn't allowed as an ONBUILD trigger");
  EXPECT_EQ(ParseDockerfile("FROM a\nONBUILD ONBUILD RUN x\n").status().message(),
            "Dockerfile:2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  EXPECT_EQ(ParseDockerfile("FROM a\nHEALTHCHECK --interval=1us CMD x\n").status().message(),
            "Dockerfile:2: Interval \"interval\" cannot be less than 1ms");
  EXPECT_EQ(ParseDockerfile("FROM a\nHEALTHCHECK FOO x\n").status().message(),
            "Dockerfile:2: Unknown type \"FOO\" in HEALTHCHECK (try CMD)");
  EXPECT_EQ(ParseDockerfile("FROM a\nWORKDIR\n").status().message(),
            "Dockerfile:2: WORKDIR requires exactly one argument");
  EXPECT_EQ(ParseDockerfile("FROM a\nRUN --mont=x y\n").status().message(),
            "Dockerfile:2: unknown flag: --mont (did you mean mount?)");
}

TEST(Instructions, CopyHeredocSources) {
  auto df = ParseDockerfile("FROM a\nCOPY <<-EOF plain <<'RAW' /dst/\n\tx\n\tEOF\n$y\nRAW\n");
  ASSERT_TRUE(df.ok()) << df.status().message();
  const Instruction& c = df->stages[0].commands[0];
  EXPECT_EQ(c.sources, std::vector<std::string>{"plain"});
  ASSERT_EQ(c.source_contents.size(), 2u);
  EXPECT_EQ(c.source_contents[0].data, "x\n");
  EXPECT_TRUE(c.source_contents[0].expand);
  EXPECT_EQ(c.source_contents[1].path, "RAW");
  EXPECT_FALSE(c.source_contents[1].expand);
  EXPECT_EQ(c.dest, "/dst/");
}

// issue 11: a chain of 100,000 stages is walked without recursion (no stack overflow) and
// without quadratic name lookups.
TEST(StageGraph, LongChainOfStages) {
  std::string text = "FROM scratch AS s0\n";
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    text += "FROM s" + std::to_string(i) + " AS s" + std::to_string(i + 1) + "\n";
  }
  auto g = Graph(text);
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_EQ(g->build_order.size(), static_cast<size_t>(n + 1));
  EXPECT_EQ(g->build_order.front(), 0);
  EXPECT_EQ(g->build_order.back(), n);
  EXPECT_EQ(g->stages[n].base_stage, n - 1);
}

}  // namespace
}  // namespace latchkey::frontend
