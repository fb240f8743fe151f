#include "builder/image/layer_extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <set>
#include <vector>

#include "base/in_root.h"
#include "builder/image/digest.h"
#include "builder/image/layer_stream.h"
#include "builder/image/media_types.h"

namespace latchkey::image {

ExtractOptions::ExtractOptions() : chown(::geteuid() == 0) {}

namespace {

la_ssize_t ReaderCallback(struct archive* a, void* client, const void** buf) {
  auto* r = static_cast<LayerStream*>(client);
  ssize_t n = r->Read(buf);
  if (n < 0) {
    archive_set_error(a, EIO, "%s", r->error().message().c_str());
    return -1;
  }
  return n;
}

struct ReadArchiveDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};

struct DirMeta {
  mode_t mode;
  uid_t uid;
  gid_t gid;
  time_t mtime;
  long mtime_nsec;
};

class Extractor {
 public:
  Extractor(int root_fd, const ExtractOptions& opts) : root_(root_fd), opts_(opts) {}

  Status Entry(struct archive* a, struct archive_entry* e) {
    const char* raw_name = archive_entry_pathname(e);
    name_ = raw_name ? raw_name : "";
    display_ = "entry \"" + name_ + "\"";
    std::vector<std::string> parts = base::RootedComponents(name_);
    const char* hardlink = archive_entry_hardlink(e);
    mode_t type = archive_entry_filetype(e);

    if (parts.empty()) {
      if (hardlink == nullptr && type == AE_IFDIR) {
        dirs_[""] = Meta(e);
        return Status::OK();
      }
      return InvalidArgumentError(display_ + ": would replace the root directory");
    }
    const std::string leaf = parts.back();
    const std::string rel = base::JoinComponents(parts, parts.size());
    const std::string parent_rel = base::JoinComponents(parts, parts.size() - 1);

    if (leaf.rfind(kWhiteoutPrefix, 0) == 0) return Whiteout(parts, parent_rel, leaf, e);

    LK_ASSIGN_OR_RETURN(UniqueFd parent,
                        base::OpenOrMakeDirInRoot(root_, parts, parts.size() - 1, display_));
    bool is_dir = hardlink == nullptr && type == AE_IFDIR;
    LK_RETURN_IF_ERROR(ClearLeaf(parent.get(), leaf, is_dir));
    written_.insert(rel);
    if (!is_dir) dirs_.erase(rel);  // a directory replaced by a non-directory

    if (hardlink != nullptr) return Hardlink(parent.get(), leaf, hardlink);
    switch (type) {
      case AE_IFDIR:
        return Dir(parent.get(), leaf, rel, e);
      case AE_IFREG:
        return File(a, parent.get(), leaf, e);
      case AE_IFLNK:
        return Symlink(parent.get(), leaf, e);
      case AE_IFCHR:
      case AE_IFBLK:
      case AE_IFIFO:
        return Node(parent.get(), leaf, type, e);
      default:
        return InvalidArgumentError(display_ + ": unsupported entry type " + std::to_string(type));
    }
  }

  // Applies directory modes, owners and mtimes last (creating children changes a dir's mtime).
  Status FinishDirs() {
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
      auto fd = base::OpenInRoot(root_, it->first, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0,
                                 "directory \"" + it->first + "\"");
      if (!fd.ok()) {
        if (fd.status().code() == StatusCode::kNotFound) continue;  // removed by a later entry
        return fd.status();
      }
      const DirMeta& m = it->second;
      if (opts_.chown && ::fchown(fd->get(), m.uid, m.gid) != 0) {
        return ErrnoStatus("chown", it->first, errno);
      }
      if (::fchmod(fd->get(), m.mode) != 0) return ErrnoStatus("chmod", it->first, errno);
      struct timespec ts[2] = {{m.mtime, m.mtime_nsec}, {m.mtime, m.mtime_nsec}};
      if (::futimens(fd->get(), ts) != 0) return ErrnoStatus("set times of", it->first, errno);
    }
    return Status::OK();
  }

 private:
  static DirMeta Meta(struct archive_entry* e) {
    return DirMeta{static_cast<mode_t>(archive_entry_perm(e) & 07777),
                   static_cast<uid_t>(archive_entry_uid(e)),
                   static_cast<gid_t>(archive_entry_gid(e)), archive_entry_mtime(e),
                   archive_entry_mtime_nsec(e)};
  }

