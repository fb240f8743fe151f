#include "builder/image/tar_unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <memory>
#include <utility>
#include <vector>

#include "base/errno_status.h"
#include "base/file.h"
#include "base/in_root.h"
#include "builder/image/media_types.h"

namespace latchkey::image {

using base::ErrnoStatus;
using base::UniqueFd;

UnpackOptions LayerUnpackOptions(WhiteoutMode whiteouts, bool chown) {
  UnpackOptions o;
  o.whiteouts = whiteouts;
  o.chown = chown;
  o.xattrs = true;
  return o;
}

UnpackOptions AddUnpackOptions(std::string_view display) {
  UnpackOptions o;
  o.whiteouts = WhiteoutMode::kNone;
  o.xattrs = false;
  o.keep_destination = true;
  o.error_prefix = std::string(display) + ": ";
  o.missing_hardlink_text = "is not a file in the archive";
  return o;
}

TarUnpacker::TarUnpacker(int root_fd, UnpackOptions options)
    : root_(root_fd), opts_(std::move(options)) {}

Status TarUnpacker::Entry(struct archive* a, struct archive_entry* e) {
  LK_RETURN_IF_ERROR(base::PollCancel(opts_.cancel));
  const char* raw_name = archive_entry_pathname(e);
  const std::string name = raw_name ? raw_name : "";
  display_ = opts_.error_prefix + "entry \"" + name + "\"";
  std::vector<std::string> parts = base::RootedComponents(name);
  const char* hardlink = archive_entry_hardlink(e);
  mode_t type = archive_entry_filetype(e);

  if (parts.empty()) {
    if (opts_.keep_destination) return Status::OK();
    if (hardlink == nullptr && type == AE_IFDIR) {
      dirs_[""] = Meta(e);
      return Status::OK();
    }
    return InvalidArgumentError(display_ + ": would replace the root directory");
  }
  const std::string leaf = parts.back();
  const std::string rel = base::JoinComponents(parts, parts.size());
  const std::string parent_rel = base::JoinComponents(parts, parts.size() - 1);

  if (opts_.whiteouts != WhiteoutMode::kNone && leaf.rfind(kWhiteoutPrefix, 0) == 0) {
    return Whiteout(parts, parent_rel, leaf, e);
  }

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
      if (opts_.skip_devices) {
        skipped_devices_.push_back("/" + rel);
        return Status::OK();
      }
      return Node(parent.get(), leaf, type, e);
    case AE_IFIFO:
      return Node(parent.get(), leaf, type, e);
    default:
      return InvalidArgumentError(display_ + ": unsupported entry type " + std::to_string(type));
  }
}

Status TarUnpacker::Finish() {
  for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
    auto fd = base::OpenInRoot(root_, it->first, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0,
                               opts_.error_prefix + "directory \"" + it->first + "\"");
    if (!fd.ok()) {
      if (fd.status().code() == StatusCode::kNotFound) continue;  // removed by a later entry
      return fd.status();
    }
    const DirMeta& m = it->second;
    if (opts_.chown && ::fchown(fd->get(), m.uid, m.gid) != 0) {
      return ErrnoStatus("chown", it->first, errno);
    }
    if (::fchmod(fd->get(), m.mode) != 0) return ErrnoStatus("chmod", it->first, errno);
    struct timespec ts[2] = {m.mtime, m.mtime};
    if (::futimens(fd->get(), ts) != 0) return ErrnoStatus("set times of", it->first, errno);
  }
  return Status::OK();
}

