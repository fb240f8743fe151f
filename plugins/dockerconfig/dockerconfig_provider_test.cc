// Tests of latchkey-dockerconfig.so through the real loader and host
// (broker/provider_instance.h), with a plain config.json and with the real
// docker-credential-pass (Debian golang-docker-credential-helpers) over `pass` and a throw-away
// GnuPG key made here (batch, no passphrase, GNUPGHOME and the password store in a temp dir).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "broker/plugin_test_util.h"
#include "broker/provider_instance.h"

namespace latchkey {
namespace {

using plugintest::ProviderPath;
using plugintest::TestString;

constexpr char kCanary[] = "CANARY-dockercfg-7f3e2b";

// A shell command's exit status (0 = success), its output thrown away.
int Sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

class DockerConfigProviderTest : public ::testing::Test {
 protected:
  // One GnuPG key and password store for the suite (key generation is the slow part).
  static void SetUpTestSuite() {
    char t[] = "/tmp/lk-dcp.XXXXXX";
    ASSERT_NE(::mkdtemp(t), nullptr);
    gpg_dir_ = new std::string(t);
    ::setenv("GNUPGHOME", (*gpg_dir_ + "/gnupg").c_str(), 1);
    ::setenv("PASSWORD_STORE_DIR", (*gpg_dir_ + "/store").c_str(), 1);
    ::mkdir((*gpg_dir_ + "/gnupg").c_str(), 0700);
    ASSERT_EQ(Sh("gpg --batch --passphrase '' --quick-gen-key 'latchkey test <lk@test.invalid>' "
                 "default default never"),
              0);
    ASSERT_EQ(Sh("pass init lk@test.invalid"), 0);
  }
  static void TearDownTestSuite() {
    Sh("gpgconf --kill gpg-agent");
    std::error_code ec;
    std::filesystem::remove_all(*gpg_dir_, ec);
    delete gpg_dir_;
  }

  std::string WriteConfig(const std::string& json) { return dir_.Write("config.json", json); }

  std::unique_ptr<ProviderInstance> Instance(const std::string& config_path) {
    auto lib = PluginLoader::Load(ProviderPath("dockerconfig"));
    EXPECT_TRUE(lib.ok()) << lib.status().ToString();
    if (!lib.ok()) return nullptr;
    auto inst = ProviderInstance::Create(*lib, {ConfigValue::Text("config_file", config_path)});
    EXPECT_TRUE(inst.ok()) << inst.status().ToString();
    return inst.ok() ? std::move(*inst) : nullptr;
  }

  Result<FetchedSecret> Fetch(ProviderInstance& inst, const std::string& host) {
    FetchRequest r;
    r.ref = host;
    r.secret_id = "registry:" + host;
    r.timeout = std::chrono::seconds(30);
    auto got = inst.Fetch(r);
    if (!got.ok()) {
      EXPECT_EQ(got.status().message().find(kCanary), std::string::npos) << "canary in message";
    }
    return got;
  }

  std::string Value(ProviderInstance& inst, const std::string& host) {
    auto r = Fetch(inst, host);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? TestString(r->value) : "(error)";
  }

  static void PassStore(const std::string& server, const std::string& user,
                        const std::string& secret) {
    std::string json = R"({"ServerURL":")" + server + R"(","Username":")" + user +
                       R"(","Secret":")" + secret + R"("})";
    ASSERT_EQ(Sh("printf '%s' '" + json + "' | docker-credential-pass store"), 0);
  }

  static std::string* gpg_dir_;
  plugintest::ScratchDir dir_;
};

std::string* DockerConfigProviderTest::gpg_dir_ = nullptr;

TEST_F(DockerConfigProviderTest, PlainAuthsFileServesTheHelperJson) {
  // "alice:<canary>:x", base64 (a password may hold ':').
  std::string b64 = "YWxpY2U6Q0FOQVJZLWRvY2tlcmNmZy03ZjNlMmI6eA==";
  auto inst = Instance(WriteConfig(R"({"auths":{"https://reg.example:5000/v1/":{"auth":")" + b64 +
                                   R"("},"https://index.docker.io/v1/":{"auth":"",)"
                                   R"("identitytoken":"tok\"en"}}})"));
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(Value(*inst, "reg.example:5000"),
            std::string(R"({"ServerURL":"reg.example:5000","Username":"alice","Secret":")") +
                kCanary + R"(:x"})");
  EXPECT_EQ(Value(*inst, "docker.io"),
            R"({"ServerURL":"docker.io","Username":"<token>","Secret":"tok\"en"})");
  EXPECT_EQ(Value(*inst, "index.docker.io"),
            R"({"ServerURL":"docker.io","Username":"<token>","Secret":"tok\"en"})");
  auto none = Fetch(*inst, "other.example");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status(),
            NotFoundError("provider dockerconfig: secret registry:other.example: "
                          "docker config " +
                          dir_.Join("config.json") + " has no credential for other.example"));
  auto hosts = inst->List();
  ASSERT_TRUE(hosts.ok()) << hosts.status().ToString();
  EXPECT_EQ(*hosts, (std::vector<std::string>{"docker.io", "reg.example:5000"}));
}

