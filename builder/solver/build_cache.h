// BuildCache: the builder's step cache. Maps a step's cache key -- derived from the parent
// layer chain, the instruction after expansion, its mount specs (secret ids, targets, modes;
// never values) and the content of what it reads -- to the layer the step produced. Layers
// themselves live in the shared blob store; an entry only names them. See docs/cache.md.
//
// On disk (format version 1): "<state>/cache/index/<key>.json", one canonical JSON object per
// key, written atomically (temp file + fsync + rename) under an exclusive flock on
// "<state>/cache/index.lock"; readers never lock (they see the old or the new entry).
//
// Entries are written through a base::Env (default: the POSIX one). A failed write leaves the
// previous entry (or none), never a partial one.
//
// Thread-safety: a BuildCache may be used from many threads and processes at once.
#ifndef LATCHKEY_BUILDER_SOLVER_BUILD_CACHE_H_
#define LATCHKEY_BUILDER_SOLVER_BUILD_CACHE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/env.h"
#include "builder/image/layer_writer.h"
#include "latchkey/status.h"

namespace latchkey::build {

inline constexpr int kBuildCacheFormatVersion = 1;

struct CacheEntry {
  // The layer the step produced; nullopt when it changed nothing (an empty_layer entry).
  std::optional<image::LayerDescriptor> layer;
  // RFC 3339 time the step first ran: reused on hits so an unchanged rebuild gives the same
  // image config (and digest).
  std::string created;
  // Secret ids the leak guard was told to allow (--allow-secret-leak) when the layer was made.
  // A later build that does not allow all of them must not reuse the layer.
  std::vector<std::string> allowed_leaks;
  // Set only in the entries that remember the source digest of a COPY --from=<stage>
  // (BuildRun::StepKey): "sha256:<hex>", what CopySourceDigest gave for the stage's layers.
  std::string source_digest = {};
};

// Accumulates length-prefixed fields into a SHA-256 cache key (64 hex digits), so that no
// two different field lists give the same byte stream.
class CacheKeyBuilder {
 public:
  CacheKeyBuilder& Add(std::string_view field);
  CacheKeyBuilder& Add(const std::vector<std::string>& fields);
  std::string Finish() const;

 private:
  std::string data_;
};

class BuildCache {
 public:
  // Opens (creating if needed) the cache under `state_dir`. Entries are written through `env`
  // (not owned; must outlive the cache), the POSIX Env by default.
  static Result<BuildCache> Open(const std::string& state_dir,
                                 base::Env* env = base::PosixEnv().get());

  // The entry for `key`, or nullopt. An unreadable or corrupt entry is a miss (it is
  // rewritten by the next Store), never an error that stops a build. A hit sets the entry
  // file's mtime to now: the entry's last use, which the GC's keep_duration and keep_storage
  // go by (store_gc.h).
  std::optional<CacheEntry> Lookup(std::string_view key) const;
  // Lookup without recording a use (du, the GC).
  std::optional<CacheEntry> Peek(std::string_view key) const;
  // Records `entry` for `key`, replacing any previous one. Errors name the file.
  Status Store(std::string_view key, const CacheEntry& entry);
  // Forgets `key` (the leak guard refused what it names). A missing entry is fine.
  Status Remove(std::string_view key);

  const std::string& dir() const { return dir_; }

 private:
  BuildCache(std::string dir, base::Env* env) : dir_(std::move(dir)), env_(env) {}
  std::string dir_;  // <state>/cache
  base::Env* env_;
};

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_BUILD_CACHE_H_
