#include "builder/solver/copy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <utility>

#include "base/in_root.h"
#include "builder/executor/cancel.h"
#include "builder/image/digest.h"
#include "builder/solver/copy_owner.h"
#include "builder/solver/copy_source.h"
#include "builder/solver/copy_untar.h"

namespace latchkey::build {
namespace {

using image::ErrnoStatus;
using image::UniqueFd;

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool EndsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

// BuildKit's remote source forms: URLs and git repositories.
bool IsRemote(std::string_view s) {
  if (StartsWith(s, "http://") || StartsWith(s, "https://") || StartsWith(s, "git@") ||
      StartsWith(s, "git://")) {
    return true;
  }
  std::string_view base = s.substr(0, s.find('#'));
  return s.find("://") != std::string_view::npos && EndsWith(base, ".git");
}

// Reopens an O_PATH descriptor of a regular file for reading.
Result<UniqueFd> Reopen(int path_fd, std::string_view display) {
  std::string proc = "/proc/self/fd/" + std::to_string(path_fd);
  UniqueFd fd(::open(proc.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) return ErrnoStatus("open", display, errno);
  return fd;
}

// Opens the readable file an entry stands for: `name` in `dir_fd`, or `dir_fd` itself (an
// O_PATH descriptor) when name is empty.
Result<UniqueFd> OpenForRead(int dir_fd, const std::string& name, std::string_view display) {
  if (name.empty()) return Reopen(dir_fd, display);
  UniqueFd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) return ErrnoStatus("open", display, errno);
  return fd;
}

Result<std::string> ReadLink(int dir_fd, const std::string& name, std::string_view display) {
  std::string buf(4096, '\0');
  ssize_t n = ::readlinkat(dir_fd, name.c_str(), buf.data(), buf.size());
  if (n < 0) return ErrnoStatus("readlink", display, errno);
  buf.resize(static_cast<size_t>(n));
  return buf;
}

// The destination, resolved against WORKDIR: components below the root and whether the
// instruction names a directory ("x/", "x/.", ".").
struct Dest {
  std::vector<std::string> parts;
  std::string rel;  // parts joined ("" for the root)
  bool dir_syntax = false;
};

Dest ResolveDest(const CopyInstruction& ins) {
  Dest d;
  const std::string& p = ins.dest;
  d.dir_syntax = p.empty() || p == "." || EndsWith(p, "/") || EndsWith(p, "/.");
  std::string abs = StartsWith(p, "/") ? p : ins.workdir + "/" + p;
  d.parts = base::RootedComponents(abs);
  d.rel = base::JoinComponents(d.parts, d.parts.size());
  if (d.parts.empty()) d.dir_syntax = true;
  return d;
}

bool IsDirInRoot(int root, const std::string& rel) {
  return base::OpenInRoot(root, rel, O_PATH | O_DIRECTORY, 0, rel).ok();
}

std::pair<std::string, std::string> SplitRel(const std::string& rel) {
  size_t j = rel.rfind('/');
  if (j == std::string::npos) return {"", rel};
  return {rel.substr(0, j), rel.substr(j + 1)};
}

Result<std::optional<IgnoreMatcher>> ParseExcludes(const std::vector<std::string>& excludes) {
  if (excludes.empty()) return std::optional<IgnoreMatcher>();
  std::string text;
  for (const auto& e : excludes) {
    auto one = IgnoreMatcher::Parse(e, "--exclude");
    if (!one.ok() || e.find('\n') != std::string::npos) {
      std::string why = one.ok() ? "a pattern is one line" : one.status().message();
      if (size_t c = why.find(": invalid pattern"); c != std::string::npos) {
        why = why.substr(why.find("\": ", c) + 3);
      }
      return InvalidArgumentError("invalid --exclude pattern \"" + e + "\": " + why);
    }
    text += e + "\n";
  }
  LK_ASSIGN_OR_RETURN(IgnoreMatcher m, IgnoreMatcher::Parse(text, "--exclude"));
  return std::optional<IgnoreMatcher>(std::move(m));
}

// Resolves every source of the instruction (wildcards expanded) in order.
Result<std::vector<ResolvedSource>> ResolveAll(const SourceTree& tree, const CopyInstruction& ins) {
  std::vector<ResolvedSource> out;
  for (const auto& s : ins.sources) {
    LK_ASSIGN_OR_RETURN(std::vector<ResolvedSource> r, ResolveSource(tree, s));
    for (auto& x : r) out.push_back(std::move(x));
  }
  return out;
}

struct DirMeta {
  std::string rel;
  mode_t mode;
  CopyOwner owner;
  struct timespec mtime;
};

// Writes entries into the destination root. One per ExecuteCopy call.
class Writer {
 public:
  Writer(int root, const CopySourceRoot& src, const CopyInstruction& ins,
         std::optional<CopyOwner> chown, std::optional<mode_t> chmod)
      : root_(root), src_(src), ins_(ins), chown_(chown), chmod_(chmod) {}

