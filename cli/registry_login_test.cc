#include "cli/registry_login.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <sstream>

#include "base/testutil.h"
#include "secure/docker_config.h"
#include "secure/secure_json.h"

namespace latchkey::cli {
namespace {

constexpr char kCanary[] = "CANARY-login-5d1c9a";

std::span<const uint8_t> B(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
std::string Str(const SecretBuffer& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

TypedCredential Cred(const std::string& user, const std::string& password) {
  auto p = SecretBuffer::CopyOf(B(password));
  EXPECT_TRUE(p.ok());
  return TypedCredential(user, std::move(*p));
}

std::string ReadText(const std::string& path) {
  auto f = docker_config::Read(path);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return f.ok() ? Str(*f) : "";
}

TEST(RegistryLogin, FileStoreWarnsLikeDockerAndLogoutRemovesTheEntry) {
  base::testing::TempDir dir;
  const std::string path = dir.path() + "/docker/config.json";
  std::ostringstream warn;
  ASSERT_TRUE(StoreLogin(path, "reg.example:5000", Cred("alice", kCanary), warn).ok());
  EXPECT_EQ(warn.str(), "WARNING! Your password will be stored unencrypted in " + path +
                            ".\nConfigure a credential helper to remove this warning. See\n"
                            "https://docs.docker.com/engine/reference/commandline/login/"
                            "#credentials-store\n");
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto file = docker_config::Read(path);
  ASSERT_TRUE(file.ok());
  auto a = docker_config::AuthsCredential(file->bytes(), "reg.example:5000", "c");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(Str(a->username), "alice");
  EXPECT_EQ(Str(a->password), kCanary);

  // A second login keeps the other members byte for byte; Docker Hub goes under Docker's key.
  base::testing::WriteText(path,
                           "{\n\t\"auths\": {\"other\": {\"auth\": \"eDp5\"}},\n\t\"psFormat\": "
                           "\"{{.ID}}\"\n}\n");
  ASSERT_TRUE(StoreLogin(path, "docker.io", Cred("bob", "pw"), warn).ok());
  EXPECT_EQ(
      ReadText(path),
      "{\n\t\"auths\": {\"other\": {\"auth\": \"eDp5\"},\n\t\t\"https://index.docker.io/v1/\": "
      "{\n\t\t\t\"auth\": \"Ym9iOnB3\"\n\t\t}},\n\t\"psFormat\": \"{{.ID}}\"\n}\n");

  std::ostringstream out, err;
  ASSERT_TRUE(Logout(path, "https://index.docker.io/v1/", out, err).ok());
  EXPECT_EQ(out.str(), "Removing login credentials for https://index.docker.io/v1/\n");
  EXPECT_EQ(ReadText(path),
            "{\n\t\"auths\": {\"other\": {\"auth\": \"eDp5\"}},\n\t\"psFormat\": \"{{.ID}}\"\n}\n");
  out.str("");
  ASSERT_TRUE(Logout(path, "docker.io", out, err).ok());
  EXPECT_EQ(out.str(), "Not logged in to https://index.docker.io/v1/\n");
  out.str("");
  ASSERT_TRUE(Logout(path, "other", out, err).ok());
  EXPECT_EQ(out.str(), "Removing login credentials for other\n");
  EXPECT_EQ(ReadText(path), "{\n\t\"auths\": {},\n\t\"psFormat\": \"{{.ID}}\"\n}\n");
  EXPECT_EQ(err.str(), "");
  EXPECT_EQ(ReadText(path).find(kCanary), std::string::npos);
}

TEST(RegistryLogin, MissingHelperIsNamedAndNothingIsWritten) {
  base::testing::TempDir dir;
  const std::string path = dir.path() + "/config.json";
  const std::string before = R"({"credsStore":"nosuch-lk"})";
  base::testing::WriteText(path, before);
  std::ostringstream warn;
  EXPECT_EQ(StoreLogin(path, "h:5000", Cred("u", kCanary), warn),
            FailedPreconditionError("credential helper docker-credential-nosuch-lk (credsStore "
                                    "of " +
                                    path +
                                    ") is not installed: docker-credential-nosuch-lk: executable "
                                    "file not found in $PATH"));
  EXPECT_EQ(warn.str(), "");
  EXPECT_EQ(ReadText(path), before);
  // Logout of a host the helper holds: Docker's warning, and the entry stays.
  base::testing::WriteText(path, R"({"auths":{"h:5000":{}},"credsStore":"nosuch-lk"})");
  std::ostringstream out, err;
  ASSERT_TRUE(Logout(path, "h:5000", out, err).ok());
  EXPECT_EQ(out.str(), "Removing login credentials for h:5000\n");
  EXPECT_EQ(err.str(),
            "WARNING: could not erase credentials:\nh:5000: credential helper "
            "docker-credential-nosuch-lk (credsStore of " +
                path +
                ") is not installed: docker-credential-nosuch-lk: executable file "
                "not found in $PATH\n");
  EXPECT_EQ(ReadText(path), R"({"auths":{"h:5000":{}},"credsStore":"nosuch-lk"})");
}

TEST(RegistryLogin, TypedCredentialAnswersCopies) {
  TypedCredential c = Cred("carol", kCanary);
  auto got = c.Get("h", "r", "pull");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(Str(got->username), "carol");
  EXPECT_EQ(Str(got->password), kCanary);
  EXPECT_EQ(got->source, "latchkey login (user carol)");
}

}  // namespace
}  // namespace latchkey::cli
