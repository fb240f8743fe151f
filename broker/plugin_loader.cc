#include "broker/plugin_loader.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "base/unique_fd.h"
#include "secure/secret_buffer.h"

namespace latchkey {

void (*PluginLoader::TEST_before_dlopen)(const std::string&, const std::string&) = nullptr;
void (*PluginLoader::TEST_after_realpath)(const std::string&) = nullptr;

namespace {

// The process-wide registry. Never destroyed: plugins are never unloaded either.
struct Registry {
  std::mutex mu;
  std::map<std::pair<dev_t, ino_t>, std::shared_ptr<PluginLibrary>> libraries;
};

Registry& GetRegistry() {
  static Registry* registry = new Registry();
  return *registry;
}

std::string Prefix(const std::string& path) { return "plugin " + path + ": "; }

Status OpenError(const std::string& path, int err) {
  std::string msg = Prefix(path) + "cannot open: " + std::strerror(err);
  if (err == ENOENT || err == ENOTDIR) return NotFoundError(msg);
  if (err == EACCES || err == EPERM) return PermissionDeniedError(msg);
  return FailedPreconditionError(msg);
}

const char* FileKind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "an unknown file type";
}

std::string Octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// Checks one directory on the way to the plugin: owned by root or the effective uid, and
// writable by nobody else. A world-writable directory with the sticky bit (/tmp) is accepted
// above the plugin (nobody else can rename the entries it holds) but not as the plugin's own
// parent (anyone could plant the file name there first).
Status CheckDirectory(const std::string& plugin, const std::string& dir, const struct stat& st,
                      bool is_parent) {
  if (!S_ISDIR(st.st_mode)) {
    return FailedPreconditionError(Prefix(plugin) + dir + " is not a directory (" +
                                   FileKind(st.st_mode) + ")");
  }
  const uid_t euid = ::geteuid();
  if (st.st_uid != 0 && st.st_uid != euid) {
    return PermissionDeniedError(Prefix(plugin) + "directory " + dir + " is owned by uid " +
                                 std::to_string(st.st_uid) + ", expected root or uid " +
                                 std::to_string(euid) +
                                 ": its owner could swap the plugin (fix: chown root " + dir + ")");
  }
  const bool sticky = (st.st_mode & S_ISVTX) != 0;
  if ((st.st_mode & S_IWOTH) != 0 && (!sticky || is_parent)) {
    if (sticky) {
      return PermissionDeniedError(
          Prefix(plugin) + "directory " + dir + " is world-writable (mode " + Octal(st.st_mode) +
          "): anyone could plant a file of the plugin's name there first (fix: keep plugins in "
          "a directory only root can write)");
    }
    return PermissionDeniedError(Prefix(plugin) + "directory " + dir + " is world-writable (mode " +
                                 Octal(st.st_mode) +
                                 "): anyone could swap the plugin (fix: chmod o-w " + dir + ")");
  }
  if ((st.st_mode & S_IWGRP) != 0 && (!sticky || is_parent)) {
    return PermissionDeniedError(Prefix(plugin) + "directory " + dir + " is group-writable (mode " +
                                 Octal(st.st_mode) +
                                 "): its group could swap the plugin (fix: chmod g-w " + dir + ")");
  }
  return Status::OK();
}

// Every directory of `path` as given (each one holds the next component, a symlink or not),
// checked by path: the directories a symlink in the path lives in are checked here.
Status CheckGivenPath(const std::string& path) {
  std::string abs = path;
  if (abs.empty() || abs[0] != '/') {
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof(cwd)) == nullptr) return OpenError(path, errno);
    abs = std::string(cwd) + "/" + abs;
  }
  std::vector<std::string> dirs{"/"};
  for (size_t i = 1; i < abs.size(); ++i) {
    if (abs[i] == '/' && abs[i - 1] != '/') dirs.push_back(abs.substr(0, i));
  }
  for (size_t i = 0; i < dirs.size(); ++i) {
    struct stat st;
    if (::stat(dirs[i].c_str(), &st) != 0) return OpenError(path, errno);
    LK_RETURN_IF_ERROR(CheckDirectory(path, dirs[i], st, i + 1 == dirs.size()));
  }
  return Status::OK();
}

