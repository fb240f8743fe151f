#include "broker/audit/search.h"

#include <gtest/gtest.h>

#include "broker/audit/audit_testutil.h"

namespace latchkey::audit {
namespace {

using testing::NewKeys;
using testing::QuickOptions;
using testing::SampleClose;
using testing::SampleFetch;
using testing::SampleOpen;
using testing::TempDir;

TimePoint At(const char* text) { return *ParseRfc3339(text); }

class SearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = NewKeys();
    path_ = dir_.Join("audit.log");
    auto opts = QuickOptions(path_);
    opts.clock = [this] { return now_; };
    auto log = AuditLog::Open(opts, keys_);
    ASSERT_TRUE(log.ok());
    auto value = SecretBuffer::CopyOf(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("tok-123456"), 10));
    ASSERT_TRUE(value.ok());
    hmac_ = ValueHmac(keys_->hmac_key, value->bytes());
    now_ = At("2026-01-01T10:00:00.000Z");
    ASSERT_TRUE((*log)->Append(SampleOpen("s1")).ok());
    ASSERT_TRUE(
        (*log)->AppendFetch(SampleFetch("s1", "npmrc", FetchOutcome::kGranted), &*value).ok());
    now_ = At("2026-01-02T10:00:00.000Z");
    ASSERT_TRUE((*log)->Append(SampleFetch("s1", "pip", FetchOutcome::kDenied)).ok());
    ASSERT_TRUE((*log)->Append(SampleClose("s1")).ok());
    now_ = At("2026-01-03T10:00:00.000Z");
    ASSERT_TRUE((*log)->Append(SampleOpen("s2")).ok());
    ASSERT_TRUE(
        (*log)->AppendFetch(SampleFetch("s2", "npmrc", FetchOutcome::kGranted), &*value).ok());
    auto files = LoadLogSet({path_});
    ASSERT_TRUE(files.ok());
    files_ = std::move(files).value();
  }

  size_t Count(const SearchFilter& f) { return Search(files_, f).lines.size(); }

  TempDir dir_;
  std::shared_ptr<const AuditKeys> keys_;
  std::string path_;
  std::string hmac_;
  TimePoint now_;
  std::vector<LogFile> files_;
};

TEST_F(SearchTest, FiltersCombineWithAnd) {
  SearchFilter f;
  EXPECT_EQ(Count(f), 6u);
  f.hmac = hmac_;
  EXPECT_EQ(Count(f), 2u);
  f.session = "s2";
  EXPECT_EQ(Count(f), 1u);
  f = {};
  f.secret = "npmrc";
  EXPECT_EQ(Count(f), 2u);
  f.outcome = "denied";
  EXPECT_EQ(Count(f), 0u);
  f.secret = "pip";
  EXPECT_EQ(Count(f), 1u);
  f = {};
  f.event = "session.open";
  EXPECT_EQ(Count(f), 2u);
}