  CopyOwner DefaultOwner() const { return chown_ ? *chown_ : CopyOwner{}; }

  // mkdir -p of a destination directory (0755, the --chown user or root).
  Status MakeDirs(const std::string& rel) {
    return base::MakeDirsInRoot(root_, "/" + rel, 0755, DefaultOwner().uid, DefaultOwner().gid);
  }

  // Creates `leaf` in the destination directory `parent_rel` as a copy of the source entry
  // with stat `st`, read from `name` in `src_dir` (or `src_dir` itself when name is empty).
  Status Put(const std::string& parent_rel, const std::string& leaf, const struct stat& st,
             int src_dir, const std::string& name, const std::string& written) {
    LK_ASSIGN_OR_RETURN(int pfd, DirFd(parent_rel));
    const std::string rel = JoinRel(parent_rel, leaf);
    const std::string shown = "/" + rel;
    const CopyOwner owner = OwnerFor(st);
    struct stat cur;
    bool exists = ::fstatat(pfd, leaf.c_str(), &cur, AT_SYMLINK_NOFOLLOW) == 0;
    if (!exists && errno != ENOENT) return ErrnoStatus("stat", shown, errno);
    if (S_ISDIR(st.st_mode)) {
      if (exists && S_ISLNK(cur.st_mode) && IsDirInRoot(root_, rel)) return Status::OK();
      if (exists && !S_ISDIR(cur.st_mode)) {
        return InvalidArgumentError(std::string(ins_.add ? "ADD " : "COPY ") + written +
                                    ": cannot copy a directory to non-directory " + shown);
      }
      if (!exists && ::mkdirat(pfd, leaf.c_str(), 0700) != 0) {
        return ErrnoStatus("mkdir", shown, errno);
      }
      dirs_.push_back(DirMeta{rel, ModeFor(st), owner, st.st_mtim});
      return Status::OK();
    }
    if (exists) {
      if (S_ISDIR(cur.st_mode)) {
        return InvalidArgumentError(std::string(ins_.add ? "ADD " : "COPY ") + written +
                                    ": cannot overwrite directory " + shown +
                                    " with a non-directory");
      }
      if (::unlinkat(pfd, leaf.c_str(), 0) != 0) return ErrnoStatus("remove", shown, errno);
    }
    struct timespec times[2] = {st.st_mtim, st.st_mtim};
    switch (st.st_mode & S_IFMT) {
      case S_IFREG: {
        std::pair<dev_t, ino_t> key{st.st_dev, st.st_ino};
        if (st.st_nlink > 1) {
          auto it = links_.find(key);
          if (it != links_.end()) return Link(it->second, pfd, leaf, shown);
        }
        LK_ASSIGN_OR_RETURN(UniqueFd in, OpenForRead(src_dir, name, written));
        UniqueFd out(::openat(pfd, leaf.c_str(),
                              O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!out.valid()) return ErrnoStatus("create", shown, errno);
        LK_RETURN_IF_ERROR(CopyData(in.get(), out.get(), written, shown));
        LK_RETURN_IF_ERROR(Finish(out.get(), owner, ModeFor(st), times, shown));
        if (st.st_nlink > 1) links_[key] = rel;
        return Status::OK();
      }
      case S_IFLNK: {
        LK_ASSIGN_OR_RETURN(std::string target, ReadLink(src_dir, name, written));
        if (::symlinkat(target.c_str(), pfd, leaf.c_str()) != 0) {
          return ErrnoStatus("symlink", shown, errno);
        }
        return OwnerAndTimes(pfd, leaf, owner, times, shown);
      }
      case S_IFIFO:
      case S_IFCHR:
      case S_IFBLK: {
        if (::mknodat(pfd, leaf.c_str(), (st.st_mode & S_IFMT) | 0600, st.st_rdev) != 0) {
          return ErrnoStatus("mknod", shown, errno);
        }
        LK_RETURN_IF_ERROR(OwnerAndTimes(pfd, leaf, owner, times, shown));
        // Just created by us and not a symlink: following is harmless.
        if (::fchmodat(pfd, leaf.c_str(), ModeFor(st), 0) != 0) {
          return ErrnoStatus("chmod", shown, errno);
        }
        return Status::OK();
      }
      default:
        return Status::OK();  // sockets are not copied (as BuildKit)
    }
  }

  // Creates the regular file `leaf` in `parent_rel` holding `data` (a heredoc source).
  Status PutData(const std::string& parent_rel, const std::string& leaf, std::string_view data) {
    LK_ASSIGN_OR_RETURN(int pfd, DirFd(parent_rel));
    const std::string shown = "/" + JoinRel(parent_rel, leaf);
    struct stat cur;
    if (::fstatat(pfd, leaf.c_str(), &cur, AT_SYMLINK_NOFOLLOW) == 0) {
      if (S_ISDIR(cur.st_mode)) {
        return InvalidArgumentError(std::string(ins_.add ? "ADD " : "COPY ") + "<<" + leaf +
                                    ": cannot overwrite directory " + shown +
                                    " with a non-directory");
      }
      if (::unlinkat(pfd, leaf.c_str(), 0) != 0) return ErrnoStatus("remove", shown, errno);
    }
    UniqueFd out(
        ::openat(pfd, leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out.valid()) return ErrnoStatus("create", shown, errno);
    LK_RETURN_IF_ERROR(image::WriteAll(out.get(), data.data(), data.size(), shown));
    struct timespec times[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
    return Finish(out.get(), DefaultOwner(), chmod_ ? *chmod_ : 0644, times, shown);
  }

  // Applies directory owners, modes and mtimes, deepest first (after their children).
  Status FinishDirs() {
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
      const std::string shown = "/" + it->rel;
      LK_ASSIGN_OR_RETURN(
          UniqueFd fd,
          base::OpenInRoot(root_, it->rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, shown));
      struct timespec times[2] = {it->mtime, it->mtime};
      LK_RETURN_IF_ERROR(Finish(fd.get(), it->owner, it->mode, times, shown));
    }
    dirs_.clear();
    return Status::OK();
  }

 private:
  CopyOwner OwnerFor(const struct stat& st) const {
    if (chown_) return *chown_;
    if (src_.is_context) return CopyOwner{};
    return CopyOwner{st.st_uid, st.st_gid};
  }
  mode_t ModeFor(const struct stat& st) const {
    return chmod_ ? *chmod_ : static_cast<mode_t>(st.st_mode & 07777);
  }

  Result<int> DirFd(const std::string& rel) {
    if (!dir_fd_.valid() || rel != dir_rel_) {
      LK_ASSIGN_OR_RETURN(dir_fd_,
                          base::OpenInRoot(root_, rel, O_PATH | O_DIRECTORY, 0, "/" + rel));
      dir_rel_ = rel;
    }
    return dir_fd_.get();
  }

  Status Link(const std::string& first_rel, int pfd, const std::string& leaf,
              const std::string& shown) {
    auto [parent, name] = SplitRel(first_rel);
    LK_ASSIGN_OR_RETURN(UniqueFd fpfd,
                        base::OpenInRoot(root_, parent, O_PATH | O_DIRECTORY, 0, shown));
    if (::linkat(fpfd.get(), name.c_str(), pfd, leaf.c_str(), 0) != 0) {
      return ErrnoStatus("link", shown, errno);
    }
    return Status::OK();
  }

  static Status CopyData(int in, int out, std::string_view written, std::string_view shown) {
    std::vector<char> buf(1 << 16);
    for (;;) {
      if (executor::CancelRequested()) return CancelledError("build cancelled");
      ssize_t n = ::read(in, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus("read", written, errno);
      if (n == 0) return Status::OK();
      LK_RETURN_IF_ERROR(image::WriteAll(out, buf.data(), static_cast<size_t>(n), shown));
    }
  }

  static Status Finish(int fd, CopyOwner owner, mode_t mode, const struct timespec times[2],
                       std::string_view shown) {
    if (::fchown(fd, owner.uid, owner.gid) != 0) return ErrnoStatus("chown", shown, errno);
    if (::fchmod(fd, mode) != 0) return ErrnoStatus("chmod", shown, errno);
    if (::futimens(fd, times) != 0) return ErrnoStatus("set times of", shown, errno);
    return Status::OK();
  }

  static Status OwnerAndTimes(int pfd, const std::string& leaf, CopyOwner owner,
                              const struct timespec times[2], std::string_view shown) {
    if (::fchownat(pfd, leaf.c_str(), owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoStatus("chown", shown, errno);
    }
    if (::utimensat(pfd, leaf.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoStatus("set times of", shown, errno);
    }
    return Status::OK();
  }

  int root_;
  const CopySourceRoot& src_;
  const CopyInstruction& ins_;
  std::optional<CopyOwner> chown_;
  std::optional<mode_t> chmod_;
  UniqueFd dir_fd_;
  std::string dir_rel_;
  std::vector<DirMeta> dirs_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

Status CheckRemote(const CopyInstruction& ins) {
  if (!ins.add) return Status::OK();
  for (const auto& s : ins.sources) {
    if (IsRemote(s)) {
      return InvalidArgumentError("ADD " + s +
                                  ": remote sources are not supported yet (latchkey builds "
                                  "offline); download it into the context and COPY it");
    }
  }
  return Status::OK();
}

// Length-prefixed fields, so that ("ab","c") and ("a","bc") hash differently.
class FieldHasher {
 public:
  void Str(std::string_view s) {
    Num(s.size());
    h_.Update(s.data(), s.size());
  }
  void Num(uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
    h_.Update(b, sizeof b);
  }
  void Raw(const void* p, size_t n) { h_.Update(p, n); }
  std::string Finish() { return h_.Finish(); }

 private:
  image::Sha256 h_;
};

Status HashEntry(FieldHasher& h, const std::string& rel, const struct stat& st, int dir_fd,
                 const std::string& name, bool with_owner, std::string_view written) {
  h.Str(rel);
  h.Num(st.st_mode & S_IFMT);
  h.Num(st.st_mode & 07777);
  if (with_owner) {
    h.Num(st.st_uid);
    h.Num(st.st_gid);
  }
  switch (st.st_mode & S_IFMT) {
    case S_IFREG: {
      LK_ASSIGN_OR_RETURN(UniqueFd in, OpenForRead(dir_fd, name, written));
      h.Num(static_cast<uint64_t>(st.st_size));
      std::vector<char> buf(1 << 16);
      uint64_t total = 0;
      for (;;) {
        if (executor::CancelRequested()) return CancelledError("build cancelled");
        ssize_t n = ::read(in.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return ErrnoStatus("read", written, errno);
        if (n == 0) break;
        h.Raw(buf.data(), static_cast<size_t>(n));
        total += static_cast<uint64_t>(n);
      }
      h.Num(total);  // a file that changed size while read still gets a distinct digest
      break;
    }
    case S_IFLNK: {
      LK_ASSIGN_OR_RETURN(std::string target, ReadLink(dir_fd, name, written));
      h.Str(target);
      break;
    }
    case S_IFCHR:
    case S_IFBLK:
      h.Num(st.st_rdev);
      break;
    default:
      break;
  }
  return Status::OK();
}

}  // namespace

Result<std::string> CopySourceDigest(const CopySourceRoot& src, const CopyInstruction& ins) {
  LK_RETURN_IF_ERROR(CheckRemote(ins));
  LK_ASSIGN_OR_RETURN(std::optional<IgnoreMatcher> excl, ParseExcludes(ins.excludes));
  LK_ASSIGN_OR_RETURN(SourceTree tree,
                      OpenSourceTree(src.dir, src.ignore, excl ? &*excl : nullptr, src.display));
  LK_ASSIGN_OR_RETURN(std::vector<ResolvedSource> items, ResolveAll(tree, ins));
  FieldHasher h;
  h.Str("latchkey copy v1");
  h.Num(ins.add ? 1 : 0);
  h.Num(src.is_context ? 1 : 0);
  h.Str(ins.dest);
  h.Str(ins.workdir);
  h.Str(ins.chown);
  h.Str(ins.chmod);
  h.Num(ins.excludes.size());
  for (const auto& e : ins.excludes) h.Str(e);
  h.Num(items.size());
  for (const auto& item : items) {
    h.Str(item.written);
    h.Str(item.base);
    if (!S_ISDIR(item.st.st_mode) && tree.exclude != nullptr && tree.exclude->Excluded(item.base)) {
      h.Str("excluded");
      continue;
    }
    LK_RETURN_IF_ERROR(HashEntry(h, "", item.st, item.fd.get(), "", !src.is_context, item.written));
    if (!S_ISDIR(item.st.st_mode)) continue;
    LK_RETURN_IF_ERROR(WalkSource(tree, item, [&](const WalkEntry& e) {
      if (executor::CancelRequested()) return CancelledError("build cancelled");
      return HashEntry(h, e.rel, e.st, e.parent_fd, e.name, !src.is_context, item.written);
    }));
    h.Str("end of directory");
  }
  h.Num(ins.inline_sources.size());
  for (const auto& c : ins.inline_sources) {
    h.Str(c.path);
    h.Str(c.data);
    h.Num(c.expand ? 1 : 0);
  }
  return h.Finish();
}

Status ExecuteCopy(const CopySourceRoot& src, const CopyInstruction& ins,
                   const std::string& dest_root) {
  const char* verb = ins.add ? "ADD" : "COPY";
  LK_ASSIGN_OR_RETURN(std::optional<mode_t> chmod, ParseChmod(ins.chmod));
  LK_RETURN_IF_ERROR(CheckRemote(ins));
  UniqueFd root(::open(dest_root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return ErrnoStatus("open destination root", dest_root, errno);
  LK_ASSIGN_OR_RETURN(std::optional<CopyOwner> chown, ResolveChown(root.get(), ins.chown));
  LK_ASSIGN_OR_RETURN(std::optional<IgnoreMatcher> excl, ParseExcludes(ins.excludes));
  LK_ASSIGN_OR_RETURN(SourceTree tree,
                      OpenSourceTree(src.dir, src.ignore, excl ? &*excl : nullptr, src.display));
  LK_ASSIGN_OR_RETURN(std::vector<ResolvedSource> items, ResolveAll(tree, ins));

  Dest dest = ResolveDest(ins);
  const bool dest_is_dir = dest.dir_syntax || IsDirInRoot(root.get(), dest.rel);
  if (items.size() + ins.inline_sources.size() > 1 && !dest_is_dir) {
    return InvalidArgumentError(std::string("When using ") + verb +
                                " with more than one source file, the destination must be a "
                                "directory and end with a /");
  }
  const std::string shown_dest = "/" + dest.rel;
  Writer w(root.get(), src, ins, chown, chmod);
  for (const auto& item : items) {
    if (S_ISDIR(item.st.st_mode)) {
      // A directory copies its contents into dest (created like the source dir if missing).
      if (!IsDirInRoot(root.get(), dest.rel)) {
        auto [parent, leaf] = SplitRel(dest.rel);
        LK_RETURN_IF_ERROR(w.MakeDirs(parent));
        LK_RETURN_IF_ERROR(w.Put(parent, leaf, item.st, item.fd.get(), "", item.written));
      }
      LK_RETURN_IF_ERROR(WalkSource(tree, item, [&](const WalkEntry& e) {
        if (executor::CancelRequested()) return CancelledError("build cancelled");
        auto [sub, leaf] = SplitRel(e.rel);
        return w.Put(JoinRel(dest.rel, sub), e.name, e.st, e.parent_fd, e.name, item.written);
      }));
      continue;
    }
    if (tree.exclude != nullptr && tree.exclude->Excluded(item.base)) continue;
    if (ins.add && S_ISREG(item.st.st_mode)) {
      LK_ASSIGN_OR_RETURN(UniqueFd in, Reopen(item.fd.get(), item.written));
      if (image::IsTarArchive(in.get())) {
        LK_RETURN_IF_ERROR(w.MakeDirs(dest.rel));
        LK_ASSIGN_OR_RETURN(UniqueFd dir, base::OpenInRoot(root.get(), dest.rel,
                                                           O_PATH | O_DIRECTORY, 0, shown_dest));
        LK_RETURN_IF_ERROR(UnpackTar(in.get(), dir.get(), "ADD " + item.written));
        continue;
      }
    }
    std::string parent = dest.rel, leaf = item.base;
    if (!dest_is_dir) std::tie(parent, leaf) = SplitRel(dest.rel);
    LK_RETURN_IF_ERROR(w.MakeDirs(parent));
    LK_RETURN_IF_ERROR(w.Put(parent, leaf, item.st, item.fd.get(), "", item.written));
  }
  for (const auto& c : ins.inline_sources) {
    std::vector<std::string> parts = base::RootedComponents(c.path);
    if (parts.empty()) return InvalidArgumentError(std::string(verb) + ": empty heredoc name");
    std::string parent = dest.rel, leaf = parts.back();
    if (!dest_is_dir) std::tie(parent, leaf) = SplitRel(dest.rel);
    LK_RETURN_IF_ERROR(w.MakeDirs(parent));
    LK_RETURN_IF_ERROR(w.PutData(parent, leaf, c.data));
  }
  return w.FinishDirs();
}

}  // namespace latchkey::build
