#include "broker/audit/audit_format.h"

#include <gtest/gtest.h>

#include "broker/audit/audit_testutil.h"
#include "broker/audit/chain.h"

namespace latchkey::audit {
namespace {

using testing::NewKeys;

SessionCloseRecord Close(const std::string& session) {
  SessionCloseRecord r;
  r.session = session;
  r.reason = "completed";
  return r;
}

TEST(AuditFormat, RecordKeysAreInTheFixedOrder) {
  std::string line = SerializeRecord("L", 3, "T", Close("s1"), "P");
  EXPECT_EQ(
      line.rfind("{\"v\":1,\"log\":\"L\",\"seq\":3,\"time\":\"T\",\"event\":\"session.close\",", 0),
      0u)
      << line;
  EXPECT_TRUE(line.ends_with(",\"prev\":\"P\"}")) << line;
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(AuditFormat, RecordRoundTripsThroughParseLine) {
  ParsedLine p = ParseLine(SerializeRecord("L", 3, "T", Close("s1"), "P"));
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_EQ(p.seq, 3u);
  EXPECT_EQ(p.log, "L");
  EXPECT_EQ(p.time, "T");
  EXPECT_EQ(p.event, "session.close");
  EXPECT_EQ(p.prev, "P");
  EXPECT_EQ(p.json["session"], "s1");
  EXPECT_FALSE(p.is_checkpoint());
}

TEST(AuditFormat, CheckpointIsSignedOverItsFields) {
  auto keys = NewKeys();
  ParsedLine p = ParseLine(SerializeCheckpoint(*keys, "L", 5, "T", "explicit", "H"));
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_TRUE(p.is_checkpoint());
  EXPECT_EQ(p.prev, "H");
  EXPECT_EQ(p.json["head"], "H");
  EXPECT_EQ(p.json["count"], 4u);
  EXPECT_EQ(p.json["key_id"], keys->key_id);
  EXPECT_EQ(p.json["hmac_key_id"], HmacKeyId(keys->hmac_key));
  EXPECT_TRUE(VerifyBase64(keys->public_key, CheckpointMessage("L", 5, "T", "explicit", "H", 4),
                           p.json["sig"].get<std::string>()));
  EXPECT_FALSE(VerifyBase64(keys->public_key, CheckpointMessage("L", 5, "T", "rotate", "H", 4),
                            p.json["sig"].get<std::string>()));
}

TEST(AuditFormat, SshForwardRecordFields) {
  SshForwardRecord r = testing::SampleSsh("s1", SshOutcome::kGranted);
  r.peer = PeerInfo{"unix", 1000, 1000, 4242, "alice", "", ""};
  EXPECT_EQ(SerializeRecord("L", 3, "T", r, "P"),
            "{\"v\":1,\"log\":\"L\",\"seq\":3,\"time\":\"T\",\"event\":\"ssh.forward\","
            "\"session\":\"s1\",\"ssh\":\"default\",\"outcome\":\"granted\","
            "\"agent\":\"/run/user/1000/agent.sock\",\"required\":true,"
            "\"step\":{\"stage\":\"build\",\"index\":3,\"line\":9,\"instruction\":\"RUN "
            "--mount=type=ssh git clone git@example.com:x.git\"},"
            "\"requester\":\"uid=1000(alice) pid=4242\","
            "\"peer\":{\"transport\":\"unix\",\"uid\":1000,\"gid\":1000,\"pid\":4242,"
            "\"user\":\"alice\"},\"prev\":\"P\"}");
  // Not granted: the reason is recorded; `required` is left out when the asker did not say.
  SshForwardRecord nf = testing::SampleSsh("s1", SshOutcome::kNotFound);
  nf.required.reset();
  ParsedLine p = ParseLine(SerializeRecord("L", 4, "T", nf, "P"));
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_EQ(p.json["outcome"], "not_found");
  EXPECT_EQ(p.json["error"], "unset ssh forward key default");
  EXPECT_FALSE(p.json.contains("required"));
  EXPECT_STREQ(SshOutcomeName(SshOutcome::kUnusable), "unusable");
}

TEST(AuditFormat, SshForwardMasksAValueInItsText) {
  AuditRecord r = testing::SampleSsh("s1", SshOutcome::kUnusable);
  std::get<SshForwardRecord>(r).error = "socket /tmp/hunter2-x refused";
  std::get<SshForwardRecord>(r).step.instruction = "RUN echo hunter2";
  const std::string value = "hunter2";
  MaskValue(&r,
            std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(value.data()), value.size()));
  EXPECT_EQ(std::get<SshForwardRecord>(r).error, "socket /tmp/[masked]-x refused");
  EXPECT_EQ(std::get<SshForwardRecord>(r).step.instruction, "RUN echo [masked]");
}

TEST(AuditFormat, HeadFileText) {
  EXPECT_EQ(SerializeHead("L", 7, "sha256:ab", "T"),
            "{\"v\":1,\"log\":\"L\",\"seq\":7,\"hash\":\"sha256:ab\",\"time\":\"T\"}");
}

TEST(AuditFormat, CheckpointFoundWhateverTheKeyOrderAndSpacing) {
  ParsedLine p = ParseLine(
      "{ \"event\" : \"audit.checkpoint\", \"seq\": 2, \"v\": 1, \"log\": \"L\", "
      "\"time\": \"T\", \"prev\": \"P\" }");
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_TRUE(p.is_checkpoint());
}

TEST(AuditFormat, CheckpointTextInAFieldIsNotACheckpoint) {
  SessionCloseRecord r = Close("\"event\":\"audit.checkpoint\"");
  ParsedLine p = ParseLine(SerializeRecord("L", 1, "T", r, "P"));
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_FALSE(p.is_checkpoint());
}

TEST(AuditFormat, NotJson) {
  EXPECT_EQ(ParseLine("not a record").error, "not a JSON object");
  EXPECT_EQ(ParseLine("[1,2]").error, "not a JSON object");
  EXPECT_EQ(ParseLine("{\"v\":1,\"log\":\"half a reco").error, "not a JSON object");
}

TEST(AuditFormat, WrongVersion) {
  EXPECT_EQ(ParseLine("{\"seq\":1}").error,
            "unsupported or missing format version \"v\" (expected 1)");
  EXPECT_EQ(ParseLine("{\"v\":2,\"seq\":1}").error,
            "unsupported or missing format version \"v\" (expected 1)");
  EXPECT_EQ(ParseLine("{\"v\":\"1\",\"seq\":1}").error,
            "unsupported or missing format version \"v\" (expected 1)");
}

TEST(AuditFormat, MissingSeqHasNoSeq) {
  ParsedLine p = ParseLine("{\"v\":1,\"seq\":-1}");
  EXPECT_EQ(p.error, "missing field \"seq\"");
  EXPECT_EQ(p.seq, 0u);
}

TEST(AuditFormat, MissingFieldKeepsTheSeq) {
  ParsedLine p = ParseLine("{\"v\":1,\"seq\":9,\"log\":\"L\",\"time\":\"T\",\"event\":\"e\"}");
  EXPECT_EQ(p.error, "missing field \"prev\"");
  EXPECT_EQ(p.seq, 9u);
  EXPECT_FALSE(p.is_checkpoint());
  EXPECT_EQ(ParseLine("{\"v\":1,\"seq\":9,\"log\":7}").error, "missing field \"log\"");
}

}  // namespace
}  // namespace latchkey::audit
