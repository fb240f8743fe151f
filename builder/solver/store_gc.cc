#include "builder/solver/store_gc.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "base/owner_lock.h"
#include "builder/image/digest.h"
#include "builder/image/fs_util.h"
#include "builder/image/image_store.h"
#include "builder/image/oci_image.h"
#include "builder/image/output_image.h"
#include "builder/solver/build_cache.h"

namespace latchkey::build {
namespace {

Result<base::UniqueFd> OpenLockFile(const std::string& state_dir) {
  LK_RETURN_IF_ERROR(image::MakeDirs(state_dir, 0700));
  const std::string path = state_dir + "/gc.lock";
  base::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) return image::ErrnoStatus("open lock file", path, errno);
  return fd;
}

Status Flock(int fd, int op, const std::string& state_dir) {
  while (::flock(fd, op) != 0) {
    if (errno == EINTR) continue;
    return image::ErrnoStatus("lock", state_dir + "/gc.lock", errno);
  }
  return Status::OK();
}

// Names in `dir` (not "." or ".."); a missing dir has none.
std::vector<std::string> Names(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(std::move(n));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

// Bytes allocated to `path` and everything under it (hardlinks counted once).
int64_t TreeBytes(const std::string& path, std::set<std::pair<dev_t, ino_t>>* seen) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return 0;
  int64_t total = 0;
  if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 && !seen->insert({st.st_dev, st.st_ino}).second) {
    return 0;
  }
  total += static_cast<int64_t>(st.st_blocks) * 512;
  if (S_ISDIR(st.st_mode)) {
    for (const auto& n : Names(path)) total += TreeBytes(path + "/" + n, seen);
  }
  return total;
}
int64_t TreeBytes(const std::string& path) {
  std::set<std::pair<dev_t, ino_t>> seen;
  return TreeBytes(path, &seen);
}

int64_t MTime(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mtim.tv_sec;
}

bool IsHex64(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// True when the blob at `path` is an image manifest (what an untagged image leaves).
bool IsManifest(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || st.st_size > (4 << 20)) return false;
  auto text = image::ReadFile(path);
  if (!text.ok() || text->empty() || (*text)[0] != '{') return false;
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  return j.is_object() && j.contains("layers") && j["layers"].is_array() && j.contains("config") &&
         j["config"].is_object() && j["config"].contains("digest");
}

struct CacheRecord {
  std::string key;
  std::string path;
  int64_t last_used = 0;
  std::optional<image::LayerDescriptor> layer;
  bool valid = false;
};

// Everything the state dir holds that the GC knows about.
struct Inventory {
  std::string state;
  std::vector<image::StoredImage> images;               // index entries, tagged or not
  std::vector<CacheRecord> cache;                       // sorted by key
  std::map<std::string, int64_t> blobs;                 // digest -> bytes
  std::map<std::string, int64_t> layers;                // diff_id -> bytes
  std::vector<std::pair<std::string, int64_t>> temps;   // path -> bytes
  std::vector<std::pair<std::string, int64_t>> mounts;  // cache mount dir -> bytes
  // The compressed-layer cache (image/output_image.h): diff_id + compression -> blob.
  std::vector<image::CompressedCacheEntry> compressed;
};

std::string BlobsDir(const std::string& s) { return s + "/images/blobs/sha256"; }
std::string LayersDir(const std::string& s) { return s + "/layers/sha256"; }

// Every tagged image of the store at `state` (none when it has no index yet). An image that
// cannot be read fails the whole call: `<what>: image "<ref>" cannot be read<consequence>:
// <cause>`, since what it references is then unknown.
Result<std::vector<image::StoredImage>> TaggedImages(const std::string& state,
                                                     const std::string& what,
                                                     const std::string& consequence) {
  std::vector<image::StoredImage> images;
  const std::string layout = state + "/images";
  struct stat st;
  if (::stat((layout + "/index.json").c_str(), &st) != 0) return images;
  LK_ASSIGN_OR_RETURN(image::BlobStore blobs, image::BlobStore::Open(layout));
  LK_ASSIGN_OR_RETURN(auto entries, image::ReadIndex(layout));
  for (const auto& e : entries) {
    auto img = image::LoadImage(blobs, e.digest);
    if (!img.ok()) {
      return img.status().WithPrefix(what + ": image \"" + e.ref_name + "\" cannot be read" +
                                     consequence);
    }
    images.push_back(image::StoredImage{e.ref_name, std::move(*img)});
  }
  return images;
}

