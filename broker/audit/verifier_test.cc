#include "broker/audit/verifier.h"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "broker/audit/audit_testutil.h"
#include "broker/audit/chain.h"

namespace latchkey::audit {
namespace {

using testing::JoinLines;
using testing::Lines;
using testing::NewKeys;
using testing::QuickOptions;
using testing::ReadFile;
using testing::SampleClose;
using testing::SampleFetch;
using testing::SampleOpen;
using testing::TempDir;
using testing::VerifyPath;
using testing::WriteFile;

// A log of two sessions (9 lines):
//  1 open s1, 2 fetch, 3 fetch, 4 close s1, 5 checkpoint, 6 open s2, 7 fetch, 8 close s2,
//  9 checkpoint.
class VerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = NewKeys();
    path_ = dir_.Join("audit.log");
    auto log = AuditLog::Open(QuickOptions(path_), keys_);
    ASSERT_TRUE(log.ok());
    auto& l = **log;
    ASSERT_TRUE(l.Append(SampleOpen("s1")).ok());
    ASSERT_TRUE(l.Append(SampleFetch("s1", "npmrc", FetchOutcome::kDenied)).ok());
    ASSERT_TRUE(l.Append(SampleFetch("s1", "pip", FetchOutcome::kNotFound)).ok());
    ASSERT_TRUE(l.Append(SampleClose("s1")).ok());
    ASSERT_TRUE(l.Checkpoint("session.close").ok());
    ASSERT_TRUE(l.Append(SampleOpen("s2")).ok());
    ASSERT_TRUE(l.Append(SampleFetch("s2", "npmrc", FetchOutcome::kError)).ok());
    ASSERT_TRUE(l.Append(SampleClose("s2")).ok());
    ASSERT_TRUE(l.Checkpoint("session.close").ok());
    lines_ = Lines(ReadFile(path_));
    ASSERT_EQ(lines_.size(), 9u);
  }

  VerifyReport Verify(bool use_head = true, bool strict = false) {
    return VerifyPath(path_, keys_->public_key, use_head, strict);
  }
  void Rewrite(const std::vector<std::string>& lines) { WriteFile(path_, JoinLines(lines)); }
  std::string At(int line) { return path_ + ":" + std::to_string(line); }

  // Re-signs the checkpoint on line `index` (0-based) with `keys`, keeping everything else.
  std::string Resign(size_t index, const AuditKeys& keys) {
    auto j = nlohmann::ordered_json::parse(lines_[index]);
    j["key_id"] = keys.key_id;
    j["sig"] = SignBase64(
        keys, CheckpointMessage(j["log"].get<std::string>(), j["seq"], j["time"].get<std::string>(),
                                j["reason"].get<std::string>(), j["head"].get<std::string>(),
                                j["count"]));
    return j.dump();
  }

  TempDir dir_;
  std::shared_ptr<const AuditKeys> keys_;
  std::string path_;
  std::vector<std::string> lines_;
};

TEST_F(VerifierTest, IntactLogIsOk) {
  auto r = Verify();
  EXPECT_TRUE(r.ok) << r.failure;
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_EQ(r.records, 9u);
  EXPECT_EQ(r.checkpoints, 2u);
  EXPECT_EQ(FormatVerifyReport(r, keys_->key_id), "OK: 9 records (seq 1-9) in 1 file, log " +
                                                      r.log_id + "; 2 checkpoints signed by " +
                                                      keys_->key_id + ", last at seq 9\n");
}

TEST_F(VerifierTest, CatchesAnEditedRecord) {
  auto lines = lines_;
  lines[2].replace(lines[2].find("\"not_found\""), 11, "\"granted\"");
  Rewrite(lines);
  auto r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failure, At(4) +
                           ": seq 4: prev does not match the hash of record 3: that record was "
                           "edited, or records were replaced");
  EXPECT_EQ(FormatVerifyReport(r, keys_->key_id), "FAIL: " + r.failure + "\n");
}

TEST_F(VerifierTest, CatchesAnEditedLastRecordThroughTheHeadFile) {
  {
    auto log = AuditLog::Open(QuickOptions(path_), keys_);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->Append(SampleOpen("s3")).ok());
  }
  auto lines = Lines(ReadFile(path_));
  ASSERT_EQ(lines.size(), 10u);
  std::string original = Sha256Tagged(lines[9]);
  lines[9].replace(lines[9].find("alice"), 5, "mallo");
  Rewrite(lines);
  auto r = Verify();
  EXPECT_EQ(r.failure, HeadPathFor(path_) + ": the head file records hash " + original +
                           " for seq 10 but that record hashes to " + Sha256Tagged(lines[9]) +
                           ": the log was rewritten");
}

