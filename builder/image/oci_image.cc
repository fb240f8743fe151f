#include "builder/image/oci_image.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <set>
#include <utility>

#include "builder/image/config_json.h"
#include "builder/image/layer_extract.h"
#include "builder/image/media_types.h"

namespace latchkey::image {

using nlohmann::json;

int64_t Image::LayersSize() const {
  int64_t n = 0;
  for (const auto& l : layers) n += l.size;
  return n;
}

namespace {

constexpr const char* kDockerManifest = kMediaTypeDockerManifest;

json DescriptorJson(std::string_view media_type, std::string_view digest, int64_t size) {
  return json{{"mediaType", media_type}, {"digest", digest}, {"size", size}};
}

Status CheckDigest(std::string_view digest, std::string_view what) {
  if (!IsValidDigest(digest)) {
    return InvalidArgumentError(std::string(what) + " \"" + std::string(digest) +
                                "\" is not a valid digest (want sha256:<64 lowercase hex digits>)");
  }
  return Status::OK();
}

}  // namespace

Result<Image> CommitImage(frontend::ImageConfig config, const std::vector<LayerDescriptor>& layers,
                          BlobStore& blobs) {
  config.diff_ids.clear();
  json jl = json::array();
  for (const auto& l : layers) {
    LK_RETURN_IF_ERROR(CheckDigest(l.digest, "layer digest"));
    LK_RETURN_IF_ERROR(CheckDigest(l.diff_id, "layer diff_id"));
    LK_ASSIGN_OR_RETURN(std::string unused, blobs.Path(l.digest));
    (void)unused;
    config.diff_ids.push_back(l.diff_id);
    jl.push_back(DescriptorJson(l.media_type.empty() ? kMediaTypeLayerGzip : l.media_type, l.digest,
                                l.size));
  }
  Image img;
  std::string config_json = ConfigToJson(config);
  LK_ASSIGN_OR_RETURN(BlobInfo cinfo, blobs.PutBytes(config_json));
  json manifest = {{"schemaVersion", 2},
                   {"mediaType", kMediaTypeManifest},
                   {"config", DescriptorJson(kMediaTypeConfig, cinfo.digest, cinfo.size)},
                   {"layers", jl}};
  LK_ASSIGN_OR_RETURN(BlobInfo minfo, blobs.PutBytes(CanonicalJson(manifest)));
  img.manifest_digest = minfo.digest;
  img.manifest_size = minfo.size;
  img.config_digest = cinfo.digest;
  img.config_size = cinfo.size;
  img.config = std::move(config);
  img.layers = layers;
  for (auto& l : img.layers) {
    if (l.media_type.empty()) l.media_type = kMediaTypeLayerGzip;
  }
  return img;
}

Result<Image> LoadImage(const BlobStore& blobs, std::string_view manifest_digest) {
  const std::string what = "manifest " + std::string(manifest_digest);
  LK_ASSIGN_OR_RETURN(std::string mtext, blobs.ReadBytes(manifest_digest, true));
  LK_ASSIGN_OR_RETURN(json m, ParseJson(mtext, what));
  auto bad = [&](const std::string& why) { return InvalidArgumentError(what + ": " + why); };
  if (!m.is_object()) return bad("not a JSON object");
  if (m.value("schemaVersion", 0) != 2) return bad("schemaVersion is not 2");
  std::string mt = m.value("mediaType", std::string(kMediaTypeManifest));
  if (mt != kMediaTypeManifest && mt != kDockerManifest) {
    return bad("media type \"" + mt + "\" is not an image manifest");
  }
  auto cit = m.find("config");
  if (cit == m.end() || !cit->is_object() || !cit->contains("digest") ||
      !(*cit)["digest"].is_string()) {
    return bad("no config descriptor");
  }
  Image img;
  img.manifest_digest = std::string(manifest_digest);
  img.manifest_size = static_cast<int64_t>(mtext.size());
  img.config_digest = (*cit)["digest"].get<std::string>();
  LK_ASSIGN_OR_RETURN(std::string ctext, blobs.ReadBytes(img.config_digest, true));
  img.config_size = static_cast<int64_t>(ctext.size());
  LK_ASSIGN_OR_RETURN(img.config, ConfigFromJson(ctext));
  auto lit = m.find("layers");
  if (lit == m.end() || !lit->is_array()) return bad("no layers array");
  if (lit->size() != img.config.diff_ids.size()) {
    return bad("has " + std::to_string(lit->size()) + " layers but its config lists " +
               std::to_string(img.config.diff_ids.size()) + " diff_ids");
  }
  for (size_t i = 0; i < lit->size(); ++i) {
    const json& l = (*lit)[i];
    if (!l.is_object() || !l.contains("digest") || !l["digest"].is_string()) {
      return bad("layer " + std::to_string(i) + " has no digest");
    }
    LayerDescriptor d;
    d.media_type = l.value("mediaType", std::string(kMediaTypeLayerGzip));
    d.digest = l["digest"].get<std::string>();
    d.size = l.value("size", int64_t{0});
    d.diff_id = img.config.diff_ids[i];
    LK_RETURN_IF_ERROR(CheckDigest(d.digest, "layer digest"));
    img.layers.push_back(std::move(d));
  }
  return img;
}

Result<std::vector<IndexEntry>> ParseIndex(std::string_view text, const std::string& what) {
  LK_ASSIGN_OR_RETURN(json j, ParseJson(text, what));
  auto ms = j.find("manifests");
  if (!j.is_object() || ms == j.end() || !ms->is_array()) {
    return InvalidArgumentError(what + ": no \"manifests\" array");
  }
  std::vector<IndexEntry> out;
  for (const auto& m : *ms) {
    if (!m.is_object() || !m.contains("digest") || !m["digest"].is_string()) {
      return InvalidArgumentError(what + ": a manifest entry has no digest");
    }
    IndexEntry e;
    e.digest = m["digest"].get<std::string>();
    e.media_type = m.value("mediaType", std::string(kMediaTypeManifest));
    e.size = m.value("size", int64_t{0});
    if (auto a = m.find("annotations"); a != m.end() && a->is_object()) {
      for (auto kv = a->begin(); kv != a->end(); ++kv) {
        if (kv->is_string()) e.annotations[kv.key()] = kv->get<std::string>();
      }
    }
    if (auto r = e.annotations.find(kAnnotationRefName); r != e.annotations.end()) {
      e.ref_name = r->second;
    }
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<IndexEntry>> ReadIndex(const std::string& layout_dir) {
  const std::string path = layout_dir + "/index.json";
  auto text = ReadFile(path);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return std::vector<IndexEntry>();
    return text.status();
  }
  return ParseIndex(*text, path);
}

namespace {

// The canonical JSON of an index.json listing `entries` in order.
std::string IndexJson(const std::vector<IndexEntry>& entries) {
  json ms = json::array();
  for (const auto& e : entries) {
    json d = DescriptorJson(e.media_type, e.digest, e.size);
    auto ann = e.annotations;
    if (!e.ref_name.empty()) ann[kAnnotationRefName] = e.ref_name;
    if (!ann.empty()) d["annotations"] = ann;
    ms.push_back(d);
  }
  return CanonicalJson(
      json{{"schemaVersion", 2}, {"mediaType", kMediaTypeImageIndex}, {"manifests", ms}});
}

}  // namespace

IndexEntry ImageIndexEntry(const Image& image, const std::string& ref_name,
                           const std::string& image_name) {
  IndexEntry e;
  e.ref_name = ref_name;
  e.media_type = kMediaTypeManifest;
  e.digest = image.manifest_digest;
  e.size = image.manifest_size;
  if (!image_name.empty()) e.annotations[kAnnotationImageName] = image_name;
  return e;
}

Status WriteIndex(const std::string& layout_dir, const std::vector<IndexEntry>& entries,
                  base::Env& env) {
  return base::WriteFileAtomic(env, layout_dir + "/index.json", IndexJson(entries), 0644);
}

namespace {

constexpr size_t kChunk = 1 << 16;     // read buffer
constexpr off_t kCopyChunk = 1 << 20;  // one copy_file_range call, between cancel checks

std::vector<std::string> ImageBlobs(const Image& image) {
  std::vector<std::string> v{image.manifest_digest, image.config_digest};
  std::set<std::string> seen(v.begin(), v.end());
  for (const auto& l : image.layers) {
    if (seen.insert(l.digest).second) v.push_back(l.digest);
  }
  return v;
}

// A temporary file "<dest>.tmp-XXXXXX" beside `dest`: Publish makes it mode 0644, fsyncs it and
// renames it over `dest`; destroyed unpublished, it is removed.
class PendingFile {
 public:
  static Result<PendingFile> Create(const std::string& dest) {
    std::string tmp = dest + ".tmp-XXXXXX";
    int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
    // Named by `dest`: the temporary name is random (and the user asked for `dest`).
    if (fd < 0) return ErrnoStatus("create", dest, errno);
    return PendingFile(UniqueFd(fd), std::move(tmp), dest);
  }
  PendingFile(PendingFile&& o) noexcept
      : fd_(std::move(o.fd_)), tmp_(std::exchange(o.tmp_, {})), dest_(std::move(o.dest_)) {}
  PendingFile& operator=(PendingFile&&) = delete;
  ~PendingFile() {
    if (!tmp_.empty()) ::unlink(tmp_.c_str());
  }
  int fd() const { return fd_.get(); }
  const std::string& tmp() const { return tmp_; }
  Status Publish() {
    if (::fchmod(fd_.get(), 0644) != 0 || ::fsync(fd_.get()) != 0) {
      return ErrnoStatus("sync", tmp_, errno);
    }
    if (::rename(tmp_.c_str(), dest_.c_str()) != 0) return ErrnoStatus("rename", tmp_, errno);
    tmp_.clear();
    return Status::OK();
  }

 private:
  PendingFile(UniqueFd fd, std::string tmp, std::string dest)
      : fd_(std::move(fd)), tmp_(std::move(tmp)), dest_(std::move(dest)) {}
  UniqueFd fd_;
  std::string tmp_;  // empty once published (or moved from)
  std::string dest_;
};

// Copies `src` to `dst` (atomically: temp + fsync + rename) unless `dst` already has its size,
// polling `cancel` per chunk.
Status CopyBlob(const std::string& src, const std::string& dst, const base::CancelCheck& cancel) {
  struct stat s, d;
  if (::stat(src.c_str(), &s) != 0) return ErrnoStatus("stat", src, errno);
  if (::stat(dst.c_str(), &d) == 0 && d.st_size == s.st_size) return Status::OK();
  UniqueFd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return ErrnoStatus("open", src, errno);
  LK_ASSIGN_OR_RETURN(PendingFile out, PendingFile::Create(dst));
  off_t left = s.st_size;
  while (left > 0) {
    LK_RETURN_IF_ERROR(base::PollCancel(cancel));
    ssize_t n = ::copy_file_range(in.get(), nullptr, out.fd(), nullptr,
                                  static_cast<size_t>(std::min<off_t>(left, kCopyChunk)), 0);
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) {
      char buf[kChunk];
      n = ::read(in.get(), buf, sizeof buf);
      if (n > 0) LK_RETURN_IF_ERROR(WriteAll(out.fd(), buf, static_cast<size_t>(n), out.tmp()));
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("copy", src, errno);
    }
    if (n == 0) return DataLossError("copy " + src + ": file shrank while being copied");
    left -= n;
  }
  return out.Publish();
}

// Makes `dest` ready to receive a layout; `*created` tells whether it did not exist before.
Status PrepareLayoutDir(const std::string& dest, bool* created) {
  *created = false;
  struct stat st;
  if (::stat(dest.c_str(), &st) != 0) {
    if (errno != ENOENT) return ErrnoStatus("stat", dest, errno);
    LK_RETURN_IF_ERROR(MakeDirs(dest));
    *created = true;
    return Status::OK();
  }
  if (!S_ISDIR(st.st_mode)) {
    return FailedPreconditionError(dest + " exists and is not a directory");
  }
  struct stat lay;
  if (::stat((dest + "/oci-layout").c_str(), &lay) == 0) return Status::OK();
  std::error_code ec;
  bool empty = std::filesystem::is_empty(dest, ec);
  if (ec) return ErrnoStatus("read directory", dest, ec.value());
  if (!empty) {
    return FailedPreconditionError(dest +
                                   " exists and is not an OCI image layout (no oci-layout file); "
                                   "choose an empty or new directory");
  }
  return Status::OK();
}

// Copies the blobs, then writes oci-layout and the index (the publishing step).
Status FillLayout(const BlobStore& blobs, const Image& image, const std::string& dest,
                  const std::string& ref_name, const std::string& image_name,
                  const base::CancelCheck& cancel) {
  LK_RETURN_IF_ERROR(MakeDirs(dest + "/blobs/sha256"));
  for (const auto& d : ImageBlobs(image)) {
    LK_ASSIGN_OR_RETURN(std::string src, blobs.Path(d));
    LK_RETURN_IF_ERROR(CopyBlob(src, dest + "/blobs/sha256/" + std::string(DigestHex(d)), cancel));
  }
  LK_RETURN_IF_ERROR(FsyncDir(dest + "/blobs/sha256"));
  LK_RETURN_IF_ERROR(WriteFileAtomic(dest + "/oci-layout", kOciLayoutFile));
  LK_ASSIGN_OR_RETURN(auto entries, ReadIndex(dest));
  std::vector<IndexEntry> kept;
  for (auto& e : entries) {
    if (e.ref_name != ref_name || ref_name.empty()) kept.push_back(std::move(e));
  }
  kept.push_back(ImageIndexEntry(image, ref_name, image_name));
  LK_RETURN_IF_ERROR(base::PollCancel(cancel));  // the last check before publishing
  return WriteIndex(dest, kept);
}

}  // namespace

Status PrepareOciLayoutDest(const std::string& dest, bool* created) {
  return PrepareLayoutDir(dest, created);
}

Status WriteOciLayout(const BlobStore& blobs, const Image& image, const std::string& dest,
                      const std::string& ref_name, const std::string& image_name,
                      const base::CancelCheck& cancel) {
  LK_RETURN_IF_ERROR(base::PollCancel(cancel));
  bool created = false;
  LK_RETURN_IF_ERROR(PrepareLayoutDir(dest, &created));
  Status st = FillLayout(blobs, image, dest, ref_name, image_name, cancel);
  // A layout this call created is removed again when it fails; an existing one keeps its index
  // (complete blobs it does not reference may remain).
  if (!st.ok() && created) (void)RemoveAll(dest);
  return st;
}

namespace {

struct WriteArchiveDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};

Status AddTarEntry(struct archive* a, const std::string& name, bool dir, const std::string* data,
                   const std::string* file, int64_t size, const std::string& tar_path,
                   const base::CancelCheck& cancel) {
  LK_RETURN_IF_ERROR(base::PollCancel(cancel));
  std::unique_ptr<struct archive_entry, void (*)(struct archive_entry*)> e(archive_entry_new(),
                                                                           archive_entry_free);
  archive_entry_copy_pathname(e.get(), name.c_str());
  archive_entry_set_filetype(e.get(), dir ? AE_IFDIR : AE_IFREG);
  archive_entry_set_perm(e.get(), dir ? 0755 : 0644);
  archive_entry_set_uid(e.get(), 0);
  archive_entry_set_gid(e.get(), 0);
  archive_entry_set_mtime(e.get(), 0, 0);
  archive_entry_set_size(e.get(), dir ? 0 : size);
  auto err = [&]() { return InternalError("write " + tar_path + ": " + archive_error_string(a)); };
  if (archive_write_header(a, e.get()) < ARCHIVE_WARN) return err();
  if (data != nullptr && archive_write_data(a, data->data(), data->size()) < 0) return err();
  if (file != nullptr) {
    UniqueFd fd(::open(file->c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return ErrnoStatus("open", *file, errno);
    char buf[kChunk];
    int64_t left = size;
    while (left > 0) {
      LK_RETURN_IF_ERROR(base::PollCancel(cancel));
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus("read", *file, errno);
      if (n == 0) return DataLossError("read " + *file + ": blob shrank while being archived");
      if (archive_write_data(a, buf, static_cast<size_t>(n)) < 0) return err();
      left -= n;
    }
  }
  return Status::OK();
}

}  // namespace

Status WriteOciArchive(const BlobStore& blobs, const Image& image, const std::string& dest_tar,
                       const std::string& ref_name, const std::string& image_name,
                       const base::CancelCheck& cancel) {
  LK_RETURN_IF_ERROR(base::PollCancel(cancel));
  LK_ASSIGN_OR_RETURN(PendingFile out, PendingFile::Create(dest_tar));
  const std::string index = IndexJson({ImageIndexEntry(image, ref_name, image_name)});
  const std::string layout = kOciLayoutFile;

  std::unique_ptr<struct archive, WriteArchiveDeleter> a(archive_write_new());
  archive_write_set_format_pax_restricted(a.get());
  if (archive_write_open_fd(a.get(), out.fd()) != ARCHIVE_OK) {
    return InternalError("write " + dest_tar + ": " + archive_error_string(a.get()));
  }
  LK_RETURN_IF_ERROR(AddTarEntry(a.get(), "oci-layout", false, &layout, nullptr,
                                 static_cast<int64_t>(layout.size()), dest_tar, cancel));
  LK_RETURN_IF_ERROR(AddTarEntry(a.get(), "index.json", false, &index, nullptr,
                                 static_cast<int64_t>(index.size()), dest_tar, cancel));
  LK_RETURN_IF_ERROR(AddTarEntry(a.get(), "blobs/", true, nullptr, nullptr, 0, dest_tar, cancel));
  LK_RETURN_IF_ERROR(
      AddTarEntry(a.get(), "blobs/sha256/", true, nullptr, nullptr, 0, dest_tar, cancel));
  for (const auto& d : ImageBlobs(image)) {
    LK_ASSIGN_OR_RETURN(std::string src, blobs.Path(d));
    struct stat s;
    if (::stat(src.c_str(), &s) != 0) return ErrnoStatus("stat", src, errno);
    LK_RETURN_IF_ERROR(AddTarEntry(a.get(), "blobs/sha256/" + std::string(DigestHex(d)), false,
                                   nullptr, &src, s.st_size, dest_tar, cancel));
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    return InternalError("write " + dest_tar + ": " + archive_error_string(a.get()));
  }
  LK_RETURN_IF_ERROR(base::PollCancel(cancel));  // the last check before publishing
  return out.Publish();
}

Status ExportRootfs(const BlobStore& blobs, const Image& image, const std::string& dest,
                    std::vector<std::string>* skipped_devices, const base::CancelCheck& cancel) {
  LK_RETURN_IF_ERROR(base::PollCancel(cancel));
  struct stat st;
  const bool created = ::lstat(dest.c_str(), &st) != 0 && errno == ENOENT;
  LK_RETURN_IF_ERROR(MakeDirs(dest));
  auto apply = [&]() -> Status {
    for (const auto& l : image.layers) {
      LK_ASSIGN_OR_RETURN(std::string path, blobs.Path(l.digest));
      ExtractOptions opts;
      opts.whiteouts = WhiteoutMode::kApply;
      opts.expected_digest = l.digest;
      opts.expected_diff_id = l.diff_id;
      opts.skip_devices = true;
      opts.cancel = cancel;
      LK_ASSIGN_OR_RETURN(ExtractResult r, ExtractLayerTo(path, dest, opts));
      if (skipped_devices != nullptr) {
        skipped_devices->insert(skipped_devices->end(), r.skipped_devices.begin(),
                                r.skipped_devices.end());
      }
    }
    return Status::OK();
  };
  Status applied = apply();
  // A directory this call created is removed again when it fails; an existing one keeps what
  // was written into it.
  if (!applied.ok() && created) (void)RemoveAll(dest);
  return applied;
}

std::string SkippedDeviceWarning(const std::string& path) {
  return "warning: device node " + path +
         " was not exported (the local exporter never creates device nodes)";
}

}  // namespace latchkey::image
