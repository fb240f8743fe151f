#include "broker/audit/chain_state.h"

#include <gtest/gtest.h>

#include "broker/audit/audit_format.h"
#include "broker/audit/audit_keys.h"
#include "broker/audit/audit_testutil.h"
#include "broker/audit/chain.h"
#include "broker/audit/paths.h"

namespace latchkey::audit {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

const char kCheckpointLine[] =
    "{\"v\":1,\"log\":\"L\",\"seq\":2,\"time\":\"T\",\"event\":\"audit.checkpoint\","
    "\"prev\":\"P\"}";

std::string Record(uint64_t seq) {
  return "{\"v\":1,\"log\":\"L\",\"seq\":" + std::to_string(seq) +
         ",\"time\":\"T\",\"event\":\"session.open\",\"prev\":\"P\"}";
}

TEST(ChainState, LastLine) {
  EXPECT_EQ(LastLine(""), "");
  EXPECT_EQ(LastLine("a\n"), "a");
  EXPECT_EQ(LastLine("a\nbc\n"), "bc");
}

TEST(ChainState, LinesSinceCheckpointWithoutOneCountsAll) {
  EXPECT_EQ(LinesSinceCheckpoint(""), 0u);
  EXPECT_EQ(LinesSinceCheckpoint(Record(1) + "\n" + Record(2) + "\n"), 2u);
}

TEST(ChainState, LinesSinceCheckpointStopsAtTheLastOne) {
  std::string bytes = Record(1) + "\n" + kCheckpointLine + "\n" + Record(3) + "\n";
  EXPECT_EQ(LinesSinceCheckpoint(bytes), 1u);
  EXPECT_EQ(LinesSinceCheckpoint(bytes + kCheckpointLine + "\n"), 0u);
}

TEST(ChainState, LinesSinceCheckpointCountsUnparsableLines) {
  EXPECT_EQ(LinesSinceCheckpoint(std::string(kCheckpointLine) + "\ngarbage\n"), 1u);
}

TEST(ChainState, ReadCompleteTailOfAMissingFileIsEmpty) {
  TempDir dir;
  auto tail = ReadCompleteTail(*PosixAuditFs(), dir.Join("none"), true);
  ASSERT_TRUE(tail.ok()) << tail.status().ToString();
  EXPECT_EQ(tail->bytes, "");
  EXPECT_EQ(tail->dropped, 0u);
}

TEST(ChainState, ReadCompleteTailTruncatesAnIncompleteLine) {
  TempDir dir;
  std::string path = dir.Join("audit.log");
  WriteFile(path, "one\ntwo\nthr");
  auto tail = ReadCompleteTail(*PosixAuditFs(), path, true);
  ASSERT_TRUE(tail.ok()) << tail.status().ToString();
  EXPECT_EQ(tail->bytes, "one\ntwo\n");
  EXPECT_EQ(tail->dropped, 3u);
  EXPECT_EQ(ReadFile(path), "one\ntwo\n");
}

TEST(ChainState, ReadCompleteTailOfARotatedFileRefusesAnIncompleteLine) {
  TempDir dir;
  std::string path = dir.Join("audit.log.1");
  WriteFile(path, "one\ntw");
  auto tail = ReadCompleteTail(*PosixAuditFs(), path, false);
  ASSERT_FALSE(tail.ok());
  EXPECT_EQ(tail.status().ToString(), "FAILED_PRECONDITION: audit log " + path +
                                          " ends with an incomplete record; run `latchkey audit "
                                          "verify " +
                                          path + "`");
  EXPECT_EQ(ReadFile(path), "one\ntw");
}

TEST(ChainState, ReadCompleteTailRefusesALineLongerThanTheTail) {
  TempDir dir;
  std::string path = dir.Join("audit.log");
  WriteFile(path, std::string(kTailBytes + 1, 'x'));
  auto tail = ReadCompleteTail(*PosixAuditFs(), path, true);
  ASSERT_FALSE(tail.ok());
  EXPECT_EQ(tail.status().ToString(),
            "FAILED_PRECONDITION: audit log " + path +
                ": the last record is longer than 1048576 bytes; run `latchkey audit verify " +
                path + "` and move the damaged file aside");
}

TEST(ChainState, NewLogStartsAtGenesis) {
  TempDir dir;
  uint64_t dropped = 0;
  auto state = LoadChainState(*PosixAuditFs(), dir.Join("audit.log"), "new-id", &dropped);
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ(state->log_id, "new-id");
  EXPECT_EQ(state->next_seq, 1u);
  EXPECT_EQ(state->prev, GenesisHash("new-id"));
  EXPECT_EQ(state->since_checkpoint, 0u);
  EXPECT_FALSE(state->last_is_checkpoint);
  EXPECT_EQ(state->source, "");
}

TEST(ChainState, ContinuesFromTheLastRecord) {
  TempDir dir;
  std::string path = dir.Join("audit.log");
  WriteFile(path, std::string(kCheckpointLine) + "\n" + Record(3) + "\n" + Record(4) + "\npart");
  uint64_t dropped = 10;
  auto state = LoadChainState(*PosixAuditFs(), path, "unused", &dropped);
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ(state->log_id, "L");
  EXPECT_EQ(state->next_seq, 5u);
  EXPECT_EQ(state->prev, Sha256Tagged(Record(4)));
  EXPECT_EQ(state->since_checkpoint, 2u);
  EXPECT_FALSE(state->last_is_checkpoint);
  EXPECT_EQ(state->source, path);
  EXPECT_EQ(dropped, 14u);
}

TEST(ChainState, ContinuesFromTheRotatedFileWhenTheLiveOneIsEmpty) {
  TempDir dir;
  std::string path = dir.Join("audit.log");
  WriteFile(path, "");
  WriteFile(RotatedPath(path, 1), Record(1) + "\n" + kCheckpointLine + "\n");
  uint64_t dropped = 0;
  auto state = LoadChainState(*PosixAuditFs(), path, "unused", &dropped);
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ(state->next_seq, 3u);
  EXPECT_TRUE(state->last_is_checkpoint);
  EXPECT_EQ(state->since_checkpoint, 0u);
  EXPECT_EQ(state->source, RotatedPath(path, 1));
}

TEST(ChainState, RefusesADamagedLastRecord) {
  TempDir dir;
  std::string path = dir.Join("audit.log");
  WriteFile(path, Record(1) + "\n{\"v\":1,\"seq\":2}\n");
  uint64_t dropped = 0;
  auto state = LoadChainState(*PosixAuditFs(), path, "unused", &dropped);
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.status().ToString(),
            "FAILED_PRECONDITION: audit log " + path +
                ": the last record is not a valid audit record; run `latchkey audit verify " +
                path + "` and move the damaged file aside");
}

TEST(ChainState, CountsDroppedBytesEvenWhenTheRotatedFileFails) {
  TempDir dir;
  std::string path = dir.Join("audit.log");
  WriteFile(path, "partial");
  WriteFile(RotatedPath(path, 1), "x");
  uint64_t dropped = 0;
  auto state = LoadChainState(*PosixAuditFs(), path, "unused", &dropped);
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(dropped, 7u);
  EXPECT_EQ(ReadFile(path), "");
}

}  // namespace
}  // namespace latchkey::audit