TEST_F(VerifierTest, CatchesAnEditedCheckpoint) {
  auto lines = lines_;
  lines[8].replace(lines[8].find("session.close"), 13, "session.CLOSE");
  Rewrite(lines);
  auto r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failure, At(9) + ": seq 9: bad checkpoint signature (forged or edited checkpoint)");
}

TEST_F(VerifierTest, CatchesADeletedRecord) {
  auto lines = lines_;
  lines.erase(lines.begin() + 2);
  Rewrite(lines);
  auto r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failure, At(3) + ": seq 4: follows seq 2: record 3 is missing (deleted or moved)");
}

TEST_F(VerifierTest, CatchesSeveralDeletedRecords) {
  auto lines = lines_;
  lines.erase(lines.begin() + 1, lines.begin() + 3);
  Rewrite(lines);
  EXPECT_EQ(Verify().failure,
            At(2) + ": seq 4: follows seq 1: records 2-3 are missing (deleted or moved)");
}

TEST_F(VerifierTest, CatchesAReorderedPair) {
  auto lines = lines_;
  std::swap(lines[1], lines[2]);
  Rewrite(lines);
  EXPECT_EQ(Verify().failure,
            At(2) + ": seq 3: follows seq 1: record 2 is missing (deleted or moved)");
}

TEST_F(VerifierTest, CatchesRenumberedRecords) {
  // An attacker who deletes a record and renumbers the rest still breaks the hash links.
  auto lines = lines_;
  lines.erase(lines.begin() + 2);
  auto j = nlohmann::ordered_json::parse(lines[2]);
  j["seq"] = 3;
  lines[2] = j.dump();
  Rewrite(lines);
  EXPECT_EQ(Verify().failure, At(3) +
                                  ": seq 3: prev does not match the hash of record 2: that "
                                  "record was edited, or records were replaced");
}

TEST_F(VerifierTest, CatchesADuplicatedRecord) {
  auto lines = lines_;
  lines.insert(lines.begin() + 3, lines[2]);
  Rewrite(lines);
  EXPECT_EQ(Verify().failure,
            At(4) + ": seq 3: follows seq 3: records are out of order (reordered or duplicated)");
}

TEST_F(VerifierTest, CatchesATruncationMidRecord) {
  std::string content = ReadFile(path_);
  WriteFile(path_, content.substr(0, content.size() - 40));
  EXPECT_EQ(Verify().failure,
            At(9) +
                ": incomplete record at end of file (no trailing newline): the file was "
                "truncated mid-record or a write was interrupted");
}

TEST_F(VerifierTest, CatchesATruncationAtALineBoundaryWithTheHeadFile) {
  auto lines = lines_;
  lines.resize(6);
  Rewrite(lines);
  auto r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failure, HeadPathFor(path_) +
                           ": the head file records seq 9 but the log ends at seq 6: records "
                           "7-9 were removed (truncated)");
}

TEST_F(VerifierTest, TruncationWithoutTheHeadFileIsOnlyAWarning) {
  // Without an anchor outside the log, cutting records off the end cannot be proven; verify
  // says what is not covered instead of claiming OK silently.
  auto lines = lines_;
  lines.resize(6);
  Rewrite(lines);
  auto r = Verify(/*use_head=*/false);
  EXPECT_TRUE(r.ok) << r.failure;
  ASSERT_EQ(r.warnings.size(), 2u);
  EXPECT_EQ(r.warnings[0],
            "1 records after the last checkpoint (seq 5) are not covered by a signature");
  EXPECT_EQ(r.warnings[1],
            "session s2 (opened at seq 6) has no session.close: still running, or the log was "
            "cut short");
  auto strict = Verify(/*use_head=*/false, /*strict=*/true);
  EXPECT_FALSE(strict.ok);
  EXPECT_EQ(strict.failure,
            "strict: 1 records after the last checkpoint (seq 5) are not covered by a signature");
}

TEST_F(VerifierTest, CatchesAForgedCheckpointSignature) {
  auto lines = lines_;
  auto j = nlohmann::ordered_json::parse(lines[4]);
  std::string sig = j["sig"];
  sig[0] = sig[0] == 'A' ? 'B' : 'A';
  j["sig"] = sig;
  lines[4] = j.dump();
  Rewrite(lines);
  EXPECT_EQ(Verify().failure,
            At(5) + ": seq 5: bad checkpoint signature (forged or edited checkpoint)");
}

