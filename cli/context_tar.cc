#include "cli/context_tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "base/unique_fd.h"

namespace latchkey::cli {
namespace {

struct Writer {
  const std::function<Status(std::string_view)>* sink;
  Status status;
};

la_ssize_t WriteCallback(struct archive*, void* client, const void* buf, size_t len) {
  auto* w = static_cast<Writer*>(client);
  if (!w->status.ok()) return -1;
  w->status = (*w->sink)(std::string_view(static_cast<const char*>(buf), len));
  return w->status.ok() ? static_cast<la_ssize_t>(len) : -1;
}

class TarWalk {
 public:
  TarWalk(const std::string& root, const build::IgnoreMatcher& ignore, struct archive* a, Writer* w)
      : root_(root), ignore_(ignore), a_(a), w_(w) {}

  Status Dir(const std::string& rel) {
    std::string path = rel.empty() ? root_ : root_ + "/" + rel;
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(path.c_str()), ::closedir);
    if (d == nullptr) return Error(rel, errno);
    std::vector<std::string> names;
    errno = 0;
    while (dirent* e = ::readdir(d.get())) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(std::move(n));
    }
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
      std::string child = rel.empty() ? n : rel + "/" + n;
      struct stat st {};
      if (::lstat((root_ + "/" + child).c_str(), &st) != 0) return Error(child, errno);
      bool excluded = ignore_.Excluded(child);
      if (S_ISDIR(st.st_mode)) {
        if (!excluded) LK_RETURN_IF_ERROR(Entry(child, st));
        if (!excluded || ignore_.MayIncludeUnder(child)) LK_RETURN_IF_ERROR(Dir(child));
        continue;
      }
      if (excluded) continue;
      if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) LK_RETURN_IF_ERROR(Entry(child, st));
    }
    return Status::OK();
  }

 private:
  Status Error(const std::string& rel, int err) const {
    return UnavailableError("build context " + root_ + ": " + (rel.empty() ? "." : rel) + ": " +
                            std::strerror(err));
  }
  Status ArchiveError(const std::string& rel) const {
    if (!w_->status.ok()) return w_->status;
    return InternalError("build context " + root_ + ": " + rel + ": " + archive_error_string(a_));
  }

  Status Entry(const std::string& rel, const struct stat& st) {
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(),
                                                               archive_entry_free);
    archive_entry_copy_pathname(e.get(), rel.c_str());
    archive_entry_set_mode(e.get(), st.st_mode);
    archive_entry_set_uid(e.get(), 0);
    archive_entry_set_gid(e.get(), 0);
    archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    std::string path = root_ + "/" + rel;
    base::UniqueFd fd;
    if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 256, '\0');
      ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
      if (n < 0) return Error(rel, errno);
      target.resize(static_cast<size_t>(n));
      archive_entry_copy_symlink(e.get(), target.c_str());
      archive_entry_set_size(e.get(), 0);
    } else if (S_ISREG(st.st_mode)) {
      fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
      if (!fd.valid()) return Error(rel, errno);
      archive_entry_set_size(e.get(), st.st_size);
    } else {
      archive_entry_set_size(e.get(), 0);
    }
    if (archive_write_header(a_, e.get()) != ARCHIVE_OK) return ArchiveError(rel);
    if (fd.valid()) {
      std::vector<char> buf(64 * 1024);
      int64_t left = st.st_size;
      while (left > 0) {
        ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Error(rel, errno);
        if (n == 0) return Error(rel, EIO);  // shrank while being sent
        size_t take = static_cast<size_t>(std::min<int64_t>(n, left));
        if (archive_write_data(a_, buf.data(), take) < 0) return ArchiveError(rel);
        left -= static_cast<int64_t>(take);
      }
    }
    return Status::OK();
  }

  const std::string& root_;
  const build::IgnoreMatcher& ignore_;
  struct archive* a_;
  Writer* w_;
};

}  // namespace

Status WriteContextTar(const std::string& context_dir, const build::IgnoreMatcher& ignore,
                       const std::function<Status(std::string_view)>& sink) {
  std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_write_new(),
                                                              archive_write_free);
  Writer w{&sink, Status::OK()};
  archive_write_set_format_pax_restricted(a.get());
  archive_write_set_bytes_per_block(a.get(), 64 * 1024);
  archive_write_set_bytes_in_last_block(a.get(), 1);
  if (archive_write_open(a.get(), &w, nullptr, WriteCallback, nullptr) != ARCHIVE_OK) {
    return InternalError(std::string("build context: ") + archive_error_string(a.get()));
  }
  TarWalk walk(context_dir, ignore, a.get(), &w);
  LK_RETURN_IF_ERROR(walk.Dir(""));
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    if (!w.status.ok()) return w.status;
    return InternalError(std::string("build context: ") + archive_error_string(a.get()));
  }
  return w.status;
}

}  // namespace latchkey::cli
