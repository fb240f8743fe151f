#include "daemon/gc_call.h"

#include <thread>

#include "broker/logging.h"
#include "builder/image/export_spec.h"
#include "daemon/prune_flags.h"

namespace latchkey::daemon {
namespace {

using latchkey::v1::PruneItem;

grpc::Status Grpc(const Status& st) {
  return grpc::Status(static_cast<grpc::StatusCode>(st.code()), st.message());
}

PruneItem::Kind KindToProto(build::GcItem::Kind k) {
  switch (k) {
    case build::GcItem::Kind::kCacheEntry:
      return PruneItem::CACHE_ENTRY;
    case build::GcItem::Kind::kCacheMount:
      return PruneItem::CACHE_MOUNT;
    case build::GcItem::Kind::kImage:
      return PruneItem::UNTAGGED_IMAGE;
    case build::GcItem::Kind::kBlob:
      return PruneItem::BLOB;
    case build::GcItem::Kind::kLayer:
      return PruneItem::UNPACKED_LAYER;
    case build::GcItem::Kind::kTemp:
      return PruneItem::TEMPORARY;
    case build::GcItem::Kind::kCompressedEntry:
      return PruneItem::COMPRESSED_CACHE_ENTRY;
  }
  return PruneItem::KIND_UNSPECIFIED;
}

// An unknown kind (a newer daemon's) is shown as a blob: storage that was freed.
build::GcItem::Kind KindFromProto(PruneItem::Kind k) {
  switch (k) {
    case PruneItem::CACHE_ENTRY:
      return build::GcItem::Kind::kCacheEntry;
    case PruneItem::CACHE_MOUNT:
      return build::GcItem::Kind::kCacheMount;
    case PruneItem::UNTAGGED_IMAGE:
      return build::GcItem::Kind::kImage;
    case PruneItem::UNPACKED_LAYER:
      return build::GcItem::Kind::kLayer;
    case PruneItem::TEMPORARY:
      return build::GcItem::Kind::kTemp;
    case PruneItem::COMPRESSED_CACHE_ENTRY:
      return build::GcItem::Kind::kCompressedEntry;
    default:
      return build::GcItem::Kind::kBlob;
  }
}

// The request's flags as the command line had them, for the log.
std::string Flags(const latchkey::v1::PruneRequest& r) {
  std::string s = r.keep_cache() ? "image prune" : "prune";
  if (r.all()) s += " --all";
  for (const auto& f : r.filters()) s += " --filter " + f;
  if (!r.keep_storage().empty()) s += " --keep-storage " + r.keep_storage();
  return s;
}

}  // namespace

grpc::Status ServeDiskUsage(const std::string& builder_state_dir,
                            latchkey::v1::DiskUsageResponse* response) {
  auto du = build::MeasureDiskUsage(builder_state_dir);
  if (!du.ok()) return Grpc(du.status());
  ToProto(*du, builder_state_dir, response);
  return grpc::Status::OK;
}

grpc::Status ServePrune(const std::string& builder_state_dir,
                        const latchkey::v1::PruneRequest& request, const std::string& caller,
                        const PruneWaitEnd& end, latchkey::v1::PruneResponse* response) {
  std::vector<std::string> filters(request.filters().begin(), request.filters().end());
  auto policy = PruneFlagsToPolicy(request.all(), filters, request.keep_storage());
  if (!policy.ok()) return Grpc(policy.status());
  policy->cache = !request.keep_cache();
  response->set_state_dir(builder_state_dir);
  auto log = GetLogger("latchkeyd");
  const std::string what = Flags(request);
  bool logged_wait = false;
  for (;;) {
    // Never waits inside the lock call: a blocked flock could not see the call end.
    auto report = build::CollectGarbage(builder_state_dir, *policy, /*dry_run=*/false,
                                        /*wait=*/false);
    if (report.ok()) {
      ToProto(*report, response);
      response->set_state_dir(builder_state_dir);
      log->info("{} by {}: {} items deleted, {} reclaimed", what, caller, report->items.size(),
                image::HumanSize(report->reclaimed));
      return grpc::Status::OK;
    }
    if (report.status().code() != StatusCode::kUnavailable) {
      log->warn("{} by {} failed: {}", what, caller, report.status().message());
      return Grpc(report.status());
    }
    if (!request.wait()) {
      response->set_in_use(true);
      return grpc::Status::OK;
    }
    if (!logged_wait) {
      log->info("{} by {}: waiting for the running builds on {} to finish", what, caller,
                builder_state_dir);
      logged_wait = true;
    }
    std::this_thread::sleep_for(kPruneRetryInterval);
    // Checked right before the next try: a call that ended never collects.
    if (end.stopping && end.stopping()) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "latchkeyd is shutting down");
    }
    if (end.cancelled && end.cancelled()) {
      log->info("{} by {}: cancelled while waiting; nothing was deleted", what, caller);
      return grpc::Status(grpc::StatusCode::CANCELLED, "the prune was cancelled");
    }
  }
}

