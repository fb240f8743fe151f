#include "builder/image/reference.h"

#include <gtest/gtest.h>

namespace latchkey::image {
namespace {

const std::string kHex64(64, 'a');

struct ValidCase {
  std::string in;
  std::string domain, path, tag, digest;
  std::string full;      // String()
  std::string familiar;  // FamiliarString()
};

TEST(Reference, NormalisesAsDocker) {
  const std::vector<ValidCase> cases = {
      {"debian", "docker.io", "library/debian", "", "", "docker.io/library/debian", "debian"},
      {"debian:bookworm", "docker.io", "library/debian", "bookworm", "",
       "docker.io/library/debian:bookworm", "debian:bookworm"},
      {"docker.io/library/debian:bookworm", "docker.io", "library/debian", "bookworm", "",
       "docker.io/library/debian:bookworm", "debian:bookworm"},
      {"index.docker.io/library/debian", "docker.io", "library/debian", "", "",
       "docker.io/library/debian", "debian"},
      {"docker.io/debian", "docker.io", "library/debian", "", "", "docker.io/library/debian",
       "debian"},
      {"foo/bar", "docker.io", "foo/bar", "", "", "docker.io/foo/bar", "foo/bar"},
      {"library/foo/bar", "docker.io", "library/foo/bar", "", "", "docker.io/library/foo/bar",
       "library/foo/bar"},
      {"localhost/app:1", "localhost", "app", "1", "", "localhost/app:1", "localhost/app:1"},
      {"localhost:5000/team/app", "localhost:5000", "team/app", "", "", "localhost:5000/team/app",
       "localhost:5000/team/app"},
      {"localhost:5000", "docker.io", "library/localhost", "5000", "",
       "docker.io/library/localhost:5000", "localhost:5000"},
      {"Registry.Example.com:5000/app:V1.0-rc_2", "Registry.Example.com:5000", "app", "V1.0-rc_2",
       "", "Registry.Example.com:5000/app:V1.0-rc_2", "Registry.Example.com:5000/app:V1.0-rc_2"},
      {"[::1]:5000/app", "[::1]:5000", "app", "", "", "[::1]:5000/app", "[::1]:5000/app"},
      // Not a valid domain, but valid as a path: Docker keeps it as a domain-less name.
      {"a_b.c/x", "", "a_b.c/x", "", "", "a_b.c/x", "a_b.c/x"},
      {"team/app-x_y.z__w---v:1", "docker.io", "team/app-x_y.z__w---v", "1", "",
       "docker.io/team/app-x_y.z__w---v:1", "team/app-x_y.z__w---v:1"},
      {"app@sha256:" + kHex64, "docker.io", "library/app", "", "sha256:" + kHex64,
       "docker.io/library/app@sha256:" + kHex64, "app@sha256:" + kHex64},
      {"app:1@sha256:" + kHex64, "docker.io", "library/app", "1", "sha256:" + kHex64,
       "docker.io/library/app:1@sha256:" + kHex64, "app:1@sha256:" + kHex64},
      {"app:" + std::string(128, 't'), "docker.io", "library/app", std::string(128, 't'), "",
       "docker.io/library/app:" + std::string(128, 't'), "app:" + std::string(128, 't')},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.in);
    auto r = ParseNormalizedReference(c.in);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->domain, c.domain);
    EXPECT_EQ(r->path, c.path);
    EXPECT_EQ(r->tag, c.tag);
    EXPECT_EQ(r->digest, c.digest);
    EXPECT_EQ(r->String(), c.full);
    EXPECT_EQ(r->FamiliarString(), c.familiar);
  }
}

TEST(Reference, DockerErrorTexts) {
  const std::string kFormat = "invalid reference format";
  const std::string kLower = "invalid reference format: repository name must be lowercase";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", kFormat},
      {"Debian", kLower},
      {"UPPER:case", kLower},
      {"foo/Bar", kLower},
      {"localhost:5000/Team/app", kLower},
      {":tag", kFormat},
      {"app:", kFormat},
      {"app/", kFormat},
      {"a//b", kFormat},
      {"-app", kFormat},
      {"app-", kFormat},
      {"app:.tag", kFormat},
      {"app:" + std::string(129, 't'), kFormat},
      {"app@sha256:abc", kFormat},
      {"@sha256:" + kHex64, kFormat},
      {"app@md5:" + kHex64, "unsupported digest algorithm"},
      {"app@sha256:" + std::string(32, 'a'), "invalid checksum digest length"},
      {"app@sha256:" + std::string(64, 'A'), "invalid checksum digest format"},
      {kHex64,
       "invalid repository name (" + kHex64 + "), cannot specify 64-byte hexadecimal strings"},
      {std::string(256, 'a'), "repository name must not be more than 255 characters"},
      {"foo_bar.com:port/app", kFormat},
  };
  for (const auto& [in, want] : cases) {
    SCOPED_TRACE(in);
    auto r = ParseNormalizedReference(in);
    ASSERT_FALSE(r.ok()) << r->String();
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), want);
  }
}

TEST(Reference, DefaultTag) {
  EXPECT_EQ(WithDefaultTag(*ParseNormalizedReference("debian")).FamiliarString(), "debian:latest");
  EXPECT_EQ(WithDefaultTag(*ParseNormalizedReference("debian:12")).FamiliarString(), "debian:12");
  EXPECT_EQ(WithDefaultTag(*ParseNormalizedReference("app@sha256:" + kHex64)).FamiliarString(),
            "app@sha256:" + kHex64);
}

}  // namespace
}  // namespace latchkey::image
