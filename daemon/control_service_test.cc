// Info, Images, RemoveImage, DiskUsage and Prune over a real unix socket.
#include "daemon/control_service.h"

#include <gtest/gtest.h>
#include <pwd.h>
#include <spdlog/sinks/ostream_sink.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>
#include <thread>

#include "api/latchkey/v1/control.grpc.pb.h"
#include "broker/logging.h"
#include "builder/image/export_spec.h"
#include "builder/solver/store_gc.h"
#include "daemon/daemon_testutil.h"
#include "daemon/gc_call.h"

namespace latchkey::daemon {
namespace {

TEST(ControlService, InfoReportsTheDaemonAndTheCaller) {
  TestDaemon d;
  auto stub = latchkey::v1::Control::NewStub(d.Connect());
  grpc::ClientContext ctx;
  latchkey::v1::InfoResponse info;
  ASSERT_TRUE(stub->Info(&ctx, {}, &info).ok());
  EXPECT_EQ(info.version(), "latchkey test");
  EXPECT_EQ(info.state_dir(), d.dir());
  EXPECT_EQ(std::vector<std::string>(info.providers().begin(), info.providers().end()),
            (std::vector<std::string>{"file", "env", "store"}));
  EXPECT_EQ(info.audit_signing_key_id(), "");
  EXPECT_EQ(info.peer().pid(), ::getpid());
  EXPECT_EQ(info.peer().uid(), ::geteuid());
  EXPECT_EQ(info.peer().gid(), ::getegid());
  EXPECT_EQ(info.pid(), ::getpid());
  EXPECT_EQ(info.open_sessions(), 0u);
}

TEST(ControlService, ImagesListsTheStoreAndRemoveImageRemovesATag) {
  TestDaemon d;
  std::string rootfs = d.dir() + "/rootfs";
  ASSERT_TRUE(base::MakeDirs(rootfs + "/etc").ok());
  ASSERT_TRUE(base::WriteFileAtomic(rootfs + "/etc/hostname", "x\n").ok());
  image::ImportOptions opts;
  opts.source_date_epoch = 0;
  auto img = d.images().ImportRootfs(rootfs, "app:1", opts);
  ASSERT_TRUE(img.ok()) << img.status().ToString();

  auto stub = latchkey::v1::Control::NewStub(d.Connect());
  {
    grpc::ClientContext ctx;
    latchkey::v1::ImagesResponse r;
    ASSERT_TRUE(stub->Images(&ctx, {}, &r).ok());
    ASSERT_EQ(r.images_size(), 1);
    EXPECT_EQ(r.images(0).ref(), "app:1");
    EXPECT_EQ(r.images(0).id(), img->config_digest);
    EXPECT_EQ(r.images(0).manifest_digest(), img->manifest_digest);
    EXPECT_EQ(r.images(0).created(), "1970-01-01T00:00:00Z");
    EXPECT_EQ(r.images(0).size(), img->LayersSize());
  }
  {
    grpc::ClientContext ctx;
    latchkey::v1::RemoveImageRequest req;
    req.set_ref("app:1");
    ASSERT_FALSE(img->layers.empty());
    struct stat before {};
    ASSERT_EQ(
        ::stat((d.images().state_dir() + "/images/blobs/sha256/" + img->layers[0].digest.substr(7))
                   .c_str(),
               &before),
        0);
    latchkey::v1::RemoveImageResponse r;
    grpc::Status st = stub->RemoveImage(&ctx, req, &r);
    ASSERT_TRUE(st.ok()) << st.error_message();
    // As `latchkey image rm`: untagged, then its storage freed under the GC lock.
    EXPECT_EQ(r.untagged(), "app:1");
    EXPECT_FALSE(r.storage_deferred());
    ASSERT_EQ(r.deleted_size(), 1);
    EXPECT_EQ(r.deleted(0), img->manifest_digest);
    for (const auto& l : img->layers) {
      struct stat st {};
      EXPECT_NE(
          ::stat((d.images().state_dir() + "/images/blobs/sha256/" + l.digest.substr(7)).c_str(),
                 &st),
          0)
          << l.digest;
    }
  }
  {
    grpc::ClientContext ctx;
    latchkey::v1::ImagesResponse r;
    ASSERT_TRUE(stub->Images(&ctx, {}, &r).ok());
    EXPECT_EQ(r.images_size(), 0);
  }
  {
    grpc::ClientContext ctx;
    latchkey::v1::RemoveImageRequest req;
    req.set_ref("app:1");
    latchkey::v1::RemoveImageResponse r;
    grpc::Status st = stub->RemoveImage(&ctx, req, &r);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(st.error_message(), d.images().Resolve("app:1").status().message());
  }
  {
    grpc::ClientContext ctx;
    latchkey::v1::RemoveImageRequest req;
    req.set_ref("Bad Ref");
    latchkey::v1::RemoveImageResponse r;
    grpc::Status st = stub->RemoveImage(&ctx, req, &r);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(st.error_message(), image::ParseImageRef("Bad Ref").status().message());
  }
}

// An image imported into the daemon's store as `ref`.
image::Image ImportImage(TestDaemon& d, const std::string& ref, const std::string& content) {
  std::string rootfs = d.dir() + "/rootfs-" + content;
  EXPECT_TRUE(base::MakeDirs(rootfs + "/etc").ok());
  EXPECT_TRUE(base::WriteFileAtomic(rootfs + "/etc/hostname", content + "\n").ok());
  image::ImportOptions opts;
  opts.source_date_epoch = 0;
  auto img = d.images().ImportRootfs(rootfs, ref, opts);
  EXPECT_TRUE(img.ok()) << img.status().ToString();
  return *img;
}

bool BlobExists(TestDaemon& d, const std::string& digest) {
  struct stat st {};
  return ::stat((d.images().state_dir() + "/images/blobs/sha256/" + digest.substr(7)).c_str(),
                &st) == 0;
}

TEST(ControlService, DiskUsageIsWhatDuMeasures) {
  TestDaemon d;
  image::Image kept = ImportImage(d, "app:1", "one");
  ImportImage(d, "old:1", "two");
  ASSERT_TRUE(d.images().Remove("old:1").ok());  // an untagged image: reclaimable
  auto stub = latchkey::v1::Control::NewStub(d.Connect());
  grpc::ClientContext ctx;
  latchkey::v1::DiskUsageResponse r;
  grpc::Status st = stub->DiskUsage(&ctx, {}, &r);
  ASSERT_TRUE(st.ok()) << st.error_message();
  auto want = build::MeasureDiskUsage(d.images().state_dir());
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  EXPECT_EQ(r.state_dir(), d.images().state_dir());
  build::DiskUsage got = FromProto(r);
  ASSERT_EQ(got.lines.size(), want->lines.size());
  for (size_t i = 0; i < got.lines.size(); ++i) {
    EXPECT_EQ(got.lines[i].kind, want->lines[i].kind);
    EXPECT_EQ(got.lines[i].count, want->lines[i].count) << got.lines[i].kind;
    EXPECT_EQ(got.lines[i].bytes, want->lines[i].bytes) << got.lines[i].kind;
  }
  ASSERT_EQ(got.images.size(), 1u);
  EXPECT_EQ(got.images[0].ref, "app:1");
  EXPECT_EQ(got.images[0].manifest, kept.manifest_digest);
  EXPECT_EQ(got.images[0].bytes, want->images[0].bytes);
  EXPECT_GT(got.images[0].bytes, 0);
  EXPECT_EQ(got.total, want->total);
  EXPECT_GT(got.reclaimable, 0);  // the untagged image's blobs
  EXPECT_EQ(got.reclaimable, want->reclaimable);
  EXPECT_EQ(got.reclaimable_all, want->reclaimable_all);
}

TEST(ControlService, PruneRefusesBadFlagsWithTheCliTexts) {
  TestDaemon d;
  auto stub = latchkey::v1::Control::NewStub(d.Connect());
  struct Case {
    std::vector<std::string> filters;
    std::string keep_storage;
    std::string message;
  };
  const Case cases[] = {
      {{"foo=1"}, "", "invalid filter 'foo'"},
      {{"until"}, "", "bad format of filter (expected name=value)"},
      {{"until=abc"},
       "",
       "\"until\" filter expects a duration (e.g., '24h'): time: invalid duration \"abc\""},
      {{}, "10XB", "invalid argument \"10XB\" for \"--keep-storage\" flag: invalid size: '10XB'"},
  };
  for (const Case& c : cases) {
    grpc::ClientContext ctx;
    latchkey::v1::PruneRequest req;
    for (const auto& f : c.filters) req.add_filters(f);
    req.set_keep_storage(c.keep_storage);
    latchkey::v1::PruneResponse r;
    grpc::Status st = stub->Prune(&ctx, req, &r);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.message;
    EXPECT_EQ(st.error_message(), c.message);
  }
}

TEST(ControlService, PruneFreesWhatNothingReferencesAndLogsTheCaller) {
  TestDaemon d;
  image::Image kept = ImportImage(d, "app:1", "one");
  image::Image old = ImportImage(d, "old:1", "two");
  ASSERT_TRUE(d.images().Remove("old:1").ok());
  std::ostringstream log;
  LogOptions lo;
  lo.sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  ASSERT_TRUE(InitLogging(lo).ok());
  auto stub = latchkey::v1::Control::NewStub(d.Connect());
  grpc::ClientContext ctx;
  latchkey::v1::PruneRequest req;
  req.set_all(true);
  latchkey::v1::PruneResponse r;
  grpc::Status st = stub->Prune(&ctx, req, &r);
  GetLogger("latchkeyd")->flush();
  ASSERT_TRUE(InitLogging(LogOptions{}).ok());
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_FALSE(r.in_use());
  EXPECT_EQ(r.state_dir(), d.images().state_dir());
  bool untagged = false;
  int64_t sum = 0;
  for (const auto& i : r.items()) {
    sum += i.bytes();
    if (i.kind() == latchkey::v1::PruneItem::UNTAGGED_IMAGE && i.id() == old.manifest_digest) {
      untagged = true;
    }
  }
  EXPECT_TRUE(untagged);
  EXPECT_EQ(r.reclaimed(), sum);
  EXPECT_FALSE(BlobExists(d, old.manifest_digest));
  EXPECT_FALSE(BlobExists(d, old.layers[0].digest));
  EXPECT_TRUE(BlobExists(d, kept.manifest_digest));
  EXPECT_TRUE(BlobExists(d, kept.layers[0].digest));
  // Who pruned, with the SO_PEERCRED the daemon saw (this process).
  std::string who = "uid=" + std::to_string(::geteuid());
  if (struct passwd* pw = ::getpwuid(::geteuid())) who += "(" + std::string(pw->pw_name) + ")";
  who += " gid=" + std::to_string(::getegid()) + " pid=" + std::to_string(::getpid());
  EXPECT_NE(
      log.str().find("latchkeyd: prune --all by " + who + ": " + std::to_string(r.items_size()) +
                     " items deleted, " + image::HumanSize(r.reclaimed()) + " reclaimed"),
      std::string::npos)
      << log.str();
}

// A build holds the GC lock shared for its whole run (builder.cc); in the daemon that build is
// in this same process, as here.
TEST(ControlService, PruneNeverSweepsWhileABuildHoldsTheStateDir) {
  TestDaemon d;
  image::Image old = ImportImage(d, "old:1", "two");
  ASSERT_TRUE(d.images().Remove("old:1").ok());
  auto stub = latchkey::v1::Control::NewStub(d.Connect());
  std::optional<build::StoreUseLock> build_lock;
  {
    auto l = build::StoreUseLock::Shared(d.images().state_dir());
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    build_lock.emplace(std::move(*l));
  }
  {
    // Without wait: answered at once, nothing deleted.
    grpc::ClientContext ctx;
    latchkey::v1::PruneRequest req;
    req.set_all(true);
    latchkey::v1::PruneResponse r;
    ASSERT_TRUE(stub->Prune(&ctx, req, &r).ok());
    EXPECT_TRUE(r.in_use());
    EXPECT_EQ(r.state_dir(), d.images().state_dir());
    EXPECT_EQ(r.items_size(), 0);
    EXPECT_TRUE(BlobExists(d, old.manifest_digest));
  }
  {
    // Waiting, then given up by the client: still nothing deleted.
    grpc::ClientContext ctx;
    ctx.set_deadline(TestDaemon::In(1));
    latchkey::v1::PruneRequest req;
    req.set_all(true);
    req.set_wait(true);
    latchkey::v1::PruneResponse r;
    EXPECT_EQ(stub->Prune(&ctx, req, &r).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
    EXPECT_TRUE(BlobExists(d, old.manifest_digest));
  }
  // Waiting: the GC runs once the build released the lock.
  latchkey::v1::PruneResponse r;
  grpc::Status st;
  std::thread prune([&] {
    grpc::ClientContext ctx;
    latchkey::v1::PruneRequest req;
    req.set_all(true);
    req.set_wait(true);
    st = stub->Prune(&ctx, req, &r);
  });
  EXPECT_TRUE(BlobExists(d, old.manifest_digest));
  build_lock.reset();
  prune.join();
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_FALSE(r.in_use());
  EXPECT_FALSE(BlobExists(d, old.manifest_digest));
}

}  // namespace
}  // namespace latchkey::daemon
