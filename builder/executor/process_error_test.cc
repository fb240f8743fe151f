#include "builder/executor/process_error.h"

#include <gtest/gtest.h>

#include "base/go_text.h"
#include "builder/frontend/shell_lex.h"

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

TEST(ProcessError, MaskLeavesOtherVariables) {
  EXPECT_EQ(MaskSecretEnvRefs("$A $AB ${A} ${AB} $", {"A"}), "**** $AB **** ${AB} $");
}

}  // namespace
}  // namespace latchkey::executor
