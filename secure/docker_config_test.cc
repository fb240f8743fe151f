#include "secure/docker_config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>

#include "base/testutil.h"
#include "secure/docker_credential_helper.h"

namespace latchkey::docker_config {
namespace {

std::span<const uint8_t> B(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
std::string Str(const SecretBuffer& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

TEST(DockerConfig, HostsAndKeysMatchAsDockerMatchesThem) {
  EXPECT_EQ(NormalizeHost("https://reg.example:5000/v1/"), "reg.example:5000");
  EXPECT_EQ(NormalizeHost("http://index.docker.io/v1/"), "docker.io");
  EXPECT_EQ(NormalizeHost("registry-1.docker.io"), "docker.io");
  EXPECT_TRUE(KeyMatches("https://index.docker.io/v1/", "docker.io"));
  EXPECT_TRUE(KeyMatches("http://h:5000", "h:5000"));
  EXPECT_FALSE(KeyMatches("h:5001", "h:5000"));
  EXPECT_EQ(ServerKey("docker.io"), "https://index.docker.io/v1/");
  EXPECT_EQ(ServerKey("h:5000"), "h:5000");
  auto keys = AuthsKeys(B(R"({"auths":{"https://h":{},"x":{},"h":{}}})"), "h", "c");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, (std::vector<std::string>{"h", "https://h"}));  // the exact key first
}

TEST(DockerConfig, HelperForPrefersCredHelpersThenCredsStore) {
  std::string f = R"({"credsStore":"desktop","credHelpers":{"https://a.example":"pass"}})";
  auto a = HelperFor(B(f), "a.example", "c");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->name, "pass");
  EXPECT_EQ(a->origin, "credHelpers");
  auto b = HelperFor(B(f), "b.example", "c");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->name, "desktop");
  EXPECT_EQ(b->origin, "credsStore");
  auto none = HelperFor(B(R"({"auths":{}})"), "a", "c");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->name, "");
  EXPECT_EQ(HelperFor(B(R"({"credsStore":7})"), "a", "c").status(),
            InvalidArgumentError("c: credsStore must be a helper name such as \"pass\""));
}

TEST(DockerConfig, CredentialJsonRoundTripsAndTokensUseDockersConvention) {
  auto j = CredentialJson("h:5000", B("al\"ice"), B("pa\\ss\n"));
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(Str(*j), R"({"ServerURL":"h:5000","Username":"al\"ice","Secret":"pa\\ss\u000a"})");
  auto back = ParseCredentialJson(j->bytes(), "answer");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(Str(back->username), "al\"ice");
  EXPECT_EQ(Str(back->password), "pa\\ss\n");
  auto tok = ParseCredentialJson(B(R"({"Username":"<token>","Secret":"t0k"})"), "answer");
  ASSERT_TRUE(tok.ok());
  EXPECT_EQ(Str(tok->identity_token), "t0k");
  auto again = CredentialJson("docker.io", *tok);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Str(*again), R"({"ServerURL":"docker.io","Username":"<token>","Secret":"t0k"})");
  EXPECT_EQ(ParseCredentialJson(B("[1]"), "answer").status(),
            InvalidArgumentError("answer is not a JSON object"));
  EXPECT_EQ(ParseCredentialJson(B(R"({"Username":"","Secret":""})"), "answer").status(),
            NotFoundError("answer has no credential"));
  EXPECT_EQ(ParseCredentialJson(B(R"({"Username":"u","Secret":""})"), "answer").status(),
            InvalidArgumentError("answer has no Username/Secret"));
}

TEST(DockerConfig, EditsSpliceTheAuthsObjectOnly) {
  auto entry = BasicAuthEntry(B("bob"), B("pw"));
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(Str(*entry), "{\n\t\t\t\"auth\": \"Ym9iOnB3\"\n\t\t}");
  auto fresh = SetAuthsEntry({}, "h", B("{}"), "c");
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(Str(*fresh), "{\n\t\"auths\": {\"h\": {}}}");
  auto replaced =
      SetAuthsEntry(B(R"({"auths":{"h":{"auth":"old"},"i":{}},"x":1})"), "h", B("{}"), "c");
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(Str(*replaced), R"({"auths":{"h":{},"i":{}},"x":1})");
  auto no_auths = SetAuthsEntry(B(R"({"auths":null})"), "h", B("{}"), "c");
  ASSERT_TRUE(no_auths.ok());
  EXPECT_EQ(Str(*no_auths), R"({"auths":{"h": {}}})");
  std::string three = R"({"auths":{"a":{},"b":{},"c":{}}})";
  auto mid = RemoveAuthsEntries(B(three), {"b"}, "c");
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(Str(*mid), R"({"auths":{"a":{},"c":{}}})");
  auto last = RemoveAuthsEntries(B(three), {"c", "a"}, "c");
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(Str(*last), R"({"auths":{"b":{}}})");
  auto all = RemoveAuthsEntries(B(three), {"a", "b", "c", "zz"}, "c");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Str(*all), R"({"auths":{}})");
  EXPECT_EQ(SetAuthsEntry(B(R"({"auths":{)"), "h", B("{}"), "c").status(),
            InvalidArgumentError("c is not valid JSON (at byte 10)"));
}

