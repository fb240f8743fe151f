#include "builder/executor/mount_stubs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "base/in_root.h"
#include "base/path.h"
#include "builder/executor/sys_util.h"

namespace latchkey::executor {
namespace {

std::string Parent(const std::string& clean) {
  auto slash = clean.find_last_of('/');
  return slash == 0 ? "/" : clean.substr(0, slash);
}
std::string Base(const std::string& clean) { return clean.substr(clean.find_last_of('/') + 1); }

size_t Depth(const std::string& clean) { return base::RootedComponents(clean).size(); }

// True when directory `fd` has no entries besides . and ..
bool DirIsEmpty(int dir_fd, const std::string& name) {
  int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return false;
  }
  bool empty = true;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") {
      empty = false;
      break;
    }
  }
  ::closedir(d);
  return empty;
}

}  // namespace

Result<MountStubs> MountStubs::Record(int root_fd, const std::vector<std::string>& targets) {
  MountStubs out;
  std::set<std::string> seen;
  for (const auto& target : targets) {
    std::string p = base::RootedPath(target);
    std::string child;
    while (p != "/" && !base::ExistsInRoot(root_fd, p)) {
      if (seen.insert(p).second) out.stubs_.push_back(p);
      child = p;
      p = Parent(p);
    }
    if (child.empty()) continue;  // the target exists: no stub
    auto it = std::find_if(out.ancestors_.begin(), out.ancestors_.end(),
                           [&](const Ancestor& a) { return a.path == p; });
    if (it == out.ancestors_.end()) {
      Ancestor a;
      a.path = p;
      LK_ASSIGN_OR_RETURN(base::UniqueFd fd, base::OpenInRoot(root_fd, p, O_PATH | O_DIRECTORY));
      struct stat st;
      if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("stat", p, errno);
      a.times[0] = st.st_atim;
      a.times[1] = st.st_mtim;
      out.ancestors_.push_back(a);
      it = out.ancestors_.end() - 1;
    }
    if (std::find(it->children.begin(), it->children.end(), child) == it->children.end()) {
      it->children.push_back(child);
    }
  }
  std::stable_sort(out.stubs_.begin(), out.stubs_.end(),
                   [](const std::string& a, const std::string& b) { return Depth(a) > Depth(b); });
  return out;
}

Status MountStubs::Remove(int root_fd) {
  std::set<std::string> removed;
  for (const auto& p : stubs_) {
    auto parent = base::OpenInRoot(root_fd, Parent(p), O_PATH | O_DIRECTORY);
    if (!parent.ok()) continue;
    std::string name = Base(p);
    struct stat st;
    if (::fstatat(parent->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) removed.insert(p);
      continue;
    }
    int rc = -1;
    if (S_ISDIR(st.st_mode)) {
      if (DirIsEmpty(parent->get(), name))
        rc = ::unlinkat(parent->get(), name.c_str(), AT_REMOVEDIR);
    } else if (S_ISREG(st.st_mode) && st.st_size == 0) {
      rc = ::unlinkat(parent->get(), name.c_str(), 0);
    }
    if (rc == 0) removed.insert(p);
  }
  for (const auto& a : ancestors_) {
    bool all = std::all_of(a.children.begin(), a.children.end(),
                           [&](const std::string& c) { return removed.count(c) > 0; });
    if (!all) continue;
    auto fd = base::OpenInRoot(root_fd, a.path, O_RDONLY | O_DIRECTORY);
    if (!fd.ok()) continue;
    if (::futimens(fd->get(), a.times) == 0) restored_.push_back(a.path);
  }
  return Status::OK();
}

Status PruneCopiedUpDirs(const std::string& upper_dir, const std::vector<std::string>& lower_dirs,
                         const std::vector<std::string>& dirs) {
  base::UniqueFd upper(::open(upper_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!upper.valid()) return ErrnoStatus("open", upper_dir, errno);
  for (const auto& start : dirs) {
    std::string p = base::RootedPath(start);
    while (p != "/") {
      auto parent = base::OpenBeneathNoSymlinks(upper.get(), Parent(p), O_PATH | O_DIRECTORY);
      if (!parent.ok()) break;
      std::string name = Base(p);
      struct stat ust;
      if (::fstatat(parent->get(), name.c_str(), &ust, AT_SYMLINK_NOFOLLOW) != 0 ||
          !S_ISDIR(ust.st_mode) || !DirIsEmpty(parent->get(), name)) {
        break;
      }
      // An opaque directory hides the lower one's entries: removing it would change the view.
      auto dfd = base::OpenBeneathNoSymlinks(upper.get(), p, O_RDONLY | O_DIRECTORY);
      if (!dfd.ok()) break;
      char v;
      if (::fgetxattr(dfd->get(), "trusted.overlay.opaque", &v, 1) >= 0) break;
      bool same = false;
      for (const auto& lower : lower_dirs) {
        base::UniqueFd lfd(::open(lower.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!lfd.valid()) continue;
        auto l = base::OpenBeneathNoSymlinks(lfd.get(), p, O_PATH);
        if (!l.ok()) continue;
        struct stat lst;
        if (::fstat(l->get(), &lst) != 0) break;
        same = S_ISDIR(lst.st_mode) && lst.st_mode == ust.st_mode && lst.st_uid == ust.st_uid &&
               lst.st_gid == ust.st_gid && lst.st_mtim.tv_sec == ust.st_mtim.tv_sec &&
               lst.st_mtim.tv_nsec == ust.st_mtim.tv_nsec;
        break;  // the topmost lower holding the path decides
      }
      if (!same) break;
      if (::unlinkat(parent->get(), name.c_str(), AT_REMOVEDIR) != 0) break;
      p = Parent(p);
    }
  }
  return Status::OK();
}

}  // namespace latchkey::executor
