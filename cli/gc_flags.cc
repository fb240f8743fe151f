#include "cli/gc_flags.h"

#include "base/byte_size.h"
#include "broker/config_yaml.h"

namespace latchkey::cli {

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

Result<build::GcReport> RunConfiguredGc(const Config& config, const std::string& state_dir) {
  if (!config.builder.gc_present) return build::GcReport{};
  build::GcPolicy p;
  p.keep_storage = config.builder.gc_keep_storage;
  if (config.builder.gc_keep_duration)
    p.unused_for = config.builder.gc_keep_duration->count() / 1000;
  auto r = build::CollectGarbage(state_dir, p, /*dry_run=*/false, /*wait=*/false);
  if (!r.ok() && r.status().code() == StatusCode::kUnavailable) return build::GcReport{};
  return r;
}

}  // namespace latchkey::cli
