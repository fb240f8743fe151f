// Garbage collection and disk usage of the builder's state directory (docs/image-store.md,
// "Garbage collection"): a mark-and-sweep over the image store's index, the build cache's
// entries and the unpacked-layer cache.
//
// Roots (marked): every entry of images/index.json (its manifest, config and layer blobs, and
// the unpacked layer directories of its diff_ids) and every build cache entry the policy keeps
// (its layer blob and unpacked directory). A compressed copy of a layer (the compressed-layer
// cache, image/output_image.h) is kept with its blob while a kept cache entry or (except with
// `all`) an image references the layer's diff_id. Swept: blobs and unpacked layers no root names,
// temporary files of the blob store and the layer cache, and -- when the policy says so -- cache
// entries and RUN --mount=type=cache directories.
//
// Concurrency: the sweep runs under an exclusive flock on "<state>/gc.lock" (StoreUseLock);
// every writer of the store (a build, for its whole duration; `image import`; `pull`) holds a
// shared flock on the same file, so nothing a running build references (a base layer, a cache
// hit's blob, a blob it just wrote and has not tagged yet) is swept. The roots are read after
// the exclusive lock is taken. Thread-safety: the functions may run in any number of threads
// and processes; the lock orders them.
#ifndef LATCHKEY_BUILDER_SOLVER_STORE_GC_H_
#define LATCHKEY_BUILDER_SOLVER_STORE_GC_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "latchkey/status.h"

namespace latchkey::build {

// A shared or exclusive flock on "<state>/gc.lock" (created 0600), released on destruction.
class StoreUseLock {
 public:
  // Shared: blocks while a GC holds the exclusive lock. Errors name the lock file.
  static Result<StoreUseLock> Shared(const std::string& state_dir);
  // Exclusive. With `wait` false: nullopt when another process holds the lock (a build runs).
  static Result<std::optional<StoreUseLock>> Exclusive(const std::string& state_dir, bool wait);

 private:
  explicit StoreUseLock(base::UniqueFd fd) : fd_(std::move(fd)) {}
  base::UniqueFd fd_;
};

// What a GC deletes besides storage no root names.
struct GcPolicy {
  // Delete every build cache entry (subject to `unused_for`), every unpacked layer and every
  // free cache-mount directory: only what a tagged image references stays (prune --all).
  bool all = false;
  // Cache entries (and, with `all`, cache mounts) last used longer ago than this many seconds
  // are deleted (prune --filter until=D, builder.gc.keep_duration). With `all`, only those.
  std::optional<int64_t> unused_for;
  // Then cache entries, least recently used first, until the state dir uses at most this many
  // bytes (prune --keep-storage, builder.gc.keep_storage). Image storage is never deleted.
  std::optional<int64_t> keep_storage;
  // False: cache entries and cache mounts are left alone whatever the fields above say
  // (image rm, image prune).
  bool cache = true;
  int64_t now = 0;  // seconds since the epoch; 0 = the clock
};

// One thing the GC deletes (or, in a dry run, would delete).
struct GcItem {
  // kCompressedEntry: an entry of the compressed-layer cache (image/output_image.h) whose
  // diff_id no kept root references (its blob is then swept as a kBlob).
  enum class Kind { kCacheEntry, kCacheMount, kImage, kBlob, kLayer, kTemp, kCompressedEntry };
  Kind kind;
  std::string id;     // cache key, "sha256:..." digest, diff_id, or a path under the state dir
  int64_t bytes = 0;  // disk space it frees (cache entries: the entry file only)
};

struct GcReport {
  std::vector<GcItem> items;  // cache entries, then images (untagged manifests), then storage
  int64_t reclaimed = 0;      // sum of items' bytes
};

// Runs a GC of `state_dir` under the exclusive lock (waiting for it when `wait`; when not and a
// build holds the lock, UNAVAILABLE `the state directory <dir> is in use by a running build`).
// With `dry_run` nothing is deleted (the report says what would be). Errors name the file; a
// tagged image whose manifest cannot be read stops the GC before anything is deleted.
Result<GcReport> CollectGarbage(const std::string& state_dir, const GcPolicy& policy, bool dry_run,
                                bool wait);

// The end of a build (Build() in builder.h): the unpacked directories of the layers `diff_ids`
// ("sha256:..."; those the build unpacked or committed) that no tagged image references are
// removed from the layer cache; their blobs and cache entries stay, and the next build that needs
// the files unpacks them again (image::ExtractLayer). Takes the exclusive lock without waiting:
// while another build or a GC holds it, nothing is removed (0). Returns how many directories were
// removed. Removal is as safe to interrupt as the GC's (a directory is renamed into layers/tmp
// first). Errors name the directory or the unreadable image (then nothing is removed).
Result<int> EvictUnpackedLayers(const std::string& state_dir,
                                const std::vector<std::string>& diff_ids);

// Disk usage of a state dir (bytes allocated on disk, hardlinks once per tree).
struct UsageLine {
  std::string kind;  // "blobs", "unpacked layers", "build cache", "cache mounts", "temporary"
  int64_t count = 0;
  int64_t bytes = 0;
};
struct CacheEntryUsage {
  std::string key;
  std::string layer_digest;  // "" for an entry that changed nothing
  int64_t bytes = 0;         // its layer's blob + unpacked directory
  int64_t last_used = 0;     // seconds since the epoch
  bool shared = false;       // a tagged image references its layer too
};
struct ImageUsage {
  std::string ref;
  std::string manifest;
  int64_t bytes = 0;   // its blobs + unpacked layers
  int64_t unique = 0;  // of which no other image or cache entry references
};
struct DiskUsage {
  std::vector<UsageLine> lines;
  int64_t total = 0;
  std::vector<ImageUsage> images;
  std::vector<CacheEntryUsage> cache;
  int64_t reclaimable = 0;      // what `prune` frees now
  int64_t reclaimable_all = 0;  // what `prune --all` frees now
};
// Measures `state_dir` (no lock is taken; a concurrent build makes the figures approximate).
Result<DiskUsage> MeasureDiskUsage(const std::string& state_dir);

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_STORE_GC_H_
