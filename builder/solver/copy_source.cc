#include "builder/solver/copy_source.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/in_root.h"
#include "builder/solver/copy_pathmatch.h"

namespace latchkey::build {
namespace {

using image::UniqueFd;

Result<std::string> HostPath(int fd) {
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  std::string buf(4096, '\0');
  ssize_t n = ::readlink(link.c_str(), buf.data(), buf.size());
  if (n < 0) return image::ErrnoStatus("readlink", link, errno);
  if (static_cast<size_t>(n) >= buf.size()) return InternalError("readlink " + link + ": too long");
  buf.resize(static_cast<size_t>(n));
  return buf;
}

// Sentinel returned by a callback to stop a walk early (never escapes this file).
Status StopWalk() { return AbortedError("stop"); }

struct Walker {
  const IgnoreMatcher* ignore;
  const IgnoreMatcher* exclude;
  const std::function<Status(const WalkEntry&)>& fn;
  std::vector<WalkEntry> pending;  // excluded directories reported once something below is

  Status Emit(const WalkEntry& e) {
    for (const auto& p : pending) LK_RETURN_IF_ERROR(fn(p));
    pending.clear();
    return fn(e);
  }

  Status Dir(int dir_fd, const std::string& root_rel, const std::string& rel,
             std::string_view display) {
    LK_ASSIGN_OR_RETURN(std::vector<std::string> names, base::ListDirAt(dir_fd, display));
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
      WalkEntry e{JoinRel(rel, n), dir_fd, n, {}};
      if (::fstatat(dir_fd, n.c_str(), &e.st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;
        return image::ErrnoStatus("stat", e.rel, errno);
      }
      std::string child_root = JoinRel(root_rel, n);
      bool ignored = ignore != nullptr && ignore->Excluded(child_root);
      bool excluded = exclude != nullptr && exclude->Excluded(e.rel);
      bool is_dir = S_ISDIR(e.st.st_mode);
      if (ignored || excluded) {
        if (!is_dir) continue;
        if (ignored && !ignore->MayIncludeUnder(child_root)) continue;
        if (excluded && !exclude->MayIncludeUnder(e.rel)) continue;
      } else {
        LK_RETURN_IF_ERROR(Emit(e));
        if (!is_dir) continue;
      }
      UniqueFd sub(::openat(dir_fd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub.valid()) return image::ErrnoStatus("open", e.rel, errno);
      if (ignored || excluded) {
        pending.push_back(e);
        size_t depth = pending.size();
        LK_RETURN_IF_ERROR(Dir(sub.get(), child_root, e.rel, display));
        if (pending.size() >= depth) pending.resize(depth - 1);
      } else {
        LK_RETURN_IF_ERROR(Dir(sub.get(), child_root, e.rel, display));
      }
    }
    return Status::OK();
  }
};

// True when something below the directory `fd` (at `root_rel`) survives .dockerignore.
Result<bool> HasVisibleDescendant(const IgnoreMatcher* ignore, int fd,
                                  const std::string& root_rel) {
  UniqueFd dir(::openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return image::ErrnoStatus("open", root_rel, errno);
  bool found = false;
  std::function<Status(const WalkEntry&)> fn = [&](const WalkEntry&) {
    found = true;
    return StopWalk();
  };
  Walker w{ignore, nullptr, fn, {}};
  Status s = w.Dir(dir.get(), root_rel, "", root_rel);
  if (!s.ok() && !found) return s;
  return found;
}

// True when .dockerignore hides `root_rel`: excluded, and (for a directory) nothing below it
// is re-included by an exception.
Result<bool> Hidden(const SourceTree& tree, const std::string& root_rel, int fd, bool is_dir) {
  if (tree.ignore == nullptr || root_rel.empty() || !tree.ignore->Excluded(root_rel)) {
    return false;
  }
  if (!is_dir || !tree.ignore->MayIncludeUnder(root_rel)) return true;
  LK_ASSIGN_OR_RETURN(bool visible, HasVisibleDescendant(tree.ignore, fd, root_rel));
  return !visible;
}

Status NotFound(const std::string& written, const SourceTree& tree) {
  return NotFoundError("\"" + written + "\": not found in " + tree.display);
}

// Opens the source at `lexical` (root-relative), following a final symlink inside the root.
Result<ResolvedSource> OpenOne(const SourceTree& tree, const std::string& lexical,
                               const std::string& written) {
  struct open_how how = {};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const char* path = lexical.empty() ? "." : lexical.c_str();
  long raw;
  do {
    raw = ::syscall(SYS_openat2, tree.root.get(), path, &how, sizeof how);
  } while (raw < 0 && (errno == EINTR || errno == EAGAIN));
  if (raw < 0) {
    // Missing, a file in the middle of the path, or a symlink loop: not there, as for BuildKit.
    if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) return NotFound(written, tree);
    return image::ErrnoStatus("open", written, errno);
  }
  UniqueFd fd(static_cast<int>(raw));
  ResolvedSource r;
  r.written = written;
  std::vector<std::string> parts = base::RootedComponents(written);
  r.base = parts.empty() ? "" : parts.back();
  if (::fstat(fd.get(), &r.st) != 0) return image::ErrnoStatus("stat", written, errno);
  LK_ASSIGN_OR_RETURN(std::string host, HostPath(fd.get()));
  if (host == tree.root_host_path) {
    r.root_rel = "";
  } else if (host.size() > tree.root_host_path.size() &&
             host.compare(0, tree.root_host_path.size(), tree.root_host_path) == 0 &&
             (tree.root_host_path == "/" || host[tree.root_host_path.size()] == '/')) {
    r.root_rel = host.substr(tree.root_host_path.size() + (tree.root_host_path == "/" ? 0 : 1));
  } else {
    return InternalError("\"" + written + "\": resolved outside the " + tree.display);
  }
  bool is_dir = S_ISDIR(r.st.st_mode);
  LK_ASSIGN_OR_RETURN(bool hidden_lexical, Hidden(tree, lexical, fd.get(), is_dir));
  LK_ASSIGN_OR_RETURN(bool hidden_resolved, Hidden(tree, r.root_rel, fd.get(), is_dir));
  if (hidden_lexical || hidden_resolved) {
    return NotFoundError("\"" + written + "\": excluded by .dockerignore in " + tree.display);
  }
  r.fd = std::move(fd);
  return r;
}

}  // namespace

std::string JoinRel(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "/" + b;
}

Result<SourceTree> OpenSourceTree(const std::string& dir, const IgnoreMatcher* ignore,
                                  const IgnoreMatcher* exclude, std::string display) {
  SourceTree t;
  t.root = UniqueFd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!t.root.valid()) return image::ErrnoStatus("open " + display, dir, errno);
  LK_ASSIGN_OR_RETURN(t.root_host_path, HostPath(t.root.get()));
  t.ignore = ignore != nullptr && !ignore->empty() ? ignore : nullptr;
  t.exclude = exclude != nullptr && !exclude->empty() ? exclude : nullptr;
  t.display = std::move(display);
  return t;
}

Result<std::vector<ResolvedSource>> ResolveSource(const SourceTree& tree,
                                                  const std::string& written) {
  std::vector<ResolvedSource> out;
  std::vector<std::string> parts = base::RootedComponents(written);
  if (!HasMeta(written)) {
    LK_ASSIGN_OR_RETURN(ResolvedSource r,
                        OpenOne(tree, base::JoinComponents(parts, parts.size()), written));
    out.push_back(std::move(r));
    return out;
  }
  // Expand one component at a time, listing directories inside the root.
  std::vector<std::string> cands = {""};
  for (const auto& part : parts) {
    std::vector<std::string> next;
    for (const auto& c : cands) {
      if (!HasMeta(part)) {
        next.push_back(JoinRel(c, part));
        continue;
      }
      auto dir = base::OpenInRoot(tree.root.get(), c, O_RDONLY | O_DIRECTORY, 0, written);
      if (!dir.ok()) continue;
      LK_ASSIGN_OR_RETURN(std::vector<std::string> names, base::ListDirAt(dir->get(), written));
      std::sort(names.begin(), names.end());
      for (const auto& n : names) {
        auto m = PathMatch(part, n);
        if (!m.ok()) return InvalidArgumentError("\"" + written + "\": " + m.status().message());
        if (!*m) continue;
        std::string p = JoinRel(c, n);
        if (tree.ignore != nullptr && tree.ignore->Excluded(p)) {
          struct stat st;
          if (::fstatat(dir->get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
          UniqueFd sub(::openat(dir->get(), n.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
          if (!sub.valid()) continue;
          LK_ASSIGN_OR_RETURN(bool hidden, Hidden(tree, p, sub.get(), S_ISDIR(st.st_mode)));
          if (hidden) continue;
        }
        next.push_back(std::move(p));
      }
    }
    cands = std::move(next);
  }
  for (const auto& c : cands) {
    auto r = OpenOne(tree, c, c);
    if (!r.ok()) {
      if (r.status().code() == StatusCode::kNotFound) continue;
      return r.status();
    }
    out.push_back(std::move(*r));
  }
  if (out.empty()) return NotFoundError("\"" + written + "\": no source files were specified");
  return out;
}

Status WalkSource(const SourceTree& tree, const ResolvedSource& src,
                  const std::function<Status(const WalkEntry&)>& fn) {
  UniqueFd dir(::openat(src.fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return image::ErrnoStatus("open", src.written, errno);
  Walker w{tree.ignore, tree.exclude, fn, {}};
  return w.Dir(dir.get(), src.root_rel, "", src.written);
}

}  // namespace latchkey::build
