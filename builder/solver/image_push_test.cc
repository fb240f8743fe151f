// Build() with a fake ImagePusher (image_pusher.h): which names a build tags and pushes for
// -t, -o type=image[,push=true] and -o type=registry, the push lines on the "exporting to
// image" vertex, BuildResult::pushed, and the exact texts of a failed push and of a push
// without a pusher. FROM scratch builds: no runtime needed.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "base/testutil.h"
#include "builder/image/export_spec.h"
#include "builder/solver/builder.h"
#include "builder/solver/progress_test_util.h"
#include "builder/solver/secret_session_testutil.h"

namespace latchkey::build {
namespace {

using base::testing::TempDir;
using testing::FakeSecretSession;
using testing::MemFd;

const std::string kPushed = "sha256:" + std::string(64, 'a');

class FakePusher : public ImagePusher {
 public:
  Result<PushedImage> Push(const image::ImageRef& name, const image::Image& img,
                           image::ImageStore& store, const image::OutputCompression& compression,
                           const PushProgressFn& progress) override {
    names.push_back(name.FullString());
    compressions.push_back(compression);
    if (!error.ok()) return error;
    EXPECT_TRUE(store.blobs().Has(img.manifest_digest));
    if (progress) {
      progress({PushEvent::Kind::kPresent, img.config_digest, img.config_size, ""});
      progress({PushEvent::Kind::kMounted, "sha256:" + std::string(64, 'b'), 10, "reg.test/base"});
      progress({PushEvent::Kind::kStarted, "sha256:" + std::string(64, 'c'), 1500, ""});
      progress({PushEvent::Kind::kUploaded, "sha256:" + std::string(64, 'c'), 1500, ""});
      progress({PushEvent::Kind::kManifest, kPushed, 400, ""});
    }
    return PushedImage{kPushed, "application/vnd.oci.image.manifest.v1+json", 400};
  }
  std::vector<std::string> names;
  std::vector<image::OutputCompression> compressions;
  Status error;
};

class ImagePushTest : public ::testing::Test {
 protected:
  void SetUp() override { std::filesystem::create_directories(dir_.Join("ctx")); }

  BuildRequest Request(const std::vector<std::string>& outputs,
                       const std::vector<std::string>& tags = {}) {
    BuildRequest req;
    req.context_dir = dir_.Join("ctx");
    req.dockerfile_path = dir_.Join("ctx/Dockerfile");
    req.dockerfile_text = "FROM scratch\nENV A=1\n";
    req.state_dir = dir_.Join("state");
    req.pusher = &pusher_;
    req.tags = tags;
    for (const auto& o : outputs) {
      auto spec = image::ParseBuildOutputSpec(o);
      EXPECT_TRUE(spec.ok()) << spec.status().message();
      req.outputs.push_back(*spec);
    }
    return req;
  }
  Result<BuildResult> Run(const BuildRequest& req) {
    auto progress = NewProgressWriter(ProgressMode::kPlain, out_.fd());
    auto r = Build(req, session_, *progress, nullptr);
    progress->Finish();
    return r;
  }
  bool Tagged(const std::string& ref) {
    auto store = image::ImageStore::Open(dir_.Join("state"));
    return store.ok() && store->Resolve(ref).ok();
  }

  TempDir dir_;
  FakeSecretSession session_;
  FakePusher pusher_;
  MemFd out_;
};

TEST_F(ImagePushTest, TypeImageTagsAndPushesItsName) {
  auto r = Run(Request({"type=image,name=reg.test:5000/team/app:1,push=true"}, {"local:1"}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(pusher_.names, std::vector<std::string>{"reg.test:5000/team/app:1"});
  EXPECT_TRUE(Tagged("local:1"));
  EXPECT_TRUE(Tagged("reg.test:5000/team/app:1"));
  EXPECT_EQ(r->pushed.digest, kPushed);
  EXPECT_EQ(r->pushed.size, 400);
  EXPECT_EQ(r->pushed_names, std::vector<std::string>{"reg.test:5000/team/app:1"});
  const std::string out = out_.contents();
  EXPECT_TRUE(
      std::regex_search(out, std::regex("#[0-9]+ naming to reg.test:5000/team/app:1 done\n"
                                        "#[0-9]+ pushing layers\n"
                                        "#[0-9]+ sha256:[0-9a-f]{64} already exists\n"
                                        "#[0-9]+ sha256:b{64} mounted from reg.test/base\n"
                                        "#[0-9]+ sha256:c{64} 1.5kB done\n"
                                        "#[0-9]+ pushing layers [0-9.]+s done\n"
                                        "#[0-9]+ pushing manifest for reg.test:5000/team/app:1@" +
                                        kPushed + " done\n")))
      << out;
}

TEST_F(ImagePushTest, RegistryTypePushesEveryTagAndImageWithoutPushOnlyTags) {
  auto r = Run(Request({"type=registry"}, {"reg.test/a:1", "reg.test/b:2"}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(pusher_.names, (std::vector<std::string>{"reg.test/a:1", "reg.test/b:2"}));
  pusher_.names.clear();
  auto tag_only = Run(Request({"type=image,name=reg.test/c:3"}));
  ASSERT_TRUE(tag_only.ok()) << tag_only.status().ToString();
  EXPECT_TRUE(pusher_.names.empty());
  EXPECT_TRUE(Tagged("reg.test/c:3"));
  EXPECT_TRUE(tag_only->pushed.digest.empty());
}

// Each pushed name goes with its own output's compression= keys; --push / a plain push gets
// gzip at the default level.
TEST_F(ImagePushTest, EachPushCarriesItsOutputsCompression) {
  auto r = Run(Request({"type=registry,name=reg.test/z:1,compression=zstd,compression-level=9",
                        "type=image,name=reg.test/g:1,push=true",
                        "type=image,name=reg.test/z:1,push=true,compression=uncompressed"}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(pusher_.names, (std::vector<std::string>{"reg.test/z:1", "reg.test/g:1"}));
  EXPECT_EQ(pusher_.compressions[0].compression, image::Compression::kZstd);
  EXPECT_EQ(pusher_.compressions[0].level, 9);
  EXPECT_EQ(pusher_.compressions[1].compression, image::Compression::kGzip);
  EXPECT_EQ(pusher_.compressions[1].level, -1);
  EXPECT_FALSE(pusher_.compressions[1].force);
}

TEST_F(ImagePushTest, FailedPushFailsTheBuildWithTheRegistryText) {
  pusher_.error = UnavailableError("cannot reach registry reg.test: Connection refused");
  auto r = Run(Request({"type=image,name=reg.test/app:1,push=true"}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "cannot reach registry reg.test: Connection refused");
}

TEST_F(ImagePushTest, PushWithoutAPusher) {
  BuildRequest req = Request({"type=image,name=reg.test/app:1,push=true"});
  req.pusher = nullptr;
  auto r = Run(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "cannot push reg.test/app:1: pushing to a registry needs the latchkey CLI's registry "
            "client");
}

}  // namespace
}  // namespace latchkey::build
