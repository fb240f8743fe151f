#include "store/name.h"

#include <gtest/gtest.h>

#include <string>

namespace latchkey::store {
namespace {

const char kInvalidName[] =
    "invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character "
    "must be [a-zA-Z0-9]";

TEST(NameTest, AcceptsSwarmNames) {
  for (const char* ok : {"a", "A1", "ci-npmrc", "x.y_z-9", "0", "aB3.cd_e-f"}) {
    EXPECT_TRUE(ValidateName(ok).ok()) << ok;
  }
  EXPECT_TRUE(ValidateName(std::string(64, 'a')).ok());
}

TEST(NameTest, RejectsWithSwarmMessage) {
  for (const char* bad : {"-a", "a-", ".a", "a.", "_a", "a_", "ci/npmrc", "a b", "a@b", "ä"}) {
    Status st = ValidateName(bad);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(st.message(), kInvalidName) << bad;
  }
  EXPECT_EQ(ValidateName(std::string(65, 'a')).message(), kInvalidName);
  EXPECT_EQ(ValidateName("").message(), "name must be provided");
}

TEST(NameTest, DataSizeLimits) {
  const char kMsg[] = "secret data must be larger than 0 and less than 512000 bytes";
  EXPECT_EQ(ValidateDataSize(0).message(), kMsg);
  EXPECT_EQ(ValidateDataSize(512000).message(), kMsg);
  EXPECT_EQ(ValidateDataSize(512000).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateDataSize(1).ok());
  EXPECT_TRUE(ValidateDataSize(511999).ok());
}

TEST(NameTest, ParsesReferences) {
  auto r = ParseReference("ci-npmrc");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->name, "ci-npmrc");
  EXPECT_EQ(r->version, 0u);
  r = ParseReference("ci-npmrc@2");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->name, "ci-npmrc");
  EXPECT_EQ(r->version, 2u);
  EXPECT_EQ(r->ToString(), "ci-npmrc@2");
}

TEST(NameTest, RejectsBadVersions) {
  for (const char* bad : {"a@", "a@0", "a@x", "a@-1", "a@+1", "a@1x", "a@99999999999999999999"}) {
    auto r = ParseReference(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message(), "invalid secret reference \"" + std::string(bad) +
                                        "\": the version after @ must be a positive integer");
  }
  EXPECT_EQ(ParseReference("ci/npmrc@2").status().message(), kInvalidName);
}

}  // namespace
}  // namespace latchkey::store
