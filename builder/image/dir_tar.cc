#include "builder/image/dir_tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "base/errno_status.h"
#include "base/in_root.h"
#include "base/unique_fd.h"

namespace latchkey::image {
namespace {

constexpr size_t kChunk = 1 << 20;

struct Writer {
  const TarSink* sink;
  std::string pending;  // bytes not yet handed to the sink
  Status failed;        // the sink's first error
};

la_ssize_t WriteCallback(struct archive*, void* data, const void* buf, size_t n) {
  auto* w = static_cast<Writer*>(data);
  if (!w->failed.ok()) return -1;
  w->pending.append(static_cast<const char*>(buf), n);
  while (w->pending.size() >= kChunk) {
    w->failed = (*w->sink)(std::string_view(w->pending.data(), kChunk));
    if (!w->failed.ok()) return -1;
    w->pending.erase(0, kChunk);
  }
  return static_cast<la_ssize_t>(n);
}

class Walker {
 public:
  Walker(struct archive* a, Writer* w, std::string root, const base::CancelCheck& cancel)
      : a_(a), w_(w), root_(std::move(root)), cancel_(cancel) {}

  Status Dir(const std::string& rel) {
    const std::string path = rel.empty() ? root_ : root_ + "/" + rel;
    base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) return base::ErrnoStatus("open", path, errno);
    LK_ASSIGN_OR_RETURN(std::vector<std::string> names, base::ListDirAt(fd.get(), path));
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
      LK_RETURN_IF_ERROR(base::PollCancel(cancel_));
      const std::string child = rel.empty() ? n : rel + "/" + n;
      const std::string full = root_ + "/" + child;
      struct stat st {};
      if (::lstat(full.c_str(), &st) != 0) return base::ErrnoStatus("stat", full, errno);
      if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISSOCK(st.st_mode)) continue;
      LK_RETURN_IF_ERROR(Entry(child, full, st));
      if (S_ISDIR(st.st_mode)) LK_RETURN_IF_ERROR(Dir(child));
    }
    return Status::OK();
  }

 private:
  Status Error(const std::string& what) {
    if (!w_->failed.ok()) return w_->failed;
    return InternalError("tar " + what + ": " + archive_error_string(a_));
  }

  Status Entry(const std::string& rel, const std::string& full, const struct stat& st) {
    std::unique_ptr<struct archive_entry, void (*)(struct archive_entry*)> e(archive_entry_new(),
                                                                             archive_entry_free);
    archive_entry_copy_pathname(e.get(), rel.c_str());
    archive_entry_copy_stat(e.get(), &st);
    archive_entry_set_dev(e.get(), 0);
    archive_entry_set_ino(e.get(), 0);
    archive_entry_set_nlink(e.get(), 1);
    if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size > 0 ? st.st_size : 4096) + 1, '\0');
      ssize_t n = ::readlink(full.c_str(), target.data(), target.size());
      if (n < 0) return base::ErrnoStatus("read link", full, errno);
      target.resize(static_cast<size_t>(n));
      archive_entry_copy_symlink(e.get(), target.c_str());
      archive_entry_set_size(e.get(), 0);
    }
    const bool file = S_ISREG(st.st_mode);
    if (file && st.st_nlink > 1) {
      auto [it, inserted] = links_.emplace(std::make_pair(st.st_dev, st.st_ino), rel);
      if (!inserted) {
        archive_entry_copy_hardlink(e.get(), it->second.c_str());
        archive_entry_set_size(e.get(), 0);
        if (archive_write_header(a_, e.get()) < ARCHIVE_WARN) return Error(rel);
        return Status::OK();
      }
    }
    if (!file) archive_entry_set_size(e.get(), 0);
    if (archive_write_header(a_, e.get()) < ARCHIVE_WARN) return Error(rel);
    if (!file) return Status::OK();
    base::UniqueFd fd(::open(full.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) return base::ErrnoStatus("open", full, errno);
    std::vector<char> buf(kChunk);
    int64_t left = st.st_size;
    while (left > 0) {
      LK_RETURN_IF_ERROR(base::PollCancel(cancel_));
      ssize_t n =
          ::read(fd.get(), buf.data(),
                 static_cast<size_t>(std::min<int64_t>(left, static_cast<int64_t>(kChunk))));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return base::ErrnoStatus("read", full, errno);
      if (n == 0) return DataLossError("read " + full + ": the file shrank while being sent");
      if (archive_write_data(a_, buf.data(), static_cast<size_t>(n)) < 0) return Error(rel);
      left -= n;
    }
    return Status::OK();
  }

  struct archive* a_;
  Writer* w_;
  const std::string root_;
  const base::CancelCheck& cancel_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

}  // namespace

Status WriteDirectoryTar(const std::string& dir, const TarSink& sink,
                         const base::CancelCheck& cancel) {
  std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_write_new(),
                                                              archive_write_free);
  Writer w{&sink, {}, Status::OK()};
  archive_write_set_format_pax_restricted(a.get());
  archive_write_set_bytes_per_block(a.get(), 0);
  if (archive_write_open2(a.get(), &w, nullptr, WriteCallback, nullptr, nullptr) != ARCHIVE_OK) {
    return InternalError("tar " + dir + ": " + archive_error_string(a.get()));
  }
  Walker walker(a.get(), &w, dir, cancel);
  LK_RETURN_IF_ERROR(walker.Dir(""));
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    if (!w.failed.ok()) return w.failed;
    return InternalError("tar " + dir + ": " + archive_error_string(a.get()));
  }
  if (!w.failed.ok()) return w.failed;
  if (!w.pending.empty()) return sink(w.pending);
  return Status::OK();
}

}  // namespace latchkey::image
