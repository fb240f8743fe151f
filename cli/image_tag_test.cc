#include "cli/image_tag.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

#include "base/testutil.h"

namespace latchkey::cli {
namespace {

class ImageTagTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = image::ImageStore::Open(dir_.path() + "/state");
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_.emplace(std::move(*s));
    id_ = Import("app:dev", "one");
  }
  // A one-file image tagged `ref`; returns its config digest (the image ID).
  std::string Import(const std::string& ref, const std::string& content) {
    const std::string root = dir_.path() + "/root-" + content;
    base::testing::WriteText(root + "/file", content);
    image::ImportOptions opts;
    opts.source_date_epoch = 1700000000;
    auto img = store_->ImportRootfs(root, ref, opts);
    EXPECT_TRUE(img.ok()) << img.status().message();
    return img.ok() ? img->config_digest : "";
  }
  std::string TaggedId(const std::string& ref) {
    auto img = store_->Resolve(ref);
    return img.ok() ? img->config_digest : "missing: " + img.status().message();
  }

  base::testing::TempDir dir_;
  std::optional<image::ImageStore> store_;
  std::string id_;
};

TEST_F(ImageTagTest, TagsByNameWithDockersNormalisation) {
  ASSERT_TRUE(TagImage(*store_, "docker.io/library/app:dev", "team/app").ok());
  EXPECT_EQ(TaggedId("team/app:latest"), id_);
  ASSERT_TRUE(TagImage(*store_, "app:dev", "localhost:5000/x/app:v2").ok());
  EXPECT_EQ(TaggedId("localhost:5000/x/app:v2"), id_);
}

TEST_F(ImageTagTest, RetaggingMovesTheTarget) {
  std::string other = Import("other:1", "two");
  ASSERT_NE(other, id_);
  ASSERT_TRUE(TagImage(*store_, "app:dev", "moving:1").ok());
  ASSERT_TRUE(TagImage(*store_, "other:1", "moving:1").ok());
  EXPECT_EQ(TaggedId("moving:1"), other);
  EXPECT_EQ(TaggedId("app:dev"), id_);
}

TEST_F(ImageTagTest, TagsByImageIdOrUniquePrefixOrManifestDigest) {
  const std::string hex = id_.substr(7);
  ASSERT_TRUE(TagImage(*store_, id_, "by-id:1").ok());
  EXPECT_EQ(TaggedId("by-id:1"), id_);
  ASSERT_TRUE(TagImage(*store_, hex, "by-hex:1").ok());
  EXPECT_EQ(TaggedId("by-hex:1"), id_);
  ASSERT_TRUE(TagImage(*store_, hex.substr(0, 12), "by-short:1").ok());
  EXPECT_EQ(TaggedId("by-short:1"), id_);
  auto img = store_->Resolve("app:dev");
  ASSERT_TRUE(img.ok());
  ASSERT_TRUE(TagImage(*store_, "app@" + img->manifest_digest, "by-digest:1").ok());
  EXPECT_EQ(TaggedId("by-digest:1"), id_);
}

TEST_F(ImageTagTest, UnknownSourceIsDockersNoSuchImage) {
  Status st = TagImage(*store_, "nope:1", "x:1");
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "No such image: nope:1");
  EXPECT_EQ(TagImage(*store_, "nope", "x:1").message(), "No such image: nope");
  // A hex string no image ID starts with, and a digest of another repository.
  EXPECT_EQ(TagImage(*store_, "0000000000ff", "x:1").message(), "No such image: 0000000000ff");
  auto img = store_->Resolve("app:dev");
  ASSERT_TRUE(img.ok());
  const std::string other_repo = "other@" + img->manifest_digest;
  EXPECT_EQ(TagImage(*store_, other_repo, "x:1").message(), "No such image: " + other_repo);
  EXPECT_EQ(TaggedId("x:1").rfind("missing: ", 0), 0u);
}

TEST_F(ImageTagTest, AmbiguousIdPrefixIsNoSuchImage) {
  // Among 17 images two IDs share their first hex digit (pigeonhole): that digit is ambiguous.
  std::map<char, int> first;
  first[id_[7]] = 1;
  char shared = 0;
  for (int i = 0; i < 16 && shared == 0; ++i) {
    std::string id = Import("img" + std::to_string(i) + ":1", "content-" + std::to_string(i));
    if (++first[id[7]] == 2) shared = id[7];
  }
  ASSERT_NE(shared, 0);
  const std::string prefix(1, shared);
  Status st = TagImage(*store_, prefix, "x:1");
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "No such image: " + prefix);
}

TEST_F(ImageTagTest, BadReferencesHaveDockersTexts) {
  EXPECT_EQ(CheckTagReferences("app:dev", "Team/App").message(),
            "Error parsing reference: \"Team/App\" is not a valid repository/tag: invalid "
            "reference format: repository name must be lowercase");
  EXPECT_EQ(CheckTagReferences("app:dev", "Team/App").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckTagReferences("app:dev", "x::1").message(),
            "Error parsing reference: \"x::1\" is not a valid repository/tag: invalid reference "
            "format");
  EXPECT_EQ(CheckTagReferences("bad source", "x:1").message(),
            "Error parsing reference: \"bad source\" is not a valid repository/tag: invalid "
            "reference format");
  const std::string hex64(64, 'a');
  EXPECT_EQ(CheckTagReferences("app:dev", hex64).message(),
            "Error parsing reference: \"" + hex64 +
                "\" is not a valid repository/tag: invalid "
                "repository name (" +
                hex64 + "), cannot specify 64-byte hexadecimal strings");
  EXPECT_EQ(CheckTagReferences("app:dev", "x@sha256:" + hex64).message(),
            "refusing to create a tag with a digest reference");
  EXPECT_EQ(CheckTagReferences("app:dev", "x:1@sha256:" + hex64).message(),
            "refusing to create a tag with a digest reference");
  EXPECT_TRUE(CheckTagReferences(hex64, "x:1").ok());  // a full image ID is a source
  // TagImage checks first: nothing is tagged.
  EXPECT_EQ(TagImage(*store_, "app:dev", "Team/App").code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace latchkey::cli