// Opens the plugin at `resolved` (absolute, no symlinks) one component at a time, each
// directory with O_NOFOLLOW relative to the one before and checked by CheckDirectory on the
// opened descriptor; the file itself with O_NOFOLLOW. A component swapped for a symlink after
// realpath fails to open instead of being followed.
Result<int> OpenResolved(const std::string& path, const std::string& resolved) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < resolved.size();) {
    size_t j = resolved.find('/', i);
    if (j == std::string::npos) j = resolved.size();
    if (j > i) parts.push_back(resolved.substr(i, j - i));
    i = j + 1;
  }
  if (parts.empty()) return InvalidArgumentError(Prefix(path) + "not a regular file (a directory)");
  base::UniqueFd dir(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return OpenError(path, errno);
  std::string shown = "/";
  for (size_t i = 0;; ++i) {
    struct stat st;
    if (::fstat(dir.get(), &st) != 0) return OpenError(path, errno);
    LK_RETURN_IF_ERROR(CheckDirectory(path, shown, st, i + 1 == parts.size()));
    if (i + 1 == parts.size()) {
      // O_NONBLOCK: opening a FIFO must not hang; it is refused by the fstat check after.
      int fd =
          ::openat(dir.get(), parts[i].c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
      if (fd < 0) return OpenError(path, errno);
      return fd;
    }
    int next = ::openat(dir.get(), parts[i].c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) return OpenError(path, errno);
    shown = (i == 0 ? "/" : shown + "/") + parts[i];
    dir.reset(next);  // closes the parent
  }
}

bool IsLowerHex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// SHA-256 of everything readable from `fd`, from offset 0, as lowercase hex.
Result<std::string> HashFd(const std::string& path, int fd) {
  LK_RETURN_IF_ERROR(EnsureSodium());
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  unsigned char buf[64 * 1024];
  off_t offset = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof(buf), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailedPreconditionError(Prefix(path) + "cannot read: " + std::strerror(errno));
    }
    if (n == 0) break;
    crypto_hash_sha256_update(&state, buf, static_cast<unsigned long long>(n));
    offset += n;
  }
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state, digest);
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
  return std::string(hex);
}

std::string AbiMismatch(const std::string& path, unsigned plugin_major) {
  return Prefix(path) + "built for ABI " + std::to_string(plugin_major) +
         ".x; this host supports " + std::to_string(LK_ABI_MAJOR) + ".0 to " +
         std::to_string(LK_ABI_MAJOR) + "." + std::to_string(LK_ABI_MINOR);
}

