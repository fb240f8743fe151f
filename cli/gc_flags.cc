#include "cli/gc_flags.h"

namespace latchkey::cli {

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
