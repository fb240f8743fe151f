#include "cli/cli_setup.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli/command_registry.h"
#include "cli/store_setup.h"

namespace latchkey::cli {
namespace {

// Parses `args` (after the program name) with `app`; "" on success, else CLI11's message.
std::string Parse(CLI::App& app, std::vector<std::string> args) {
  std::vector<const char*> argv = {"latchkey"};
  for (const auto& a : args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    return e.what();
  }
  return "";
}

TEST(CliSetup, FailAndUsagePrintTheMessageAndReturnTheExitCode) {
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(Fail(NotFoundError("no such image")), kExitFailure);
  EXPECT_EQ(Usage("bad filter"), kExitUsage);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "error: no such image\nerror: bad filter\n");
}

TEST(CliSetup, FailFlagsIsUsageOnlyForInvalidArgument) {
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(FailFlags(InvalidArgumentError("invalid --network \"x\"")), kExitUsage);
  EXPECT_EQ(FailFlags(FailedPreconditionError("no emulation for linux/arm64 on this host")),
            kExitFailure);
  EXPECT_EQ(FailFlags(NotFoundError("build context x is not a directory")), kExitFailure);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "error: invalid --network \"x\"\n"
            "error: no emulation for linux/arm64 on this host\n"
            "error: build context x is not a directory\n");
}

TEST(CliSetup, CommandGroupNeedsASubcommand) {
  CLI::App app;
  CLI::App* group = AddCommandGroup(app, "secret", "Manage secrets");
  group->add_subcommand("ls", "List");
  EXPECT_EQ(Parse(app, {"secret"}), "A subcommand is required");
  EXPECT_EQ(Parse(app, {"secret", "ls"}), "");
}

TEST(CliSetup, FormatIsTableOrJson) {
  CLI::App app;
  std::string format = "table";
  AddFormatOption(&app, &format);
  EXPECT_EQ(Parse(app, {}), "");
  EXPECT_EQ(format, "table");
  EXPECT_EQ(Parse(app, {"--format", "json"}), "");
  EXPECT_EQ(format, "json");
  EXPECT_EQ(Parse(app, {"--format", "yaml"}), "--format: yaml not in {table,json}");
}

TEST(CliSetup, StoreOptions) {
  CLI::App app;
  store::StoreLocation loc;
  AddStoreOptions(&app, &loc);
  EXPECT_EQ(Parse(app, {"--store", "/s.db", "--unlock-key-file", "/k"}), "");
  EXPECT_EQ(loc.store_path, "/s.db");
  EXPECT_EQ(loc.unlock_key_file, "/k");
  EXPECT_EQ(Parse(app, {"--unlock-key-file", "/k", "--passphrase-fd", "3"}),
            "--unlock-key-file excludes --passphrase-fd");
  EXPECT_NE(Parse(app, {"--passphrase-fd", "-1"}), "");
}

}  // namespace
}  // namespace latchkey::cli