bool ValidProviderName(const char* name) {
  if (name == nullptr) return false;
  size_t len = std::strlen(name);
  if (len == 0 || len > 64) return false;
  for (size_t i = 0; i < len; ++i) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

// Checks the table returned by the entry point. `api` is non-NULL.
Status ValidateTable(const std::string& path, const lk_provider_api* api) {
  if (api->header.abi_major != LK_ABI_MAJOR) {
    return FailedPreconditionError(AbiMismatch(path, api->header.abi_major));
  }
  if (api->header.struct_size < PluginLoader::kMinProviderTableSize) {
    return FailedPreconditionError(
        Prefix(path) + "provider table is " + std::to_string(api->header.struct_size) +
        " bytes, smaller than the ABI " + std::to_string(LK_ABI_MAJOR) + ".0 minimum of " +
        std::to_string(PluginLoader::kMinProviderTableSize) + " bytes");
  }
  const std::pair<const char*, bool> required[] = {
      {"create", api->create != nullptr},
      {"destroy", api->destroy != nullptr},
      {"fetch", api->fetch != nullptr},
  };
  for (const auto& [fn, present] : required) {
    if (!present) {
      return FailedPreconditionError(Prefix(path) + "provider table has no " + fn +
                                     " function (required)");
    }
  }
  if (!ValidProviderName(api->name)) {
    std::string shown = api->name == nullptr ? "(null)" : std::string(api->name).substr(0, 80);
    return FailedPreconditionError(Prefix(path) + "provider name \"" + shown +
                                   "\" is invalid: use 1 to 64 characters from [a-z0-9-]");
  }
  if (api->version == nullptr || api->version[0] == '\0') {
    return FailedPreconditionError(Prefix(path) + "provider " + api->name +
                                   " has no version string");
  }
  if (api->config_key_count > 0 && api->config_keys == nullptr) {
    return FailedPreconditionError(Prefix(path) + "provider " + api->name + " declares " +
                                   std::to_string(api->config_key_count) +
                                   " config keys but no descriptor array");
  }
  for (size_t i = 0; i < api->config_key_count; ++i) {
    const char* key = api->config_keys[i].key;
    if (key == nullptr || key[0] == '\0') {
      return FailedPreconditionError(Prefix(path) + "provider " + api->name +
                                     ": config descriptor " + std::to_string(i) + " has no key");
    }
  }
  return Status::OK();
}

// Looks up and calls the entry point; returns the validated table.
Result<const lk_provider_api*> Negotiate(const std::string& path, void* handle) {
  auto entry = reinterpret_cast<lk_provider_entry_fn>(dlsym(handle, LK_PROVIDER_ENTRY_SYMBOL));
  if (entry == nullptr) {
    // A plugin built only for a later, incompatible ABI exports lk_provider_entry_v<N>.
    for (unsigned major = 2; major <= 9; ++major) {
      std::string sym = std::string(LK_PROVIDER_ENTRY_SYMBOL) + "_v" + std::to_string(major);
      if (dlsym(handle, sym.c_str()) != nullptr) {
        return FailedPreconditionError(AbiMismatch(path, major));
      }
    }
    return FailedPreconditionError(Prefix(path) + "missing entry symbol " +
                                   LK_PROVIDER_ENTRY_SYMBOL + " (is this a latchkey provider?)");
  }
  const lk_provider_api* api = nullptr;
  int32_t rc = entry(LK_ABI_MAJOR, LK_ABI_MINOR, &api);
  if (api != nullptr && api->header.abi_major != LK_ABI_MAJOR) {
    return FailedPreconditionError(AbiMismatch(path, api->header.abi_major));
  }
  if (rc != LK_OK) {
    return FailedPreconditionError(Prefix(path) + LK_PROVIDER_ENTRY_SYMBOL + " refused ABI " +
                                   std::to_string(LK_ABI_MAJOR) + "." +
                                   std::to_string(LK_ABI_MINOR) + " (returned " +
                                   StatusCodeName(StatusCodeFromInt(rc)) + ")");
  }
  if (api == nullptr) {
    return FailedPreconditionError(Prefix(path) + LK_PROVIDER_ENTRY_SYMBOL +
                                   " returned no provider table");
  }
  LK_RETURN_IF_ERROR(ValidateTable(path, api));
  return api;
}

// dlerror() names the /proc/self/fd path; users know the plugin by its configured path.
std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  size_t pos = 0;
  while ((pos = text.find(from, pos)) != std::string::npos) {
    text.replace(pos, from.size(), to);
    pos += to.size();
  }
  return text;
}

// A /proc/self/fd path to `fd` that no earlier dlopen in this process used. glibc returns an
// already loaded object whose name matches the string passed to dlopen without opening the
// file, so reusing "/proc/self/fd/5" after a descriptor number is recycled would return the
// wrong library. Each call spells the path differently: bit i of a counter selects "./" or
// "../fd/" as the i-th of 32 segments, all of which resolve to the same directory.
std::string UniqueFdPath(int fd) {
  static std::atomic<uint32_t> counter{0};
  uint32_t n = counter.fetch_add(1);
  std::string path = "/proc/self/fd/";
  for (int i = 0; i < 32; ++i) path += ((n >> i) & 1u) != 0 ? "../fd/" : "./";
  return path + std::to_string(fd);
}

}  // namespace

