#include "builder/solver/build_cache.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "builder/image/digest.h"
#include "builder/image/fs_util.h"

namespace latchkey::build {

CacheKeyBuilder& CacheKeyBuilder::Add(std::string_view field) {
  data_ += std::to_string(field.size());
  data_ += ':';
  data_.append(field);
  return *this;
}

CacheKeyBuilder& CacheKeyBuilder::Add(const std::vector<std::string>& fields) {
  Add(std::to_string(fields.size()));
  for (const auto& f : fields) Add(f);
  return *this;
}

std::string CacheKeyBuilder::Finish() const {
  return std::string(image::DigestHex(image::Sha256Digest(data_)));
}

Result<BuildCache> BuildCache::Open(const std::string& state_dir, base::Env* env) {
  std::string dir = state_dir + "/cache";
  LK_RETURN_IF_ERROR(image::MakeDirs(dir + "/index", 0700));
  return BuildCache(dir, env);
}

std::optional<CacheEntry> BuildCache::Lookup(std::string_view key) const {
  std::optional<CacheEntry> e = Peek(key);
  // The last use; a failure only makes the entry look older to the GC.
  if (e)
    (void)::utimensat(AT_FDCWD, (dir_ + "/index/" + std::string(key) + ".json").c_str(), nullptr,
                      0);
  return e;
}

std::optional<CacheEntry> BuildCache::Peek(std::string_view key) const {
  Result<std::string> text = image::ReadFile(dir_ + "/index/" + std::string(key) + ".json");
  if (!text.ok()) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object() || j.value("version", 0) != kBuildCacheFormatVersion) return std::nullopt;
  try {
    CacheEntry e;
    e.created = j.at("created").get<std::string>();
    e.allowed_leaks = j.value("allowed_leaks", std::vector<std::string>{});
    e.source_digest = j.value("source_digest", std::string());
    if (!e.source_digest.empty() && !image::IsValidDigest(e.source_digest)) return std::nullopt;
    const auto& l = j.at("layer");
    if (!l.is_null()) {
      image::LayerDescriptor d;
      d.media_type = l.at("mediaType").get<std::string>();
      d.digest = l.at("digest").get<std::string>();
      d.size = l.at("size").get<int64_t>();
      d.diff_id = l.at("diff_id").get<std::string>();
      if (!image::IsValidDigest(d.digest) || !image::IsValidDigest(d.diff_id)) return std::nullopt;
      e.layer = d;
    }
    return e;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

Status BuildCache::Store(std::string_view key, const CacheEntry& entry) {
  nlohmann::json j = {{"version", kBuildCacheFormatVersion}, {"created", entry.created}};
  if (entry.layer) {
    j["layer"] = {{"mediaType", entry.layer->media_type},
                  {"digest", entry.layer->digest},
                  {"size", entry.layer->size},
                  {"diff_id", entry.layer->diff_id}};
  } else {
    j["layer"] = nullptr;
  }
  if (!entry.allowed_leaks.empty()) j["allowed_leaks"] = entry.allowed_leaks;
  if (!entry.source_digest.empty()) j["source_digest"] = entry.source_digest;
  LK_ASSIGN_OR_RETURN(image::FileLock lock, image::FileLock::Acquire(dir_ + "/index.lock"));
  return base::WriteFileAtomic(*env_, dir_ + "/index/" + std::string(key) + ".json",
                               j.dump() + "\n", 0600);
}

Status BuildCache::Remove(std::string_view key) {
  LK_ASSIGN_OR_RETURN(image::FileLock lock, image::FileLock::Acquire(dir_ + "/index.lock"));
  return env_->Remove(dir_ + "/index/" + std::string(key) + ".json");
}

}  // namespace latchkey::build
