// `latchkey du` and `latchkey prune`: what the builder's state directory holds and the garbage
// collection of it (builder/solver/store_gc.h, docs/image-store.md "Garbage collection").
// With --host / $LATCHKEY_HOST / `host:` they run in latchkeyd (cli/remote_gc.h) on its state
// directory and print the same. Exit codes: 0 ok, 1 failure, 2 bad flags.
#include <unistd.h>

#include <ctime>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "builder/image/export_spec.h"
#include "builder/solver/store_gc.h"
#include "cli/cli_setup.h"
#include "cli/command_registry.h"
#include "cli/daemon_client.h"
#include "cli/gc_flags.h"
#include "cli/remote_gc.h"
#include "cli/state_recovery_setup.h"
#include "cli/table.h"

namespace latchkey::cli {
namespace {

struct GcFlags {
  std::string state_dir;
  const GlobalOptions* global = nullptr;
  bool verbose = false;
  std::string format = "table";
  bool all = false;
  bool force = false;
  std::vector<std::string> filters;
  std::string keep_storage;
};

Result<std::string> StateDir(const GcFlags& f) {
  LK_ASSIGN_OR_RETURN(Config config, LoadProcessConfig(*f.global));
  std::string dir = f.state_dir.empty() ? BuilderStateDir(config) : f.state_dir;
  LK_RETURN_IF_ERROR(RecoverBuilderState(config, dir, "", nullptr));
  return dir;
}

std::string Ago(int64_t t) {
  int64_t s = static_cast<int64_t>(::time(nullptr)) - t;
  if (s < 60) return std::to_string(s < 0 ? 0 : s) + " seconds ago";
  if (s < 3600) return std::to_string(s / 60) + " minutes ago";
  if (s < 86400) return std::to_string(s / 3600) + " hours ago";
  return std::to_string(s / 86400) + " days ago";
}

// What `du` prints for `du` of `dir`, in both modes.
void PrintDiskUsage(const GcFlags& f, const std::string& dir, const build::DiskUsage& du) {
  if (f.format == "json") {
    nlohmann::json j = {{"state_dir", dir},
                        {"total", du.total},
                        {"reclaimable", du.reclaimable},
                        {"reclaimable_all", du.reclaimable_all}};
    j["usage"] = nlohmann::json::array();
    for (const auto& l : du.lines) {
      j["usage"].push_back({{"kind", l.kind}, {"count", l.count}, {"bytes", l.bytes}});
    }
    j["images"] = nlohmann::json::array();
    for (const auto& i : du.images) {
      j["images"].push_back(
          {{"ref", i.ref}, {"manifest", i.manifest}, {"bytes", i.bytes}, {"unique", i.unique}});
    }
    j["cache"] = nlohmann::json::array();
    for (const auto& c : du.cache) {
      j["cache"].push_back({{"key", c.key},
                            {"layer", c.layer_digest},
                            {"bytes", c.bytes},
                            {"last_used", c.last_used},
                            {"shared", c.shared}});
    }
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::vector<std::vector<std::string>> rows = {{"TYPE", "COUNT", "SIZE"}};
  for (const auto& l : du.lines) {
    rows.push_back({l.kind, std::to_string(l.count), image::HumanSize(l.bytes)});
  }
  std::cout << FormatTable(rows);
  std::cout << "\n";
  rows = {{"IMAGE", "SIZE", "UNIQUE"}};
  for (const auto& i : du.images) {
    rows.push_back({i.ref.empty() ? i.manifest : i.ref, image::HumanSize(i.bytes),
                    image::HumanSize(i.unique)});
  }
  std::cout << FormatTable(rows);
  if (f.verbose) {
    std::cout << "\n";
    rows = {{"CACHE KEY", "LAYER", "SIZE", "SHARED", "LAST USED"}};
    for (const auto& c : du.cache) {
      rows.push_back({c.key.substr(0, 12),
                      c.layer_digest.empty() ? "-" : c.layer_digest.substr(7, 12),
                      image::HumanSize(c.bytes), c.shared ? "true" : "false", Ago(c.last_used)});
    }
    std::cout << FormatTable(rows);
  }
  std::cout << "\nReclaimable:\t" << image::HumanSize(du.reclaimable) << " (prune), "
            << image::HumanSize(du.reclaimable_all) << " (prune --all)\n"
            << "Total:\t\t" << image::HumanSize(du.total) << "\n";
}

int RunDu(const GcFlags& f) {
  if (f.format != "table" && f.format != "json") {
    return Usage("invalid --format \"" + f.format + "\": want table or json");
  }
  auto host = ChooseHost(*f.global);
  if (!host.ok()) return Fail(host.status());
  if (!host->host.empty()) {
    if (Status st = CheckNoStateDir(f.state_dir, *host); !st.ok()) return Usage(st.message());
    auto remote = DaemonDiskUsage(*host);
    if (!remote.ok()) return FailFlags(remote.status());
    PrintDiskUsage(f, remote->state_dir, remote->usage);
    return kExitOk;
  }
  auto dir = StateDir(f);
  if (!dir.ok()) return Fail(dir.status());
  auto du = build::MeasureDiskUsage(*dir);
  if (!du.ok()) return Fail(du.status());
  PrintDiskUsage(f, *dir, *du);
  return kExitOk;
}

const char* KindName(build::GcItem::Kind k) {
  switch (k) {
    case build::GcItem::Kind::kCacheEntry:
      return "cache entry";
    case build::GcItem::Kind::kCacheMount:
      return "cache mount";
    case build::GcItem::Kind::kImage:
      return "untagged image";
    case build::GcItem::Kind::kBlob:
      return "blob";
    case build::GcItem::Kind::kLayer:
      return "unpacked layer";
    case build::GcItem::Kind::kTemp:
      return "temporary";
    case build::GcItem::Kind::kCompressedEntry:
      return "compressed-layer cache entry";
  }
  return "";
}

int RunPrune(const GcFlags& f) {
  auto policy = PruneFlagsToPolicy(f.all, f.filters, f.keep_storage);
  if (!policy.ok()) return FailFlags(policy.status());
  auto host = ChooseHost(*f.global);
  if (!host.ok()) return Fail(host.status());
  if (Status st = CheckNoStateDir(f.state_dir, *host); !st.ok()) return Usage(st.message());
  if (!f.force) {
    std::cerr << (f.all ? "WARNING! This will remove all build cache."
                        : "WARNING! This will remove all dangling build cache.")
              << " Are you sure you want to continue? [y/N] " << std::flush;
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "y" && answer != "Y") return kExitOk;
  }
  Result<build::GcReport> report = build::GcReport{};
  if (!host->host.empty()) {
    latchkey::v1::PruneRequest req;
    req.set_all(f.all);
    for (const auto& filter : f.filters) req.add_filters(filter);
    req.set_keep_storage(f.keep_storage);
    report = DaemonPrune(*host, std::move(req));
    if (!report.ok()) return FailFlags(report.status());
  } else {
    auto dir = StateDir(f);
    if (!dir.ok()) return Fail(dir.status());
    report = build::CollectGarbage(*dir, *policy, false, /*wait=*/false);
    if (!report.ok() && report.status().code() == StatusCode::kUnavailable) {
      std::cerr << "waiting for the running builds on " << *dir << " to finish\n";
      report = build::CollectGarbage(*dir, *policy, false, /*wait=*/true);
    }
    if (!report.ok()) return Fail(report.status());
  }
  if (f.verbose) {
    for (const auto& i : report->items) {
      std::cout << "deleted " << KindName(i.kind) << " " << i.id << " ("
                << image::HumanSize(i.bytes) << ")\n";
    }
  }
  std::cout << "Total reclaimed space: " << image::HumanSize(report->reclaimed) << "\n";
  return kExitOk;
}

void AddStateDir(CLI::App* sub, GcFlags* f) {
  sub->add_option("--state-dir", f->state_dir,
                  "Builder state directory (default: the configuration's builder state "
                  "directory, <state_dir>/builder)");
}

CommandRegistrar reg("du", [](CLI::App& app, CommandContext& ctx) {
  auto f = std::make_shared<GcFlags>();
  f->global = &ctx.global;
  auto* du = app.add_subcommand("du", "Show what the builder's state directory uses");
  AddStateDir(du, f.get());
  du->add_flag("-v,--verbose", f->verbose, "List the build cache entries");
  du->add_option("--format", f->format, "table or json");
  AddHostOption(du, &ctx.global);
  du->callback([f, &ctx] { ctx.exit_code = RunDu(*f); });
});

CommandRegistrar reg_prune("prune", [](CLI::App& app, CommandContext& ctx) {
  auto f = std::make_shared<GcFlags>();
  f->global = &ctx.global;
  auto* prune = app.add_subcommand("prune", "Remove build cache and unreferenced storage");
  AddStateDir(prune, f.get());
  prune->add_flag("-a,--all", f->all,
                  "Remove all build cache and unpacked layers, not only unreferenced storage");
  prune->add_option("--filter", f->filters, "until=DURATION: only cache unused for longer");
  prune->add_option("--keep-storage", f->keep_storage,
                    "Then remove cache, least recently used first, down to this size (10GB)");
  prune->add_flag("-f,--force", f->force, "Do not prompt for confirmation");
  prune->add_flag("--verbose", f->verbose, "List what was removed");
  AddHostOption(prune, &ctx.global);
  prune->callback([f, &ctx] { ctx.exit_code = RunPrune(*f); });
});

}  // namespace
}  // namespace latchkey::cli
