#include "broker/audit/chain_state.h"

#include "broker/audit/audit_format.h"
#include "broker/audit/audit_keys.h"
#include "broker/audit/chain.h"
#include "broker/audit/paths.h"

namespace latchkey::audit {

std::string_view LastLine(std::string_view bytes) {
  if (bytes.empty()) return {};
  std::string_view body = bytes.substr(0, bytes.size() - 1);
  size_t nl = body.rfind('\n');
  return nl == std::string_view::npos ? body : body.substr(nl + 1);
}

uint64_t LinesSinceCheckpoint(std::string_view bytes) {
  uint64_t n = 0;
  std::string_view rest = bytes;
  while (!rest.empty()) {
    std::string_view line = LastLine(rest);
    if (ParseLine(line).is_checkpoint()) break;
    ++n;
    rest = rest.substr(0, rest.size() - line.size() - 1);
  }
  return n;
}

Result<CompleteTail> ReadCompleteTail(AuditFs& fs, const std::string& path, bool may_truncate) {
  auto tail = fs.ReadTail(path, kTailBytes);
  if (!tail.ok()) {
    if (tail.status().code() == StatusCode::kNotFound) return CompleteTail{};
    return tail.status();
  }
  CompleteTail out;
  out.bytes = std::move(tail->bytes);
  if (out.bytes.empty() || out.bytes.back() == '\n') return out;
  size_t nl = out.bytes.rfind('\n');
  if (nl == std::string::npos && tail->size > out.bytes.size()) {
    return FailedPreconditionError("audit log " + path + ": the last record is longer than " +
                                   std::to_string(kTailBytes) + " bytes; run `latchkey audit " +
                                   "verify " + path + "` and move the damaged file aside");
  }
  if (!may_truncate) {
    return FailedPreconditionError("audit log " + path + " ends with an incomplete record; run " +
                                   "`latchkey audit verify " + path + "`");
  }
  uint64_t keep_in_tail = nl == std::string::npos ? 0 : nl + 1;
  uint64_t keep = tail->size - out.bytes.size() + keep_in_tail;
  LK_RETURN_IF_ERROR(fs.Truncate(path, keep));
  out.dropped = tail->size - keep;
  out.bytes.resize(keep_in_tail);
  return out;
}

Result<ChainState> LoadChainState(AuditFs& fs, const std::string& path,
                                  const std::string& new_log_id, uint64_t* recovered_bytes) {
  std::string source = path;
  LK_ASSIGN_OR_RETURN(CompleteTail tail, ReadCompleteTail(fs, path, true));
  *recovered_bytes += tail.dropped;
  if (tail.bytes.empty()) {
    source = RotatedPath(path, 1);
    LK_ASSIGN_OR_RETURN(tail, ReadCompleteTail(fs, source, false));
  }
  ChainState state;
  if (tail.bytes.empty()) {
    state.log_id = new_log_id;
    state.prev = GenesisHash(state.log_id);
    return state;
  }
  std::string_view line = LastLine(tail.bytes);
  ParsedLine last = ParseLine(line);
  if (!last.ok()) {
    return FailedPreconditionError("audit log " + source + ": the last record is not a valid " +
                                   "audit record; run `latchkey audit verify " + source +
                                   "` and move the damaged file aside");
  }
  state.log_id = last.log;
  state.next_seq = last.seq + 1;
  state.prev = Sha256Tagged(line);
  state.last_is_checkpoint = last.is_checkpoint();
  state.since_checkpoint = LinesSinceCheckpoint(tail.bytes);
  state.source = source;
  return state;
}

}  // namespace latchkey::audit
