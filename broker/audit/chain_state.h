// Reading a log's chain state back from disk: where the writer continues after an open, a crash,
// a write error or another process's appends. The record format itself is audit_format.h.
//
// Functions of their arguments and the files behind `fs`; thread-safe when `fs` is, but two
// callers must not recover the same log at once (the writer holds the log's lock file).
#ifndef LATCHKEY_BROKER_AUDIT_CHAIN_STATE_H_
#define LATCHKEY_BROKER_AUDIT_CHAIN_STATE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "broker/audit/audit_file.h"
#include "latchkey/status.h"

namespace latchkey::audit {

// How far back from the end of a file the writer looks for its last record.
inline constexpr size_t kTailBytes = 1 << 20;

// Where the next record goes: the state after the last complete record on disk.
struct ChainState {
  std::string log_id;
  uint64_t next_seq = 1;
  std::string prev;               // hash of the last record, or GenesisHash(log_id)
  uint64_t since_checkpoint = 0;  // complete lines after the last checkpoint in the tail read
  bool last_is_checkpoint = false;
  std::string source;  // the file the last record was read from (empty for a new log)
};

// A file's last kTailBytes, cut back to its last complete line.
struct CompleteTail {
  std::string bytes;     // ends with '\n', or is empty (no complete line, or no file)
  uint64_t dropped = 0;  // bytes of an incomplete last line truncated away
};

// Reads the tail of `path` (empty when the file does not exist). An incomplete last line (no
// '\n'; a crash mid-write, never acknowledged) is truncated away through fs.Truncate when
// `may_truncate` (the live file). Fails with FAILED_PRECONDITION "audit log <path> ends with an
// incomplete record; run `latchkey audit verify <path>`" when not (a rotated file), or "... the
// last record is longer than 1048576 bytes; ..." when no line end is found in the tail; other
// errors are fs's.
Result<CompleteTail> ReadCompleteTail(AuditFs& fs, const std::string& path, bool may_truncate);

// The chain state of the log at `path`: from its last complete record, or from <path>.1's when
// the live file is empty or missing, or a new chain with id `new_log_id` when both are. Bytes
// dropped from the live file are added to `*recovered_bytes` (also when a later step fails).
// Fails with FAILED_PRECONDITION "audit log <file>: the last record is not a valid audit record;
// run `latchkey audit verify <file>` and move the damaged file aside" when that record does not
// parse (ParseLine), and with ReadCompleteTail's errors. Opens nothing for writing.
Result<ChainState> LoadChainState(AuditFs& fs, const std::string& path,
                                  const std::string& new_log_id, uint64_t* recovered_bytes);

// The last complete line of `bytes` (which ends with '\n'); empty when none.
std::string_view LastLine(std::string_view bytes);

// Counts the complete lines of `bytes` after its last checkpoint line (all of them when there is
// none). A line that does not parse counts as a record.
uint64_t LinesSinceCheckpoint(std::string_view bytes);

}  // namespace latchkey::audit

#endif  // LATCHKEY_BROKER_AUDIT_CHAIN_STATE_H_