// A structured value's grant records the HMAC of each credential part: searching for the HMAC
// of the token alone (what `audit hash` prints for it) finds the grant of the whole .npmrc.
TEST(SearchParts, FindsTheGrantOfAValueByTheHmacOfOneOfItsParts) {
  TempDir dir;
  auto keys = NewKeys();
  std::string path = dir.Join("audit.log");
  auto log = AuditLog::Open(QuickOptions(path), keys);
  ASSERT_TRUE(log.ok());
  auto bytes = [](std::string_view s) {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  auto npmrc = SecretBuffer::CopyOf(bytes("//registry.example/:_authToken=npm_s3cr3tT0ken\n"));
  ASSERT_TRUE(npmrc.ok());
  ASSERT_TRUE((*log)->Append(SampleOpen("s1")).ok());
  ASSERT_TRUE(
      (*log)->AppendFetch(SampleFetch("s1", "npmrc", FetchOutcome::kGranted), &*npmrc).ok());
  log->reset();
  auto files = LoadLogSet({path});
  ASSERT_TRUE(files.ok());
  SearchFilter f;
  f.hmac = ValueHmac(keys->hmac_key, bytes("npm_s3cr3tT0ken"));
  SearchResult r = Search(*files, f);
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_NE(r.lines[0].find("\"part_hmacs\":[\"" + f.hmac + "\"]"), std::string::npos)
      << r.lines[0];
  f.hmac = ValueHmac(keys->hmac_key, bytes("npm_s3cr3tT0ke"));
  EXPECT_TRUE(Search(*files, f).lines.empty());
}

TEST_F(SearchTest, HmacPrefixMatches) {
  SearchFilter f;
  f.hmac = hmac_.substr(0, 12 + 16);
  EXPECT_EQ(Count(f), 2u);
  f.hmac = "hmac-sha256:0000000000000000";
  EXPECT_EQ(Count(f), 0u);
}

TEST_F(SearchTest, TimeWindow) {
  SearchFilter f;
  f.since = At("2026-01-02T00:00:00Z");
  EXPECT_EQ(Count(f), 4u);
  f.until = At("2026-01-02T23:59:59Z");
  EXPECT_EQ(Count(f), 2u);
}

TEST_F(SearchTest, TableShowsTheColumnsAndShortensTheHmac) {
  SearchFilter f;
  f.hmac = hmac_;
  f.session = "s1";
  std::string table = FormatTable(Search(files_, f).lines);
  std::string short_hmac = hmac_.substr(0, 12 + 16) + "...";
  EXPECT_EQ(table,
            "TIME                      EVENT         OUTCOME  SESSION  SECRET  STEP             "
            "PROVIDER  RULE       HMAC\n"
            "2026-01-01T10:00:00.000Z  secret.fetch  granted  s1       npmrc   build #2 line 7  "
            "file      allow-npm  " +
                short_hmac + "\n");
  // Records without a step (session events) show "-"; unknown parts are left out.
  SearchFilter open;
  open.event = "session.open";
  open.session = "s1";
  EXPECT_EQ(FormatTable(Search(files_, open).lines),
            "TIME                      EVENT         OUTCOME  SESSION  SECRET  STEP  PROVIDER  "
            "RULE  HMAC\n"
            "2026-01-01T10:00:00.000Z  session.open  -        s1       -       -     -         "
            "-     -\n");
  EXPECT_EQ(FormatTable(
                {R"({"time":"t","event":"secret.fetch","step":{"stage":"","index":-1,"line":3}})"}),
            "TIME  EVENT         OUTCOME  SESSION  SECRET  STEP    PROVIDER  RULE  HMAC\n"
            "t     secret.fetch  -        -        -       line 3  -         -     -\n");
  // A registry credential request shows its scope and repository, not the (empty) step.
  EXPECT_EQ(
      FormatTable(
          {R"({"time":"t","event":"secret.fetch","secret":"registry:127.0.0.1:5000",)"
           R"("step":{"stage":"","index":0,"line":0},)"
           R"("registry":{"host":"127.0.0.1:5000","repository":"demo/app","scope":"push"}})"}),
      "TIME  EVENT         OUTCOME  SESSION  SECRET                   STEP           PROVIDER  "
      "RULE  HMAC\n"
      "t     secret.fetch  -        -        registry:127.0.0.1:5000  push demo/app  -         "
      "-     -\n");
}

// Issue 11 item 4: `audit search --hmac` with a hash made with another HMAC key printed nothing
// and exited 0 (a false "never handed out"); the log now names its HMAC key and the search
// refuses a key that is not it.
TEST(SearchHmacKey, ALogNamesItsHmacKeyAndAnotherKeyIsRefused) {
  TempDir dir;
  auto keys = NewKeys();
  std::string path = dir.Join("audit.log");
  auto log = AuditLog::Open(QuickOptions(path), keys);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append(SampleOpen("s1")).ok());
  ASSERT_TRUE((*log)->Checkpoint("explicit").ok());
  auto files = LoadLogSet({path});
  ASSERT_TRUE(files.ok());
  std::string id = HmacKeyId(keys->hmac_key);
  EXPECT_EQ(HmacKeyIds(*files), std::vector<std::string>{id});
  EXPECT_TRUE(CheckHmacKey(*files, id, "/k/right.key").ok());
  auto other = NewKeys();
  std::string other_id = HmacKeyId(other->hmac_key);
  ASSERT_NE(other_id, id);
  EXPECT_EQ(CheckHmacKey(*files, other_id, "/k/other.key"),
            FailedPreconditionError(
                "HMAC key /k/other.key (" + other_id + ") is not the key the audit log " + path +
                " was written with (" + id +
                "): no value hashed with it can match; hash the value with the log's key "
                "(--hmac-key, or the --config / --state-dir of the builds that wrote the log)"));
  // A log written before checkpoints named the key cannot be checked: no error.
  EXPECT_TRUE(CheckHmacKey({LogFile{"old.log", "{}\n"}}, other_id, "/k/other.key").ok());
}

TEST(SearchCacheHit, FoundBySecretAndShownWithItsSecrets) {
  std::string line =
      R"({"v":1,"log":"l","seq":3,"time":"2026-01-01T10:00:00.000Z","event":"cache.hit",)"
      R"("session":"s1","cache_key":"k","secrets":[{"secret":"tok","rule":"team-a",)"
      R"("provider":"file","reference":"/t"},{"secret":"npmrc","rule":"declared-source",)"
      R"("provider":"file","reference":"/n"}],"step":{},"requester":"uid=0","prev":"x"})";
  std::vector<LogFile> files{{"a.log", line + "\n"}};
  SearchFilter f;
  f.secret = "npmrc";
  EXPECT_EQ(Search(files, f).lines.size(), 1u);
  f.secret = "other";
  EXPECT_EQ(Search(files, f).lines.size(), 0u);
  std::string table = FormatTable({line});
  EXPECT_NE(
      table.find("cache.hit  -        s1       tok,npmrc  -     file,file  team-a,declared-source"),
      std::string::npos)
      << table;
}