  // Makes room for a new entry `leaf`: an existing directory stays when the new entry is a
  // directory too; anything else in the way is removed (without following symlinks).
  Status ClearLeaf(int parent, const std::string& leaf, bool new_is_dir) {
    struct stat st;
    if (::fstatat(parent, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return Status::OK();
      return ErrnoStatus("stat", display_, errno);
    }
    if (new_is_dir && S_ISDIR(st.st_mode)) return Status::OK();
    return base::RemoveAt(parent, leaf, display_);
  }

  Status Whiteout(const std::vector<std::string>& parts, const std::string& parent_rel,
                  const std::string& leaf, struct archive_entry* e) {
    LK_ASSIGN_OR_RETURN(UniqueFd parent,
                        base::OpenOrMakeDirInRoot(root_, parts, parts.size() - 1, display_));
    if (leaf == kWhiteoutOpaque) {
      if (opts_.whiteouts == WhiteoutMode::kOverlay) {
        LK_ASSIGN_OR_RETURN(
            UniqueFd dir, base::OpenInRoot(root_, parent_rel, O_RDONLY | O_DIRECTORY, 0, display_));
        if (::fsetxattr(dir.get(), "trusted.overlay.opaque", "y", 1, 0) != 0) {
          return ErrnoStatus("set trusted.overlay.opaque on the directory of", display_, errno);
        }
        return Status::OK();
      }
      const std::string prefix = parent_rel.empty() ? "" : parent_rel + "/";
      return base::RemoveChildrenExcept(
          parent.get(), [&](const std::string& n) { return written_.count(prefix + n) > 0; },
          display_);
    }
    std::string target = leaf.substr(std::string_view(kWhiteoutPrefix).size());
    if (target.rfind(kWhiteoutPrefix, 0) == 0) return Status::OK();  // aufs metadata (.wh..wh.*)
    if (target.empty() || target == "." || target == "..") {
      return InvalidArgumentError(display_ + ": is not a valid whiteout");
    }
    LK_RETURN_IF_ERROR(base::RemoveAt(parent.get(), target, display_));
    dirs_.erase(parent_rel.empty() ? target : parent_rel + "/" + target);
    if (opts_.whiteouts == WhiteoutMode::kApply) return Status::OK();
    if (::mknodat(parent.get(), target.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0) {
      return ErrnoStatus("create whiteout for", display_, errno);
    }
    if (opts_.chown) {
      if (::fchownat(parent.get(), target.c_str(), static_cast<uid_t>(archive_entry_uid(e)),
                     static_cast<gid_t>(archive_entry_gid(e)), AT_SYMLINK_NOFOLLOW) != 0) {
        return ErrnoStatus("chown", display_, errno);
      }
    }
    return Status::OK();
  }

  Status Hardlink(int parent, const std::string& leaf, const char* target) {
    std::vector<std::string> t = base::RootedComponents(target);
    std::string shown = "\"" + std::string(target) + "\"";
    if (t.empty()) return InvalidArgumentError(display_ + ": hardlink to the root directory");
    auto tparent = base::OpenInRoot(root_, base::JoinComponents(t, t.size() - 1),
                                    O_PATH | O_DIRECTORY, 0, display_);
    if (!tparent.ok()) {
      if (tparent.status().code() == StatusCode::kNotFound) {
        return InvalidArgumentError(display_ + ": hardlink target " + shown +
                                    " is not in the layer");
      }
      return tparent.status();
    }
    if (::linkat(tparent->get(), t.back().c_str(), parent, leaf.c_str(), 0) != 0) {
      if (errno == ENOENT) {
        return InvalidArgumentError(display_ + ": hardlink target " + shown +
                                    " is not in the layer");
      }
      if (errno == EPERM) {
        return InvalidArgumentError(display_ + ": hardlink target " + shown + " is a directory");
      }
      return ErrnoStatus("link", display_, errno);
    }
    return Status::OK();
  }

  Status Dir(int parent, const std::string& leaf, const std::string& rel, struct archive_entry* e) {
    if (::mkdirat(parent, leaf.c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoStatus("mkdir", display_, errno);
    }
    dirs_[rel] = Meta(e);
    if (archive_entry_xattr_count(e) > 0) {
      UniqueFd fd(::openat(parent, leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd.valid()) return ErrnoStatus("open", display_, errno);
      LK_RETURN_IF_ERROR(Xattrs(fd.get(), e));
    }
    return Status::OK();
  }

  Status File(struct archive* a, int parent, const std::string& leaf, struct archive_entry* e) {
    UniqueFd fd(
        ::openat(parent, leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.valid()) return ErrnoStatus("create", display_, errno);
    std::vector<char> buf(1 << 16);
    for (;;) {
      la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
      if (n < 0) return ArchiveError(a);
      if (n == 0) break;
      LK_RETURN_IF_ERROR(WriteAll(fd.get(), buf.data(), static_cast<size_t>(n), display_));
    }
    if (opts_.chown && ::fchown(fd.get(), static_cast<uid_t>(archive_entry_uid(e)),
                                static_cast<gid_t>(archive_entry_gid(e))) != 0) {
      return ErrnoStatus("chown", display_, errno);
    }
    if (::fchmod(fd.get(), archive_entry_perm(e) & 07777) != 0) {
      return ErrnoStatus("chmod", display_, errno);
    }
    LK_RETURN_IF_ERROR(Xattrs(fd.get(), e));
    struct timespec ts[2] = {{archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
                             {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
    if (::futimens(fd.get(), ts) != 0) return ErrnoStatus("set times of", display_, errno);
    return Status::OK();
  }

  Status Symlink(int parent, const std::string& leaf, struct archive_entry* e) {
    const char* target = archive_entry_symlink(e);
    if (target == nullptr || *target == '\0') {
      return InvalidArgumentError(display_ + ": symlink without a target");
    }
    if (::symlinkat(target, parent, leaf.c_str()) != 0) {
      return ErrnoStatus("symlink", display_, errno);
    }
    return OwnerAndTimes(parent, leaf, e);
  }

  Status Node(int parent, const std::string& leaf, mode_t type, struct archive_entry* e) {
    mode_t kind = type == AE_IFCHR ? S_IFCHR : type == AE_IFBLK ? S_IFBLK : S_IFIFO;
    dev_t dev =
        type == AE_IFIFO ? 0 : makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
    if (::mknodat(parent, leaf.c_str(), kind | 0600, dev) != 0) {
      return ErrnoStatus("mknod", display_, errno);
    }
    LK_RETURN_IF_ERROR(OwnerAndTimes(parent, leaf, e));
    // The node was just created by us and is not a symlink, so following is harmless here.
    if (::fchmodat(parent, leaf.c_str(), archive_entry_perm(e) & 07777, 0) != 0) {
      return ErrnoStatus("chmod", display_, errno);
    }
    return Status::OK();
  }

  Status OwnerAndTimes(int parent, const std::string& leaf, struct archive_entry* e) {
    if (opts_.chown &&
        ::fchownat(parent, leaf.c_str(), static_cast<uid_t>(archive_entry_uid(e)),
                   static_cast<gid_t>(archive_entry_gid(e)), AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoStatus("chown", display_, errno);
    }
    struct timespec ts[2] = {{archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
                             {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
    if (::utimensat(parent, leaf.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoStatus("set times of", display_, errno);
    }
    return Status::OK();
  }

  Status Xattrs(int fd, struct archive_entry* e) {
    const char* name;
    const void* value;
    size_t size;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
      std::string n = name;
      if (n.rfind("user.", 0) != 0 && n != "security.capability") continue;
      if (::fsetxattr(fd, name, value, size, 0) != 0) {
        if (errno == ENOTSUP) continue;  // the destination filesystem has no xattrs
        return ErrnoStatus("set xattr " + n + " on", display_, errno);
      }
    }
    return Status::OK();
  }

  Status ArchiveError(struct archive* a) {
    return DataLossError(display_ + ": " + archive_error_string(a));
  }

  int root_;
  const ExtractOptions& opts_;
  std::string name_, display_;
  std::map<std::string, DirMeta> dirs_;
  std::set<std::string> written_;
};

}  // namespace

Result<ExtractResult> ExtractLayerTo(const std::string& layer_path, const std::string& dest,
                                     const ExtractOptions& options) {
  const std::string prefix = "extract layer " + layer_path;
  UniqueFd fd(::open(layer_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus("open", layer_path, errno).WithPrefix("extract layer");
  unsigned char magic[4] = {0, 0, 0, 0};
  ssize_t m = ::pread(fd.get(), magic, sizeof magic, 0);
  if (m < 0) return ErrnoStatus("read", layer_path, errno).WithPrefix("extract layer");
  if (m == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd) {
    return UnimplementedError(prefix +
                              ": zstd-compressed layers are not supported; use tar+gzip layers");
  }
  UniqueFd root(::open(dest.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return ErrnoStatus("open destination", dest, errno).WithPrefix(prefix);

  auto stream = LayerStream::Open(std::move(fd), layer_path, /*hash=*/true);
  if (!stream.ok()) return stream.status().WithPrefix(prefix);
  LayerStream& reader = **stream;
  std::unique_ptr<struct archive, ReadArchiveDeleter> a(archive_read_new());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_empty(a.get());
  if (archive_read_open(a.get(), &reader, nullptr, ReaderCallback, nullptr) != ARCHIVE_OK) {
    if (!reader.error().ok()) return reader.error().WithPrefix(prefix);
    return DataLossError(prefix + ": not a tar archive: " + archive_error_string(a.get()));
  }
  Extractor ex(root.get(), options);
  ExtractResult result;
  for (;;) {
    struct archive_entry* e = nullptr;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      if (!reader.error().ok()) return reader.error().WithPrefix(prefix);
      return DataLossError(prefix + ": corrupt tar: " + archive_error_string(a.get()));
    }
    ++result.entries;
    Status st = ex.Entry(a.get(), e);
    if (!st.ok()) {
      if (!reader.error().ok()) return reader.error().WithPrefix(prefix);
      return st.WithPrefix(prefix);
    }
  }
  LK_RETURN_IF_ERROR(ex.FinishDirs().WithPrefix(prefix));
  LK_RETURN_IF_ERROR(reader.Drain().WithPrefix(prefix));
  result.digest = reader.Digest();
  result.diff_id = reader.DiffId();
  if (!options.expected_digest.empty() && options.expected_digest != result.digest) {
    return DataLossError(prefix + ": content has digest " + result.digest + ", expected " +
                         options.expected_digest);
  }
  if (!options.expected_diff_id.empty() && options.expected_diff_id != result.diff_id) {
    return DataLossError(prefix + ": uncompressed content has diff_id " + result.diff_id +
                         ", expected " + options.expected_diff_id);
  }
  return result;
}

Result<std::string> ExtractLayer(const BlobStore& blobs, std::string_view digest,
                                 std::string_view diff_id, const std::string& state_dir) {
  if (!IsValidDigest(diff_id)) {
    return InvalidArgumentError("invalid diff_id \"" + std::string(diff_id) +
                                "\": want sha256:<64 lowercase hex digits>");
  }
  const std::string base = state_dir + "/layers";
  const std::string final_dir = base + "/sha256/" + std::string(DigestHex(diff_id));
  struct stat st;
  if (::stat(final_dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return final_dir;
  LK_ASSIGN_OR_RETURN(std::string blob, blobs.Path(digest));
  LK_RETURN_IF_ERROR(MakeDirs(base + "/sha256", 0700));
  LK_RETURN_IF_ERROR(MakeDirs(base + "/tmp", 0700));
  LK_ASSIGN_OR_RETURN(
      std::string tmp,
      MakeTempDir(base + "/tmp", std::string(DigestHex(diff_id).substr(0, 12)) + "-"));
  auto cleanup = [&](Status s) -> Result<std::string> {
    (void)RemoveAll(tmp);
    return s;
  };
  if (::chmod(tmp.c_str(), 0755) != 0) return cleanup(ErrnoStatus("chmod", tmp, errno));
  ExtractOptions opts;
  opts.whiteouts = WhiteoutMode::kOverlay;
  opts.expected_digest = std::string(digest);
  opts.expected_diff_id = std::string(diff_id);
  auto r = ExtractLayerTo(blob, tmp, opts);
  if (!r.ok()) return cleanup(r.status());
  {
    UniqueFd fd(::open(tmp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid() || ::syncfs(fd.get()) != 0) return cleanup(ErrnoStatus("sync", tmp, errno));
  }
  if (::rename(tmp.c_str(), final_dir.c_str()) != 0) {
    if (errno == EEXIST || errno == ENOTEMPTY) {  // another extractor won the race
      (void)RemoveAll(tmp);
      return final_dir;
    }
    return cleanup(ErrnoStatus("rename", tmp, errno));
  }
  LK_RETURN_IF_ERROR(FsyncDir(base + "/sha256"));
  return final_dir;
}

}  // namespace latchkey::image
