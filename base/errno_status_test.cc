#include "base/errno_status.h"

#include <errno.h>

#include <gtest/gtest.h>

namespace latchkey::base {
namespace {

TEST(ErrnoStatus, NamesTheOperationThePathAndTheCause) {
  Status s = ErrnoStatus("open", "/x/y", ENOENT);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "open /x/y: No such file or directory");
}

TEST(ErrnoStatus, EmptyPathIsLeftOut) {
  EXPECT_EQ(ErrnoStatus("mkdtemp", "", EINVAL).message(), "mkdtemp: Invalid argument");
}

TEST(ErrnoStatus, TheDocumentedMapping) {
  EXPECT_EQ(ErrnoCode(ENOENT), StatusCode::kNotFound);
  EXPECT_EQ(ErrnoCode(EEXIST), StatusCode::kAlreadyExists);
  EXPECT_EQ(ErrnoCode(EACCES), StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoCode(EPERM), StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoCode(EROFS), StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoCode(ENOSPC), StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrnoCode(EDQUOT), StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrnoCode(EIO), StatusCode::kInternal);
  EXPECT_EQ(ErrnoCode(ENOTDIR), StatusCode::kInternal);
  EXPECT_EQ(ErrnoStatus("write", "/f", ENOSPC).code(), StatusCode::kResourceExhausted);
}

TEST(ErrnoText, UnknownValuesAreNamedByNumber) {
  EXPECT_EQ(ErrnoText(ENOSPC), "No space left on device");
  EXPECT_EQ(ErrnoText(99999), "errno 99999");
}

TEST(WithCode, ReplacesTheCodeAndKeepsTheMessage) {
  Status s = WithCode(ErrnoStatus("writing", "/a/log", ENOSPC), StatusCode::kUnavailable);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "writing /a/log: No space left on device");
  EXPECT_TRUE(WithCode(Status::OK(), StatusCode::kUnavailable).ok());
}

}  // namespace
}  // namespace latchkey::base
