#include "broker/audit/chain.h"

#include "broker/audit/audit_keys.h"

namespace latchkey::audit {

std::string GenesisHash(std::string_view log_id) {
  return Sha256Tagged("latchkey-audit-v1:" + std::string(log_id));
}

std::string CheckpointMessage(std::string_view log_id, uint64_t seq, std::string_view time,
                              std::string_view reason, std::string_view head, uint64_t count) {
  std::string m = "latchkey-audit-checkpoint-v1\n";
  m += "log:";
  m += log_id;
  m += "\nseq:" + std::to_string(seq);
  m += "\ntime:";
  m += time;
  m += "\nreason:";
  m += reason;
  m += "\nhead:";
  m += head;
  m += "\ncount:" + std::to_string(count) + "\n";
  return m;
}

}  // namespace latchkey::audit
