#include "builder/executor/process_error.h"

#include <gtest/gtest.h>

#include "base/go_text.h"

namespace latchkey::executor {
namespace {

TEST(ProcessError, BuildKitWording) {
  EXPECT_EQ(FormatProcessFailure({"/bin/sh", "-c", "make all"}, {}, 2),
            "process \"/bin/sh -c make all\" did not complete successfully: exit code: 2");
}

TEST(ProcessError, GoQuoting) {
  EXPECT_EQ(FormatProcessFailure({"/bin/sh", "-c", "echo \"a\\b\"\ttab\nnl"}, {}, 1),
            "process \"/bin/sh -c echo \\\"a\\\\b\\\"\\ttab\\nnl\" did not complete "
            "successfully: exit code: 1");
  EXPECT_EQ(base::GoQuote("\x01\x7f\xff é"), "\"\\x01\\x7f\\xff é\"");
}

TEST(ProcessError, EnvSecretReferencesMasked) {
  EXPECT_EQ(FormatProcessFailure({"/bin/sh", "-c", "[ \"$PW\" == \"pw\" ] && curl -u ${PW} $PWD"},
                                 {"PW"}, 1),
            "process \"/bin/sh -c [ \\\"****\\\" == \\\"pw\\\" ] && curl -u **** $PWD\" did not "
            "complete successfully: exit code: 1");
}

TEST(ProcessError, LongCommandIsCutWithAnEllipsis) {
  // 1 MB of command: the message shows the first 256 bytes of "/bin/sh -c echo xxx...", then
  // "...", once.
  const std::string cmd = "echo " + std::string(1 << 20, 'x');
  const std::string shown = "/bin/sh -c echo " + std::string(256 - 16, 'x') + "...";
  EXPECT_EQ(FormatProcessFailure({"/bin/sh", "-c", cmd}, {}, 1),
            "process \"" + shown + "\" did not complete successfully: exit code: 1");
  // Cut at a rune boundary: a 2-byte rune straddling the limit is left out whole.
  EXPECT_EQ(base::TruncateForDisplay(std::string(255, 'a') + "é"), std::string(255, 'a') + "...");
  EXPECT_EQ(base::TruncateForDisplay("short"), "short");
}

TEST(ProcessError, MaskLeavesOtherVariables) {
  EXPECT_EQ(MaskSecretEnvRefs("$A $AB ${A} ${AB} $", {"A"}), "**** $AB **** ${AB} $");
}

}  // namespace
}  // namespace latchkey::executor
