#include "builder/solver/history.h"

#include <gtest/gtest.h>

#include "builder/frontend/config_eval.h"

namespace latchkey::build {
namespace {

// Evaluates `dockerfile` on a scratch-like base and returns the last stage's steps.
std::vector<frontend::Step> Steps(const std::string& dockerfile,
                                  std::map<std::string, std::string> build_args = {}) {
  auto df = frontend::ParseDockerfile(dockerfile);
  EXPECT_TRUE(df.ok()) << df.status().message();
  frontend::MapImageResolver resolver({{"base", frontend::ImageConfig::Scratch()}});
  frontend::BuildOptions opts;
  opts.build_args = std::move(build_args);
  auto eval = frontend::EvaluateBuild(*df, opts, resolver);
  EXPECT_TRUE(eval.ok()) << eval.status().message();
  return eval->stages.back().steps;
}

TEST(RunCommandString, PrefixesBuildArgsLikeBuildKit) {
  EXPECT_EQ(RunCommandString({"/bin/sh", "-c", "make"}, {}, {}), "/bin/sh -c make");
  EXPECT_EQ(RunCommandString({"/bin/sh", "-c", "make"}, {{"A", "1"}, {"B", ""}}, {}),
            "|2 A=1 B= /bin/sh -c make");
  // The environment's value wins; a redeclared ARG keeps its first position.
  EXPECT_EQ(RunCommandString({"x"}, {{"A", "1"}, {"B", "2"}, {"A", "3"}}, {"B=env"}),
            "|2 A=3 B=env x");
}

TEST(HistoryCreatedBy, RunHasCommandAndArgsButNoMountFlags) {
  auto steps = Steps(
      "FROM base\n"
      "ARG VERSION=1.0\n"
      "RUN --mount=type=secret,id=tok,env=TOKEN curl -H \"$TOKEN\" x\n",
      {{"VERSION", "2.0"}});
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(HistoryCreatedBy(steps[0]), "ARG VERSION=2.0");
  EXPECT_EQ(HistoryCreatedBy(steps[1]),
            "RUN |1 VERSION=2.0 /bin/sh -c curl -H \"$TOKEN\" x # buildkit");
}

TEST(HistoryCreatedBy, MetadataInstructionsUseEvaluatedValues) {
  auto steps = Steps(
      "FROM base\n"
      "ENV A=1 B=${A}2\n"
      "LABEL org.x=y\n"
      "WORKDIR /app\n"
      "WORKDIR sub\n"
      "USER nobody\n"
      "CMD echo hi\n"
      "ENTRYPOINT [\"/bin/tool\", \"--flag\"]\n"
      "SHELL [\"/bin/bash\", \"-c\"]\n"
      "VOLUME /data\n"
      "EXPOSE 80\n"
      "STOPSIGNAL SIGTERM\n"
      "ONBUILD RUN echo child\n"
      "COPY --from=base --chown=1:2 a b /dst/\n"
      "ADD x.tar /opt\n");
  std::vector<std::string> got;
  for (const auto& s : steps) got.push_back(HistoryCreatedBy(s));
  EXPECT_EQ(got, (std::vector<std::string>{
                     "ENV A=1 B=12",
                     "LABEL org.x=y",
                     "WORKDIR /app",
                     "WORKDIR /app/sub",
                     "USER nobody",
                     "CMD [\"/bin/sh\" \"-c\" \"echo hi\"]",
                     "ENTRYPOINT [\"/bin/tool\" \"--flag\"]",
                     "SHELL [/bin/bash -c]",
                     "VOLUME [/data]",
                     "EXPOSE 80",
                     "STOPSIGNAL SIGTERM",
                     "ONBUILD RUN echo child",
                     "COPY --from=base --chown=1:2 a b /dst/ # buildkit",
                     "ADD x.tar /opt # buildkit",
                 }));
}

TEST(StepDisplayText, UppercasesKeywordAndMasksEnvSecrets) {
  auto steps = Steps(
      "FROM base\n"
      "run --mount=type=secret,id=tok,env=TOKEN wget --header \"Bearer $TOKEN\" ${TOKEN} "
      "$TOKENS\n");
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(StepDisplayText(steps[0]),
            "RUN --mount=type=secret,id=tok,env=TOKEN wget --header \"Bearer ****\" **** "
            "$TOKENS");
  EXPECT_EQ(SecretEnvNames(steps[0]), std::vector<std::string>{"TOKEN"});
}

}  // namespace
}  // namespace latchkey::build
