#include "builder/build/copy_untar.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/in_root.h"
#include "builder/image/fs_util.h"

namespace latchkey::build {
namespace {

using base::JoinComponents;
using image::ErrnoStatus;
using image::UniqueFd;

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

struct DirMeta {
  mode_t mode;
  uid_t uid;
  gid_t gid;
  struct timespec mtime;
};

class Unpacker {
 public:
  Unpacker(int root, std::string_view display)
      : root_(root), display_(display), chown_(::geteuid() == 0) {}

  Status Entry(struct archive* a, struct archive_entry* e) {
    const char* raw = archive_entry_pathname(e);
    std::string name = raw ? raw : "";
    where_ = std::string(display_) + ": entry \"" + name + "\"";
    std::vector<std::string> parts = base::RootedComponents(name);
    const char* hardlink = archive_entry_hardlink(e);
    mode_t type = archive_entry_filetype(e);
    if (parts.empty()) return Status::OK();  // "./": the destination itself stays as it is
    const std::string leaf = parts.back();
    LK_ASSIGN_OR_RETURN(UniqueFd parent,
                        base::OpenOrMakeDirInRoot(root_, parts, parts.size() - 1, where_));
    bool is_dir = hardlink == nullptr && type == AE_IFDIR;
    struct stat st;
    if (::fstatat(parent.get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (!(is_dir && S_ISDIR(st.st_mode))) {
        LK_RETURN_IF_ERROR(base::RemoveAt(parent.get(), leaf, where_));
      }
    } else if (errno != ENOENT) {
      return ErrnoStatus("stat", where_, errno);
    }
    if (hardlink != nullptr) return Hardlink(parent.get(), leaf, hardlink);
    switch (type) {
      case AE_IFDIR:
        if (::mkdirat(parent.get(), leaf.c_str(), 0700) != 0 && errno != EEXIST) {
          return ErrnoStatus("mkdir", where_, errno);
        }
        dirs_[base::JoinComponents(parts, parts.size())] = Meta(e);
        return Status::OK();
      case AE_IFREG:
        return File(a, parent.get(), leaf, e);
      case AE_IFLNK: {
        const char* target = archive_entry_symlink(e);
        if (target == nullptr || *target == '\0') {
          return InvalidArgumentError(where_ + ": symlink without a target");
        }
        if (::symlinkat(target, parent.get(), leaf.c_str()) != 0) {
          return ErrnoStatus("symlink", where_, errno);
        }
        return OwnerAndTimes(parent.get(), leaf, e);
      }
      case AE_IFCHR:
      case AE_IFBLK:
      case AE_IFIFO: {
        mode_t kind = type == AE_IFCHR ? S_IFCHR : type == AE_IFBLK ? S_IFBLK : S_IFIFO;
        dev_t dev =
            type == AE_IFIFO ? 0 : makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
        if (::mknodat(parent.get(), leaf.c_str(), kind | 0600, dev) != 0) {
          return ErrnoStatus("mknod", where_, errno);
        }
        LK_RETURN_IF_ERROR(OwnerAndTimes(parent.get(), leaf, e));
        if (::fchmodat(parent.get(), leaf.c_str(), archive_entry_perm(e) & 07777, 0) != 0) {
          return ErrnoStatus("chmod", where_, errno);
        }
        return Status::OK();
      }
      default:
        return InvalidArgumentError(where_ + ": unsupported entry type " + std::to_string(type));
    }
  }

  // Directory modes, owners and mtimes go last (creating children changes a dir's mtime).
  Status FinishDirs() {
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
      auto fd = base::OpenInRoot(root_, it->first, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0,
                                 std::string(display_) + ": directory \"" + it->first + "\"");
      if (!fd.ok()) {
        if (fd.status().code() == StatusCode::kNotFound) continue;  // replaced later
        return fd.status();
      }
      const DirMeta& m = it->second;
      if (chown_ && ::fchown(fd->get(), m.uid, m.gid) != 0) {
        return ErrnoStatus("chown", it->first, errno);
      }
      if (::fchmod(fd->get(), m.mode) != 0) return ErrnoStatus("chmod", it->first, errno);
      struct timespec ts[2] = {m.mtime, m.mtime};
      if (::futimens(fd->get(), ts) != 0) return ErrnoStatus("set times of", it->first, errno);
    }
    return Status::OK();
  }