Result<std::shared_ptr<PluginLibrary>> PluginLoader::Load(const std::string& path,
                                                          const PluginLoadOptions& options) {
  if (!options.sha256_pin.empty() && !IsLowerHex64(options.sha256_pin)) {
    return InvalidArgumentError(Prefix(path) + "sha256 pin \"" + options.sha256_pin.substr(0, 80) +
                                "\" is not 64 lowercase hex digits");
  }

  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) return OpenError(path, errno);
  LK_RETURN_IF_ERROR(CheckGivenPath(path));
  if (TEST_after_realpath != nullptr) TEST_after_realpath(resolved);
  LK_ASSIGN_OR_RETURN(int fd, OpenResolved(path, resolved));
  base::UniqueFd closer(fd);

  struct stat st;
  if (::fstat(fd, &st) != 0) {
    return FailedPreconditionError(Prefix(path) + "cannot stat: " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return InvalidArgumentError(Prefix(path) + "not a regular file (" + FileKind(st.st_mode) + ")");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return PermissionDeniedError(Prefix(path) + "unsafe permissions " + mode +
                                 ": group- or world-writable (fix: chmod go-w " + path + ")");
  }
  uid_t euid = ::geteuid();
  if (st.st_uid != 0 && st.st_uid != euid) {
    return PermissionDeniedError(Prefix(path) + "owned by uid " + std::to_string(st.st_uid) +
                                 ", expected root or uid " + std::to_string(euid) +
                                 " (fix: chown root " + path + ")");
  }

  Registry& registry = GetRegistry();
  std::lock_guard<std::mutex> lock(registry.mu);
  auto key = std::make_pair(st.st_dev, st.st_ino);
  auto it = registry.libraries.find(key);
  if (it != registry.libraries.end()) {
    // Already mapped: the pin is checked against the bytes that were checked and loaded then.
    if (!options.sha256_pin.empty() && it->second->sha256().empty()) {
      return FailedPreconditionError(Prefix(path) +
                                     "cannot check the sha256 pin: the library was loaded "
                                     "earlier in this process without hashing it");
    }
    if (!options.sha256_pin.empty() && options.sha256_pin != it->second->sha256()) {
      return PermissionDeniedError(Prefix(path) + "sha256 mismatch: config pins " +
                                   options.sha256_pin + ", file has " + it->second->sha256());
    }
    return it->second;
  }

  std::string digest;
  if (!options.sha256_pin.empty() || options.hash_unpinned) {
    LK_ASSIGN_OR_RETURN(digest, HashFd(path, fd));
  }
  if (!options.sha256_pin.empty() && options.sha256_pin != digest) {
    return PermissionDeniedError(Prefix(path) + "sha256 mismatch: config pins " +
                                 options.sha256_pin + ", file has " + digest);
  }

  std::string fd_path = UniqueFdPath(fd);
  if (TEST_before_dlopen != nullptr) TEST_before_dlopen(path, fd_path);
  dlerror();
  void* handle = ::dlopen(fd_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* err = dlerror();
    return FailedPreconditionError(
        Prefix(path) + "dlopen failed: " + ReplaceAll(err ? err : "unknown error", fd_path, path));
  }
  // The handle is never closed: see the file comment.
  LK_ASSIGN_OR_RETURN(const lk_provider_api* api, Negotiate(path, handle));

  std::shared_ptr<PluginLibrary> lib(new PluginLibrary());
  lib->path_ = path;
  lib->resolved_path_ = resolved;
  lib->sha256_ = std::move(digest);
  lib->api_ = api;
  lib->name_ = api->name;
  lib->version_ = api->version;
  lib->effective_minor_ = std::min<uint16_t>(api->header.abi_minor, LK_ABI_MINOR);
  lib->device_ = st.st_dev;
  lib->inode_ = st.st_ino;
  registry.libraries.emplace(key, lib);
  return lib;
}

}  // namespace latchkey