TEST_F(DockerConfigProviderTest, BadReferenceMissingFileAndMalformedEntry) {
  auto inst = Instance(dir_.Join("nope.json"));
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(Fetch(*inst, "h:5000").status(),
            NotFoundError("provider dockerconfig: secret registry:h:5000: no credential for "
                          "h:5000: docker config " +
                          dir_.Join("nope.json") + " does not exist"));
  EXPECT_EQ(Fetch(*inst, "https://h/v2").status(),
            InvalidArgumentError("provider dockerconfig: secret registry:https://h/v2: reference "
                                 "\"https://h/v2\" is not a registry host (want HOST[:PORT], e.g. "
                                 "registry.example.com:5000 or docker.io)"));
  auto bad =
      Instance(WriteConfig(R"({"auths":{"h":{"auth":"Q0FOQVJZLWRvY2tlcmNmZy03ZjNlMmI="}}})"));
  ASSERT_NE(bad, nullptr);
  EXPECT_EQ(Fetch(*bad, "h").status(),
            InvalidArgumentError("provider dockerconfig: secret registry:h: docker config " +
                                 dir_.Join("config.json") +
                                 ": auths.h.auth is not base64 of user:password"));
}

TEST_F(DockerConfigProviderTest, CredsStoreRunsTheRealPassHelper) {
  PassStore("pass.example:5000", "bob", kCanary);
  PassStore("https://index.docker.io/v1/", "hubuser", std::string("hub-") + kCanary);
  auto inst = Instance(WriteConfig(R"({"auths":{"pass.example:5000":{}},"credsStore":"pass"})"));
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(Value(*inst, "pass.example:5000"),
            std::string(R"({"ServerURL":"pass.example:5000","Username":"bob","Secret":")") +
                kCanary + R"("})");
  // Docker Hub is asked for under Docker's key.
  EXPECT_EQ(Value(*inst, "docker.io"),
            std::string(R"({"ServerURL":"docker.io","Username":"hubuser","Secret":"hub-)") +
                kCanary + R"("})");
  // The helper's "credentials not found in native keychain" is NOT_FOUND.
  EXPECT_EQ(Fetch(*inst, "absent.example").status(),
            NotFoundError("provider dockerconfig: secret registry:absent.example: credential "
                          "helper docker-credential-pass (credsStore of " +
                          dir_.Join("config.json") + ") has no credential for absent.example"));
}

TEST_F(DockerConfigProviderTest, CredHelpersPerHostOverrideCredsStoreAndAuths) {
  PassStore("one.example", "carol", kCanary);
  std::string b64 = "ZGF2ZTpwbGFpbg==";  // dave:plain
  auto inst = Instance(WriteConfig(R"({"auths":{"one.example":{"auth":")" + b64 +
                                   R"("},"two.example":{"auth":")" + b64 +
                                   R"("}},"credsStore":"nosuch-lk","credHelpers":{)"
                                   R"("https://one.example":"pass"}})"));
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(Value(*inst, "one.example"),
            std::string(R"({"ServerURL":"one.example","Username":"carol","Secret":")") + kCanary +
                R"("})");
  // credsStore applies to every other host, and it is not installed.
  EXPECT_EQ(Fetch(*inst, "two.example").status(),
            FailedPreconditionError(
                "provider dockerconfig: secret registry:two.example: credential helper "
                "docker-credential-nosuch-lk (credsStore of " +
                dir_.Join("config.json") +
                ") is not installed: docker-credential-nosuch-lk: executable file not found in "
                "$PATH"));
  auto bad = Instance(WriteConfig(R"({"credHelpers":{"x":"../../bin/sh"}})"));
  ASSERT_NE(bad, nullptr);
  EXPECT_EQ(Fetch(*bad, "x").status(),
            InvalidArgumentError("provider dockerconfig: secret registry:x: docker config " +
                                 dir_.Join("config.json") +
                                 ": credHelpers.x must be a helper name such as \"pass\""));
}

TEST_F(DockerConfigProviderTest, FailingHelperIsNamedWithoutItsAnswer) {
  // A helper that fails for another reason: pass with a GnuPG home that has no key.
  PassStore("broken.example", "erin", kCanary);
  auto inst = Instance(WriteConfig(R"({"credHelpers":{"broken.example":"pass"}})"));
  ASSERT_NE(inst, nullptr);
  std::string saved = std::getenv("GNUPGHOME");
  ::setenv("GNUPGHOME", dir_.Join("empty-gnupg").c_str(), 1);
  auto r = Fetch(*inst, "broken.example");
  ::setenv("GNUPGHOME", saved.c_str(), 1);
  EXPECT_EQ(r.status(), UnavailableError(
                            "provider dockerconfig: secret registry:broken.example: credential "
                            "helper docker-credential-pass (credHelpers of " +
                            dir_.Join("config.json") +
                            ") failed (exit status 1): exit status 2: gpg: keyblock resource '" +
                            dir_.Join("empty-gnupg") + "/pubring.kbx': No such file or directory"));
}

}  // namespace
}  // namespace latchkey
