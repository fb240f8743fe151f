#include "builder/image/output_image.h"

#include <dirent.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <fcntl.h>

#include <optional>

#include "base/env.h"
#include "base/in_root.h"
#include "builder/image/config_json.h"
#include "builder/image/digest.h"
#include "builder/image/fs_util.h"
#include "builder/image/layer_stream.h"
#include "builder/image/media_types.h"

namespace latchkey::image {
namespace {

using json = nlohmann::json;

constexpr int64_t kCancelEvery = 1 << 20;

// The compression a layer media type names; nullopt for one we cannot read back.
std::optional<Compression> CompressionOf(const std::string& media_type) {
  if (media_type == kMediaTypeLayerTar ||
      media_type == "application/vnd.docker.image.rootfs.diff.tar") {
    return Compression::kUncompressed;
  }
  if (media_type == kMediaTypeLayerGzip || media_type == kMediaTypeDockerLayerGzip) {
    return Compression::kGzip;
  }
  if (media_type == kMediaTypeLayerZstd) return Compression::kZstd;
  return std::nullopt;
}

// The entry names of directory `dir`; NOT_FOUND when it does not exist.
Result<std::vector<std::string>> ListDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus("open", dir, errno);
  return base::ListDirAt(fd.get(), dir);
}

std::string EntryName(Compression c, int level) {
  return std::string(CompressionName(c)) + "-" + std::to_string(level);
}

// The cached compressed blob of `diff_id`, when its entry names a present blob of that size.
std::optional<LayerDescriptor> Cached(const BlobStore& blobs, const std::string& entry_path) {
  Result<std::string> text = ReadFile(entry_path);
  if (!text.ok()) return std::nullopt;
  Result<json> j = ParseJson(*text, entry_path);
  if (!j.ok() || !j->is_object()) return std::nullopt;
  LayerDescriptor d;
  d.digest = j->value("digest", std::string());
  d.media_type = j->value("mediaType", std::string());
  d.size = j->value("size", int64_t{-1});
  if (!IsValidDigest(d.digest) || d.media_type.empty()) return std::nullopt;
  struct stat st;
  if (::stat(blobs.PathFor(d.digest).c_str(), &st) != 0 || st.st_size != d.size) {
    return std::nullopt;
  }
  return d;
}

// Streams layer `l` (verified against its diff_id) into a new blob in compression `c`.
Result<LayerDescriptor> Recompress(BlobStore& blobs, const LayerDescriptor& l, Compression c,
                                   int level, int threads, const base::CancelCheck& cancel) {
  LK_ASSIGN_OR_RETURN(std::string path, blobs.Path(l.digest));
  LK_ASSIGN_OR_RETURN(auto stream, LayerStream::OpenFile(path, /*hash=*/true));
  LK_ASSIGN_OR_RETURN(BlobStore::Writer writer, blobs.NewWriter());
  std::unique_ptr<Compressor> compressor;
  if (c != Compression::kUncompressed) {
    LK_ASSIGN_OR_RETURN(compressor,
                        Compressor::Create(c, level, threads, [&writer](const void* p, size_t n) {
                          return writer.Write(p, n);
                        }));
  }
  int64_t since_poll = 0;
  for (;;) {
    const void* buf = nullptr;
    ssize_t n = stream->Read(&buf);
    if (n < 0) return stream->error();
    if (n == 0) break;
    if (compressor) {
      LK_RETURN_IF_ERROR(compressor->Write(buf, static_cast<size_t>(n)));
    } else {
      LK_RETURN_IF_ERROR(writer.Write(buf, static_cast<size_t>(n)));
    }
    since_poll += n;
    if (since_poll >= kCancelEvery) {
      since_poll = 0;
      LK_RETURN_IF_ERROR(base::PollCancel(cancel));
    }
  }
  if (compressor) LK_RETURN_IF_ERROR(compressor->Finish());
  std::string stored = stream->Digest();
  if (stored != l.digest) {
    return DataLossError("blob " + l.digest + " is corrupt: its content hashes to " + stored);
  }
  std::string diff = stream->DiffId();
  if (diff != l.diff_id) {
    return DataLossError("layer " + l.digest + ": its uncompressed content hashes to " + diff +
                         ", not its diff_id " + l.diff_id);
  }
  LK_RETURN_IF_ERROR(base::PollCancel(cancel));
  LK_ASSIGN_OR_RETURN(BlobInfo info, writer.Commit());
  LayerDescriptor d = l;
  d.media_type = LayerMediaType(c);
  d.digest = info.digest;
  d.size = info.size;
  return d;
}

}  // namespace

std::string CompressedCacheDir(const BlobStore& blobs) { return blobs.root() + "/compressed/v1"; }

