#include "builder/frontend/outline.h"

#include <gtest/gtest.h>

#include <sstream>

#include "builder/frontend/test_util_frontend.h"

namespace latchkey::frontend {
namespace {

// tests/frontend/outline/<case>/: Dockerfile, args (CLI flags: --target T --build-arg k=v),
// table (expected table output), json (expected JSON), stderr (expected lint warnings).
TEST(OutlineGolden, Multistage) {
  const std::string dir = testing::SourceDir() + "/tests/frontend/outline/multistage/";
  OutlineOptions opts;
  std::istringstream args(testing::ReadFileOrEmpty(dir + "args"));
  std::string flag, value;
  while (args >> flag >> value) {
    if (flag == "--target") opts.target = value;
    if (flag == "--build-arg") {
      opts.build_args[value.substr(0, value.find('='))] = value.substr(value.find('=') + 1);
    }
  }
  auto o = OutlineDockerfile(testing::ReadFileOrEmpty(dir + "Dockerfile"), opts);
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(OutlineToTable(*o), testing::ReadFileOrEmpty(dir + "table"));
  EXPECT_EQ(OutlineToJson(*o), testing::ReadFileOrEmpty(dir + "json"));
  std::string warnings;
  for (const LintWarning& w : o->warnings) {
    warnings += "warning: " + FormatLintWarning(w, "Dockerfile") + "\n";
  }
  EXPECT_EQ(warnings, testing::ReadFileOrEmpty(dir + "stderr"));
}

TEST(Outline, PrunedStagesAreNotListed) {
  auto o = OutlineDockerfile(
      "FROM a AS one\nRUN --mount=type=secret,id=one cat\n"
      "FROM b AS two\nRUN --mount=type=secret,id=two,env=TWO cat\n",
      OutlineOptions{"Dockerfile", "one", {}});
  ASSERT_TRUE(o.ok()) << o.status().message();
  ASSERT_EQ(o->secrets.size(), 1u);
  EXPECT_EQ(o->secrets[0].id, "one");
  EXPECT_EQ(o->secrets[0].target, "/run/secrets/one");
  EXPECT_EQ(o->secrets[0].line, 2);
  EXPECT_EQ(o->target, "one");
}

TEST(Outline, SecretsReachedThroughCopyFrom) {
  auto o = OutlineDockerfile(
      "FROM a AS build\nARG TOKEN_ID=gh\nRUN --mount=type=secret,id=$TOKEN_ID,env=GH_TOKEN x\n"
      "FROM scratch\nCOPY --from=build /o /o\n",
      OutlineOptions{});
  ASSERT_TRUE(o.ok());
  ASSERT_EQ(o->secrets.size(), 1u);
  EXPECT_EQ(o->secrets[0].id, "gh");
  EXPECT_EQ(o->secrets[0].env, "GH_TOKEN");
  EXPECT_EQ(o->secrets[0].target, "");
  EXPECT_FALSE(o->secrets[0].required);
  ASSERT_EQ(o->args.size(), 1u);
  EXPECT_EQ(o->args[0].name, "TOKEN_ID");
}

TEST(Outline, ErrorsAreReported) {
  auto o = OutlineDockerfile("FROM a\nRUN --mount=type=secret,id=x,from=y cat\n", OutlineOptions{});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().message(), "Dockerfile:2: secret mount should not have a from");
}

TEST(Lint, SecretNames) {
  EXPECT_TRUE(IsSecretLikeName("SECRET_PASSPHRASE"));
  EXPECT_TRUE(IsSecretLikeName("aws_secret_access_key"));
  EXPECT_TRUE(IsSecretLikeName("GITHUB_TOKEN"));
  EXPECT_TRUE(IsSecretLikeName("apikey"));
  EXPECT_TRUE(IsSecretLikeName("Credentials"));
  EXPECT_FALSE(IsSecretLikeName("TOKENIZER"));
  EXPECT_FALSE(IsSecretLikeName("KEYBOARD_LAYOUT"));
  EXPECT_FALSE(IsSecretLikeName("PUBLIC_KEY"));
  EXPECT_FALSE(IsSecretLikeName("KEY_FILE"));
  EXPECT_FALSE(IsSecretLikeName("TOKEN_VERSION"));
  EXPECT_FALSE(IsSecretLikeName("PATH"));
}

TEST(Lint, WarningsWithLines) {
  auto df = ParseDockerfile("ARG GH_TOKEN\nFROM a\nENV DB_PASSWORD=x OK=1\nARG auth\n");
  ASSERT_TRUE(df.ok());
  auto w = LintDockerfile(*df);
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(FormatLintWarning(w[0], "Dockerfile"),
            "Dockerfile:1: SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for "
            "sensitive data (ARG \"GH_TOKEN\")");
  EXPECT_EQ(FormatLintWarning(w[1], "Dockerfile"),
            "Dockerfile:3: SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for "
            "sensitive data (ENV \"DB_PASSWORD\")");
  EXPECT_EQ(w[2].line, 4);
}

TEST(Lint, CheckDirectiveSkips) {
  auto df = ParseDockerfile("# check=skip=SecretsUsedInArgOrEnv\nFROM a\nARG TOKEN\n");
  ASSERT_TRUE(df.ok());
  EXPECT_TRUE(LintDockerfile(*df).empty());
  auto all = ParseDockerfile("# check=skip=all;error=true\nFROM a\nARG TOKEN\n");
  EXPECT_TRUE(LintDockerfile(*all).empty());
}

}  // namespace
}  // namespace latchkey::frontend
