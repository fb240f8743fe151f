#include "builder/solver/state_recovery.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "base/owner_lock.h"
#include "builder/executor/runtime_process.h"
#include "builder/executor/sys_util.h"

namespace latchkey::build {
namespace {

constexpr const char* kLockSuffix = ".lock";

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// /proc/self/mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    bool octal =
        s[i] == '\\' && i + 3 < s.size() &&
        std::all_of(s.begin() + static_cast<long>(i) + 1, s.begin() + static_cast<long>(i) + 4,
                    [](char c) { return c >= '0' && c <= '7'; });
    if (octal) {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// Unmounts everything at or below `dir`, deepest first, wiping each tmpfs before.
Status CleanMounts(const std::string& dir, RecoveryReport* report) {
  for (int pass = 0; pass < 8; ++pass) {
    LK_ASSIGN_OR_RETURN(std::vector<MountPoint> mounts, MountsUnder(dir));
    if (mounts.empty()) return Status::OK();
    for (const auto& m : mounts) {
      if (m.fstype == "tmpfs") executor::WipeTree(m.path);
      LK_RETURN_IF_ERROR(executor::Unmount(m.path));
      report->mounts.push_back(m.path);
    }
  }
  return InternalError("cannot unmount everything under " + dir + ": mounts keep appearing");
}

Status RemoveDir(const std::string& dir, RecoveryReport* report) {
  if (!Exists(dir)) return Status::OK();
  LK_RETURN_IF_ERROR(CleanMounts(dir, report));
  LK_RETURN_IF_ERROR(executor::RemoveAll(dir));
  report->dirs.push_back(dir);
  return Status::OK();
}

// The names a work root holds, each once: "<name>" for "<name>" and "<name>.lock".
std::set<std::string> OwnedNames(const std::string& root) {
  std::set<std::string> names;
  for (const auto& n : ListDir(root)) {
    if (EndsWith(n, kLockSuffix)) {
      names.insert(n.substr(0, n.size() - std::string(kLockSuffix).size()));
    } else if (n.rfind(".lock-", 0) != 0) {  // OwnerLock's private names while it creates one
      names.insert(n);
    }
  }
  return names;
}

// The mount points of the cgroup hierarchies (v1 and v2).
Result<std::vector<std::string>> CgroupMounts() {
  LK_ASSIGN_OR_RETURN(std::vector<MountPoint> all, MountsUnder("/sys/fs/cgroup"));
  std::vector<std::string> out;
  for (const auto& m : all) {
    if (m.fstype == "cgroup" || m.fstype == "cgroup2") out.push_back(m.path);
  }
  return out;
}

// A dead step: its runc containers, then its bundle (secret tmpfs, rootfs overlay, bundle
// tmpfs) and scratch dirs.
Status RecoverStep(const std::string& state_dir, const std::string& id, const std::string& runtime,
                   RecoveryReport* report) {
  const std::string bundle = state_dir + "/secrets/" + id;
  const std::string runc_root = bundle + "/runc";
  for (const auto& container : ListDir(runc_root)) {
    // Kills what still runs (a container of a builder without the parent-death chain) and
    // removes runc's state and cgroups.
    executor::RunQuietly({runtime, "--root", runc_root, "delete", "--force", container});
    report->containers.push_back(container);
  }
  // A runtime killed between making the container's cgroups and writing its state leaves
  // cgroups runc no longer knows: /<container id> in every hierarchy (executor.md, Cgroups).
  // Their processes are dead, so they are empty and rmdir removes them.
  auto cgroups = CgroupMounts();
  if (cgroups.ok()) {
    for (const auto& mnt : *cgroups) ::rmdir((mnt + "/latchkey-" + id).c_str());
  }
  LK_RETURN_IF_ERROR(RemoveDir(bundle, report));
  return RemoveDir(state_dir + "/scratch/" + id, report);
}

}  // namespace

Result<std::vector<MountPoint>> MountsUnder(const std::string& dir) {
  std::ifstream in("/proc/self/mountinfo");
  if (!in) return executor::ErrnoStatus("open", "/proc/self/mountinfo", errno);
  std::vector<MountPoint> out;
  for (std::string line; std::getline(in, line);) {
    // id parent major:minor root mount-point options [optional...] - fstype source super
    std::vector<std::string> fields;
    size_t pos = 0;
    while (pos <= line.size()) {
      size_t sp = line.find(' ', pos);
      if (sp == std::string::npos) sp = line.size();
      fields.push_back(line.substr(pos, sp - pos));
      pos = sp + 1;
    }
    if (fields.size() < 7) continue;
    auto dash = std::find(fields.begin() + 6, fields.end(), "-");
    if (dash == fields.end() || dash + 1 == fields.end()) continue;
    std::string path = Unescape(fields[4]);
    if (path == dir || path.rfind(dir + "/", 0) == 0) out.push_back({path, *(dash + 1)});
  }
  std::stable_sort(out.begin(), out.end(), [](const MountPoint& a, const MountPoint& b) {
    return std::count(a.path.begin(), a.path.end(), '/') >
           std::count(b.path.begin(), b.path.end(), '/');
  });
  return out;
}

Status RecoverState(const std::string& configured_dir, const std::string& runtime,
                    RecoveryReport* report) {
  if (!Exists(configured_dir)) return Status::OK();
  // mountinfo names mount points by their real paths: resolve symlinks in the configured one.
  std::error_code ec;
  std::string state_dir = std::filesystem::canonical(configured_dir, ec).string();
  if (ec) return executor::ErrnoStatus("resolve", configured_dir, ec.value());
  // Steps: secrets/<id>(.lock) and scratch/<id>, owned through secrets/<id>.lock.
  std::set<std::string> steps = OwnedNames(state_dir + "/secrets");
  for (const auto& n : ListDir(state_dir + "/scratch")) steps.insert(n);
  for (const auto& id : steps) {
    LK_ASSIGN_OR_RETURN(auto claim,
                        base::OwnerLock::Claim(state_dir + "/secrets/" + id + kLockSuffix));
    if (!claim.has_value()) continue;  // a live step
    LK_RETURN_IF_ERROR(RecoverStep(state_dir, id, runtime, report));
    claim->Release();
  }
  // Builds' temp dirs (tmp/build-*) and layer extraction dirs (layers/tmp/*).
  for (const std::string& root : {state_dir + "/tmp", state_dir + "/layers/tmp"}) {
    for (const auto& name : OwnedNames(root)) {
      LK_ASSIGN_OR_RETURN(auto claim, base::OwnerLock::Claim(root + "/" + name + kLockSuffix));
      if (!claim.has_value()) continue;  // a live build
      LK_RETURN_IF_ERROR(RemoveDir(root + "/" + name, report));
      claim->Release();
    }
  }
  return Status::OK();
}

}  // namespace latchkey::build
