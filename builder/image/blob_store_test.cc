#include "builder/image/blob_store.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <thread>
#include <vector>

#include "base/fault_env_testutil.h"
#include "builder/image/test_util.h"

namespace latchkey::image {
namespace {

using testing::ScratchDir;

TEST(BlobStore, PutBytesIsContentAddressedAndDeduplicated) {
  ScratchDir d;
  auto store = BlobStore::Open(d.path());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto a = store->PutBytes("hello");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->digest, Sha256Digest("hello"));
  EXPECT_EQ(a->size, 5);
  auto b = store->PutBytes("hello");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->digest, a->digest);
  EXPECT_EQ(testing::ReadText(store->PathFor(a->digest)), "hello");
  EXPECT_TRUE(std::filesystem::is_empty(d / "ingest"));
  auto bytes = store->ReadBytes(a->digest);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, "hello");
}

TEST(BlobStore, MissingAndInvalidDigestsHaveExactMessages) {
  ScratchDir d;
  auto store = BlobStore::Open(d.path());
  ASSERT_TRUE(store.ok());
  std::string missing = Sha256Digest("nope");
  auto p = store->Path(missing);
  EXPECT_EQ(p.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(p.status().message(), "blob " + missing + " is not in the store at " + d.path());
  auto bad = store->Path("sha256:../../etc/passwd");
  EXPECT_EQ(bad.status().message(),
            "invalid digest \"sha256:../../etc/passwd\": want sha256:<64 lowercase hex digits>");
  EXPECT_FALSE(store->Has("sha256:../../etc/passwd"));
}

TEST(BlobStore, CorruptBlobIsDetectedOnVerifiedRead) {
  ScratchDir d;
  auto store = BlobStore::Open(d.path());
  ASSERT_TRUE(store.ok());
  auto a = store->PutBytes("payload");
  ASSERT_TRUE(a.ok());
  testing::WriteText(store->PathFor(a->digest), "pAyload");
  auto r = store->ReadBytes(a->digest, true);
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(r.status().message(),
            "blob " + a->digest + " is corrupt: its content hashes to " + Sha256Digest("pAyload"));
  EXPECT_EQ(store->Verify(a->digest).code(), StatusCode::kDataLoss);
  EXPECT_TRUE(store->ReadBytes(a->digest, false).ok());
}

TEST(BlobStore, AbandonedWriterLeavesNothing) {
  ScratchDir d;
  auto store = BlobStore::Open(d.path());
  ASSERT_TRUE(store.ok());
  {
    auto w = store->NewWriter();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->Write("partial", 7).ok());
  }
  EXPECT_TRUE(std::filesystem::is_empty(d / "ingest"));
  EXPECT_TRUE(std::filesystem::is_empty(d / "blobs/sha256"));
}

TEST(BlobStore, CommitWithWrongExpectedDigestPublishesNothing) {
  ScratchDir d;
  auto store = BlobStore::Open(d.path());
  ASSERT_TRUE(store.ok());
  auto w = store->NewWriter();
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->Write("abc", 3).ok());
  std::string want = Sha256Digest("abd");
  auto r = w->Commit(want);
  EXPECT_EQ(r.status().message(),
            "blob " + want + ": digest mismatch (got " + Sha256Digest("abc") + ")");
  EXPECT_TRUE(std::filesystem::is_empty(d / "blobs/sha256"));
  EXPECT_TRUE(std::filesystem::is_empty(d / "ingest"));
}

TEST(BlobStore, ConcurrentWritersOfTheSameContentAllSucceed) {
  ScratchDir d;
  auto store = BlobStore::Open(d.path());
  ASSERT_TRUE(store.ok());
  std::string big(1 << 20, 'x');
  std::vector<std::thread> ts;
  std::vector<int> ok(8, 0);
  for (int i = 0; i < 8; ++i) {
    ts.emplace_back([&, i] { ok[i] = store->PutBytes(big).ok(); });
  }
  for (auto& t : ts) t.join();
  for (int v : ok) EXPECT_EQ(v, 1);
  EXPECT_TRUE(store->Verify(Sha256Digest(big)).ok());
  EXPECT_TRUE(std::filesystem::is_empty(d / "ingest"));
}

TEST(BlobStore, PutFileOfMissingFileNamesIt) {
  ScratchDir d;
  auto store = BlobStore::Open(d.path());
  ASSERT_TRUE(store.ok());
  auto r = store->PutFile(d / "absent");
  EXPECT_EQ(r.status().ToString(),
            "NOT_FOUND: open " + (d / "absent") + ": No such file or directory");
}

// Faults injected through the shared FaultEnv (base/fault_env_testutil.h).

TEST(BlobStore, FailedWriteLeavesNoBlobAndNamesTheFile) {
  ScratchDir d;
  auto plan = std::make_shared<base::testing::FaultPlan>();
  base::testing::FaultEnv env(plan);
  auto store = BlobStore::Open(d.path(), &env);
  ASSERT_TRUE(store.ok());
  plan->write_errno = ENOSPC;
  plan->partial_write = true;  // a short write, then the disk is full
  auto r = store->PutBytes("a blob that does not fit");
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(base::testing::MaskTempName(r.status().message(), "blob-"),
            "writing " + (d / "ingest/blob-XXXXXX") + ": No space left on device");
  EXPECT_FALSE(store->Has(Sha256Digest("a blob that does not fit")));
  EXPECT_TRUE(std::filesystem::is_empty(d / "ingest"));
  EXPECT_TRUE(std::filesystem::is_empty(d / "blobs/sha256"));
}

TEST(BlobStore, FailedSyncPublishesNothing) {
  ScratchDir d;
  auto plan = std::make_shared<base::testing::FaultPlan>();
  base::testing::FaultEnv env(plan);
  auto store = BlobStore::Open(d.path(), &env);
  ASSERT_TRUE(store.ok());
  plan->sync_errno = EIO;
  plan->sync_fail_from = 2;  // the first blob is published, the second is not
  ASSERT_TRUE(store->PutBytes("first").ok());
  auto r = store->PutBytes("second");
  EXPECT_EQ(base::testing::MaskTempName(r.status().message(), "blob-"),
            "syncing " + (d / "ingest/blob-XXXXXX") + ": Input/output error");
  EXPECT_TRUE(store->Has(Sha256Digest("first")));
  EXPECT_FALSE(store->Has(Sha256Digest("second")));
  EXPECT_TRUE(std::filesystem::is_empty(d / "ingest"));
}

}  // namespace
}  // namespace latchkey::image
