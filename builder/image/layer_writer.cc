#include "builder/image/layer_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "base/in_root.h"
#include "builder/image/compressor.h"
#include "builder/image/media_types.h"

namespace latchkey::image {
namespace {

// Receives the uncompressed tar from libarchive: hashes it (diff_id) and streams it into a blob
// writer (which hashes what it stores: the blob digest), through a Compressor unless the layer
// is kept uncompressed (then the writer's hash is the diff_id: the tar is hashed once).
class LayerSink {
 public:
  LayerSink(BlobStore::Writer* out, std::unique_ptr<Compressor> compressor)
      : out_(out), compressor_(std::move(compressor)) {}

  Status Write(const void* data, size_t size) {
    raw_size_ += static_cast<int64_t>(size);
    if (!compressor_) return out_->Write(data, size);
    diff_.Update(data, size);
    return compressor_->Write(data, size);
  }
  Status Finish() { return compressor_ ? compressor_->Finish() : Status::OK(); }
  bool compressed() const { return compressor_ != nullptr; }
  std::string DiffId() { return diff_.Finish(); }
  int64_t raw_size() const { return raw_size_; }
  Status error;  // the first failure seen by the libarchive callback

 private:
  BlobStore::Writer* out_;
  std::unique_ptr<Compressor> compressor_;
  Sha256 diff_;
  int64_t raw_size_ = 0;
};

la_ssize_t SinkWrite(struct archive* a, void* client, const void* buf, size_t n) {
  auto* sink = static_cast<LayerSink*>(client);
  Status st = sink->Write(buf, n);
  if (!st.ok()) {
    if (sink->error.ok()) sink->error = st;
    archive_set_error(a, EIO, "%s", st.message().c_str());
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

struct ArchiveDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveDeleter>;
using EntryPtr = std::unique_ptr<struct archive_entry, EntryDeleter>;

// A file whose name starts with ".wh." would be read as a whiteout by every consumer of the
// layer: it deletes a file of the image (".wh.x" deletes x) or empties its directory
// (".wh..wh..opq"), so such names never go into a layer.
Status WhiteoutNameError(const std::string& rel, const std::string& base) {
  const std::string dir = rel.substr(0, rel.size() - base.size());  // "etc/" or ""
  const std::string effect =
      base == kWhiteoutOpaque
          ? "would hide everything else in /" + (dir.empty() ? "" : dir.substr(0, dir.size() - 1))
          : "would delete /" + dir + base.substr(std::string_view(kWhiteoutPrefix).size()) +
                " from the image";
  return FailedPreconditionError("layer: /" + rel +
                                 ": a file name starting with \".wh.\" is an OCI whiteout and " +
                                 effect + "; rename or remove it");
}

bool KeepXattr(const std::string& name) {
  return name.rfind("user.", 0) == 0 || name == "security.capability";
}

bool IsOverlayXattr(const std::string& name) {
  return name.rfind("trusted.overlay.", 0) == 0 || name.rfind("user.overlay.", 0) == 0;
}

// All xattr names of `path` (not following symlinks).
Result<std::vector<std::string>> ListXattrs(const std::string& path) {
  std::vector<std::string> names;
  // One call for the common case (few or no xattrs); ask for the size only when it is too small.
  std::string buf(1024, '\0');
  ssize_t n = ::llistxattr(path.c_str(), buf.data(), buf.size());
  if (n < 0 && errno == ERANGE) {
    n = ::llistxattr(path.c_str(), nullptr, 0);
    if (n >= 0) {
      buf.assign(static_cast<size_t>(n) + 1, '\0');
      n = ::llistxattr(path.c_str(), buf.data(), buf.size());
    }
  }
  if (n < 0) {
    if (errno == ENOTSUP) return names;
    return ErrnoStatus("layer: list xattrs of", path, errno);
  }
  for (size_t i = 0; i < static_cast<size_t>(n);) {
    std::string name(buf.c_str() + i);
    i += name.size() + 1;
    if (!name.empty()) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::string> GetXattr(const std::string& path, const std::string& name) {
  ssize_t n = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
  if (n < 0) return ErrnoStatus("layer: read xattr " + name + " of", path, errno);
  std::string v(static_cast<size_t>(n), '\0');
  n = ::lgetxattr(path.c_str(), name.c_str(), v.data(), v.size());
  if (n < 0) return ErrnoStatus("layer: read xattr " + name + " of", path, errno);
  v.resize(static_cast<size_t>(n));
  return v;
}

class TreeWriter {
 public:
  TreeWriter(struct archive* a, const Status* sink_error, const LayerOptions& opts,
             std::string root)
      : a_(a), sink_error_(sink_error), opts_(opts), root_(std::move(root)) {}

  Status WriteDir(const std::string& rel) {
    std::string dir_path = rel.empty() ? root_ : root_ + "/" + rel;
    UniqueFd dir(::open(dir_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir.valid()) return ErrnoStatus("layer: open directory", dir_path, errno);
    Result<std::vector<std::string>> listed = base::ListDirAt(dir.get(), dir_path);
    if (!listed.ok()) return listed.status().WithPrefix("layer");
    std::vector<std::string> names = std::move(listed).value();
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
      LK_RETURN_IF_ERROR(base::PollCancel(opts_.cancel));
      LK_RETURN_IF_ERROR(WriteOne(rel.empty() ? n : rel + "/" + n, n));
    }
    return Status::OK();
  }

  int64_t entries() const { return entries_; }

 private:
  time_t Clamp(time_t t) const {
    if (opts_.source_date_epoch && t > *opts_.source_date_epoch) {
      return static_cast<time_t>(*opts_.source_date_epoch);
    }
    return t;
  }

  void FillCommon(struct archive_entry* e, const std::string& name, const struct stat& st) {
    archive_entry_copy_pathname(e, name.c_str());
    archive_entry_set_uid(e, st.st_uid);
    archive_entry_set_gid(e, st.st_gid);
    archive_entry_set_mtime(e, Clamp(st.st_mtim.tv_sec), 0);
  }

  Status Header(struct archive_entry* e, const std::string& path) {
    if (opts_.observer != nullptr) LK_RETURN_IF_ERROR(opts_.observer->OnEntry(e));
    int rc = archive_write_header(a_, e);
    if (rc < ARCHIVE_WARN) return HeaderError(path);
    ++entries_;
    return Status::OK();
  }

  Status HeaderError(const std::string& path) {
    if (!sink_error_->ok()) return *sink_error_;
    return InternalError("layer: write tar header for " + path + ": " + archive_error_string(a_));
  }

  Status AddXattrs(struct archive_entry* e, const std::string& path, bool* opaque) {
    LK_ASSIGN_OR_RETURN(auto names, ListXattrs(path));
    for (const auto& n : names) {
      if (opts_.source == LayerSource::kOverlayUpper && IsOverlayXattr(n)) {
        std::string suffix = n.substr(n.find("overlay.") + 8);
        if (suffix == "opaque") {
          LK_ASSIGN_OR_RETURN(std::string v, GetXattr(path, n));
          if (v == "y" && opaque != nullptr) *opaque = true;
        } else if (suffix == "redirect" || suffix == "metacopy") {
          return FailedPreconditionError(
              "layer: " + path + " has overlay xattr " + n +
              "; the overlay must be mounted with redirect_dir=off,metacopy=off");
        }
        continue;  // origin, impure, nlink, ...: overlay bookkeeping, not content
      }
      if (!KeepXattr(n)) continue;
      LK_ASSIGN_OR_RETURN(std::string v, GetXattr(path, n));
      archive_entry_xattr_add_entry(e, n.c_str(), v.data(), v.size());
    }
    return Status::OK();
  }

  Status WriteOne(const std::string& rel, const std::string& base) {
    std::string path = root_ + "/" + rel;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return ErrnoStatus("layer: stat", path, errno);
    if (base.rfind(kWhiteoutPrefix, 0) == 0) return WhiteoutNameError(rel, base);
    EntryPtr e(archive_entry_new());
    FillCommon(e.get(), rel, st);

    if (S_ISSOCK(st.st_mode)) return Status::OK();

    if (opts_.source == LayerSource::kOverlayUpper && S_ISCHR(st.st_mode) && st.st_rdev == 0) {
      std::string parent = rel.substr(0, rel.size() - base.size());
      archive_entry_copy_pathname(e.get(), (parent + kWhiteoutPrefix + base).c_str());
      archive_entry_set_filetype(e.get(), AE_IFREG);
      archive_entry_set_perm(e.get(), 0600);
      archive_entry_set_size(e.get(), 0);
      return Header(e.get(), path);
    }

    archive_entry_set_perm(e.get(), st.st_mode & 07777);
    if (S_ISDIR(st.st_mode)) {
      bool opaque = false;
      archive_entry_set_filetype(e.get(), AE_IFDIR);
      LK_RETURN_IF_ERROR(AddXattrs(e.get(), path, &opaque));
      LK_RETURN_IF_ERROR(Header(e.get(), path));
      if (opaque) {
        EntryPtr wo(archive_entry_new());
        FillCommon(wo.get(), rel + "/" + kWhiteoutOpaque, st);
        archive_entry_set_filetype(wo.get(), AE_IFREG);
        archive_entry_set_perm(wo.get(), st.st_mode & 0777);
        archive_entry_set_size(wo.get(), 0);
        LK_RETURN_IF_ERROR(Header(wo.get(), path));
      }
      return WriteDir(rel);
    }
    if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
      if (n < 0) return ErrnoStatus("layer: readlink", path, errno);
      if (static_cast<size_t>(n) >= target.size()) {
        return FailedPreconditionError("layer: symlink " + path + " changed while being read");
      }
      target.resize(static_cast<size_t>(n));
      archive_entry_set_filetype(e.get(), AE_IFLNK);
      archive_entry_copy_symlink(e.get(), target.c_str());
      LK_RETURN_IF_ERROR(AddXattrs(e.get(), path, nullptr));
      return Header(e.get(), path);
    }
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
      archive_entry_set_filetype(e.get(), S_ISCHR(st.st_mode)   ? AE_IFCHR
                                          : S_ISBLK(st.st_mode) ? AE_IFBLK
                                                                : AE_IFIFO);
      if (!S_ISFIFO(st.st_mode)) {
        archive_entry_set_rdevmajor(e.get(), major(st.st_rdev));
        archive_entry_set_rdevminor(e.get(), minor(st.st_rdev));
      }
      LK_RETURN_IF_ERROR(AddXattrs(e.get(), path, nullptr));
      return Header(e.get(), path);
    }
    if (!S_ISREG(st.st_mode)) {
      return FailedPreconditionError("layer: " + path + " has an unsupported file type");
    }
    archive_entry_set_filetype(e.get(), AE_IFREG);
    if (st.st_nlink > 1) {
      auto key = std::make_pair(st.st_dev, st.st_ino);
      auto it = hardlinks_.find(key);
      if (it != hardlinks_.end()) {
        archive_entry_copy_hardlink(e.get(), it->second.c_str());
        archive_entry_set_size(e.get(), 0);
        return Header(e.get(), path);
      }
      hardlinks_.emplace(key, rel);
    }
    LK_RETURN_IF_ERROR(AddXattrs(e.get(), path, nullptr));
    archive_entry_set_size(e.get(), st.st_size);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return ErrnoStatus("layer: open", path, errno);
    LK_RETURN_IF_ERROR(Header(e.get(), path));
    int64_t left = st.st_size;
    std::vector<char> buf(1 << 16);
    while (left > 0) {
      LK_RETURN_IF_ERROR(base::PollCancel(opts_.cancel));
      ssize_t n =
          ::read(fd.get(), buf.data(), static_cast<size_t>(std::min<int64_t>(left, buf.size())));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("layer: read", path, errno);
      }
      if (n == 0) break;
      if (opts_.observer != nullptr) {
        LK_RETURN_IF_ERROR(opts_.observer->OnData(buf.data(), static_cast<size_t>(n)));
      }
      if (archive_write_data(a_, buf.data(), static_cast<size_t>(n)) < 0) {
        return HeaderError(path);
      }
      left -= n;
    }
    if (left != 0) {
      return FailedPreconditionError("layer: " + path + " shrank while being read");
    }
    return Status::OK();
  }

 private:
  struct archive* a_;
  const Status* sink_error_;  // the first failure of the compressed stream, if any
  const LayerOptions& opts_;
  std::string root_;
  std::map<std::pair<dev_t, ino_t>, std::string> hardlinks_;
  int64_t entries_ = 0;
};

}  // namespace

Result<LayerDescriptor> WriteLayer(const std::string& dir, const LayerOptions& options,
                                   BlobStore& blobs) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return ErrnoStatus("layer: source directory", dir, errno);
  if (!S_ISDIR(st.st_mode)) {
    return InvalidArgumentError("layer: source " + dir + " is not a directory");
  }
  if (options.compression == Compression::kGzip &&
      (options.gzip_level < 1 || options.gzip_level > 9)) {
    return InvalidArgumentError("layer: gzip level " + std::to_string(options.gzip_level) +
                                " is out of range 1..9");
  }
  LK_RETURN_IF_ERROR(base::PollCancel(options.cancel));
  LK_ASSIGN_OR_RETURN(BlobStore::Writer writer, blobs.NewWriter());
  std::unique_ptr<Compressor> compressor;
  if (options.compression != Compression::kUncompressed) {
    const int level = options.compression == Compression::kGzip
                          ? options.gzip_level
                          : DefaultCompressionLevel(options.compression);
    auto made =
        Compressor::Create(options.compression, level, options.threads,
                           [&writer](const void* p, size_t n) { return writer.Write(p, n); });
    // Its errors are the store's (the gzip header is written at once) or a library's.
    if (!made.ok()) return made.status();
    compressor = std::move(made).value();
  }
  LayerSink sink(&writer, std::move(compressor));

