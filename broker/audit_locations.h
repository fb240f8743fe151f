// Where the audit log and its keys are: one answer for builds and for every command that reads
// or writes them (`audit keygen|hash|verify|search`), taken from the loaded configuration.
//
// Thread-safety: pure function.
#ifndef LATCHKEY_BROKER_AUDIT_LOCATIONS_H_
#define LATCHKEY_BROKER_AUDIT_LOCATIONS_H_

#include <string>
#include <string_view>

#include "broker/audit/audit_keys.h"
#include "broker/config.h"

namespace latchkey {

struct AuditLocations {
  std::string state_dir;
  std::string log;       // the live log; its rotated set and head file sit beside it
  audit::KeyFiles keys;  // signing key, public key (beside the signing key), HMAC key
};

// Without `state_dir_flag`: the configuration's state_dir, audit.path, audit.signing_key_file
// and audit.hmac_key_file (the loader fills each default in under state_dir). With it (a
// command's --state-dir): that directory and the default files inside it.
AuditLocations ResolveAuditLocations(const Config& config, std::string_view state_dir_flag = "");

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_AUDIT_LOCATIONS_H_