Result<Image> ImageForOutput(BlobStore& blobs, const Image& image, const OutputCompression& out,
                             const base::CancelCheck& cancel) {
  const int level = out.level < 0 ? DefaultCompressionLevel(out.compression) : out.level;
  LK_RETURN_IF_ERROR(CheckCompressionLevel(out.compression, level));
  Image result = image;
  bool changed = false;
  for (LayerDescriptor& l : result.layers) {
    LK_RETURN_IF_ERROR(base::PollCancel(cancel));
    std::optional<Compression> have = CompressionOf(l.media_type);
    const bool is_tar = have == Compression::kUncompressed;
    if (have == out.compression && (is_tar || !out.force)) continue;  // already as asked
    if (!is_tar && !out.force) continue;  // compressed layers keep theirs unless forced
    if (!have || *have == Compression::kZstd) {
      return FailedPreconditionError("layer " + l.digest + ": cannot recompress a " + l.media_type +
                                     " layer");
    }
    if (!IsValidDigest(l.diff_id)) {
      return InvalidArgumentError("layer " + l.digest + ": diff_id \"" + l.diff_id +
                                  "\" is not a valid digest");
    }
    const std::string entry_dir =
        CompressedCacheDir(blobs) + "/" + std::string(DigestHex(l.diff_id));
    const std::string entry = entry_dir + "/" + EntryName(out.compression, level);
    std::optional<LayerDescriptor> cached;
    if (out.compression != Compression::kUncompressed) cached = Cached(blobs, entry);
    if (cached) {
      l.media_type = cached->media_type;
      l.digest = cached->digest;
      l.size = cached->size;
      changed = true;
      continue;
    }
    Result<LayerDescriptor> made =
        Recompress(blobs, l, out.compression, level, out.threads, cancel);
    if (!made.ok()) {
      if (made.status().code() == StatusCode::kCancelled) return made.status();
      return made.status().WithPrefix("compressing layer " + l.diff_id);
    }
    if (out.compression != Compression::kUncompressed) {
      LK_RETURN_IF_ERROR(MakeDirs(entry_dir));
      json j = {{"digest", made->digest}, {"mediaType", made->media_type}, {"size", made->size}};
      LK_RETURN_IF_ERROR(base::WriteFileAtomic(*blobs.env(), entry, CanonicalJson(j), 0600));
    }
    l = std::move(made).value();
    changed = true;
  }
  if (!changed) return result;
  LK_ASSIGN_OR_RETURN(std::string mtext, blobs.ReadBytes(image.manifest_digest, true));
  LK_ASSIGN_OR_RETURN(json m, ParseJson(mtext, "manifest " + image.manifest_digest));
  json& jl = m["layers"];
  for (size_t i = 0; i < result.layers.size() && i < jl.size(); ++i) {
    jl[i]["mediaType"] = result.layers[i].media_type;
    jl[i]["digest"] = result.layers[i].digest;
    jl[i]["size"] = result.layers[i].size;
  }
  if (m.value("mediaType", std::string()) == kMediaTypeDockerManifest) {
    // OCI layer media types belong in an OCI manifest.
    m["mediaType"] = kMediaTypeManifest;
    m["config"]["mediaType"] = kMediaTypeConfig;
  }
  LK_ASSIGN_OR_RETURN(BlobInfo minfo, blobs.PutBytes(CanonicalJson(m)));
  result.manifest_digest = minfo.digest;
  result.manifest_size = minfo.size;
  // Recorded like a layer's copy, so the GC keeps it with the stored manifest (and does not
  // take it for an untagged image).
  const std::string entry_dir =
      CompressedCacheDir(blobs) + "/" + std::string(DigestHex(image.manifest_digest));
  LK_RETURN_IF_ERROR(MakeDirs(entry_dir));
  json j = {{"digest", minfo.digest},
            {"mediaType", m.value("mediaType", std::string())},
            {"size", minfo.size}};
  LK_RETURN_IF_ERROR(base::WriteFileAtomic(
      *blobs.env(),
      entry_dir + "/" + EntryName(out.compression, level) + (out.force ? "-force" : ""),
      CanonicalJson(j), 0600));
  return result;
}

Result<std::vector<CompressedCacheEntry>> ListCompressedCache(const BlobStore& blobs) {
  std::vector<CompressedCacheEntry> out;
  const std::string root = CompressedCacheDir(blobs);
  Result<std::vector<std::string>> dirs = ListDir(root);
  if (!dirs.ok()) {
    if (dirs.status().code() == StatusCode::kNotFound) return out;
    return dirs.status();
  }
  for (const std::string& hex : *dirs) {
    struct stat st;
    if (::lstat((root + "/" + hex).c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
      out.push_back({root + "/" + hex, "", ""});  // not an entry directory: swept
      continue;
    }
    LK_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(root + "/" + hex));
    for (const std::string& name : names) {
      CompressedCacheEntry e;
      e.path = root + "/" + hex + "/" + name;
      e.source = "sha256:" + hex;
      if (IsValidDigest(e.source) && name.find(".tmp-") == std::string::npos) {
        Result<std::string> text = ReadFile(e.path);
        if (text.ok()) {
          Result<json> j = ParseJson(*text, e.path);
          if (j.ok() && j->is_object()) e.digest = j->value("digest", std::string());
          if (!IsValidDigest(e.digest)) e.digest.clear();
        }
      }
      out.push_back(std::move(e));
    }
  }
  return out;
}

}  // namespace latchkey::image