Result<Inventory> TakeInventory(const std::string& state) {
  Inventory inv;
  inv.state = state;
  const std::string layout = state + "/images";
  LK_ASSIGN_OR_RETURN(inv.images,
                      TaggedImages(state, "garbage collection",
                                   ", so what it references is unknown; nothing was deleted"));
  struct stat st;
  if (::stat((layout + "/compressed").c_str(), &st) == 0) {
    LK_ASSIGN_OR_RETURN(image::BlobStore blobs, image::BlobStore::Open(layout));
    LK_ASSIGN_OR_RETURN(inv.compressed, image::ListCompressedCache(blobs));
  }
  for (const auto& n : Names(BlobsDir(state))) {
    if (IsHex64(n)) inv.blobs["sha256:" + n] = TreeBytes(BlobsDir(state) + "/" + n);
  }
  for (const auto& n : Names(LayersDir(state))) {
    if (IsHex64(n)) inv.layers["sha256:" + n] = TreeBytes(LayersDir(state) + "/" + n);
  }
  for (const std::string& dir : {layout + "/ingest", state + "/layers/tmp"}) {
    for (const auto& n : Names(dir)) {
      // Lock files of layers/tmp go with their directory (Apply).
      if (!n.ends_with(".lock")) inv.temps.push_back({dir + "/" + n, TreeBytes(dir + "/" + n)});
    }
  }
  const std::string cache_dir = state + "/cache";
  if (::stat(cache_dir.c_str(), &st) == 0) {
    LK_ASSIGN_OR_RETURN(BuildCache cache, BuildCache::Open(state));
    for (const auto& n : Names(cache_dir + "/index")) {
      if (n.size() != 69 || n.substr(64) != ".json" || !IsHex64(n.substr(0, 64))) continue;
      CacheRecord r;
      r.key = n.substr(0, 64);
      r.path = cache_dir + "/index/" + n;
      r.last_used = MTime(r.path);
      // Peek without refreshing the entry's last use.
      auto e = cache.Peek(r.key);
      r.valid = e.has_value();
      if (e) r.layer = e->layer;
      inv.cache.push_back(std::move(r));
    }
    for (const auto& n : Names(cache_dir)) {
      if (n == "index" || n.ends_with(".lock") || n.ends_with(".tmp")) continue;
      const std::string p = cache_dir + "/" + n;
      if (::lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        inv.mounts.push_back({p, TreeBytes(p)});
    }
  }
  return inv;
}

// True when a cache mount's lock is free (no step uses the directory).
bool MountIsFree(const std::string& dir) {
  base::UniqueFd fd(::open((dir + ".lock").c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) return true;
  return ::flock(fd.get(), LOCK_EX | LOCK_NB) == 0;
}

GcReport Plan(const Inventory& inv, const GcPolicy& policy) {
  const int64_t now = policy.now != 0 ? policy.now : static_cast<int64_t>(::time(nullptr));
  auto old = [&](int64_t t) { return policy.unused_for && now - t > *policy.unused_for; };
  GcReport report;
  auto add = [&](GcItem::Kind k, std::string id, int64_t bytes) {
    report.items.push_back(GcItem{k, std::move(id), bytes});
    report.reclaimed += bytes;
  };
  std::set<std::string> image_blobs, image_layers;
  for (const auto& si : inv.images) {
    image_blobs.insert(si.image.manifest_digest);
    image_blobs.insert(si.image.config_digest);
    for (const auto& l : si.image.layers) {
      image_blobs.insert(l.digest);
      image_layers.insert(l.diff_id);
    }
  }
  // Cache entries: which stay.
  std::vector<const CacheRecord*> kept;
  for (const auto& r : inv.cache) {
    bool drop = !r.valid || (r.layer && !inv.blobs.contains(r.layer->digest));
    if (policy.cache &&
        (policy.all ? (!policy.unused_for || old(r.last_used)) : old(r.last_used))) {
      drop = true;
    }
    if (drop) {
      add(GcItem::Kind::kCacheEntry, r.key, TreeBytes(r.path));
    } else {
      kept.push_back(&r);
    }
  }
  std::vector<std::pair<std::string, int64_t>> mounts_kept;
  for (const auto& [path, bytes] : inv.mounts) {
    if (policy.cache && policy.all && (!policy.unused_for || old(MTime(path))) &&
        MountIsFree(path)) {
      add(GcItem::Kind::kCacheMount, path, bytes);
    } else {
      mounts_kept.push_back({path, bytes});
    }
  }
  // Reference counts of what kept cache entries name.
  std::map<std::string, int> cache_blobs, cache_layers;
  for (const CacheRecord* r : kept) {
    if (!r->layer) continue;
    ++cache_blobs[r->layer->digest];
    ++cache_layers[r->layer->diff_id];
  }
  auto layer_kept = [&](const std::string& diff_id) {
    if (cache_layers.contains(diff_id)) return true;
    if (!image_layers.contains(diff_id)) return false;
    if (!policy.all) return true;
    return policy.unused_for &&
           !old(MTime(LayersDir(inv.state) + "/" + std::string(image::DigestHex(diff_id))));
  };
  if (policy.cache && policy.keep_storage) {
    int64_t used = 0;
    for (const auto& [d, b] : inv.blobs) {
      if (image_blobs.contains(d) || cache_blobs.contains(d)) used += b;
    }
    for (const auto& [d, b] : inv.layers) {
      if (layer_kept(d)) used += b;
    }
    for (const auto& m : mounts_kept) used += m.second;
    std::vector<const CacheRecord*> lru = kept;
    std::stable_sort(lru.begin(), lru.end(), [](const CacheRecord* a, const CacheRecord* b) {
      return a->last_used < b->last_used;
    });
    std::set<const CacheRecord*> dropped;
    for (const CacheRecord* r : lru) {
      if (used <= *policy.keep_storage) break;
      dropped.insert(r);
      add(GcItem::Kind::kCacheEntry, r->key, TreeBytes(r->path));
      if (!r->layer) continue;
      if (--cache_blobs[r->layer->digest] == 0) {
        cache_blobs.erase(r->layer->digest);
        if (!image_blobs.contains(r->layer->digest)) used -= inv.blobs.at(r->layer->digest);
      }
      if (--cache_layers[r->layer->diff_id] == 0) {
        cache_layers.erase(r->layer->diff_id);
        auto it = inv.layers.find(r->layer->diff_id);
        if (it != inv.layers.end() && !layer_kept(r->layer->diff_id)) used -= it->second;
      }
    }
  }
  // Compressed copies of layers (and the output manifests naming them): kept (with their
  // blobs) while a kept cache entry or, except for --all, an image references their diff_id
  // (or manifest) and the blob is there; else the entry goes (before its blob: Apply deletes
  // in report order).
  std::set<std::string> compressed_blobs, compressed_named;
  for (const auto& c : inv.compressed) {
    if (!c.digest.empty()) compressed_named.insert(c.digest);
    const bool referenced =
        cache_layers.contains(c.source) ||
        (!policy.all && (image_layers.contains(c.source) || image_blobs.contains(c.source)));
    if (!c.digest.empty() && referenced && inv.blobs.contains(c.digest)) {
      compressed_blobs.insert(c.digest);
    } else {
      add(GcItem::Kind::kCompressedEntry, c.path, TreeBytes(c.path));
    }
  }
  // Sweep.
  for (const auto& [d, b] : inv.blobs) {
    if (image_blobs.contains(d) || cache_blobs.contains(d) || compressed_blobs.contains(d)) {
      continue;
    }
    // An output's manifest (named by a compressed-copy entry) is not an untagged image.
    const bool manifest = !compressed_named.contains(d) &&
                          IsManifest(BlobsDir(inv.state) + "/" + std::string(image::DigestHex(d)));
    add(manifest ? GcItem::Kind::kImage : GcItem::Kind::kBlob, d, b);
  }
  for (const auto& [d, b] : inv.layers) {
    if (!layer_kept(d)) add(GcItem::Kind::kLayer, d, b);
  }
  for (const auto& [p, b] : inv.temps) add(GcItem::Kind::kTemp, p, b);
  // Images first after cache entries, for the report.
  std::stable_partition(report.items.begin(), report.items.end(), [](const GcItem& i) {
    return i.kind == GcItem::Kind::kCacheEntry || i.kind == GcItem::Kind::kCacheMount ||
           i.kind == GcItem::Kind::kCompressedEntry;
  });
  return report;
}

// Renames `dir` into <state>/layers/tmp first, so that a GC killed half-way never leaves a
// partial directory where the layer cache (a directory there is complete) or a cache mount
// would use it; what is left in layers/tmp is swept by the next GC.
Status RemoveDirAtomically(const std::string& dir, const std::string& state) {
  const std::string tmp_root = state + "/layers/tmp";
  LK_RETURN_IF_ERROR(image::MakeDirs(tmp_root, 0700));
  // Owned like an extraction's temp dir, so a concurrent state recovery leaves it alone.
  LK_ASSIGN_OR_RETURN(base::OwnedDir tmp, base::MakeOwnedTempDir(tmp_root, "gc-"));
  const std::string moved = tmp.path + "/d";
  if (::rename(dir.c_str(), moved.c_str()) != 0) {
    const int err = errno;
    ::rmdir(tmp.path.c_str());
    if (err == ENOENT) return Status::OK();
    return image::ErrnoStatus("move " + dir + " to", moved, err);
  }
  LK_RETURN_IF_ERROR(image::RemoveAll(tmp.path));
  tmp.lock.Release();
  return Status::OK();
}

// Deletes in an order that is safe to interrupt: cache entries before the blobs and layers they
// name, so a GC killed half-way never leaves an entry pointing at a missing blob.
Status Apply(const std::string& state, const GcReport& report) {
  LK_ASSIGN_OR_RETURN(BuildCache cache, BuildCache::Open(state));
  for (const auto& item : report.items) {
    switch (item.kind) {
      case GcItem::Kind::kCacheEntry:
        LK_RETURN_IF_ERROR(cache.Remove(item.id));
        break;
      case GcItem::Kind::kImage:
      case GcItem::Kind::kBlob: {
        const std::string p = BlobsDir(state) + "/" + std::string(image::DigestHex(item.id));
        if (::unlink(p.c_str()) != 0 && errno != ENOENT) {
          return image::ErrnoStatus("remove blob", p, errno);
        }
        break;
      }
      case GcItem::Kind::kCompressedEntry:
        if (::unlink(item.id.c_str()) != 0 && errno != ENOENT) {
          if (errno == EISDIR || errno == EPERM) {
            LK_RETURN_IF_ERROR(image::RemoveAll(item.id));
          } else {
            return image::ErrnoStatus("remove compressed-layer cache entry", item.id, errno);
          }
        }
        ::rmdir(item.id.substr(0, item.id.rfind('/')).c_str());  // its diff_id dir, if now empty
        break;
      case GcItem::Kind::kLayer:
        LK_RETURN_IF_ERROR(RemoveDirAtomically(
            LayersDir(state) + "/" + std::string(image::DigestHex(item.id)), state));
        break;
      case GcItem::Kind::kCacheMount:
        LK_RETURN_IF_ERROR(RemoveDirAtomically(item.id, state));
        ::unlink((item.id + ".lock").c_str());
        break;
      case GcItem::Kind::kTemp: {
        // layers/tmp entries are owned through "<dir>.lock" (an extraction, or another GC's
        // removal); one whose owner lives is left alone, as state recovery does.
        LK_ASSIGN_OR_RETURN(std::optional<base::OwnerLock> owner,
                            base::OwnerLock::Claim(item.id + ".lock"));
        if (!owner) break;
        LK_RETURN_IF_ERROR(image::RemoveAll(item.id));
        owner->Release();
        break;
      }
    }
  }
  return Status::OK();
}

}  // namespace

Result<StoreUseLock> StoreUseLock::Shared(const std::string& state_dir) {
  LK_ASSIGN_OR_RETURN(base::UniqueFd fd, OpenLockFile(state_dir));
  LK_RETURN_IF_ERROR(Flock(fd.get(), LOCK_SH, state_dir));
  return StoreUseLock(std::move(fd));
}

Result<std::optional<StoreUseLock>> StoreUseLock::Exclusive(const std::string& state_dir,
                                                            bool wait) {
  LK_ASSIGN_OR_RETURN(base::UniqueFd fd, OpenLockFile(state_dir));
  if (!wait) {
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) return std::optional<StoreUseLock>();
      return image::ErrnoStatus("lock", state_dir + "/gc.lock", errno);
    }
  } else {
    LK_RETURN_IF_ERROR(Flock(fd.get(), LOCK_EX, state_dir));
  }
  return std::optional<StoreUseLock>(StoreUseLock(std::move(fd)));
}

