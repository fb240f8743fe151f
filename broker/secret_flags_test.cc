#include "broker/secret_flags.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace latchkey {
namespace {

using Kind = SecretSource::Kind;

class SecretFlagsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lk-secret-flags-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ctx_.cwd = dir_;
    ctx_.env = {"GIT_AUTH_TOKEN", "EMPTY_VAR", "AWS_ACCESS_KEY_ID"};
    ctx_.providers = {"file", "env", "store"};
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void WriteFile(const std::string& name, size_t size) {
    std::string path = dir_ + "/" + name;
    int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
    ::close(fd);
  }

  std::string Error(const std::string& flag) {
    auto r = ParseSecretFlag(flag, ctx_);
    EXPECT_FALSE(r.ok()) << flag;
    return r.ok() ? "" : r.status().message();
  }

  std::string dir_;
  SecretFlagContext ctx_;
};

TEST_F(SecretFlagsTest, FileSourceResolvedAgainstCwd) {
  WriteFile("npmrc", 10);
  auto r = ParseSecretFlag("id=npmrc,src=npmrc", ctx_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, (SecretSource{"npmrc", Kind::kFile, dir_ + "/npmrc", ""}));
  r = ParseSecretFlag("ID=npmrc,Source=./sub/../npmrc", ctx_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->path_or_var_or_ref, dir_ + "/npmrc");
  r = ParseSecretFlag("id=npmrc,type=file,src=" + dir_ + "/npmrc", ctx_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->kind, Kind::kFile);
}

TEST_F(SecretFlagsTest, EnvSources) {
  auto r = ParseSecretFlag("id=aws_key_id,env=AWS_ACCESS_KEY_ID", ctx_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (SecretSource{"aws_key_id", Kind::kEnv, "AWS_ACCESS_KEY_ID", ""}));
  // type=env moves src into env.
  r = ParseSecretFlag("id=x,type=env,src=GIT_AUTH_TOKEN", ctx_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (SecretSource{"x", Kind::kEnv, "GIT_AUTH_TOKEN", ""}));
  // type=env,env=foo (PR #1613).
  r = ParseSecretFlag("id=x,type=env,env=GIT_AUTH_TOKEN", ctx_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->path_or_var_or_ref, "GIT_AUTH_TOKEN");
}

TEST_F(SecretFlagsTest, BareIdPrefersSetVariableEvenIfEmpty) {
  WriteFile("EMPTY_VAR", 1);  // the file exists too, but the variable wins
  auto r = ParseSecretFlag("id=EMPTY_VAR", ctx_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (SecretSource{"EMPTY_VAR", Kind::kEnv, "EMPTY_VAR", ""}));
}

TEST_F(SecretFlagsTest, BareIdFallsBackToFile) {
  WriteFile("creds", 3);
  auto r = ParseSecretFlag("id=creds", ctx_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (SecretSource{"creds", Kind::kFile, dir_ + "/creds", ""}));
}

TEST_F(SecretFlagsTest, BareIdWithNeitherNamesBothSources) {
  EXPECT_EQ(Error("id=API_KEY"),
            "secret API_KEY: no environment variable API_KEY and failed to "
            "stat " +
                dir_ + "/API_KEY: stat " + dir_ + "/API_KEY: no such file or directory");
}

TEST_F(SecretFlagsTest, EnvAndSrcGivenEnvWinsButSrcIsStatted) {
  WriteFile("f", 1);
  auto r = ParseSecretFlag("id=x,src=f,env=GIT_AUTH_TOKEN", ctx_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (SecretSource{"x", Kind::kEnv, "GIT_AUTH_TOKEN", ""}));
  EXPECT_EQ(Error("id=x,src=missing,env=GIT_AUTH_TOKEN"),
            "failed to stat missing: stat missing: no such file or directory");
}

TEST_F(SecretFlagsTest, ProviderType) {
  auto r = ParseSecretFlag("id=npmrc,type=store,src=ci/npmrc@2", ctx_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, (SecretSource{"npmrc", Kind::kProvider, "ci/npmrc@2", "store"}));
  EXPECT_EQ(Error("id=npmrc,type=store"), "secret npmrc: type=store needs src=<reference>");
  EXPECT_EQ(Error("id=npmrc,type=store,env=X"),
            "secret npmrc: env= cannot be used with type=store; use src=<reference>");
  EXPECT_EQ(Error("id=npmrc,type=vault,src=a"),
            "unsupported secret type \"vault\": the types are file, env and the configured "
            "providers (store); to add provider vault, install its plugin and add these lines "
            "to the configuration file (docs/configuration.md):\n"
            "plugins:\n"
            "  - name: vault\n"
            "    path: /usr/lib/latchkey/providers/latchkey-vault.so");
  ctx_.providers.clear();
  ctx_.provider_dir = "/opt/lk/lib/latchkey/providers";
  EXPECT_EQ(Error("id=npmrc,type=store,src=a"),
            "unsupported secret type \"store\": the types are file, env (no providers are "
            "configured); to add provider store, install its plugin and add these lines to the "
            "configuration file (docs/configuration.md):\n"
            "plugins:\n"
            "  - name: store\n"
            "    path: /opt/lk/lib/latchkey/providers/latchkey-store.so");
}

