#include "broker/audit/audit_keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "broker/audit/audit_testutil.h"
#include "broker/audit/paths.h"

namespace latchkey::audit {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

Result<SecretBuffer> Bytes(std::string_view text) {
  return SecretBuffer::CopyOf(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

TEST(AuditKeys, KeygenWritesThreeFilesWithTheRightModes) {
  TempDir dir;
  std::string state = dir.Join("state");
  auto keys = WriteNewKeys(state, false);
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(ModeOf(SigningKeyPath(state)), 0600u);
  EXPECT_EQ(ModeOf(HmacKeyPath(state)), 0600u);
  EXPECT_EQ(ModeOf(PublicKeyPath(state)), 0644u);
  EXPECT_EQ(ModeOf(state), 0700u);
  EXPECT_EQ(ReadFile(SigningKeyPath(state)).size(), 32u);
  EXPECT_EQ(ReadFile(HmacKeyPath(state)).size(), 32u);

  auto loaded = LoadKeys(state);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->public_key, keys->public_key);
  EXPECT_EQ(loaded->key_id, keys->key_id);
  auto pk = LoadPublicKey(PublicKeyPath(state));
  ASSERT_TRUE(pk.ok());
  EXPECT_EQ(*pk, keys->public_key);
  EXPECT_TRUE(loaded->hmac_key.Equals(keys->hmac_key.bytes()));
  // Signatures made with the loaded key verify with the public key file.
  std::string sig = SignBase64(*loaded, "message");
  EXPECT_TRUE(VerifyBase64(*pk, "message", sig));
  EXPECT_FALSE(VerifyBase64(*pk, "messagE", sig));
  EXPECT_FALSE(VerifyBase64(*pk, "message", "not base64!"));
}

// Issue 11 item 4: key files the configuration names (audit.hmac_key_file) are the ones used.
TEST(AuditKeys, KeyFilesAnywhereAreWrittenAndLoaded) {
  TempDir dir;
  KeyFiles files{dir.Join("sign/my.key"), PublicKeyPathFor(dir.Join("sign/my.key")),
                 dir.Join("hmac/other-hmac.key")};
  EXPECT_EQ(files.public_key, dir.Join("sign/my.pub"));
  auto keys = WriteNewKeys(files, false);
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(ModeOf(files.hmac), 0600u);
  auto loaded = LoadKeys(files);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_TRUE(loaded->hmac_key.Equals(keys->hmac_key.bytes()));
  EXPECT_EQ(HmacKeyId(loaded->hmac_key), HmacKeyId(keys->hmac_key));
  EXPECT_EQ(HmacKeyId(keys->hmac_key).rfind("hmac:", 0), 0u);
  EXPECT_EQ(HmacKeyId(keys->hmac_key).size(), 5u + 16u);
  EXPECT_EQ(WriteNewKeys(files, false).status(),
            AlreadyExistsError("audit keys already exist in " + dir.Join("sign") +
                               " (my.key); pass --force to replace them"));
  EXPECT_EQ(PublicKeyPathFor("/s/signing"), "/s/signing.pub");
}

TEST(AuditKeys, KeygenRefusesToOverwriteWithoutForce) {
  TempDir dir;
  ASSERT_TRUE(WriteNewKeys(dir.path(), false).ok());
  std::string before = ReadFile(SigningKeyPath(dir.path()));
  EXPECT_EQ(WriteNewKeys(dir.path(), false).status().ToString(),
            "ALREADY_EXISTS: audit keys already exist in " + dir.path() +
                " (audit-signing.key); pass --force to replace them");
  EXPECT_EQ(ReadFile(SigningKeyPath(dir.path())), before);
  auto forced = WriteNewKeys(dir.path(), true);
  ASSERT_TRUE(forced.ok());
  EXPECT_NE(ReadFile(SigningKeyPath(dir.path())), before);
}

TEST(AuditKeys, LoadRejectsAGroupReadableKey) {
  TempDir dir;
  ASSERT_TRUE(WriteNewKeys(dir.path(), false).ok());
  std::string path = SigningKeyPath(dir.path());
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  EXPECT_EQ(LoadKeys(dir.path()).status().ToString(),
            "FAILED_PRECONDITION: audit signing key " + path +
                " is readable by group or others (mode 0640); run: chmod 600 " + path);
}

TEST(AuditKeys, LoadRejectsAWrongSizedKey) {
  TempDir dir;
  ASSERT_TRUE(WriteNewKeys(dir.path(), false).ok());
  std::string path = HmacKeyPath(dir.path());
  WriteFile(path, "short");
  EXPECT_EQ(LoadKeys(dir.path()).status().ToString(),
            "FAILED_PRECONDITION: audit HMAC key " + path +
                " has 5 bytes, expected 32; regenerate the keys with `latchkey audit keygen "
                "--force`");
}

TEST(AuditKeys, LoadNamesTheMissingFileAndTheFix) {
  TempDir dir;
  EXPECT_EQ(LoadKeys(dir.path()).status().ToString(),
            "NOT_FOUND: audit signing key " + SigningKeyPath(dir.path()) +
                " not found; create the audit keys with `latchkey audit keygen --state-dir " +
                dir.path() + "`");
  EXPECT_EQ(LoadPublicKey(dir.Join("x.pub")).status().ToString(),
            "NOT_FOUND: audit public key " + dir.Join("x.pub") + " not found");
  WriteFile(dir.Join("bad.pub"), "bm90IGEga2V5\n");
  EXPECT_EQ(LoadPublicKey(dir.Join("bad.pub")).status().ToString(),
            "INVALID_ARGUMENT: audit public key " + dir.Join("bad.pub") +
                " is not a base64 Ed25519 public key (32 bytes)");
}

TEST(AuditKeys, ValueHmacIsHmacSha256) {
  // RFC 4231 test case 2.
  auto key = Bytes("Jefe");
  auto data = Bytes("what do ya want for nothing?");
  ASSERT_TRUE(key.ok() && data.ok());
  EXPECT_EQ(ValueHmac(*key, data->bytes()),
            "hmac-sha256:5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(AuditKeys, KeyIdAndHashesAreStable) {
  PublicKey zero{};
  EXPECT_EQ(KeyId(zero).rfind("ed25519:", 0), 0u);
  EXPECT_EQ(KeyId(zero).size(), 8u + 16u);
  EXPECT_EQ(Sha256Tagged(""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace latchkey::audit
