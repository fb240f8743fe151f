#include "broker/audit/audit_file.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>

#include "base/fault_env_testutil.h"
#include "broker/audit/audit_testutil.h"

namespace latchkey::audit {
namespace {

using testing::TempDir;

// The audit log fails closed: base::Env's codes (RESOURCE_EXHAUSTED for a full disk, ...) become
// UNAVAILABLE, a missing file stays NOT_FOUND, and the messages are base::Env's.

TEST(AuditFile, FullDiskIsUnavailableWithEnvWording) {
  TempDir dir;
  auto plan = std::make_shared<base::testing::FaultPlan>();
  plan->write_errno = ENOSPC;
  auto fs = FailClosed(std::make_shared<base::testing::FaultEnv>(plan));
  auto file = fs->OpenAppend(dir.Join("audit.log"));
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  Status st = (*file)->Append("record\n");
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_EQ(st.message(), "writing " + dir.Join("audit.log") + ": No space left on device");
}

TEST(AuditFile, MissingFileStaysNotFoundOtherFailuresAreUnavailable) {
  TempDir dir;
  auto fs = PosixAuditFs();
  auto tail = fs->ReadTail(dir.Join("none"), 16);
  EXPECT_EQ(tail.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(tail.status().message(), "reading " + dir.Join("none") + ": No such file or directory");
  auto open = fs->OpenAppend(dir.path());
  EXPECT_EQ(open.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(open.status().message(), "opening " + dir.path() + ": Is a directory");
  auto lock = fs->LockExclusive(dir.Join("missing/audit.lock"));
  EXPECT_EQ(lock.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(lock.status().message(),
            "opening " + dir.Join("missing/audit.lock") + ": No such file or directory");
}

}  // namespace
}  // namespace latchkey::audit