TEST_F(SecretFlagsTest, ExactErrors) {
  WriteFile("big", kMaxSecretSize + 1);
  std::filesystem::create_directory(dir_ + "/adir");
  struct Case {
    std::string flag;
    std::string want;
  };
  const Case cases[] = {
      {"", "failed to parse csv secret: EOF"},
      {"id=\"x",
       "failed to parse csv secret: parse error on line 1, column 4: bare \" in "
       "non-quoted-field"},
      {"src=foo", "secret missing ID"},
      {"id=,env=GIT_AUTH_TOKEN", "secret missing ID"},
      {"id=x,type=File",
       "unsupported secret type \"File\": the types are file, env and the configured "
       "providers (store)"},
      {"id=x,type=",
       "unsupported secret type \"\": the types are file, env and the configured "
       "providers (store)"},
      {"id=x,type=a\tb",
       "unsupported secret type \"a\\tb\": the types are file, env and the "
       "configured providers (store)"},
      // Go's %q: an invalid UTF-8 byte is \xNN, a non-printable rune \uNNNN, printable kept.
      {"id=x,type=a\xff"
       "b",
       "unsupported secret type \"a\\xffb\": the types are file, env and the configured "
       "providers (store)"},
      {"id=x,type=\xc3\xa9\xc2\xa0",
       "unsupported secret type \"\xc3\xa9\\u00a0\": the types are file, env and the "
       "configured providers (store)"},
      {"id=x,Target=/run/x", "unexpected key 'target' in 'Target=/run/x'"},
      {"id=x,required", "invalid field 'required' must be a key=value pair"},
      // A field error stops at the first bad field, in order.
      {"bogus,type=nope", "invalid field 'bogus' must be a key=value pair"},
      {"id=x,src=nope.txt", "failed to stat nope.txt: stat nope.txt: no such file or directory"},
      {"id=x,src=big", "secret x too big. max size 500KiB"},
      {"id=x,src=adir", "secret x: adir is a directory, not a file"},
      {"id=x,env=UNSET_VAR", "secret x: environment variable UNSET_VAR is not set"},
      {"id=x,type=env,src=UNSET_VAR", "secret x: environment variable UNSET_VAR is not set"},
      // type=env without src or env falls back to the bare-id rule, as in buildx.
      {"id=x,type=env", "secret x: no environment variable x and failed to stat " + dir_ +
                            "/x: stat " + dir_ + "/x: no such file or directory"},
  };
  for (const auto& c : cases) EXPECT_EQ(Error(c.flag), c.want) << c.flag;
}

TEST_F(SecretFlagsTest, ExactlyMaxSizeIsAllowed) {
  WriteFile("edge", kMaxSecretSize);
  EXPECT_TRUE(ParseSecretFlag("id=edge,src=edge", ctx_).ok());
}

TEST_F(SecretFlagsTest, NotADirectoryInPath) {
  WriteFile("plain", 1);
  EXPECT_EQ(Error("id=x,src=plain/sub"),
            "failed to stat plain/sub: stat plain/sub: not a directory");
}

TEST_F(SecretFlagsTest, ErrorCodes) {
  EXPECT_EQ(ParseSecretFlag("id=x,foo=1", ctx_).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseSecretFlag("id=x,src=nope", ctx_).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ParseSecretFlag("id=x,env=NOPE", ctx_).status().code(), StatusCode::kNotFound);
}

TEST_F(SecretFlagsTest, LaterDuplicateWins) {
  WriteFile("a", 1);
  auto r =
      ParseSecretFlags({"id=one,src=a", "id=two,env=GIT_AUTH_TOKEN", "id=one,env=EMPTY_VAR"}, ctx_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0], (SecretSource{"one", Kind::kEnv, "EMPTY_VAR", ""}));
  EXPECT_EQ((*r)[1].id, "two");
}

TEST_F(SecretFlagsTest, InvalidFlagAnywhereFailsTheWholeList) {
  auto r = ParseSecretFlags({"id=two,env=GIT_AUTH_TOKEN", "id=one,src=missing"}, ctx_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "failed to stat missing: stat missing: no such file or directory");
}

TEST(SecretSourceKind, Names) {
  EXPECT_STREQ(SecretSourceKindName(Kind::kFile), "file");
  EXPECT_STREQ(SecretSourceKindName(Kind::kEnv), "env");
  EXPECT_STREQ(SecretSourceKindName(Kind::kProvider), "provider");
}

}  // namespace
}  // namespace latchkey