std::string DescribeCaller(const std::optional<audit::PeerInfo>& peer) {
  if (!peer) return "an unidentified caller";
  if (peer->uid < 0) {
    std::string s = "client_cn=" + peer->client_cn;
    if (!peer->address.empty()) s += " address=" + peer->address;
    return s;
  }
  std::string s = "uid=" + std::to_string(peer->uid);
  if (!peer->user.empty()) s += "(" + peer->user + ")";
  return s + " gid=" + std::to_string(peer->gid) + " pid=" + std::to_string(peer->pid);
}

void ToProto(const build::DiskUsage& usage, const std::string& state_dir,
             latchkey::v1::DiskUsageResponse* out) {
  out->set_state_dir(state_dir);
  for (const auto& l : usage.lines) {
    auto* u = out->add_usage();
    u->set_kind(l.kind);
    u->set_count(l.count);
    u->set_bytes(l.bytes);
  }
  for (const auto& i : usage.images) {
    auto* m = out->add_images();
    m->set_ref(i.ref);
    m->set_manifest(i.manifest);
    m->set_bytes(i.bytes);
    m->set_unique(i.unique);
  }
  for (const auto& c : usage.cache) {
    auto* e = out->add_cache();
    e->set_key(c.key);
    e->set_layer(c.layer_digest);
    e->set_bytes(c.bytes);
    e->set_last_used(c.last_used);
    e->set_shared(c.shared);
  }
  out->set_total(usage.total);
  out->set_reclaimable(usage.reclaimable);
  out->set_reclaimable_all(usage.reclaimable_all);
}

build::DiskUsage FromProto(const latchkey::v1::DiskUsageResponse& in) {
  build::DiskUsage du;
  for (const auto& l : in.usage()) du.lines.push_back({l.kind(), l.count(), l.bytes()});
  for (const auto& i : in.images()) {
    du.images.push_back({i.ref(), i.manifest(), i.bytes(), i.unique()});
  }
  for (const auto& c : in.cache()) {
    du.cache.push_back({c.key(), c.layer(), c.bytes(), c.last_used(), c.shared()});
  }
  du.total = in.total();
  du.reclaimable = in.reclaimable();
  du.reclaimable_all = in.reclaimable_all();
  return du;
}

void ToProto(const build::GcReport& report, latchkey::v1::PruneResponse* out) {
  for (const auto& i : report.items) {
    auto* p = out->add_items();
    p->set_kind(KindToProto(i.kind));
    p->set_id(i.id);
    p->set_bytes(i.bytes);
  }
  out->set_reclaimed(report.reclaimed);
}

build::GcReport FromProto(const latchkey::v1::PruneResponse& in) {
  build::GcReport r;
  for (const auto& i : in.items()) r.items.push_back({KindFromProto(i.kind()), i.id(), i.bytes()});
  r.reclaimed = in.reclaimed();
  return r;
}

}  // namespace latchkey::daemon
