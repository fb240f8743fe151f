#include "base/env.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "base/fault_env_testutil.h"
#include "base/file.h"

namespace latchkey::base {
namespace {

namespace fs = std::filesystem;

class EnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "lk-base-env-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string P(const std::string& rel) const { return dir_ + "/" + rel; }
  std::string Read(const std::string& rel) const {
    auto r = ReadFile(P(rel));
    return r.ok() ? *r : "<" + r.status().message() + ">";
  }
  std::string dir_;
};

TEST_F(EnvTest, AppendSyncAndReopenKeepsSize) {
  auto env = PosixEnv();
  auto f = env->OpenAppend(P("log"));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_TRUE((*f)->Append("hello ").ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Close().ok());
  auto g = env->OpenAppend(P("log"));
  ASSERT_TRUE(g.ok());
  EXPECT_EQ((*g)->Size(), 6u);
  ASSERT_TRUE((*g)->Append("world").ok());
  EXPECT_EQ((*g)->Size(), 11u);
  EXPECT_EQ(Read("log"), "hello world");
}

TEST_F(EnvTest, AppendAfterCloseNamesTheFile) {
  auto f = PosixEnv()->OpenAppend(P("log"));
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_TRUE((*f)->Close().ok());
  EXPECT_EQ((*f)->Append("x").message(), "writing " + P("log") + ": file is closed");
  EXPECT_EQ((*f)->Sync().message(), "syncing " + P("log") + ": file is closed");
}

TEST_F(EnvTest, MissingFilesAreNotFoundWithTheirPath) {
  auto env = PosixEnv();
  auto id = env->Identify(P("none"));
  EXPECT_EQ(id.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(id.status().message(), P("none") + " does not exist");
  auto tail = env->ReadTail(P("none"), 10);
  EXPECT_EQ(tail.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(tail.status().message(), "reading " + P("none") + ": No such file or directory");
  EXPECT_TRUE(env->Remove(P("none")).ok());
  EXPECT_FALSE(env->Exists(P("none")));
}

TEST_F(EnvTest, CreateTempIsPrivateAndUnique) {
  auto env = PosixEnv();
  std::string a, b;
  auto fa = env->CreateTemp(dir_, "blob-", 0600, &a);
  auto fb = env->CreateTemp(dir_, "blob-", 0600, &b);
  ASSERT_TRUE(fa.ok() && fb.ok());
  EXPECT_NE(a, b);
  EXPECT_EQ(a.rfind(dir_ + "/blob-", 0), 0u);
  struct stat st {};
  ASSERT_EQ(::stat(a.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string c;
  auto bad = env->CreateTemp(P("missing"), "blob-", 0600, &c);
  EXPECT_EQ(bad.status().message(),
            "creating " + P("missing") + "/blob-XXXXXX: No such file or directory");
}

TEST_F(EnvTest, WriteFileAtomicReplacesAndReadTailReadsTheEnd) {
  auto env = PosixEnv();
  ASSERT_TRUE(env->CreateDirs(P("a/b")).ok());
  ASSERT_TRUE(env->WriteFileAtomic(P("a/b/f"), "first", true).ok());
  ASSERT_TRUE(env->WriteFileAtomic(P("a/b/f"), "second", false).ok());
  EXPECT_EQ(Read("a/b/f"), "second");
  EXPECT_FALSE(env->Exists(P("a/b/f.tmp")));
  auto tail = env->ReadTail(P("a/b/f"), 3);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->size, 6u);
  EXPECT_EQ(tail->bytes, "ond");
  ASSERT_TRUE(env->Truncate(P("a/b/f"), 2).ok());
  EXPECT_EQ(Read("a/b/f"), "se");
  ASSERT_TRUE(env->Rename(P("a/b/f"), P("a/g")).ok());
  EXPECT_EQ(Read("a/g"), "se");
}

TEST_F(EnvTest, LockExclusiveCreatesTheLockFile) {
  auto lock = PosixEnv()->LockExclusive(P("x.lock"));
  ASSERT_TRUE(lock.ok());
  EXPECT_TRUE(PosixEnv()->Exists(P("x.lock")));
  auto bad = PosixEnv()->LockExclusive(P("missing/x.lock"));
  EXPECT_EQ(bad.status().message(),
            "opening " + P("missing/x.lock") + ": No such file or directory");
}

// The shared fault injector (base/fault_env_testutil.h).

TEST_F(EnvTest, FaultEnvFailsTheNthWriteWithTheRealWording) {
  auto plan = std::make_shared<testing::FaultPlan>();
  plan->write_errno = ENOSPC;
  plan->write_fail_from = 2;
  testing::FaultEnv env(plan);
  auto f = env.OpenAppend(P("log"));
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE((*f)->Append("one\n").ok());
  Status s = (*f)->Append("two\n");
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), "writing " + P("log") + ": No space left on device");
  EXPECT_EQ(Read("log"), "one\n");
  EXPECT_EQ(plan->write_calls, 2);
  EXPECT_EQ(plan->writes, 1);
}

TEST_F(EnvTest, FaultEnvShortWriteLeavesAPrefix) {
  auto plan = std::make_shared<testing::FaultPlan>();
  plan->write_errno = EIO;
  plan->partial_write = true;
  testing::FaultEnv env(plan);
  auto f = env.OpenAppend(P("log"));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->Append("abcdef").message(), "writing " + P("log") + ": Input/output error");
  EXPECT_EQ(Read("log"), "abc");
}

TEST_F(EnvTest, FaultEnvFailsTheNthSyncAndOnlyMatchingPaths) {
  auto plan = std::make_shared<testing::FaultPlan>();
  plan->sync_errno = EIO;
  plan->sync_fail_from = 2;
  plan->path_filter = "/faulty";
  testing::FaultEnv env(plan);
  auto good = env.OpenAppend(P("good"));
  auto bad = env.OpenAppend(P("faulty"));
  ASSERT_TRUE(good.ok() && bad.ok());
  EXPECT_TRUE((*bad)->Sync().ok());
  EXPECT_EQ((*bad)->Sync().message(), "syncing " + P("faulty") + ": Input/output error");
  EXPECT_TRUE((*good)->Sync().ok());
  EXPECT_EQ(plan->sync_calls, 2);
  EXPECT_EQ(plan->Syncs(), 1);
}

TEST_F(EnvTest, FaultEnvAtomicWriteFailureKeepsTheOldContent) {
  auto plan = std::make_shared<testing::FaultPlan>();
  testing::FaultEnv env(plan);
  ASSERT_TRUE(env.WriteFileAtomic(P("index.json"), "old", true).ok());
  plan->sync_errno = EIO;
  EXPECT_EQ(env.WriteFileAtomic(P("index.json"), "new", true).message(),
            "syncing " + P("index.json") + ".tmp: Input/output error");
  EXPECT_EQ(Read("index.json"), "old");
}

}  // namespace
}  // namespace latchkey::base