TEST_F(VerifierTest, CatchesACheckpointSignedByAnotherKey) {
  auto other = NewKeys();
  auto lines = lines_;
  lines[8] = Resign(8, *other);
  Rewrite(lines);
  EXPECT_EQ(Verify(/*use_head=*/false).failure,
            At(9) + ": seq 9: checkpoint is signed by key " + other->key_id +
                ", not by the given public key " + keys_->key_id);
}

TEST_F(VerifierTest, CatchesAnotherKeyClaimingOurKeyId) {
  auto other = NewKeys();
  auto lines = lines_;
  auto j = nlohmann::ordered_json::parse(Resign(8, *other));
  j["key_id"] = keys_->key_id;
  lines[8] = j.dump();
  Rewrite(lines);
  EXPECT_EQ(Verify(/*use_head=*/false).failure,
            At(9) + ": seq 9: bad checkpoint signature (forged or edited checkpoint)");
}

TEST_F(VerifierTest, CatchesACheckpointWithoutSignature) {
  auto lines = lines_;
  auto j = nlohmann::ordered_json::parse(lines[4]);
  j.erase("sig");
  lines[4] = j.dump();
  Rewrite(lines);
  EXPECT_EQ(Verify().failure, At(5) + ": seq 5: checkpoint has no signature (sig missing)");
}

TEST_F(VerifierTest, ReportsRecordsAppendedAfterTheLastCheckpoint) {
  {
    auto log = AuditLog::Open(QuickOptions(path_), keys_);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->Append(SampleOpen("s3")).ok());
    ASSERT_TRUE((*log)->Append(SampleFetch("s3", "npmrc", FetchOutcome::kDenied)).ok());
  }
  auto r = Verify();
  EXPECT_TRUE(r.ok) << r.failure;
  ASSERT_EQ(r.warnings.size(), 2u);
  EXPECT_EQ(r.warnings[0],
            "2 records after the last checkpoint (seq 9) are not covered by a signature");
  EXPECT_EQ(FormatVerifyReport(r, keys_->key_id),
            "OK: 11 records (seq 1-11) in 1 file, log " + r.log_id + "; 2 checkpoints signed by " +
                keys_->key_id + ", last at seq 9\nwarning: " + r.warnings[0] +
                "\nwarning: " + r.warnings[1] + "\n");
}

TEST_F(VerifierTest, CatchesARewrittenChainThroughTheHeadFile) {
  // Rewriting the last record and re-chaining needs the signing key for the checkpoint; without
  // it the attacker drops the checkpoint, and the head file catches the missing seq.
  auto lines = lines_;
  lines.pop_back();
  Rewrite(lines);
  auto r = Verify();
  EXPECT_EQ(r.failure, HeadPathFor(path_) +
                           ": the head file records seq 9 but the log ends at seq 8: records "
                           "9-9 were removed (truncated)");
}

TEST_F(VerifierTest, CatchesAReplacedFirstRecord) {
  auto lines = lines_;
  auto j = nlohmann::ordered_json::parse(lines[0]);
  j["prev"] = GenesisHash("some-other-log");
  lines[0] = j.dump();
  Rewrite(lines);
  EXPECT_EQ(Verify().failure, At(1) + ": seq 1: prev is not the genesis hash of log " +
                                  j["log"].get<std::string>() +
                                  " (records before it were replaced)");
}

TEST_F(VerifierTest, RejectsGarbage) {
  auto lines = lines_;
  lines[3] = "hello";
  Rewrite(lines);
  EXPECT_EQ(Verify().failure, At(4) + ": not a JSON object");
}

// A log with an ssh.forward record (line 2) verifies; edits to its fields that keep the JSON
// valid are refused by the field check of that very line.
class SshForwardVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = NewKeys();
    path_ = dir_.Join("audit.log");
    auto log = AuditLog::Open(QuickOptions(path_), keys_);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->Append(SampleOpen("s1")).ok());
    ASSERT_TRUE((*log)->Append(testing::SampleSsh("s1", SshOutcome::kGranted)).ok());
    ASSERT_TRUE((*log)->Append(testing::SampleSsh("s1", SshOutcome::kNotFound)).ok());
    ASSERT_TRUE((*log)->Append(SampleClose("s1")).ok());
    ASSERT_TRUE((*log)->Checkpoint("session.close").ok());
    lines_ = Lines(ReadFile(path_));
    ASSERT_EQ(lines_.size(), 5u);
  }

  // The log with line 2 (the granted ssh.forward) replaced by `edit` of its JSON, verified.
  std::string FailureAfter(const std::function<void(nlohmann::ordered_json&)>& edit) {
    auto lines = lines_;
    auto j = nlohmann::ordered_json::parse(lines[1]);
    edit(j);
    lines[1] = j.dump();
    WriteFile(path_, JoinLines(lines));
    auto r = VerifyPath(path_, keys_->public_key);
    EXPECT_FALSE(r.ok);
    return r.failure;
  }

  TempDir dir_;
  std::shared_ptr<const AuditKeys> keys_;
  std::string path_;
  std::vector<std::string> lines_;
};

