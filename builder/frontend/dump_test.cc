#include "builder/frontend/dump.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "builder/frontend/test_util_frontend.h"

namespace latchkey::frontend {
namespace {

std::string DumpText(const std::string& text) {
  Result<ParseResult> r = Parse(text);
  if (!r.ok()) return "ERROR: " + r.status().message();
  return Dump(*r);
}

// Every tests/frontend/dump/<case>/Dockerfile dumps exactly as <case>/result.
TEST(DumpGolden, MatchesResultFiles) {
  const std::filesystem::path dir =
      std::filesystem::path(testing::SourceDir()) / "tests" / "frontend" / "dump";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  int cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_directory()) continue;
    const std::string df = testing::ReadFileOrEmpty((entry.path() / "Dockerfile").string());
    const std::string want = testing::ReadFileOrEmpty((entry.path() / "result").string());
    EXPECT_EQ(DumpText(df), want) << "case " << entry.path().filename();
    ++cases;
  }
  EXPECT_GE(cases, 10);
}

TEST(Dump, ShellFormIsOneArgument) {
  EXPECT_EQ(DumpText("FROM a\nRUN echo  hi   there\n"),
            "(from \"a\")\n(run \"echo  hi   there\")\n");
}

TEST(Dump, EmptyJsonArrayPrintsBareInstruction) {
  EXPECT_EQ(DumpText("FROM a\nCMD []\nCMD [\"\"]\n"), "(from \"a\")\n(cmd)\n(cmd \"\")\n");
}

TEST(Dump, EnvKeepsQuotesRaw) {
  EXPECT_EQ(DumpText("FROM a\nENV name=\"value value1\"\n"),
            "(from \"a\")\n(env \"name\" \"\\\"value value1\\\"\" \"=\")\n");
}

TEST(Dump, FlagsAsGoQuotedList) {
  EXPECT_EQ(DumpText("FROM a\nRUN --user=me --doit=true x\n"),
            "(from \"a\")\n(run [\"--user=me\" \"--doit=true\"] \"x\")\n");
}

TEST(Dump, NestedOnbuild) {
  EXPECT_EQ(DumpText("FROM a\nONBUILD RUN [\"echo\", \"test\"]\n"),
            "(from \"a\")\n(onbuild (run \"echo\" \"test\"))\n");
}

TEST(Dump, Healthcheck) {
  EXPECT_EQ(DumpText("FROM a\nHEALTHCHECK --interval=5s CMD /check.sh --quiet\nHEALTHCHECK\n"
                     "HEALTHCHECK NONE\n"),
            "(from \"a\")\n(healthcheck [\"--interval=5s\"] \"CMD\" \"/check.sh --quiet\")\n"
            "(healthcheck)\n(healthcheck \"NONE\")\n");
}

TEST(Dump, GoQuotingOfControlAndNonAscii) {
  EXPECT_EQ(DumpText(std::string("FROM a\nRUN x\x01y\tz \xc3\xa9 \xff \"q\" \\\\\n")),
            "(from \"a\")\n(run \"x\\x01y\\tz é \\xff \\\"q\\\" \\\\\\\\\")\n");
}

TEST(Dump, UnknownInstructionKeepsAnEmptyValueLikeBuildKit) {
  EXPECT_EQ(DumpText("FROM a\nFOO bar\n"), "(from \"a\")\n(foo \"\")\n");
}

}  // namespace
}  // namespace latchkey::frontend
