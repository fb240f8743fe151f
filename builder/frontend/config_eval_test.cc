#include "builder/frontend/config_eval.h"

#include <gtest/gtest.h>

namespace latchkey::frontend {
namespace {

Result<EvaluatedBuild> Eval(const std::string& text, BuildOptions opts = {},
                            std::map<std::string, ImageConfig> images = {}) {
  LK_ASSIGN_OR_RETURN(Dockerfile df, ParseDockerfile(text));
  MapImageResolver resolver(std::move(images));
  return EvaluateBuild(df, opts, resolver);
}

const EvaluatedStage& ByName(const EvaluatedBuild& b, const std::string& name) {
  for (const auto& s : b.stages) {
    if (s.name == name) return s;
  }
  static EvaluatedStage none;
  ADD_FAILURE() << "no stage " << name;
  return none;
}

ImageConfig Debian() {
  ImageConfig c;
  c.env = {"PATH=/usr/bin:/bin", "LANG=C.UTF-8"};
  c.cmd = std::vector<std::string>{"bash"};
  c.working_dir = "";
  return c;
}

// moby#33176: FROM scratch after another stage starts from an empty config.
TEST(StageConfigReset, ScratchAfterAnotherStage) {
  auto b = Eval(
      "FROM debian AS first\nWORKDIR /build\nENV SECRET_FREE=1\nENTRYPOINT [\"/x\"]\n"
      "USER nobody\nLABEL a=b\nSHELL [\"/bin/bash\", \"-c\"]\nCMD run\n"
      "FROM scratch\nCOPY --from=first /build/out /out\n",
      {}, {{"debian", Debian()}});
  ASSERT_TRUE(b.ok()) << b.status().message();
  const EvaluatedStage* last = b->Stage(1);
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(last->config, ImageConfig::Scratch());
  const EvaluatedStage& first = ByName(*b, "first");
  EXPECT_EQ(first.config.working_dir, "/build");
  EXPECT_EQ(first.config.user, "nobody");
  EXPECT_EQ(*first.config.cmd, (std::vector<std::string>{"/bin/bash", "-c", "run"}));
}

// docker-ce#251: two stages on one parent never leak config into each other.
TEST(StageConfigReset, TwoStagesOnOneParent) {
  auto b = Eval(
      "FROM debian AS base\nENV BASE=1\n"
      "FROM base AS a\nENV ONLY_A=1\nWORKDIR /a\nLABEL who=a\n"
      "FROM base AS b\nENV ONLY_B=1\nUSER bee\n"
      "FROM scratch\nCOPY --from=a /a /a\nCOPY --from=b /b /b\n",
      {}, {{"debian", Debian()}});
  ASSERT_TRUE(b.ok()) << b.status().message();
  const EvaluatedStage& sa = ByName(*b, "a");
  const EvaluatedStage& sb = ByName(*b, "b");
  EXPECT_EQ(sa.config.env,
            (std::vector<std::string>{"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "BASE=1", "ONLY_A=1"}));
  EXPECT_EQ(sb.config.env,
            (std::vector<std::string>{"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "BASE=1", "ONLY_B=1"}));
  EXPECT_EQ(sa.config.working_dir, "/a");
  EXPECT_EQ(sb.config.working_dir, "");
  EXPECT_TRUE(sb.config.labels.empty());
  EXPECT_EQ(sa.config.user, "");
  EXPECT_EQ(sb.config.user, "bee");
  EXPECT_EQ(ByName(*b, "base").config.env.size(), 3u);
}

// FROM <stage> inherits that stage's final config.
TEST(StageConfigReset, FromStageInheritsFinalConfig) {
  auto b = Eval(
      "FROM scratch AS base\nENV A=1\nWORKDIR /w\nENTRYPOINT [\"/e\"]\nCMD [\"c\"]\n"
      "EXPOSE 80\nVOLUME /v\nSTOPSIGNAL SIGINT\n"
      "FROM base\nENV B=2\n");
  ASSERT_TRUE(b.ok()) << b.status().message();
  const EvaluatedStage* last = b->Stage(1);
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(last->config.working_dir, "/w");
  EXPECT_EQ(*last->config.entrypoint, std::vector<std::string>{"/e"});
  EXPECT_EQ(*last->config.cmd, std::vector<std::string>{"c"});
  EXPECT_EQ(last->config.exposed_ports, std::set<std::string>{"80/tcp"});
  EXPECT_EQ(last->config.volumes, std::set<std::string>{"/v"});
  EXPECT_EQ(last->config.stop_signal, "SIGINT");
  EXPECT_EQ(last->config.GetEnv("A"), "1");
  EXPECT_EQ(last->config.GetEnv("B"), "2");
}

// FROM scratch AS base, then FROM base (moby#32997).
TEST(StageConfigReset, ScratchBaseStage) {
  auto b = Eval("FROM scratch AS base\nFROM base\n");
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->Stage(1)->config, ImageConfig::Scratch());
}

TEST(ConfigEval, EntrypointResetsInheritedCmd) {
  auto b = Eval("FROM debian\nENTRYPOINT [\"/e\"]\n", {}, {{"debian", Debian()}});
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->stages[0].config.cmd.has_value());
  auto c = Eval("FROM debian\nCMD [\"x\"]\nENTRYPOINT [\"/e\"]\n", {}, {{"debian", Debian()}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c->stages[0].config.cmd, std::vector<std::string>{"x"});
}

TEST(ConfigEval, ShellFormUsesShell) {
  auto b = Eval(
      "FROM scratch\nENTRYPOINT exec app\nSHELL [\"pwsh\", \"-C\"]\nCMD go\n"
      "HEALTHCHECK --interval=30s --timeout=5s --start-period=1m "
      "--start-interval=2s --retries=4 CMD curl -f localhost\n");
  ASSERT_TRUE(b.ok()) << b.status().message();
  const ImageConfig& c = b->stages[0].config;
  EXPECT_EQ(*c.entrypoint, (std::vector<std::string>{"/bin/sh", "-c", "exec app"}));
  EXPECT_EQ(*c.cmd, (std::vector<std::string>{"pwsh", "-C", "go"}));
  ASSERT_TRUE(c.healthcheck.has_value());
  EXPECT_EQ(c.healthcheck->test, (std::vector<std::string>{"CMD-SHELL", "curl -f localhost"}));
  EXPECT_EQ(c.healthcheck->interval_ns, 30000000000LL);
  EXPECT_EQ(c.healthcheck->timeout_ns, 5000000000LL);
  EXPECT_EQ(c.healthcheck->start_period_ns, 60000000000LL);
  EXPECT_EQ(c.healthcheck->start_interval_ns, 2000000000LL);
  EXPECT_EQ(c.healthcheck->retries, 4);
}

TEST(ConfigEval, MetadataInstructions) {
  auto b = Eval(
      "FROM scratch\nARG DIR=app\nWORKDIR /srv\nWORKDIR $DIR/../x/\nUSER ${U:-me}\n"
      "LABEL \"k 1\"=\"v 1\" k2=v2\nEXPOSE 80/UDP 8000-8001\nVOLUME [\"/data\"]\n"
      "MAINTAINER someone\nONBUILD RUN make\nENV E1=one E2=$E1-two\nHEALTHCHECK NONE\n");
  ASSERT_TRUE(b.ok()) << b.status().message();
  const ImageConfig& c = b->stages[0].config;
  EXPECT_EQ(c.working_dir, "/srv/x");
  EXPECT_EQ(c.user, "me");
  EXPECT_EQ(c.labels.at("k 1"), "v 1");
  EXPECT_EQ(c.labels.at("k2"), "v2");
  EXPECT_EQ(c.exposed_ports, (std::set<std::string>{"80/udp", "8000/tcp", "8001/tcp"}));
  EXPECT_EQ(c.volumes, std::set<std::string>{"/data"});
  EXPECT_EQ(c.author, "someone");
  EXPECT_EQ(c.on_build, std::vector<std::string>{"RUN make"});
  EXPECT_EQ(c.GetEnv("E2"), "one-two");
  EXPECT_FALSE(c.GetEnv("DIR").has_value()) << "ARG values never enter the image config";
  EXPECT_EQ(c.healthcheck->test, std::vector<std::string>{"NONE"});
}

TEST(ConfigEval, OnbuildTriggersRunInChildAndAreCleared) {
  auto b = Eval("FROM scratch AS base\nONBUILD ENV FROM_TRIGGER=yes\nFROM base\n");
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->Stage(0)->config.on_build.size(), 1u);
  EXPECT_EQ(b->Stage(1)->config.GetEnv("FROM_TRIGGER"), "yes");
  EXPECT_TRUE(b->Stage(1)->config.on_build.empty());
  EXPECT_TRUE(b->Stage(1)->steps[0].from_onbuild);
}

TEST(ArgScope, GlobalArgsInFromAndRedeclared) {
  BuildOptions opts;
  opts.build_args = {{"TAG", "3.20"}};
  auto b = Eval(
      "ARG IMAGE=alpine\nARG TAG=latest\nFROM ${IMAGE}:${TAG}\nRUN echo $TAG\nARG TAG\n"
      "ENV T=$TAG I=$IMAGE\n",
      opts, {{"alpine:3.20", ImageConfig{}}});
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->stages[0].base, "alpine:3.20");
  EXPECT_EQ(b->stages[0].config.GetEnv("T"), "3.20");
  EXPECT_EQ(b->stages[0].config.GetEnv("I"), "") << "a global ARG not redeclared is not in scope";
}

TEST(ArgScope, PlatformArgsNeedRedeclaring) {
  auto b = Eval(
      "FROM scratch\nENV BEFORE=x$TARGETARCH\nARG TARGETARCH\nARG BUILDPLATFORM\n"
      "ENV AFTER=$TARGETARCH P=$BUILDPLATFORM\n");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->stages[0].config.GetEnv("BEFORE"), "x");
  EXPECT_EQ(b->stages[0].config.GetEnv("AFTER"), "amd64");
  EXPECT_EQ(b->stages[0].config.GetEnv("P"), "linux/amd64");
}

TEST(ArgScope, StageArgsDoNotCrossStages) {
  auto b = Eval("FROM scratch AS a\nARG X=1\nFROM a\nENV Y=x$X\n");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->Stage(1)->config.GetEnv("Y"), "x");
}

TEST(ArgScope, BuildArgOverridesDefaultAndProxyArgsReachRun) {
  BuildOptions opts;
  opts.build_args = {{"V", "override"}, {"HTTPS_PROXY", "http://proxy:3128"}};
  auto b = Eval("FROM scratch\nARG V=default\nRUN echo\n", opts);
  ASSERT_TRUE(b.ok());
  const Step& run = b->stages[0].steps[1];
  EXPECT_EQ(run.argv, (std::vector<std::string>{"/bin/sh", "-c", "echo"}));
  EXPECT_NE(std::find(run.run_env.begin(), run.run_env.end(), "V=override"), run.run_env.end());
  EXPECT_NE(std::find(run.run_env.begin(), run.run_env.end(), "HTTPS_PROXY=http://proxy:3128"),
            run.run_env.end());
}

TEST(ConfigEval, MountsExpandedInSecondPass) {
  auto b = Eval("FROM scratch\nARG ID=npmrc\nRUN --mount=type=secret,id=${ID},required cat\n");
  ASSERT_TRUE(b.ok()) << b.status().message();
  const Step& run = b->stages[0].steps[1];
  ASSERT_EQ(run.mounts.size(), 1u);
  EXPECT_EQ(run.mounts[0].id, "npmrc");
  EXPECT_TRUE(run.mounts[0].required);
  EXPECT_EQ(run.mounts[0].target, "/run/secrets/npmrc");
}

TEST(ConfigEval, ResolverFailureNamesTheLine) {
  auto b = Eval("FROM scratch\nFROM nosuch:1\n");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().message(),
            "Dockerfile:2: base image nosuch:1 not found (no config known for it)");
}

TEST(ConfigEval, ErrorsCarryLines) {
  auto b = Eval("FROM scratch\nSTOPSIGNAL NOPE\n");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().message(), "Dockerfile:2: Invalid signal: NOPE");
  auto e = Eval("FROM scratch\nEXPOSE 80/xyz\n");
  EXPECT_EQ(e.status().message(), "Dockerfile:2: invalid proto: xyz");
}

// Steps share one full config while it does not change; metadata steps keep only what their
// history needs, so N LABEL lines keep N labels, not N^2 (issue 11).
TEST(ConfigEvalMemory, StepsShareConfigSnapshots) {
  auto b = Eval("FROM scratch\nRUN a\nCOPY x /x\nLABEL l=1\nENV E=2\nRUN b\nADD y /y\n");
  ASSERT_TRUE(b.ok()) << b.status().message();
  const std::vector<Step>& steps = b->stages[0].steps;
  ASSERT_EQ(steps.size(), 6u);
  EXPECT_EQ(steps[0].config, steps[1].config);
  EXPECT_NE(steps[1].config, steps[4].config);
  EXPECT_EQ(steps[4].config, steps[5].config);
  EXPECT_TRUE(steps[0].config->labels.empty());
  EXPECT_EQ(steps[4].config->labels, (std::map<std::string, std::string>{{"l", "1"}}));
  EXPECT_EQ(steps[4].config->GetEnv("E"), "2");
  EXPECT_EQ(steps[4].config->working_dir, "/");
  // The metadata steps: only their own keys.
  EXPECT_EQ(steps[2].config->labels, (std::map<std::string, std::string>{{"l", "1"}}));
  EXPECT_TRUE(steps[2].config->env.empty());
  EXPECT_EQ(steps[3].config->env, std::vector<std::string>{"E=2"});
  EXPECT_TRUE(steps[3].config->labels.empty());
}

TEST(ConfigEvalMemory, ManyLabelsKeepOneLabelPerStep) {
  std::string text = "FROM scratch\n";
  for (int i = 0; i < 10000; ++i) text += "LABEL l" + std::to_string(i) + "=v\n";
  text += "RUN x\n";
  auto b = Eval(text);
  ASSERT_TRUE(b.ok()) << b.status().message();
  const std::vector<Step>& steps = b->stages[0].steps;
  ASSERT_EQ(steps.size(), 10001u);
  EXPECT_EQ(steps[9999].config->labels.size(), 1u);
  EXPECT_EQ(steps[10000].config->labels.size(), 10000u);
  EXPECT_EQ(b->stages[0].config.labels.size(), 10000u);
}

TEST(ConfigEvalMemory, DoublingArgsFailAtTheLineThatPasses4MiB) {
  std::string text = "FROM scratch\nARG a0=x\n";
  for (int i = 1; i < 40; ++i) {
    text += "ARG a" + std::to_string(i) + "=${a" + std::to_string(i - 1) + "}${a" +
            std::to_string(i - 1) + "}\n";
  }
  auto b = Eval(text);
  ASSERT_FALSE(b.ok());
  // a22 is 4 MiB; a23 (line 25) would be 8 MiB.
  EXPECT_EQ(b.status().message(),
            "Dockerfile:25: failed to process \"${a22}${a22}\": the result of variable "
            "expansion exceeds 4 MiB");
}

TEST(ConfigEvalMemory, DeepNestingFailsWithTheLine) {
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += "${a:-";
  deep += "z" + std::string(5000, '}');
  auto b = Eval("FROM scratch\nENV x=" + deep + "\n");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().message(), "Dockerfile:2: failed to process \"" + deep.substr(0, 256) +
                                      "\"...: variable expansion nested more than 64 levels deep");
  auto m = Eval("FROM scratch\nRUN --mount=type=secret,id=" + deep + " true\n");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(), "Dockerfile:2: failed to process \"" + deep.substr(0, 256) +
                                      "\"...: variable expansion nested more than 64 levels deep");
}