TarUnpacker::DirMeta TarUnpacker::Meta(struct archive_entry* e) {
  return DirMeta{static_cast<mode_t>(archive_entry_perm(e) & 07777),
                 static_cast<uid_t>(archive_entry_uid(e)),
                 static_cast<gid_t>(archive_entry_gid(e)),
                 {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
}

// Makes room for a new entry `leaf`: an existing directory stays when the new entry is a
// directory too; anything else in the way is removed (without following symlinks).
Status TarUnpacker::ClearLeaf(int parent, const std::string& leaf, bool new_is_dir) {
  struct stat st;
  if (::fstatat(parent, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Status::OK();
    return ErrnoStatus("stat", display_, errno);
  }
  if (new_is_dir && S_ISDIR(st.st_mode)) return Status::OK();
  return base::RemoveAt(parent, leaf, display_);
}

Status TarUnpacker::Whiteout(const std::vector<std::string>& parts, const std::string& parent_rel,
                             const std::string& leaf, struct archive_entry* e) {
  LK_ASSIGN_OR_RETURN(UniqueFd parent,
                      base::OpenOrMakeDirInRoot(root_, parts, parts.size() - 1, display_));
  if (leaf == kWhiteoutOpaque) {
    if (opts_.whiteouts == WhiteoutMode::kOverlay) {
      LK_ASSIGN_OR_RETURN(UniqueFd dir,
                          base::OpenInRoot(root_, parent_rel, O_RDONLY | O_DIRECTORY, 0, display_));
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

Status TarUnpacker::Hardlink(int parent, const std::string& leaf, const char* target) {
  std::vector<std::string> t = base::RootedComponents(target);
  std::string shown = "\"" + std::string(target) + "\"";
  if (t.empty()) return InvalidArgumentError(display_ + ": hardlink to the root directory");
  auto tparent = base::OpenInRoot(root_, base::JoinComponents(t, t.size() - 1),
                                  O_PATH | O_DIRECTORY, 0, display_);
  if (!tparent.ok()) {
    if (tparent.status().code() == StatusCode::kNotFound) {
      return InvalidArgumentError(display_ + ": hardlink target " + shown + " " +
                                  opts_.missing_hardlink_text);
    }
    return tparent.status();
  }
  if (::linkat(tparent->get(), t.back().c_str(), parent, leaf.c_str(), 0) != 0) {
    if (errno == ENOENT) {
      return InvalidArgumentError(display_ + ": hardlink target " + shown + " " +
                                  opts_.missing_hardlink_text);
    }
    if (errno == EPERM) {
      return InvalidArgumentError(display_ + ": hardlink target " + shown + " is a directory");
    }
    return ErrnoStatus("link", display_, errno);
  }
  return Status::OK();
}

Status TarUnpacker::Dir(int parent, const std::string& leaf, const std::string& rel,
                        struct archive_entry* e) {
  if (::mkdirat(parent, leaf.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus("mkdir", display_, errno);
  }
  dirs_[rel] = Meta(e);
  if (opts_.xattrs && archive_entry_xattr_count(e) > 0) {
    UniqueFd fd(::openat(parent, leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return ErrnoStatus("open", display_, errno);
    LK_RETURN_IF_ERROR(Xattrs(fd.get(), e));
  }
  return Status::OK();
}

Status TarUnpacker::File(struct archive* a, int parent, const std::string& leaf,
                         struct archive_entry* e) {
  UniqueFd fd(
      ::openat(parent, leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoStatus("create", display_, errno);
  std::vector<char> buf(1 << 16);
  for (;;) {
    LK_RETURN_IF_ERROR(base::PollCancel(opts_.cancel));
    la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
    if (n < 0) return DataLossError(display_ + ": " + archive_error_string(a));
    if (n == 0) break;
    LK_RETURN_IF_ERROR(base::WriteAll(fd.get(), buf.data(), static_cast<size_t>(n), display_));
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

Status TarUnpacker::Symlink(int parent, const std::string& leaf, struct archive_entry* e) {
  const char* target = archive_entry_symlink(e);
  if (target == nullptr || *target == '\0') {
    return InvalidArgumentError(display_ + ": symlink without a target");
  }
  if (::symlinkat(target, parent, leaf.c_str()) != 0) {
    return ErrnoStatus("symlink", display_, errno);
  }
  return OwnerAndTimes(parent, leaf, e);
}

Status TarUnpacker::Node(int parent, const std::string& leaf, mode_t type,
                         struct archive_entry* e) {
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

Status TarUnpacker::OwnerAndTimes(int parent, const std::string& leaf, struct archive_entry* e) {
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

Status TarUnpacker::Xattrs(int fd, struct archive_entry* e) {
  if (!opts_.xattrs) return Status::OK();
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

namespace {

struct ArchiveDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveDeleter>;

ArchivePtr OpenReader(int fd) {
  if (::lseek(fd, 0, SEEK_SET) != 0) return nullptr;
  ArchivePtr a(archive_read_new());
  if (!a) return nullptr;
  // Only in-process decompressors; a missing library makes the format fail rather than run a
  // helper program on untrusted input.
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_bzip2(a.get());
  archive_read_support_filter_xz(a.get());
  archive_read_support_filter_zstd(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  if (archive_read_open_fd(a.get(), fd, 1 << 16) != ARCHIVE_OK) return nullptr;
  return a;
}

}  // namespace

bool IsTarArchive(int fd) {
  ArchivePtr a = OpenReader(fd);
  if (!a) return false;
  struct archive_entry* e;
  int rc = archive_read_next_header(a.get(), &e);
  return rc == ARCHIVE_OK || rc == ARCHIVE_WARN;
}

Status UnpackArchive(int fd, int dest_fd, const UnpackOptions& options) {
  LK_RETURN_IF_ERROR(base::PollCancel(options.cancel));
  ArchivePtr a = OpenReader(fd);
  if (!a) return DataLossError(options.error_prefix + "cannot read the archive");
  TarUnpacker u(dest_fd, options);
  for (;;) {
    struct archive_entry* e;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      return DataLossError(options.error_prefix + archive_error_string(a.get()));
    }
    LK_RETURN_IF_ERROR(u.Entry(a.get(), e));
  }
  return u.Finish();
}

}  // namespace latchkey::image
