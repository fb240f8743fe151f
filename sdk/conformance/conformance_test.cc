#include "conformance.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "check_support.h"
#include "elf_exports.h"
#include "plugin.h"
#include "process_state.h"

namespace latchkey::conformance {
namespace {

std::string HelloPath() {
  const char* build = std::getenv("LATCHKEY_BUILD_DIR");
  return std::string(build != nullptr ? build : ".") + "/lib/latchkey/examples/latchkey-hello.so";
}

TEST(ConformanceArgs, ParsesEveryFlag) {
  Result<ConformanceOptions> o =
      ParseConformanceArgs({"--config", "a=b=c", "p.so", "--ref", "r1", "--expect-file", "f1",
                            "--ref", "r2", "--expect-file", "f2", "--threads", "3", "--json"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->plugin_path, "./p.so");  // a bare name is in the current directory
  EXPECT_EQ(ParseConformanceArgs({"/abs/p.so"})->plugin_path, "/abs/p.so");
  EXPECT_EQ(ParseConformanceArgs({"sub/p.so"})->plugin_path, "sub/p.so");
  ASSERT_EQ(o->config.size(), 1u);
  EXPECT_EQ(o->config[0].first, "a");
  EXPECT_EQ(o->config[0].second, "b=c");
  ASSERT_EQ(o->refs.size(), 2u);
  EXPECT_EQ(o->refs[1].ref, "r2");
  EXPECT_EQ(o->refs[1].expect_file, "f2");
  EXPECT_EQ(o->threads, 3);
  EXPECT_TRUE(o->json);
  EXPECT_EQ(o->cycles, 1000);
}

TEST(ConformanceArgs, RejectsWithExactMessages) {
  auto msg = [](std::vector<std::string> a) { return ParseConformanceArgs(a).status().message(); };
  EXPECT_EQ(msg({}), "missing PLUGIN.so");
  EXPECT_EQ(msg({"p.so", "--config", "novalue"}), "--config needs KEY=VALUE, got \"novalue\"");
  EXPECT_EQ(msg({"p.so", "--ref", "r"}), "--ref r has no --expect-file");
  EXPECT_EQ(msg({"p.so", "--ref", "r", "--ref", "s"}), "--ref r has no --expect-file");
  EXPECT_EQ(msg({"p.so", "--expect-file", "f"}), "--expect-file f must follow a --ref");
  EXPECT_EQ(msg({"p.so", "--threads", "0"}),
            "--threads needs a whole number from 1 to 256, got \"0\"");
  EXPECT_EQ(msg({"p.so", "--bogus"}), "unknown option --bogus");
  EXPECT_EQ(msg({"p.so", "q.so"}), "only one plugin per run: got p.so and q.so");
  EXPECT_EQ(msg({"p.so", "--timeout"}), "--timeout needs a value");
}

TEST(ElfExports, ListsOnlyTheEntryOfAProperlyBuiltPlugin) {
  Result<std::vector<std::string>> syms = ExportedSymbols(HelloPath());
  ASSERT_TRUE(syms.ok()) << syms.status().ToString();
  EXPECT_EQ(*syms, std::vector<std::string>{"lk_provider_entry"});
}

TEST(ElfExports, RefusesANonElfFile) {
  char path[] = "/tmp/lk-elf-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "not an elf file", 15), 15);
  close(fd);
  EXPECT_EQ(ExportedSymbols(path).status().message(),
            std::string(path) + " is not a valid ELF64 shared object: no ELF header");
  unlink(path);
}

TEST(CanaryForms, CoverHexAndBase64AtEveryAlignment) {
  std::string secret = "s3cr3t-value";
  std::vector<CanaryForm> forms = CanaryForms(std::vector<uint8_t>(secret.begin(), secret.end()));
  auto has = [&](const std::string& haystack) {
    return std::any_of(forms.begin(), forms.end(), [&](const CanaryForm& f) {
      return haystack.find(f.bytes) != std::string::npos;
    });
  };
  EXPECT_TRUE(has("xx s3cr3t-value yy"));
  EXPECT_TRUE(has("id=7333637233742d76616c7565;"));
  EXPECT_TRUE(has("ID=7333637233742D76616C7565;"));
  // base64("s3cr3t-value") = czNjcjN0LXZhbHVl; with 1 and 2 bytes in front of it:
  EXPECT_TRUE(has("czNjcjN0LXZhbHVl"));
  EXPECT_TRUE(has("QXMzY3IzdC12YWx1ZQ=="));  // base64("As3cr3t-value")
  EXPECT_TRUE(has("QUJzM2NyM3QtdmFsdWU="));  // base64("ABs3cr3t-value")
  EXPECT_FALSE(has("an unrelated message about secrets"));
}

TEST(ReadError, FlagsContractViolations) {
  lk_error err;
  PrepareError(&err);
  EXPECT_EQ(ReadError(LK_NOT_FOUND, err).problem,
            "the error message is not NUL-terminated within the caller's lk_error (512 message "
            "bytes)");
  lk_error_set(&err, LK_NOT_FOUND, "gone");
  EXPECT_EQ(ReadError(LK_NOT_FOUND, err).problem, "");
  EXPECT_EQ(ReadError(LK_NOT_FOUND, err).message, "gone");
  EXPECT_EQ(ReadError(99, err).problem,
            "returned code 99 is neither an LK_* status nor a vendor code (>= 0x10000)");
  err.message[0] = '\0';
  EXPECT_EQ(ReadError(LK_NOT_FOUND, err).problem,
            "the error message is empty (a failure must say what failed and why)");
}

TEST(ProcessState, ReportsAChangedUmaskAndEnvironmentByName) {
  ProcessState before = ProcessState::Capture();
  mode_t old = umask(077);
  setenv("LK_CONFORMANCE_TEST_VAR", "hidden-value", 1);
  ProcessState after = ProcessState::Capture();
  umask(old);
  unsetenv("LK_CONFORMANCE_TEST_VAR");
  std::vector<std::string> diff = Diff(before, after);
  ASSERT_EQ(diff.size(), 2u);
  EXPECT_EQ(diff[0], "the environment changed; set: LK_CONFORMANCE_TEST_VAR");
  char want[64];
  std::snprintf(want, sizeof want, "the umask changed from %03o to 077",
                static_cast<unsigned>(old));
  EXPECT_EQ(diff[1], want);
  EXPECT_TRUE(Diff(before, ProcessState::Capture()).empty());
}

TEST(RunConformance, PassesTheExampleAndPrintsTheSummary) {
  ConformanceOptions o;
  o.plugin_path = HelloPath();
  o.config = {{"greeting", "hello there"}};
  o.cycles = 50;
  std::ostringstream out;
  ConformanceReport report = RunConformance(o, out);
  EXPECT_TRUE(report.ok()) << out.str();
  EXPECT_EQ(report.checks.size(), AllChecks().size() + 1);  // + quiet
  EXPECT_NE(out.str().find("SKIP fetch-expected: needs --ref REF --expect-file FILE\n"),
            std::string::npos)
      << out.str();
  EXPECT_NE(out.str().find("\n" + std::to_string(report.passed) + " passed, 0 failed, " +
                           std::to_string(report.skipped) + " skipped\n"),
            std::string::npos)
      << out.str();
}

TEST(RunConformance, FailsCreateWithoutTheRequiredConfig) {
  ConformanceOptions o;
  o.plugin_path = HelloPath();
  std::ostringstream out;
  ConformanceReport report = RunConformance(o, out);
  EXPECT_FALSE(report.ok());
  EXPECT_NE(out.str().find("FAIL create: create with the given config failed: INVALID_ARGUMENT "
                           "(3): provider hello: missing required config key \"greeting\" (pass "
                           "the keys it needs with --config KEY=VALUE)\n"),
            std::string::npos)
      << out.str();
  EXPECT_NE(out.str().find("SKIP hygiene: create with the given config failed\n"),
            std::string::npos);
}

}  // namespace
}  // namespace latchkey::conformance