  ArchivePtr a(archive_write_new());
  archive_write_set_format_pax_restricted(a.get());
  if (archive_write_open2(a.get(), &sink, nullptr, SinkWrite, nullptr, nullptr) != ARCHIVE_OK) {
    return InternalError(std::string("layer: open tar writer: ") + archive_error_string(a.get()));
  }
  TreeWriter tw(a.get(), &sink.error, options, dir);
  Status walk = tw.WriteDir("");
  if (!walk.ok()) {
    if (!sink.error.ok()) return sink.error;
    return walk;
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    if (!sink.error.ok()) return sink.error;
    return InternalError(std::string("layer: finish tar: ") + archive_error_string(a.get()));
  }
  LK_RETURN_IF_ERROR(sink.Finish());
  LayerDescriptor d;
  d.media_type = LayerMediaType(options.compression);
  d.uncompressed_size = sink.raw_size();
  d.entries = tw.entries();
  const bool compressed = sink.compressed();
  if (compressed) d.diff_id = sink.DiffId();
  LK_RETURN_IF_ERROR(base::PollCancel(options.cancel));  // the last check before publishing
  LK_ASSIGN_OR_RETURN(BlobInfo info, writer.Commit());
  d.digest = info.digest;
  d.size = info.size;
  if (!compressed) d.diff_id = info.digest;
  return d;
}

}  // namespace latchkey::image
