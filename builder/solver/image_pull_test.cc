// Build() with a fake ImagePuller (image_puller.h): an image is pulled only when the store lacks
// it or --pull asks, what the build records of it (BuildResult::materials), the pull's vertex
// and progress lines, and the exact texts of a failed pull. A real state dir and image store;
// the fake "pulls" by importing a small root filesystem into the build's store.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "base/testutil.h"
#include "builder/image/image_ref.h"
#include "builder/solver/builder.h"
#include "builder/solver/progress_test_util.h"
#include "builder/solver/secret_session_testutil.h"

namespace latchkey::build {
namespace {

using base::testing::TempDir;
using testing::FakeSecretSession;
using testing::MemFd;

const std::string kIndexDigest = "sha256:" + std::string(64, 'e');

// "Pulls" by importing a root filesystem holding /version (and ENV V=<version>) into the
// build's store, tagged as the real puller tags (familiar NAME:TAG; a digest reference under a
// name of its own). Records every call; fails with `error` when it is set.
class FakePuller : public ImagePuller {
 public:
  explicit FakePuller(std::string dir) : dir_(std::move(dir)) {}

  struct Call {
    std::string ref;
    std::string platform;
  };

  Result<PulledImage> Pull(const image::Reference& ref, const std::string& platform,
                           image::ImageStore& store, const PullProgressFn& progress) override {
    calls.push_back({ref.String(), platform});
    if (!error.ok()) return error;
    const std::string rootfs = dir_ + "/rootfs-" + std::to_string(calls.size());
    std::filesystem::create_directories(rootfs);
    std::ofstream(rootfs + "/version") << version << "\n";
    image::ImportOptions o;
    o.env = {"V=" + version};
    o.source_date_epoch = 1700000000;
    const std::string tag = !ref.tag.empty() && ref.digest.empty()
                                ? ref.FamiliarName() + ":" + ref.tag
                                : std::string("fake-digest-pull:1");
    LK_ASSIGN_OR_RETURN(image::Image img, store.ImportRootfs(rootfs, tag, o));
    if (progress) {
      progress({PullEvent::Kind::kResolved, img.manifest_digest, 0, 0});
      progress({PullEvent::Kind::kStarted, img.layers.at(0).digest, img.layers.at(0).size, 0});
      progress({PullEvent::Kind::kPresent, img.config_digest, img.config_size, 0});
      progress({PullEvent::Kind::kDownloaded, img.layers.at(0).digest, img.layers.at(0).size,
                img.layers.at(0).size});
    }
    PulledImage out;
    out.image = std::move(img);
    out.digest = kIndexDigest;
    return out;
  }

  std::vector<Call> calls;
  std::string version = "one";
  Status error;

 private:
  std::string dir_;
};

std::string EnvValue(const image::Image& img, const std::string& key) {
  for (const auto& kv : img.config.env) {
    if (kv.rfind(key + "=", 0) == 0) return kv.substr(key.size() + 1);
  }
  return "";
}

class ImagePullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.Join("ctx"));
    std::filesystem::create_directories(dir_.Join("fake"));
  }

  BuildRequest Request(const std::string& dockerfile) {
    BuildRequest req;
    req.context_dir = dir_.Join("ctx");
    req.dockerfile_path = dir_.Join("ctx/Dockerfile");
    req.dockerfile_text = dockerfile;
    req.state_dir = dir_.Join("state");
    req.puller = &puller_;
    return req;
  }
  Result<BuildResult> Run(const BuildRequest& req, BuildFailure* failure = nullptr) {
    auto progress = NewProgressWriter(ProgressMode::kPlain, out_.fd());
    auto r = Build(req, session_, *progress, failure);
    progress->Finish();
    return r;
  }
  // The manifest digest the store's tag `ref` points at.
  std::string Stored(const std::string& ref) {
    auto store = image::ImageStore::Open(dir_.Join("state"));
    EXPECT_TRUE(store.ok());
    auto img = store->Resolve(ref);
    return img.ok() ? img->manifest_digest : img.status().message();
  }

  TempDir dir_;
  FakeSecretSession session_;
  FakePuller puller_{dir_.Join("fake")};
  MemFd out_;
};

const char kFromRegistry[] = "FROM reg.test:5000/team/base:1\nENV B=2\n";

