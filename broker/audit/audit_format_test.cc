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
