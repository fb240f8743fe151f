#include "base/env.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "base/testutil.h"

#include "base/fault_env_testutil.h"
#include "base/file.h"

namespace latchkey::base {
namespace {

namespace fs = std::filesystem;

class EnvTest : public ::testing::Test {
 protected:
  std::string P(const std::string& rel) const { return dir_ + "/" + rel; }
  std::string Read(const std::string& rel) const {
    auto r = ReadFile(P(rel));
    return r.ok() ? *r : "<" + r.status().message() + ">";
  }
  testing::TempDir tmp_{"lk-base-env-"};
  const std::string dir_ = tmp_.path();
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
  ASSERT_TRUE(WriteFileAtomic(*env, P("a/b/f"), "first", 0600, /*sync=*/true).ok());
  ASSERT_TRUE(WriteFileAtomic(*env, P("a/b/f"), "second", 0600, /*sync=*/false).ok());
  EXPECT_EQ(Read("a/b/f"), "second");
  EXPECT_EQ(std::distance(fs::directory_iterator(P("a/b")), fs::directory_iterator()), 1);
  auto tail = env->ReadTail(P("a/b/f"), 3);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->size, 6u);
  EXPECT_EQ(tail->bytes, "ond");
  ASSERT_TRUE(env->Truncate(P("a/b/f"), 2).ok());
  EXPECT_EQ(Read("a/b/f"), "se");
  ASSERT_TRUE(env->Rename(P("a/b/f"), P("a/g")).ok());
  EXPECT_EQ(Read("a/g"), "se");
}

TEST_F(EnvTest, WriteThenReadRoundTrips) {
  std::string data(200000, 'x');
  data[12345] = '\0';
  ASSERT_TRUE(WriteFileAtomic(P("f"), data, 0600).ok());
  auto got = ReadFile(P("f"));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, data);
  struct stat st;
  ASSERT_EQ(::stat(P("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(EnvTest, WriteReplacesAndLeavesNoTemporaryFile) {
  ASSERT_TRUE(WriteFileAtomic(P("f"), "old").ok());
  ASSERT_TRUE(WriteFileAtomic(P("f"), "new").ok());
  EXPECT_EQ(*ReadFile(P("f")), "new");
  size_t entries = 0;
  for (const auto& e : fs::directory_iterator(dir_)) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1u);
}

TEST_F(EnvTest, WriteIntoMissingDirectoryNamesTheTemporaryFile) {
  Status s = WriteFileAtomic(P("no/f"), "x");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "creating " + P("no") + "/f.tmp-XXXXXX: No such file or directory");
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
  ASSERT_TRUE(WriteFileAtomic(env, P("index.json"), "old", 0644).ok());
  plan->sync_errno = EIO;
  EXPECT_EQ(testing::MaskTempName(WriteFileAtomic(env, P("index.json"), "new", 0644).message(),
                                  "index.json.tmp-"),
            "syncing " + P("index.json") + ".tmp-XXXXXX: Input/output error");
  EXPECT_EQ(Read("index.json"), "old");
}

}  // namespace
}  // namespace latchkey::base
