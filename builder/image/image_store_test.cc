#include "builder/image/image_store.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <thread>

#include "base/fault_env_testutil.h"
#include "builder/image/test_util.h"

namespace latchkey::image {
namespace {

using testing::ScratchDir;
using testing::WriteText;

TEST(ImageStore, MissingImageHasTheBuilderMessage) {
  ScratchDir d;
  auto store = ImageStore::Open(d.path());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto r = store->Resolve("busybox:1.36");
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(),
            "image \"busybox:1.36\" is not in the local store. Pull it: latchkey pull "
            "busybox:1.36; or make a base image: "
            "mmdebstrap --variant=minbase bookworm ROOTFS && "
            "latchkey image import --rootfs ROOTFS -t busybox:1.36; or import one: latchkey image "
            "import --oci-layout DIR[:TAG] -t busybox:1.36 (or --archive FILE for an OCI or docker "
            "save archive); or build it with -t busybox:1.36");
  EXPECT_EQ(store->Remove("busybox").message().substr(0, 50),
            "image \"busybox\" is not in the local store. Pull it");
}

TEST(ImageStore, ImportResolveNormaliseListRemove) {
  ScratchDir d;
  WriteText(d / "rootfs/etc/passwd", "root:x:0:0::/:/bin/sh\n");
  std::filesystem::create_directories(d / "rootfs/bin");
  ::symlink("busybox", (d / "rootfs/bin/sh").c_str());
  auto store = ImageStore::Open(d / "state");
  ASSERT_TRUE(store.ok());
  ImportOptions o;
  o.source_date_epoch = 1700000000;
  auto img = store->ImportRootfs(d / "rootfs", "app", o);
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  EXPECT_EQ(img->config.cmd, std::vector<std::string>{"/bin/sh"});
  EXPECT_EQ(img->config.working_dir, "/");
  EXPECT_EQ(img->config.created, "2023-11-14T22:13:20Z");
  EXPECT_EQ(img->config.env[0], frontend::kDefaultPathEnv);
  ASSERT_EQ(img->config.history.size(), 1u);
  EXPECT_EQ(img->config.history[0].created_by, "latchkey image import");

  for (const char* ref : {"app", "app:latest", "localhost/app", "localhost/app:latest"}) {
    auto r = store->Resolve(ref);
    ASSERT_TRUE(r.ok()) << ref << ": " << r.status().ToString();
    EXPECT_EQ(r->manifest_digest, img->manifest_digest);
  }
  ASSERT_TRUE(store->Put(img->manifest_digest, "localhost/app:v2").ok());
  ASSERT_TRUE(store->Tag("zeta/app:1", *img).ok());
  auto list = store->List();
  ASSERT_TRUE(list.ok());
  std::vector<std::string> refs;
  for (const auto& s : *list) refs.push_back(s.ref);
  EXPECT_EQ(refs, (std::vector<std::string>{"app:latest", "app:v2", "zeta/app:1"}));
  ASSERT_TRUE(store->Remove("localhost/app:v2").ok());
  EXPECT_EQ(store->List()->size(), 2u);
  EXPECT_EQ(store->Resolve("app:v2").status().code(), StatusCode::kNotFound);

  // Same rootfs + epoch into another store: same image.
  auto other = ImageStore::Open(d / "state2");
  ASSERT_TRUE(other.ok());
  auto again = other->ImportRootfs(d / "rootfs", "app", o);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->manifest_digest, img->manifest_digest);
}