 private:
  static DirMeta Meta(struct archive_entry* e) {
    return DirMeta{static_cast<mode_t>(archive_entry_perm(e) & 07777),
                   static_cast<uid_t>(archive_entry_uid(e)),
                   static_cast<gid_t>(archive_entry_gid(e)),
                   {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
  }

  Status Hardlink(int parent, const std::string& leaf, const char* target) {
    std::vector<std::string> t = base::RootedComponents(target);
    if (t.empty()) return InvalidArgumentError(where_ + ": hardlink to the root directory");
    auto tparent = base::OpenInRoot(root_, base::JoinComponents(t, t.size() - 1),
                                    O_PATH | O_DIRECTORY, 0, where_);
    if (tparent.ok() && ::linkat(tparent->get(), t.back().c_str(), parent, leaf.c_str(), 0) == 0) {
      return Status::OK();
    }
    return InvalidArgumentError(where_ + ": hardlink target \"" + target +
                                "\" is not a file in the archive");
  }

  Status File(struct archive* a, int parent, const std::string& leaf, struct archive_entry* e) {
    UniqueFd fd(
        ::openat(parent, leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.valid()) return ErrnoStatus("create", where_, errno);
    std::vector<char> buf(1 << 16);
    for (;;) {
      la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
      if (n < 0) return DataLossError(where_ + ": " + archive_error_string(a));
      if (n == 0) break;
      LK_RETURN_IF_ERROR(image::WriteAll(fd.get(), buf.data(), static_cast<size_t>(n), where_));
    }
    if (chown_ && ::fchown(fd.get(), static_cast<uid_t>(archive_entry_uid(e)),
                           static_cast<gid_t>(archive_entry_gid(e))) != 0) {
      return ErrnoStatus("chown", where_, errno);
    }
    if (::fchmod(fd.get(), archive_entry_perm(e) & 07777) != 0) {
      return ErrnoStatus("chmod", where_, errno);
    }
    struct timespec ts[2] = {{archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
                             {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
    if (::futimens(fd.get(), ts) != 0) return ErrnoStatus("set times of", where_, errno);
    return Status::OK();
  }

  Status OwnerAndTimes(int parent, const std::string& leaf, struct archive_entry* e) {
    if (chown_ && ::fchownat(parent, leaf.c_str(), static_cast<uid_t>(archive_entry_uid(e)),
                             static_cast<gid_t>(archive_entry_gid(e)), AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoStatus("chown", where_, errno);
    }
    struct timespec ts[2] = {{archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
                             {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
    if (::utimensat(parent, leaf.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoStatus("set times of", where_, errno);
    }
    return Status::OK();
  }

  int root_;
  std::string_view display_;
  bool chown_;
  std::string where_;
  std::map<std::string, DirMeta> dirs_;
};

}  // namespace

bool IsTarArchive(int fd) {
  ArchivePtr a = OpenReader(fd);
  if (!a) return false;
  struct archive_entry* e;
  int rc = archive_read_next_header(a.get(), &e);
  return rc == ARCHIVE_OK || rc == ARCHIVE_WARN;
}

Status UnpackTar(int fd, int dest_fd, std::string_view display) {
  ArchivePtr a = OpenReader(fd);
  if (!a) return DataLossError(std::string(display) + ": cannot read the archive");
  Unpacker u(dest_fd, display);
  for (;;) {
    struct archive_entry* e;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      return DataLossError(std::string(display) + ": " + archive_error_string(a.get()));
    }
    LK_RETURN_IF_ERROR(u.Entry(a.get(), e));
  }
  return u.FinishDirs();
}

}  // namespace latchkey::build