TEST_F(ImagePullTest, PullsOnlyWhenTheStoreLacksTheImage) {
  auto first = Run(Request(kFromRegistry));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(puller_.calls.size(), 1u);
  EXPECT_EQ(puller_.calls[0].ref, "reg.test:5000/team/base:1");
  EXPECT_EQ(puller_.calls[0].platform, "linux/amd64");
  EXPECT_EQ(EnvValue(first->image, "V"), "one");
  EXPECT_EQ(EnvValue(first->image, "B"), "2");
  ASSERT_EQ(first->materials.size(), 1u);
  EXPECT_EQ(first->materials[0].ref, "reg.test:5000/team/base:1");
  EXPECT_EQ(first->materials[0].digest, kIndexDigest);
  EXPECT_EQ(first->materials[0].platform, "linux/amd64");
  EXPECT_TRUE(first->materials[0].pulled);
  const std::string stored = Stored("reg.test:5000/team/base:1");
  EXPECT_EQ(stored.rfind("sha256:", 0), 0u) << stored;

  // The second build finds it in the store: no pull, and the stored manifest is the material.
  auto second = Run(Request(kFromRegistry));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(puller_.calls.size(), 1u);
  EXPECT_EQ(EnvValue(second->image, "V"), "one");
  ASSERT_EQ(second->materials.size(), 1u);
  EXPECT_EQ(second->materials[0].digest, stored);
  EXPECT_FALSE(second->materials[0].pulled);
}

TEST_F(ImagePullTest, PullFlagResolvesTheTagAgain) {
  ASSERT_TRUE(Run(Request(kFromRegistry)).ok());
  const std::string before = Stored("reg.test:5000/team/base:1");
  puller_.version = "two";  // the tag moved in the registry
  auto without = Run(Request(kFromRegistry));
  ASSERT_TRUE(without.ok()) << without.status().ToString();
  EXPECT_EQ(puller_.calls.size(), 1u);
  EXPECT_EQ(EnvValue(without->image, "V"), "one");

  BuildRequest req = Request(kFromRegistry);
  req.pull = true;
  auto pulled = Run(req);
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  ASSERT_EQ(puller_.calls.size(), 2u);
  EXPECT_EQ(puller_.calls[1].ref, "reg.test:5000/team/base:1");
  EXPECT_EQ(EnvValue(pulled->image, "V"), "two");
  EXPECT_NE(Stored("reg.test:5000/team/base:1"), before);
  // An image that is not named by a registry tag is never pulled: scratch.
  BuildRequest scratch = Request("FROM scratch\nENV A=1\n");
  scratch.pull = true;
  ASSERT_TRUE(Run(scratch).ok());
  EXPECT_EQ(puller_.calls.size(), 2u);
}

TEST_F(ImagePullTest, FromPlatformIsThePullsPlatform) {
  auto r = Run(Request("FROM --platform=linux/arm64 reg.test/base:1 AS a\nENV A=1\n"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(puller_.calls.size(), 1u);
  EXPECT_EQ(puller_.calls[0].platform, "linux/arm64");
  EXPECT_EQ(r->materials.at(0).platform, "linux/arm64");
}

TEST_F(ImagePullTest, ProgressShowsTheLoadMetadataVertex) {
  ASSERT_TRUE(Run(Request(kFromRegistry)).ok());
  const std::string out = out_.contents();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      out, m,
      std::regex("#3 \\[internal\\] load metadata for reg.test:5000/team/base:1\n"
                 "#3 resolve reg.test:5000/team/base:1@sha256:[0-9a-f]{64} [0-9.]+s done\n"
                 "#3 sha256:[0-9a-f]{64} [0-9.]+k?B / [0-9.]+k?B [0-9.]+s done\n"
                 "#3 DONE [0-9.]+s\n")))
      << out;
  // The second build needs no registry: no such vertex.
  const size_t mark = out_.contents().size();
  ASSERT_TRUE(Run(Request(kFromRegistry)).ok());
  const std::string second = out_.contents().substr(mark);
  EXPECT_EQ(second.find("load metadata"), std::string::npos) << second;
}