TEST(DockerConfig, WriteIsPrivate) {
  base::testing::TempDir dir;
  const std::string path = dir.path() + "/new/config.json";
  ASSERT_TRUE(Write(path, B("{}")).ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir.path() + "/new").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto back = Read(path);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(Str(*back), "{}");
  EXPECT_EQ(Read(dir.path() + "/none.json").status(),
            NotFoundError("docker config " + dir.path() + "/none.json does not exist"));
}

// Fault injection behind the helper protocol: scripts named docker-credential-* on $PATH.
class HelperFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_path_ = std::getenv("PATH");
    ::setenv("PATH", (dir_.path() + ":" + saved_path_).c_str(), 1);
  }
  void TearDown() override { ::setenv("PATH", saved_path_.c_str(), 1); }
  void Script(const std::string& name, const std::string& body) {
    std::string p = dir_.path() + "/docker-credential-" + name;
    std::ofstream(p) << "#!/bin/sh\n" << body << "\n";
    ::chmod(p.c_str(), 0755);
  }
  base::testing::TempDir dir_;
  std::string saved_path_;
};

TEST_F(HelperFaults, AFailureQuotesTheHelperButNeverACredential) {
  Script("lkfail", "echo 'error talking to the keyring'; exit 3");
  EXPECT_EQ(HelperGet({"lkfail", "credsStore of c"}, "h", nullptr).status(),
            UnavailableError("credential helper docker-credential-lkfail (credsStore of c) failed "
                             "(exit status 3): error talking to the keyring"));
  Script("lkleak", R"(echo '{"Username":"u","Secret":"CANARY-helper"}'; exit 1)");
  EXPECT_EQ(HelperGet({"lkleak", "credsStore of c"}, "h", nullptr).status(),
            UnavailableError("credential helper docker-credential-lkleak (credsStore of c) failed "
                             "(exit status 1)"));
  Script("lknf", "echo 'credentials not found in native keychain'; exit 1");
  EXPECT_EQ(HelperGet({"lknf", "credHelpers of c"}, "h", nullptr).status(),
            NotFoundError("credential helper docker-credential-lknf (credHelpers of c) has no "
                          "credential for h"));
  Script("lkjunk", "echo 'not json'");
  EXPECT_EQ(HelperGet({"lkjunk", "credsStore of c"}, "h", nullptr).status(),
            InvalidArgumentError("credential helper docker-credential-lkjunk (credsStore of c) "
                                 "printed an answer that is not a JSON object"));
}

TEST_F(HelperFaults, AHangingHelperIsKilledWhenTheCallerGivesUp) {
  Script("lkhang", "exec sleep 600");
  int polls = 0;
  auto st = HelperGet({"lkhang", "credsStore of c"}, "h", [&polls]() -> Status {
    return ++polls < 3 ? Status::OK() : DeadlineExceededError("the fetch deadline passed");
  });
  EXPECT_EQ(st.status(), DeadlineExceededError("the fetch deadline passed"));
  EXPECT_EQ(polls, 3);
}

TEST_F(HelperFaults, StoreAndEraseSendTheirInput) {
  Script("lkrec", "cat > \"$(dirname \"$0\")/got-$1\"");
  auto json = CredentialJson("h", B("u"), B("p"));
  ASSERT_TRUE(json.ok());
  ASSERT_TRUE(HelperStore({"lkrec", "credsStore of c"}, json->bytes(), nullptr).ok());
  ASSERT_TRUE(HelperErase({"lkrec", "credsStore of c"}, "h", nullptr).ok());
  EXPECT_EQ(base::testing::ReadText(dir_.path() + "/got-store"),
            R"({"ServerURL":"h","Username":"u","Secret":"p"})");
  EXPECT_EQ(base::testing::ReadText(dir_.path() + "/got-erase"), "h");
}

}  // namespace
}  // namespace latchkey::docker_config