Result<GcReport> CollectGarbage(const std::string& state_dir, const GcPolicy& policy, bool dry_run,
                                bool wait) {
  LK_ASSIGN_OR_RETURN(std::optional<StoreUseLock> lock, StoreUseLock::Exclusive(state_dir, wait));
  if (!lock) {
    return UnavailableError("the state directory " + state_dir + " is in use by a running build");
  }
  LK_ASSIGN_OR_RETURN(Inventory inv, TakeInventory(state_dir));
  GcReport report = Plan(inv, policy);
  if (!dry_run) LK_RETURN_IF_ERROR(Apply(state_dir, report));
  return report;
}

Result<int> EvictUnpackedLayers(const std::string& state_dir,
                                const std::vector<std::string>& diff_ids) {
  if (diff_ids.empty()) return 0;
  LK_ASSIGN_OR_RETURN(std::optional<StoreUseLock> lock,
                      StoreUseLock::Exclusive(state_dir, /*wait=*/false));
  if (!lock) return 0;
  std::set<std::string> image_layers;
  LK_ASSIGN_OR_RETURN(auto images,
                      TaggedImages(state_dir, "evicting unpacked layers", "; nothing was removed"));
  for (const auto& i : images) {
    for (const auto& l : i.image.layers) image_layers.insert(l.diff_id);
  }
  struct stat st;
  int removed = 0;
  for (const auto& d : diff_ids) {
    if (!image::IsValidDigest(d) || image_layers.contains(d)) continue;
    const std::string dir = LayersDir(state_dir) + "/" + std::string(image::DigestHex(d));
    if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    LK_RETURN_IF_ERROR(RemoveDirAtomically(dir, state_dir));
    ++removed;
  }
  return removed;
}