TEST(SearchSsh, FindsAnSshForwardBySshIdAndOutcomeAndShowsItsAgent) {
  TempDir dir;
  auto keys = NewKeys();
  std::string path = dir.Join("audit.log");
  {
    auto log = AuditLog::Open(QuickOptions(path), keys);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->Append(SampleOpen("s1")).ok());
    ASSERT_TRUE((*log)->Append(testing::SampleSsh("s1", SshOutcome::kGranted)).ok());
    ASSERT_TRUE((*log)->Append(SampleFetch("s1", "default", FetchOutcome::kDenied)).ok());
  }
  auto files = LoadLogSet({path});
  ASSERT_TRUE(files.ok());
  SearchFilter f;
  f.secret = "ssh:default";
  auto found = Search(*files, f);
  ASSERT_EQ(found.lines.size(), 1u);
  EXPECT_NE(found.lines[0].find("\"event\":\"ssh.forward\""), std::string::npos);
  f.secret = "default";  // the secret of that name, not the agent
  EXPECT_EQ(Search(*files, f).lines.size(), 1u);
  f = {};
  f.outcome = "unusable";
  EXPECT_TRUE(ValidateFilter(f).ok());
  EXPECT_EQ(Search(*files, f).lines.size(), 0u);
  std::string table = FormatTable(found.lines);
  EXPECT_NE(table.find("ssh.forward  granted  s1       ssh:default  build #3 line 9  "
                       "/run/user/1000/agent.sock"),
            std::string::npos)
      << table;
}

TEST(SearchFilter, RejectsBadValues) {
  SearchFilter f;
  f.outcome = "maybe";
  EXPECT_EQ(ValidateFilter(f).ToString(),
            "INVALID_ARGUMENT: invalid --outcome \"maybe\": expected granted, denied, not_found, "
            "error or unusable");
  f = {};
  f.hmac = "5bdcc146";
  EXPECT_EQ(ValidateFilter(f).ToString(),
            "INVALID_ARGUMENT: invalid --hmac \"5bdcc146\": expected hmac-sha256:<hex> (at least "
            "16 hex digits), as printed by `latchkey audit hash`");
}

TEST(AuditTime, FormatsAndParsesRfc3339) {
  TimePoint t = At("2026-11-27T14:46:19.123Z");
  EXPECT_EQ(FormatRfc3339Ms(t), "2026-11-27T14:46:19.123Z");
  EXPECT_EQ(FormatRfc3339Ms(At("2026-11-27T16:46:19.123+02:00")), "2026-11-27T14:46:19.123Z");
  EXPECT_EQ(FormatRfc3339Ms(At("1970-01-01T00:00:00Z")), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(ParseRfc3339("2026-13-01T00:00:00Z").status().ToString(),
            "INVALID_ARGUMENT: invalid time \"2026-13-01T00:00:00Z\": expected RFC 3339 "
            "(2026-01-02T15:04:05Z)");
}

TEST(AuditTime, ParsesDurationsBeforeNow) {
  TimePoint now = At("2026-01-02T00:00:00Z");
  EXPECT_EQ(FormatRfc3339Ms(*ParseTimeOrDuration("24h", now)), "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339Ms(*ParseTimeOrDuration("30m", now)), "2026-01-01T23:30:00.000Z");
  EXPECT_EQ(FormatRfc3339Ms(*ParseTimeOrDuration("7d", now)), "2025-12-26T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339Ms(*ParseTimeOrDuration("90s", now)), "2026-01-01T23:58:30.000Z");
  EXPECT_EQ(ParseTimeOrDuration("yesterday", now).status().ToString(),
            "INVALID_ARGUMENT: invalid time \"yesterday\": expected RFC 3339 "
            "(2026-01-02T15:04:05Z) or a duration like 24h, 30m, 90s or 7d");
}

TEST(AuditPaths, DerivesFilesFromTheLogPath) {
  EXPECT_EQ(HeadPathFor("/x/audit.log"), "/x/audit.head");
  EXPECT_EQ(HeadPathFor("/x/audit"), "/x/audit.head");
  EXPECT_EQ(RotatedPath("/x/audit.log", 3), "/x/audit.log.3");
  EXPECT_EQ(DefaultLogPath("/var/lib/latchkey"), "/var/lib/latchkey/audit/audit.log");
  EXPECT_EQ(SigningKeyPath("/s"), "/s/audit-signing.key");
  EXPECT_EQ(PublicKeyPath("/s"), "/s/audit-signing.pub");
  EXPECT_EQ(HmacKeyPath("/s"), "/s/audit-hmac.key");
}

}  // namespace
}  // namespace latchkey::audit
