// The hash chain and checkpoint signatures shared by the writer and the verifier.
//
// Every record's "prev" is Sha256Tagged(<previous line's exact bytes, without the newline>); the
// first record of a log uses GenesisHash(log id). A checkpoint signs CheckpointMessage(...).
// Pure functions; thread-safe.
#ifndef LATCHKEY_BROKER_AUDIT_CHAIN_H_
#define LATCHKEY_BROKER_AUDIT_CHAIN_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace latchkey::audit {

// The record format version written in every record's "v".
inline constexpr int kFormatVersion = 1;

// Sha256Tagged("latchkey-audit-v1:" + log_id).
std::string GenesisHash(std::string_view log_id);

// The exact bytes a checkpoint's Ed25519 signature covers:
// "latchkey-audit-checkpoint-v1\nlog:<id>\nseq:<seq>\ntime:<time>\nreason:<reason>\n"
// "head:<head>\ncount:<count>\n".
std::string CheckpointMessage(std::string_view log_id, uint64_t seq, std::string_view time,
                              std::string_view reason, std::string_view head, uint64_t count);

}  // namespace latchkey::audit

#endif  // LATCHKEY_BROKER_AUDIT_CHAIN_H_
