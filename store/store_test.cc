#include "store/store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "store/test_util.h"
#include "store/unlock_key.h"

namespace latchkey::store {
namespace {

using testing::Bytes;
using testing::RawSql;
using testing::TempDir;
using testing::View;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::UseMinPwhashLimits();
    db_ = dir_.Join("secrets.db");
    key_ = dir_.Join("unlock.key");
    SecretBuffer text;
    auto s = Store::Init(db_, KeySource::UnlockKeyFile(key_), &text);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    key_text_ = std::string(View(text));
  }

  std::unique_ptr<Store> Reopen() {
    auto s = Store::Open(db_, KeySource::UnlockKeyFile(key_));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  std::string ReadString(Store* s, const std::string& ref) {
    auto r = ParseReference(ref);
    if (!r.ok()) return "<" + r.status().ToString() + ">";
    auto v = s->Read(*r);
    if (!v.ok()) return "<" + v.status().ToString() + ">";
    return std::string(View(v->data));
  }

  static SecretBuffer Pass(std::string_view p) { return SecretBuffer::CopyOf(Bytes(p)).value(); }

  TempDir dir_;
  std::string db_, key_, key_text_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, InitWritesUnlockKeyFileOnce) {
  EXPECT_EQ(key_text_.rfind("LKSKEY-1-", 0), 0u);
  EXPECT_EQ(key_text_.size(), 9u + 44u);
  struct stat st;
  ASSERT_EQ(::stat(key_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(key_);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, key_text_);
  // A second init neither overwrites the store nor the key.
  TempDir other;
  auto again = Store::Init(db_, KeySource::UnlockKeyFile(other.Join("k")), nullptr);
  EXPECT_EQ(again.status(), AlreadyExistsError("store " + db_ + " already exists"));
  auto same_key = Store::Init(other.Join("s.db"), KeySource::UnlockKeyFile(key_), nullptr);
  EXPECT_EQ(same_key.status(), AlreadyExistsError("unlock key file " + key_ + " already exists"));
  EXPECT_FALSE(std::filesystem::exists(other.Join("s.db")));
}

// The store's directories are made with base::MakeDirs (mode 0700), so a parent that is a file
// fails with its wording.
TEST_F(StoreTest, InitUnderAFileNamesIt) {
  TempDir other;
  std::ofstream(other.Join("file")) << "x";
  auto r =
      Store::Init(other.Join("file/sub/s.db"), KeySource::UnlockKeyFile(other.Join("k")), nullptr);
  EXPECT_EQ(r.status().message(), "mkdir " + other.Join("file") + ": Not a directory");
  auto made =
      Store::Init(other.Join("a/b/s.db"), KeySource::UnlockKeyFile(other.Join("k")), nullptr);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  struct stat st;
  ASSERT_EQ(::stat(other.Join("a/b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(StoreTest, CreateReadAndInspectWithoutData) {
  auto info = store_->Create("ci-npmrc", Bytes("token=abc"), {{"team", "web"}});
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->latest_version, 1u);
  auto s = Reopen();
  EXPECT_EQ(ReadString(s.get(), "ci-npmrc"), "token=abc");
  EXPECT_EQ(ReadString(s.get(), "ci-npmrc@1"), "token=abc");
  auto in = s->Inspect({"ci-npmrc", 0});
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(in->name, "ci-npmrc");
  EXPECT_EQ(in->labels, (Labels{{"team", "web"}}));
  ASSERT_EQ(in->versions.size(), 1u);
  EXPECT_EQ(in->versions[0].size, 9u);
  EXPECT_GT(in->created_at_ms, 0);
  EXPECT_EQ(in->created_at_ms, in->updated_at_ms);
}

TEST_F(StoreTest, DataIsEncryptedAtRest) {
  ASSERT_TRUE(store_->Create("a", Bytes("PLAINTEXT-MARKER-123"), {}).ok());
  store_.reset();
  for (const std::string& f : {db_, db_ + "-wal"}) {
    std::ifstream in(f, std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(all.find("PLAINTEXT-MARKER"), std::string::npos) << f;
  }
}

TEST_F(StoreTest, ModelErrorsUseSwarmWords) {
  ASSERT_TRUE(store_->Create("a", Bytes("1"), {}).ok());
  EXPECT_EQ(store_->Create("a", Bytes("2"), {}).status(),
            AlreadyExistsError("secret a already exists"));
  EXPECT_EQ(store_->Read({"nope", 0}).status(), NotFoundError("secret nope not found"));
  EXPECT_EQ(store_->Read({"nope", 2}).status(), NotFoundError("secret nope not found"));
  EXPECT_EQ(store_->Rotate("nope", Bytes("x")).status(), NotFoundError("secret nope not found"));
  EXPECT_EQ(store_->Remove("nope"), NotFoundError("secret nope not found"));
  EXPECT_EQ(store_->Inspect({"nope", 0}).status(), NotFoundError("secret nope not found"));
  ASSERT_TRUE(store_->Rotate("a", Bytes("2")).ok());
  ASSERT_TRUE(store_->Rotate("a", Bytes("3")).ok());
  EXPECT_EQ(store_->Read({"a", 7}).status(),
            NotFoundError("secret a has no version 7 (latest is 3)"));
  EXPECT_EQ(store_->Inspect({"a", 7}).status(),
            NotFoundError("secret a has no version 7 (latest is 3)"));
  const char kBadName[] =
      "invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end "
      "character must be [a-zA-Z0-9]";
  EXPECT_EQ(store_->Create("ci/npmrc", Bytes("x"), {}).status(), InvalidArgumentError(kBadName));
  EXPECT_EQ(store_->Create(std::string(65, 'a'), Bytes("x"), {}).status(),
            InvalidArgumentError(kBadName));
  const char kBadSize[] = "secret data must be larger than 0 and less than 512000 bytes";
  EXPECT_EQ(store_->Create("b", Bytes(""), {}).status(), InvalidArgumentError(kBadSize));
  std::string big(512000, 'x');
  EXPECT_EQ(store_->Create("b", Bytes(big), {}).status(), InvalidArgumentError(kBadSize));
  EXPECT_EQ(store_->Rotate("a", Bytes(big)).status(), InvalidArgumentError(kBadSize));
  big.pop_back();
  EXPECT_TRUE(store_->Create("b", Bytes(big), {}).ok());
  EXPECT_EQ(ReadString(store_.get(), "b").size(), 511999u);
  // Nothing was lost along the way.
  EXPECT_EQ(ReadString(store_.get(), "a"), "3");
}

TEST_F(StoreTest, RotateAddsVersionsAndKeepsOldOnes) {
  ASSERT_TRUE(store_->Create("a", Bytes("v1"), {}).ok());
  EXPECT_EQ(*store_->Rotate("a", Bytes("v2")), 2u);
  EXPECT_EQ(*store_->Rotate("a", Bytes("v3")), 3u);
  auto s = Reopen();
  EXPECT_EQ(ReadString(s.get(), "a"), "v3");
  EXPECT_EQ(ReadString(s.get(), "a@1"), "v1");
  EXPECT_EQ(ReadString(s.get(), "a@2"), "v2");
  auto v = s->Read({"a", 0});
  EXPECT_EQ(v->version, 3u);
  auto in = s->Inspect({"a", 0});
  ASSERT_EQ(in->versions.size(), 3u);
  EXPECT_EQ(in->latest_version, 3u);
  EXPECT_GE(in->updated_at_ms, in->created_at_ms);
  auto one = s->Inspect({"a", 2});
  ASSERT_EQ(one->versions.size(), 1u);
  EXPECT_EQ(one->versions[0].version, 2u);
}

TEST_F(StoreTest, RemoveDeletesEveryVersion) {
  ASSERT_TRUE(store_->Create("a", Bytes("v1"), {{"k", "v"}}).ok());
  ASSERT_TRUE(store_->Rotate("a", Bytes("v2")).ok());
  ASSERT_TRUE(store_->Remove("a").ok());
  EXPECT_EQ(store_->Read({"a", 1}).status(), NotFoundError("secret a not found"));
  ASSERT_TRUE(store_->Create("a", Bytes("new"), {}).ok());
  EXPECT_EQ(ReadString(store_.get(), "a@1"), "new");
  EXPECT_TRUE(store_->Inspect({"a", 0})->labels.empty());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM versions", -1, &q, nullptr);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(q, 0), 1);
  sqlite3_finalize(q);
  sqlite3_close(db);
}

TEST_F(StoreTest, ListFiltersAndNeverReturnsData) {
  ASSERT_TRUE(store_->Create("web-npmrc", Bytes("1"), {{"team", "web"}, {"env", "ci"}}).ok());
  ASSERT_TRUE(store_->Create("web-pip", Bytes("2"), {{"team", "web"}}).ok());
  ASSERT_TRUE(store_->Create("db-pass", Bytes("3"), {{"team", "db"}, {"env", "ci"}}).ok());
  auto names = [&](const ListFilter& f) {
    std::string out;
    auto list = store_->List(f);
    for (const SecretInfo& i : *list) out += i.name + ",";
    return out;
  };
  EXPECT_EQ(names({}), "db-pass,web-npmrc,web-pip,");
  EXPECT_EQ(names({{"web-"}, {}}), "web-npmrc,web-pip,");
  EXPECT_EQ(names({{"web-n", "db"}, {}}), "db-pass,web-npmrc,");
  EXPECT_EQ(names({{}, {{"env", std::nullopt}}}), "db-pass,web-npmrc,");
  EXPECT_EQ(names({{}, {{"team", "web"}, {"env", "ci"}}}), "web-npmrc,");
  EXPECT_EQ(names({{"db"}, {{"team", "web"}}}), "");
  auto all = store_->List({});
  EXPECT_EQ((*all)[1].labels, (Labels{{"env", "ci"}, {"team", "web"}}));
  EXPECT_EQ((*all)[1].latest_version, 1u);
}

TEST_F(StoreTest, LabelParsing) {
  Labels l;
  EXPECT_TRUE(ParseLabel("a=b=c", &l).ok());
  EXPECT_TRUE(ParseLabel("empty=", &l).ok());
  EXPECT_EQ(l, (Labels{{"a", "b=c"}, {"empty", ""}}));
  EXPECT_EQ(ParseLabel("novalue", &l),
            InvalidArgumentError("invalid label \"novalue\": expected key=value with a non-empty "
                                 "key"));
  EXPECT_EQ(ParseLabel("=x", &l).message(),
            "invalid label \"=x\": expected key=value with a non-empty key");
}

TEST_F(StoreTest, CiphertextSwappedBetweenRowsFailsToDecrypt) {
  ASSERT_TRUE(store_->Create("a", Bytes("alpha"), {}).ok());
  ASSERT_TRUE(store_->Create("b", Bytes("bravo"), {}).ok());
  ASSERT_TRUE(store_->Rotate("a", Bytes("alpha2")).ok());
  store_.reset();
  // Move b's version 1 ciphertext onto a's version 1 row.
  ASSERT_EQ(RawSql(db_,
                   "UPDATE versions SET sealed = (SELECT v.sealed FROM versions v JOIN secrets s "
                   "ON s.id = v.secret_id WHERE s.name = 'b' AND v.version = 1) WHERE version = "
                   "1 AND secret_id = (SELECT id FROM secrets WHERE name = 'a')"),
            SQLITE_OK);
  auto s = Reopen();
  auto r = s->Read({"a", 1});
  EXPECT_EQ(r.status(), DataLossError("store " + db_ +
                                      " is corrupt: secret a version 1 does not decrypt (the row "
                                      "was modified or moved from another secret or version)"));
  EXPECT_EQ(ReadString(s.get(), "b"), "bravo");
  EXPECT_EQ(ReadString(s.get(), "a@2"), "alpha2");
  s.reset();
  // Move a's version 2 onto version 1 of the same secret: the version is bound too.
  ASSERT_EQ(RawSql(db_,
                   "UPDATE versions SET sealed = (SELECT sealed FROM versions WHERE version = 2) "
                   "WHERE version = 1 AND secret_id = (SELECT id FROM secrets WHERE name = 'a')"),
            SQLITE_OK);
  s = Reopen();
  EXPECT_EQ(s->Read({"a", 1}).status().code(), StatusCode::kDataLoss);
  s.reset();
  // Renaming a secret in SQL does not carry its data along.
  ASSERT_EQ(RawSql(db_, "UPDATE secrets SET name = 'c' WHERE name = 'b'"), SQLITE_OK);
  s = Reopen();
  EXPECT_EQ(s->Read({"c", 0}).status().code(), StatusCode::kDataLoss);
}

TEST_F(StoreTest, CiphertextFromAnotherStoreFailsToDecrypt) {
  ASSERT_TRUE(store_->Create("a", Bytes("alpha"), {}).ok());
  store_.reset();
  std::string other_db = dir_.Join("other.db");
  std::filesystem::copy_file(db_, other_db);
  // Same keys, different store id: every row is bound to its store.
  ASSERT_EQ(RawSql(other_db, "UPDATE meta SET store_id = randomblob(16)"), SQLITE_OK);
  auto s = Store::Open(other_db, KeySource::UnlockKeyFile(key_));
  EXPECT_EQ(s.status(),
            UnauthenticatedError("wrong unlock key or passphrase for store " + other_db));
}

TEST_F(StoreTest, WrongUnlockKeyIsDetectedByKeyCheckValue) {
  // An empty store: there is no secret whose decryption could fail.
  TempDir other;
  ASSERT_TRUE(
      Store::Init(other.Join("s.db"), KeySource::UnlockKeyFile(other.Join("k")), nullptr).ok());
  auto s = Store::Open(db_, KeySource::UnlockKeyFile(other.Join("k")));
  EXPECT_EQ(s.status(), UnauthenticatedError("wrong unlock key or passphrase for store " + db_));
  // A damaged wrapped data key with the right KEK is corruption, not a wrong key.
  store_.reset();
  ASSERT_EQ(RawSql(db_, "UPDATE meta SET dek_sealed = randomblob(72)"), SQLITE_OK);
  s = Store::Open(db_, KeySource::UnlockKeyFile(key_));
  EXPECT_EQ(s.status(), DataLossError("store " + db_ +
                                      " is corrupt: the sealed data key does not decrypt under "
                                      "the correct key-encryption key"));
}

TEST_F(StoreTest, UnlockKeyFileErrors) {
  std::string missing = dir_.Join("missing.key");
  EXPECT_EQ(Store::Open(db_, KeySource::UnlockKeyFile(missing)).status(),
            NotFoundError("unlock key file " + missing + " does not exist"));
  ASSERT_EQ(::chmod(key_.c_str(), 0644), 0);
  EXPECT_EQ(Store::Open(db_, KeySource::UnlockKeyFile(key_)).status(),
            PermissionDeniedError("unlock key file " + key_ +
                                  " is accessible by group or others (mode 0644); run chmod 600 " +
                                  key_));
  std::string bad = dir_.Join("bad.key");
  {
    std::ofstream out(bad);
    out << "SWMKEY-1-abc\n";
  }
  ::chmod(bad.c_str(), 0600);
  EXPECT_EQ(Store::Open(db_, KeySource::UnlockKeyFile(bad)).status(),
            InvalidArgumentError("unlock key file " + bad +
                                 " does not hold a latchkey store key (expected one line "
                                 "LKSKEY-1-<base64>)"));
}

TEST_F(StoreTest, MissingAndMismatchedStores) {
  std::string missing = dir_.Join("none.db");
  EXPECT_EQ(Store::Open(missing, KeySource::UnlockKeyFile(key_)).status(),
            FailedPreconditionError("store " + missing +
                                    " does not exist; create it with `latchkey store init`"));
  EXPECT_EQ(Store::Open(db_, KeySource::Passphrase(Pass("pw"))).status(),
            FailedPreconditionError("store " + db_ +
                                    " is locked with an unlock key file, not a passphrase"));
  EXPECT_EQ(*Store::ProbeKeyKind(db_), KeyKind::kUnlockKey);
}

TEST_F(StoreTest, PassphraseStoreRecordsItsLimits) {
  std::string db = dir_.Join("pw.db");
  ASSERT_TRUE(Store::Init(db, KeySource::Passphrase(Pass("correct horse")), nullptr).ok());
  ::unsetenv("LATCHKEY_STORE_PWHASH_LIMITS");  // opening uses the recorded (MIN) limits
  auto s = Store::Open(db, KeySource::Passphrase(Pass("correct horse")));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->GetStatus()->pwhash.memlimit, 8192u);
  EXPECT_EQ((*s)->GetStatus()->key_kind, KeyKind::kPassphrase);
  EXPECT_EQ(*Store::ProbeKeyKind(db), KeyKind::kPassphrase);
  ASSERT_TRUE((*s)->Create("x", Bytes("y"), {}).ok());
  EXPECT_EQ(Store::Open(db, KeySource::Passphrase(Pass("wrong horse"))).status(),
            UnauthenticatedError("wrong unlock key or passphrase for store " + db));
  EXPECT_EQ(Store::Open(db, KeySource::UnlockKeyFile(key_)).status(),
            FailedPreconditionError("store " + db +
                                    " is locked with a passphrase, not an unlock key file"));
  testing::UseMinPwhashLimits();
}

TEST_F(StoreTest, BadPwhashOverrideIsAnError) {
  ::setenv("LATCHKEY_STORE_PWHASH_LIMITS", "tiny", 1);
  auto s = Store::Init(dir_.Join("pw.db"), KeySource::Passphrase(Pass("p")), nullptr);
  EXPECT_EQ(s.status(), InvalidArgumentError("LATCHKEY_STORE_PWHASH_LIMITS=tiny is not one of "
                                             "min, interactive, moderate, sensitive"));
  testing::UseMinPwhashLimits();
}

TEST_F(StoreTest, RekeyKekReplacesUnlockKeyInPlace) {
  ASSERT_TRUE(store_->Create("a", Bytes("v1"), {}).ok());
  ASSERT_TRUE(store_->Rotate("a", Bytes("v2")).ok());
  std::string old_key = dir_.Join("old.key");
  std::filesystem::copy_file(key_, old_key);
  SecretBuffer text;
  ASSERT_TRUE(store_->RekeyKek(KeySource::UnlockKeyFile(key_), &text).ok());
  EXPECT_NE(std::string(View(text)), key_text_);
  EXPECT_FALSE(std::filesystem::exists(key_ + ".new"));
  EXPECT_EQ(Store::Open(db_, KeySource::UnlockKeyFile(old_key)).status(),
            UnauthenticatedError("wrong unlock key or passphrase for store " + db_));
  auto s = Reopen();
  EXPECT_EQ(ReadString(s.get(), "a@1"), "v1");
  EXPECT_EQ(ReadString(s.get(), "a"), "v2");
  // The store keeps working after a rekey in the same process.
  ASSERT_TRUE(store_->Rotate("a", Bytes("v3")).ok());
  EXPECT_EQ(ReadString(Reopen().get(), "a"), "v3");
}

TEST_F(StoreTest, RekeyKekBetweenPassphraseAndUnlockKey) {
  ASSERT_TRUE(store_->Create("a", Bytes("v1"), {}).ok());
  ASSERT_TRUE(store_->RekeyKek(KeySource::Passphrase(Pass("pw1")), nullptr).ok());
  EXPECT_EQ(Store::Open(db_, KeySource::UnlockKeyFile(key_)).status().code(),
            StatusCode::kFailedPrecondition);
  auto s = Store::Open(db_, KeySource::Passphrase(Pass("pw1")));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(ReadString(s->get(), "a"), "v1");
  ASSERT_TRUE((*s)->RekeyKek(KeySource::Passphrase(Pass("pw2")), nullptr).ok());
  EXPECT_EQ(Store::Open(db_, KeySource::Passphrase(Pass("pw1"))).status().code(),
            StatusCode::kUnauthenticated);
  std::string key2 = dir_.Join("keys/new.key");
  SecretBuffer text;
  ASSERT_TRUE((*s)->RekeyKek(KeySource::UnlockKeyFile(key2), &text).ok());
  auto t = Store::Open(db_, KeySource::UnlockKeyFile(key2));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(ReadString(t->get(), "a"), "v1");
  // A new key file never overwrites an unrelated existing one.
  EXPECT_EQ((*t)->RekeyKek(KeySource::UnlockKeyFile(key_), nullptr),
            AlreadyExistsError("unlock key file " + key_ + " already exists"));
  EXPECT_EQ(ReadString(Store::Open(db_, KeySource::UnlockKeyFile(key2))->get(), "a"), "v1");
}

TEST_F(StoreTest, InterruptedUnlockKeyRekeyRollsForward) {
  ASSERT_TRUE(store_->Create("a", Bytes("v1"), {}).ok());
  std::string old_key = dir_.Join("old.key");
  std::filesystem::copy_file(key_, old_key);
  ASSERT_TRUE(store_->RekeyKek(KeySource::UnlockKeyFile(key_), nullptr).ok());
  // Recreate the state of a crash after the commit, before the rename: the new key is still in
  // <file>.new and <file> holds the old key.
  std::filesystem::rename(key_, key_ + ".new");
  std::filesystem::copy_file(old_key, key_);
  auto s = Reopen();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(ReadString(s.get(), "a"), "v1");
  EXPECT_FALSE(std::filesystem::exists(key_ + ".new"));
  EXPECT_TRUE(Store::Open(db_, KeySource::UnlockKeyFile(key_)).ok());
}

TEST_F(StoreTest, RekeyDataReencryptsEveryVersion) {
  ASSERT_TRUE(store_->Create("a", Bytes("v1"), {}).ok());
  ASSERT_TRUE(store_->Rotate("a", Bytes("v2")).ok());
  ASSERT_TRUE(store_->Create("b", Bytes("b1"), {}).ok());
  EXPECT_EQ(store_->GetStatus()->data_key_id, 1);
  auto other = Reopen();  // a second handle, e.g. another process, holding the old data key
  ASSERT_TRUE(store_->RekeyData().ok());
  EXPECT_EQ(store_->GetStatus()->data_key_id, 2);
  EXPECT_EQ(ReadString(store_.get(), "a@1"), "v1");
  EXPECT_EQ(ReadString(other.get(), "a@2"), "v2");
  EXPECT_EQ(ReadString(other.get(), "b"), "b1");
  ASSERT_TRUE(other->Rotate("b", Bytes("b2")).ok());  // sealed under the new key
  ASSERT_TRUE(store_->RekeyData().ok());
  auto s = Reopen();
  EXPECT_EQ(ReadString(s.get(), "b@2"), "b2");
  EXPECT_EQ(ReadString(s.get(), "a@1"), "v1");
  EXPECT_EQ(s->GetStatus()->data_key_id, 3);
  EXPECT_EQ(s->GetStatus()->versions, 4u);
  EXPECT_TRUE(other->CheckHealth().ok());
}

TEST_F(StoreTest, RekeyByAnotherHandleIsReported) {
  auto other = Reopen();
  ASSERT_TRUE(store_->RekeyKek(KeySource::Passphrase(Pass("pw")), nullptr).ok());
  EXPECT_EQ(other->CheckHealth(),
            UnauthenticatedError("wrong unlock key or passphrase for store " + db_ +
                                 " (the store was rekeyed since it was opened)"));
  EXPECT_EQ(other->Create("a", Bytes("x"), {}).status(),
            FailedPreconditionError("store " + db_ +
                                    " was rekeyed by another process; open it again with the new "
                                    "unlock key or passphrase"));
  EXPECT_TRUE(store_->CheckHealth().ok());
}

TEST_F(StoreTest, CreateManyIsAllOrNothing) {
  std::vector<NewSecret> batch = {{"x1", Bytes("1"), {}}, {"x2", Bytes("2"), {{"k", "v"}}}};
  ASSERT_TRUE(store_->CreateMany(batch).ok());
  EXPECT_EQ(ReadString(store_.get(), "x2"), "2");
  std::vector<NewSecret> dup = {{"x3", Bytes("3"), {}}, {"x1", Bytes("again"), {}}};
  EXPECT_EQ(store_->CreateMany(dup), AlreadyExistsError("secret x1 already exists"));
  EXPECT_EQ(store_->Read({"x3", 0}).status(), NotFoundError("secret x3 not found"));
  EXPECT_EQ(ReadString(store_.get(), "x1"), "1");
}

TEST_F(StoreTest, ReadIntoCallerMemory) {
  ASSERT_TRUE(store_->Create("a", Bytes("hello"), {}).ok());
  SecretBuffer mem;
  uint8_t* data = nullptr;
  size_t len = 0;
  auto v = store_->ReadInto(
      {"a", 0},
      [&](size_t n) {
        mem = SecretBuffer::Allocate(n).value();
        return mem.mutable_data();
      },
      &data, &len);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 1u);
  EXPECT_EQ(data, mem.data());
  EXPECT_EQ(std::string(reinterpret_cast<char*>(data), len), "hello");
  auto oom = store_->ReadInto(
      {"a", 0}, [](size_t) { return nullptr; }, &data, &len);
  EXPECT_EQ(oom.status(),
            ResourceExhaustedError("out of secure memory reading secret a version 1 (5 bytes)"));
}

TEST_F(StoreTest, CorruptFilesAreReportedAsCorrupt) {
  store_.reset();
  std::string garbage = dir_.Join("garbage.db");
  {
    std::ofstream out(garbage, std::ios::binary);
    out << std::string(8192, 'G');
  }
  EXPECT_EQ(Store::Open(garbage, KeySource::UnlockKeyFile(key_)).status(),
            DataLossError("store " + garbage + " is corrupt: file is not a database"));
  std::string empty = dir_.Join("empty.db");
  { std::ofstream out(empty); }
  EXPECT_EQ(Store::Open(empty, KeySource::UnlockKeyFile(key_)).status(),
            DataLossError("store " + empty + " is corrupt: the file is empty"));
}

TEST_F(StoreTest, TruncatedFileIsCorruptNotNotFound) {
  std::vector<std::string> blobs;
  for (int i = 0; i < 300; ++i) {
    std::string data(2000, static_cast<char>('a' + i % 26));
    ASSERT_TRUE(store_->Create("s" + std::to_string(i), Bytes(data), {}).ok());
  }
  store_.reset();  // the last connection checkpoints the WAL into the main file
  ASSERT_FALSE(std::filesystem::exists(db_ + "-wal"));
  auto size = std::filesystem::file_size(db_);
  std::filesystem::resize_file(db_, size / 2);
  auto s = Store::Open(db_, KeySource::UnlockKeyFile(key_));
  if (!s.ok()) {
    EXPECT_EQ(s.status().code(), StatusCode::kDataLoss) << s.status().ToString();
    return;
  }
  int corrupt = 0;
  for (int i = 0; i < 300; ++i) {
    auto r = (*s)->Read({"s" + std::to_string(i), 0});
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
      EXPECT_EQ(r.status().message().rfind("store " + db_ + " is corrupt: ", 0), 0u);
      ++corrupt;
    }
  }
  EXPECT_GT(corrupt, 0);
  auto list = (*s)->List({});
  EXPECT_EQ(list.status().code(), StatusCode::kDataLoss);
}

TEST_F(StoreTest, NewerSchemaIsRefused) {
  store_.reset();
  ASSERT_EQ(RawSql(db_, "PRAGMA user_version = 99"), SQLITE_OK);
  EXPECT_EQ(Store::Open(db_, KeySource::UnlockKeyFile(key_)).status(),
            FailedPreconditionError("store " + db_ +
                                    " has schema version 99, newer than this latchkey supports "
                                    "(1); upgrade latchkey"));
}

TEST_F(StoreTest, StatusAndHealth) {
  ASSERT_TRUE(store_->Create("a", Bytes("1"), {}).ok());
  ASSERT_TRUE(store_->Rotate("a", Bytes("2")).ok());
  auto st = store_->GetStatus();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->path, db_);
  EXPECT_EQ(st->store_id.size(), 32u);
  EXPECT_EQ(st->schema_version, 1);
  EXPECT_EQ(st->secrets, 1u);
  EXPECT_EQ(st->versions, 2u);
  EXPECT_TRUE(store_->CheckHealth().ok());
  std::filesystem::rename(db_, db_ + ".moved");
  EXPECT_EQ(store_->CheckHealth(), UnavailableError("store " + db_ + " no longer exists"));
}

}  // namespace
}  // namespace latchkey::store