TEST(ConfigEvalMemory, TotalBoundNamesTheLine) {
  BuildOptions opts;
  opts.build_args["w"] = std::string(size_t{1} << 20, 'w');
  // Each ENV keeps its 4 MiB value three times (config, variables, history view): five fit
  // (63 MiB with the ARG); the RUN that snapshots them and copies them into its environment
  // passes 64 MiB.
  auto b = Eval(
      "FROM scratch\nARG w\nENV a=$w$w$w$w\nENV b=$w$w$w$w\nENV c=$w$w$w$w\n"
      "ENV d=$w$w$w$w\nENV e=$w$w$w$w\nRUN x\n",
      opts);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().message(),
            "Dockerfile:8: the evaluated steps, image configs and step environments exceed 64 "
            "MiB: use fewer instructions or fewer and smaller ENV, LABEL, ARG and WORKDIR values");
  // Each RUN after a change keeps a new snapshot (4 MiB) and its environment and ARG list
  // (4 + 1 + 1 MiB): the fifth such RUN (line 13) passes the bound.
  std::string text = "FROM scratch\nARG w\nENV a=$w$w$w$w\n";
  for (int i = 0; i < 20; ++i) text += "ENV n" + std::to_string(i) + "=1\nRUN x\n";
  auto r = Eval(text, opts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "Dockerfile:13: the evaluated steps, image configs and step environments exceed 64 "
            "MiB: use fewer instructions or fewer and smaller ENV, LABEL, ARG and WORKDIR values");
}

}  // namespace
}  // namespace latchkey::frontend