TEST(ImageStore, ImportWithoutShellHasNoCmdAndBadInputsAreNamed) {
  ScratchDir d;
  WriteText(d / "rootfs/hello", "hi");
  auto store = ImageStore::Open(d / "state");
  ASSERT_TRUE(store.ok());
  auto img = store->ImportRootfs(d / "rootfs", "x:1", ImportOptions{});
  ASSERT_TRUE(img.ok());
  EXPECT_FALSE(img->config.cmd.has_value());
  EXPECT_EQ(store->ImportRootfs(d / "nope", "x:1", ImportOptions{}).status().message(),
            "import: root filesystem " + (d / "nope") + ": No such file or directory");
  EXPECT_EQ(store->ImportRootfs(d / "rootfs", "X", ImportOptions{}).status().message(),
            "\"X\" is not a valid repository/tag: invalid reference format: repository name must "
            "be lowercase");
  WriteText(d / "layout/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
  EXPECT_EQ(store->ImportRootfs(d / "layout", "x:1", ImportOptions{}).status().message(),
            "import: " + (d / "layout") +
                " is an OCI image layout, not a root filesystem; use --oci-layout " +
                (d / "layout"));
  WriteText(d / "image.tar", "x");
  EXPECT_EQ(store->ImportRootfs(d / "image.tar", "x:1", ImportOptions{}).status().message(),
            "import: root filesystem " + (d / "image.tar") +
                " is not a directory (for an OCI or docker save archive use --archive " +
                (d / "image.tar") + ")");
  ImportOptions bad;
  bad.env = {"NOEQUALS"};
  EXPECT_EQ(store->ImportRootfs(d / "rootfs", "x:2", bad).status().message(),
            "import: environment entry \"NOEQUALS\" must be KEY=value");
}

TEST(ImageStore, ConcurrentTaggersLoseNoTag) {
  ScratchDir d;
  WriteText(d / "rootfs/f", "f");
  auto store = ImageStore::Open(d / "state");
  ASSERT_TRUE(store.ok());
  auto img = store->ImportRootfs(d / "rootfs", "base", ImportOptions{});
  ASSERT_TRUE(img.ok());
  std::vector<std::thread> ts;
  for (int i = 0; i < 8; ++i) {
    ts.emplace_back([&, i] {
      // Each thread opens its own store object, as separate processes would.
      auto s = ImageStore::Open(d / "state");
      for (int j = 0; j < 5; ++j) {
        EXPECT_TRUE(s->Tag("t" + std::to_string(i) + ":" + std::to_string(j), *img).ok());
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(store->List()->size(), 41u);
}

// Faults injected through the shared FaultEnv (base/fault_env_testutil.h): a failed write never
// leaves a tag pointing at a partial or missing blob.

std::string MakeRootfs(const ScratchDir& d) {
  WriteText(d / "rootfs/etc/passwd", "root:x:0:0::/:/bin/sh\n");
  return d / "rootfs";
}

// Every blob in the store hashes to its name, and ingest/ holds no leftovers.
void ExpectOnlyCompleteBlobs(const ImageStore& store) {
  const std::string layout = store.layout_dir();
  EXPECT_TRUE(std::filesystem::is_empty(layout + "/ingest"));
  for (const auto& e : std::filesystem::directory_iterator(layout + "/blobs/sha256")) {
    std::string digest = "sha256:" + e.path().filename().string();
    EXPECT_TRUE(store.blobs().Verify(digest).ok()) << digest;
  }
}

TEST(ImageStore, FullDiskDuringImportLeavesNoTag) {
  ScratchDir d;
  auto plan = std::make_shared<base::testing::FaultPlan>();
  plan->path_filter = "/ingest/";
  base::testing::FaultEnv env(plan);
  auto store = ImageStore::Open(d / "state", &env);
  ASSERT_TRUE(store.ok());
  plan->write_errno = ENOSPC;
  plan->partial_write = true;
  auto img = store->ImportRootfs(MakeRootfs(d), "app:1", ImportOptions{});
  EXPECT_EQ(base::testing::MaskTempName(img.status().message(), "blob-"),
            "writing " + (d / "state/images/ingest/blob-XXXXXX") + ": No space left on device");
  EXPECT_EQ(store->Resolve("app:1").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store->List()->empty());
  ExpectOnlyCompleteBlobs(*store);
}

TEST(ImageStore, FsyncFailureOfTheNthBlobLeavesNoTag) {
  ScratchDir d;
  auto plan = std::make_shared<base::testing::FaultPlan>();
  plan->path_filter = "/ingest/";
  base::testing::FaultEnv env(plan);
  auto store = ImageStore::Open(d / "state", &env);
  ASSERT_TRUE(store.ok());
  plan->sync_errno = EIO;
  plan->sync_fail_from = 2;  // the layer is published; the next blob fails
  auto img = store->ImportRootfs(MakeRootfs(d), "app:1", ImportOptions{});
  EXPECT_EQ(base::testing::MaskTempName(img.status().message(), "blob-"),
            "syncing " + (d / "state/images/ingest/blob-XXXXXX") + ": Input/output error");
  EXPECT_EQ(plan->sync_calls, 2);
  EXPECT_EQ(store->Resolve("app:1").status().code(), StatusCode::kNotFound);
  ExpectOnlyCompleteBlobs(*store);
}

TEST(ImageStore, FailedIndexWriteKeepsTheOldIndex) {
  ScratchDir d;
  auto plan = std::make_shared<base::testing::FaultPlan>();
  plan->path_filter = "/index.json";
  base::testing::FaultEnv env(plan);
  auto store = ImageStore::Open(d / "state", &env);
  ASSERT_TRUE(store.ok());
  auto old = store->ImportRootfs(MakeRootfs(d), "app:1", ImportOptions{});
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  plan->sync_errno = EIO;
  ImportOptions o;
  o.env = {"NEW=1"};
  auto img = store->ImportRootfs(d / "rootfs", "app:2", o);
  EXPECT_EQ(base::testing::MaskTempName(img.status().message(), "index.json.tmp-"),
            "syncing " + (d / "state/images/index.json.tmp-XXXXXX") + ": Input/output error");
  EXPECT_EQ(store->Resolve("app:2").status().code(), StatusCode::kNotFound);
  auto still = store->Resolve("app:1");
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->manifest_digest, old->manifest_digest);
  EXPECT_EQ(store->List()->size(), 1u);
  for (const auto& e : std::filesystem::directory_iterator(store->layout_dir())) {
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
  }
  ExpectOnlyCompleteBlobs(*store);
}

}  // namespace
}  // namespace latchkey::image