Result<DiskUsage> MeasureDiskUsage(const std::string& state_dir) {
  LK_ASSIGN_OR_RETURN(Inventory inv, TakeInventory(state_dir));
  DiskUsage du;
  auto line = [&](std::string kind, int64_t count, int64_t bytes) {
    du.lines.push_back(UsageLine{std::move(kind), count, bytes});
  };
  int64_t b = 0;
  for (const auto& [d, n] : inv.blobs) b += n;
  line("blobs", static_cast<int64_t>(inv.blobs.size()), b);
  b = 0;
  for (const auto& [d, n] : inv.layers) b += n;
  line("unpacked layers", static_cast<int64_t>(inv.layers.size()), b);
  b = 0;
  for (const auto& r : inv.cache) b += TreeBytes(r.path);
  line("build cache", static_cast<int64_t>(inv.cache.size()), b);
  b = 0;
  for (const auto& m : inv.mounts) b += m.second;
  line("cache mounts", static_cast<int64_t>(inv.mounts.size()), b);
  b = 0;
  int64_t temps = static_cast<int64_t>(inv.temps.size());
  for (const auto& t : inv.temps) b += t.second;
  for (const char* dir : {"tmp", "secrets", "scratch"}) {
    for (const auto& n : Names(state_dir + "/" + std::string(dir))) {
      ++temps;
      b += TreeBytes(state_dir + "/" + std::string(dir) + "/" + n);
    }
  }
  line("temporary", temps, b);
  du.total = TreeBytes(state_dir);

  // Who references what.
  std::map<std::string, int> refs;  // digest or diff_id -> referrers
  auto image_keys = [](const image::Image& img) {
    std::set<std::string> k = {img.manifest_digest, img.config_digest};
    for (const auto& l : img.layers) {
      k.insert(l.digest);
      k.insert("layer:" + l.diff_id);
    }
    return k;
  };
  for (const auto& si : inv.images) {
    for (const auto& k : image_keys(si.image)) ++refs[k];
  }
  std::set<std::string> by_images;
  for (const auto& [k, n] : refs) by_images.insert(k);
  for (const auto& r : inv.cache) {
    if (!r.layer) continue;
    ++refs[r.layer->digest];
    ++refs["layer:" + r.layer->diff_id];
  }
  auto bytes_of = [&](const std::string& k) -> int64_t {
    if (k.starts_with("layer:")) {
      auto it = inv.layers.find(k.substr(6));
      return it == inv.layers.end() ? 0 : it->second;
    }
    auto it = inv.blobs.find(k);
    return it == inv.blobs.end() ? 0 : it->second;
  };
  for (const auto& si : inv.images) {
    ImageUsage u;
    u.ref = si.ref;
    u.manifest = si.image.manifest_digest;
    for (const auto& k : image_keys(si.image)) {
      u.bytes += bytes_of(k);
      if (refs[k] == 1) u.unique += bytes_of(k);
    }
    du.images.push_back(std::move(u));
  }
  for (const auto& r : inv.cache) {
    CacheEntryUsage c;
    c.key = r.key;
    c.last_used = r.last_used;
    if (r.layer) {
      c.layer_digest = r.layer->digest;
      c.bytes = bytes_of(r.layer->digest) + bytes_of("layer:" + r.layer->diff_id);
      c.shared = by_images.contains(r.layer->digest);
    }
    du.cache.push_back(std::move(c));
  }
  du.reclaimable = Plan(inv, GcPolicy{}).reclaimed;
  GcPolicy all;
  all.all = true;
  du.reclaimable_all = Plan(inv, all).reclaimed;
  return du;
}

}  // namespace latchkey::build