TEST_F(ImagePullTest, RegistryErrorNamesTheReferenceAndFailsTheVertex) {
  puller_.error = NotFoundError("manifest for reg.test/nope:1 not found: manifest unknown");
  BuildFailure failure;
  auto r = Run(Request("FROM reg.test/nope:1\nRUN true\n"), &failure);
  ASSERT_FALSE(r.ok());
  const std::string msg =
      "reg.test/nope:1: failed to resolve source metadata for reg.test/nope:1: manifest for "
      "reg.test/nope:1 not found: manifest unknown";
  EXPECT_EQ(r.status().message(), "Dockerfile:1: " + msg);
  EXPECT_EQ(failure.line, 1);
  const std::string out = out_.contents();
  EXPECT_NE(out.find("#3 [internal] load metadata for reg.test/nope:1\n#3 ERROR: " + msg + "\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(" > [internal] load metadata for reg.test/nope:1:\n"), std::string::npos)
      << out;
}

TEST_F(ImagePullTest, UnreachableRegistryHintsAtImport) {
  puller_.error = UnavailableError("cannot reach registry reg.test: Connection refused");
  auto r = Run(Request("FROM reg.test/nope:1\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "Dockerfile:1: reg.test/nope:1: failed to resolve source metadata for "
            "reg.test/nope:1: cannot reach registry reg.test: Connection refused; to build "
            "without the registry, put the image in the local store: make a base image: "
            "mmdebstrap --variant=minbase bookworm ROOTFS && latchkey image import --rootfs "
            "ROOTFS -t reg.test/nope:1; or import one: latchkey image import --oci-layout "
            "DIR[:TAG] -t reg.test/nope:1 (or --archive FILE for an OCI or docker save archive)");
}

TEST_F(ImagePullTest, UnreachableRegistryWithPullAndALocalCopy) {
  ASSERT_TRUE(Run(Request(kFromRegistry)).ok());
  puller_.error = DeadlineExceededError(
      "registry reg.test:5000: manifest for reg.test:5000/team/base:1: no data for 30s (the "
      "registry stalled)");
  BuildRequest req = Request(kFromRegistry);
  req.pull = true;
  auto r = Run(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "Dockerfile:1: reg.test:5000/team/base:1: failed to resolve source metadata for "
            "reg.test:5000/team/base:1: registry reg.test:5000: manifest for "
            "reg.test:5000/team/base:1: no data for 30s (the registry stalled); without --pull "
            "the build uses the local copy of reg.test:5000/team/base:1");
}

TEST_F(ImagePullTest, WithoutAPullerTheStoreTextStays) {
  BuildRequest req = Request("FROM reg.test/nope:1\n");
  req.puller = nullptr;
  auto r = Run(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "Dockerfile:1: image \"reg.test/nope:1\" is not in the local store. Pull it: "
            "latchkey pull reg.test/nope:1; or make a base image: mmdebstrap --variant=minbase "
            "bookworm ROOTFS && latchkey image import --rootfs ROOTFS -t reg.test/nope:1; or "
            "import one: latchkey image import --oci-layout DIR[:TAG] -t reg.test/nope:1 (or "
            "--archive FILE for an OCI or docker save archive); or build it with -t "
            "reg.test/nope:1");
  EXPECT_TRUE(puller_.calls.empty());
}

// A digest reference is content-addressed: a manifest already in the store needs no registry,
// even with --pull; an unknown digest is pulled.
TEST_F(ImagePullTest, DigestReferenceUsesTheBlobStoreFirst) {
  ASSERT_TRUE(Run(Request(kFromRegistry)).ok());
  const std::string digest = Stored("reg.test:5000/team/base:1");
  BuildRequest req = Request("FROM reg.test:5000/team/base@" + digest + "\n");
  req.pull = true;
  auto r = Run(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(puller_.calls.size(), 1u);
  EXPECT_EQ(r->materials.at(0).ref, "reg.test:5000/team/base@" + digest);
  EXPECT_EQ(r->materials.at(0).digest, digest);

  const std::string unknown = "sha256:" + std::string(64, '1');
  auto pulled = Run(Request("FROM reg.test:5000/team/base@" + unknown + "\n"));
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  ASSERT_EQ(puller_.calls.size(), 2u);
  EXPECT_EQ(puller_.calls[1].ref, "reg.test:5000/team/base@" + unknown);
}

// COPY --from=<image> resolves through the same path: pulled on a miss, inside its step.
TEST_F(ImagePullTest, CopyFromAnImagePullsIt) {
  if (::geteuid() != 0) GTEST_SKIP() << "COPY mounts an overlay: needs root";
  auto r = Run(Request("FROM scratch\nCOPY --from=reg.test/files:2 /version /got\n"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(puller_.calls.size(), 1u);
  EXPECT_EQ(puller_.calls[0].ref, "reg.test/files:2");
  EXPECT_EQ(r->materials.at(0).ref, "reg.test/files:2");
  EXPECT_EQ(r->steps_run, 1);
  auto again = Run(Request("FROM scratch\nCOPY --from=reg.test/files:2 /version /got\n"));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(puller_.calls.size(), 1u);
  EXPECT_EQ(again->steps_cached, 1);
}

}  // namespace
}  // namespace latchkey::build
