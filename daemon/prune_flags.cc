#include "daemon/prune_flags.h"

#include "base/byte_size.h"
#include "broker/config_yaml.h"

namespace latchkey::daemon {

Result<build::GcPolicy> PruneFlagsToPolicy(bool all, const std::vector<std::string>& filters,
                                           const std::string& keep_storage) {
  build::GcPolicy p;
  p.all = all;
  for (const std::string& f : filters) {
    size_t eq = f.find('=');
    if (eq == std::string::npos) {
      return InvalidArgumentError("bad format of filter (expected name=value)");
    }
    const std::string key = f.substr(0, eq), value = f.substr(eq + 1);
    if (key != "until") return InvalidArgumentError("invalid filter '" + key + "'");
    auto d = ParseDuration(value);
    if (!d) {
      return InvalidArgumentError(
          "\"until\" filter expects a duration (e.g., '24h'): time: invalid duration \"" + value +
          "\"");
    }
    p.unused_for = d->count() / 1000;
  }
  if (!keep_storage.empty()) {
    auto n = base::ParseRamBytes(keep_storage);
    if (!n.ok()) {
      return InvalidArgumentError("invalid argument \"" + keep_storage +
                                  "\" for \"--keep-storage\" flag: " + n.status().message());
    }
    p.keep_storage = *n;
  }
  return p;
}

}  // namespace latchkey::daemon
