// Info, Images and RemoveImage over a real unix socket.
#include "daemon/control_service.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/latchkey/v1/control.grpc.pb.h"
#include "daemon/daemon_testutil.h"

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

}  // namespace
}  // namespace latchkey::daemon
