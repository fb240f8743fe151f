#include "builder/solver/run_heredoc.h"

#include <gtest/gtest.h>

namespace latchkey::build {
namespace {

frontend::Step RunStep(const std::string& dockerfile) {
  auto df = frontend::ParseDockerfile(dockerfile);
  EXPECT_TRUE(df.ok()) << df.status().message();
  frontend::MapImageResolver resolver({{"base", frontend::ImageConfig::Scratch()}});
  auto eval = frontend::EvaluateBuild(*df, {}, resolver);
  EXPECT_TRUE(eval.ok()) << eval.status().message();
  return eval->stages.back().steps.back();
}

TEST(ResolveRunCommand, WithoutHeredocsKeepsTheArgv) {
  auto cmd = ResolveRunCommand(RunStep("FROM base\nRUN echo hi\n"));
  ASSERT_TRUE(cmd.ok());
  EXPECT_EQ(cmd->argv, (std::vector<std::string>{"/bin/sh", "-c", "echo hi"}));
  EXPECT_TRUE(cmd->scripts.empty());
}

TEST(ResolveRunCommand, ASingleHeredocBecomesAMountedScript) {
  auto cmd = ResolveRunCommand(RunStep("FROM base\nRUN <<EOF\necho a\necho b\nEOF\n"));
  ASSERT_TRUE(cmd.ok());
  EXPECT_EQ(cmd->argv, (std::vector<std::string>{"/bin/sh", "-c", "/dev/pipes/EOF"}));
  ASSERT_EQ(cmd->scripts.size(), 1u);
  EXPECT_EQ(cmd->scripts[0].name, "EOF");
  EXPECT_EQ(cmd->scripts[0].data, "echo a\necho b\n");
}

TEST(ResolveRunCommand, HeredocsInACommandAreHandedToTheShell) {
  auto cmd = ResolveRunCommand(
      RunStep("FROM base\nSHELL [\"/bin/bash\", \"-c\"]\nRUN <<EOT python3 -\nprint(1)\nEOT\n"));
  ASSERT_TRUE(cmd.ok());
  EXPECT_EQ(cmd->argv,
            (std::vector<std::string>{"/bin/bash", "-c", "<<EOT python3 -\nprint(1)\nEOT"}));
  EXPECT_TRUE(cmd->scripts.empty());
}

}  // namespace
}  // namespace latchkey::build