TEST_F(SshForwardVerifierTest, IntactLogIsOk) {
  auto r = VerifyPath(path_, keys_->public_key);
  EXPECT_TRUE(r.ok) << r.failure;
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_EQ(r.records, 5u);
}

TEST_F(SshForwardVerifierTest, RefusesAnUnknownField) {
  EXPECT_EQ(FailureAfter([](auto& j) { j["agent_bytes"] = "AAAA"; }),
            path_ + ":2: seq 2: ssh.forward record has an unknown field \"agent_bytes\"");
}

TEST_F(SshForwardVerifierTest, RefusesAnUnknownOutcome) {
  EXPECT_EQ(FailureAfter([](auto& j) { j["outcome"] = "maybe"; }),
            path_ +
                ":2: seq 2: ssh.forward record has outcome \"maybe\"; expected granted, "
                "not_found or unusable");
}

TEST_F(SshForwardVerifierTest, RefusesAMissingOrMistypedField) {
  EXPECT_EQ(FailureAfter([](auto& j) { j.erase("agent"); }),
            path_ + ":2: seq 2: ssh.forward record has no string field \"agent\"");
  EXPECT_EQ(FailureAfter([](auto& j) { j["required"] = "yes"; }),
            path_ + ":2: seq 2: ssh.forward record has a \"required\" that is not true or false");
  EXPECT_EQ(FailureAfter([](auto& j) { j["step"].erase("line"); }),
            path_ +
                ":2: seq 2: ssh.forward record has no valid \"step\" (stage, index, line, "
                "instruction)");
  EXPECT_EQ(FailureAfter([](auto& j) { j["error"] = "x"; }),
            path_ + ":2: seq 2: ssh.forward record has an error but outcome granted");
}

TEST_F(SshForwardVerifierTest, AValidLookingEditBreaksTheChain) {
  // Granted turned into not_found, with an error: the record is well-formed, so the hash link
  // of the next record catches it.
  EXPECT_EQ(FailureAfter([](auto& j) {
              j["outcome"] = "not_found";
              j["error"] = "unset ssh forward key default";
            }),
            path_ +
                ":3: seq 3: prev does not match the hash of record 2: that record was edited, or "
                "records were replaced");
}

TEST(Verifier, EmptyFileIsAFailure) {
  TempDir dir;
  WriteFile(dir.Join("audit.log"), "");
  auto keys = NewKeys();
  EXPECT_EQ(VerifyPath(dir.Join("audit.log"), keys->public_key, false).failure,
            "no audit records in the given files");
}

TEST(LogSet, OrdersExplicitFilesByFirstSeqAndExpandsABase) {
  TempDir dir;
  auto keys = NewKeys();
  std::string path = dir.Join("audit.log");
  auto opts = QuickOptions(path);
  opts.max_bytes = 1500;
  {
    auto log = AuditLog::Open(opts, keys);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 20; ++i) ASSERT_TRUE((*log)->Append(SampleOpen("s")).ok());
  }
  auto base = LoadLogSet({path});
  ASSERT_TRUE(base.ok());
  ASSERT_GE(base->size(), 4u);
  EXPECT_EQ(base->back().path, path);
  EXPECT_EQ(base->front().path, RotatedPath(path, static_cast<int>(base->size() - 1)));
  // Rotated files named one by one, in shell-glob order, come back oldest first.
  auto listed = LoadLogSet({path + ".1", path + ".2", path + ".3"});
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].path, path + ".3");
  EXPECT_EQ((*listed)[1].path, path + ".2");
  EXPECT_EQ((*listed)[2].path, path + ".1");
  EXPECT_EQ(LoadLogSet({dir.Join("nope.log")}).status().ToString(),
            "NOT_FOUND: audit log " + dir.Join("nope.log") + " not found");
}

}  // namespace
}  // namespace latchkey::audit
