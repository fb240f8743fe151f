#include "broker/audit_locations.h"

#include "broker/audit/paths.h"
#include "broker/state_dir.h"

namespace latchkey {

AuditLocations ResolveAuditLocations(const Config& config, std::string_view state_dir_flag) {
  AuditLocations out;
  if (!state_dir_flag.empty()) {
    out.state_dir = NormalizePath(state_dir_flag);
    out.log = audit::DefaultLogPath(out.state_dir);
    out.keys = audit::KeyFilesIn(out.state_dir);
    return out;
  }
  out.state_dir = config.state_dir;
  out.log = config.audit.path;
  out.keys.signing = config.audit.signing_key_file;
  out.keys.public_key = audit::PublicKeyPathFor(config.audit.signing_key_file);
  out.keys.hmac = config.audit.hmac_key_file;
  return out;
}

}  // namespace latchkey
