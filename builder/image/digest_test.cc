#include "builder/image/digest.h"

#include <gtest/gtest.h>

namespace latchkey::image {
namespace {

TEST(Digest, KnownVectors) {
  EXPECT_EQ(Sha256Digest(""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Digest("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Digest, StreamingEqualsOneShot) {
  Sha256 h;
  h.Update("a", 1);
  h.Update("bc", 2);
  EXPECT_EQ(h.Finish(), Sha256Digest("abc"));
}

TEST(Digest, Validation) {
  EXPECT_TRUE(IsValidDigest(Sha256Digest("x")));
  EXPECT_FALSE(IsValidDigest("sha256:abc"));
  EXPECT_FALSE(IsValidDigest("sha512:" + std::string(64, 'a')));
  EXPECT_FALSE(IsValidDigest("sha256:" + std::string(64, 'A')));
  EXPECT_FALSE(IsValidDigest("sha256:../../../../etc/passwd" + std::string(37, 'a')));
  EXPECT_EQ(DigestHex("sha256:" + std::string(64, 'a')), std::string(64, 'a'));
}

}  // namespace
}  // namespace latchkey::image
