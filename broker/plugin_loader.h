// PluginLoader: opens a provider plugin (.so), checks it, dlopens it and negotiates the ABI.
//
// Loading order, each step with its own error message (see plugin_loader_test.cc):
//   1. Directories. Every directory of the path as given (each holds the next component, so
//      the directory of a symlink is checked too) and every directory of realpath(path) must
//      be owned by root or the effective uid and be neither group- nor world-writable; a
//      world-writable directory with the sticky bit (/tmp) is accepted above the plugin but
//      not as the directory that holds it. Messages: "plugin P: directory D is
//      world-writable (mode 0777): anyone could swap the plugin (fix: chmod o-w D)", "... is
//      group-writable (mode 0775): its group could swap the plugin (fix: chmod g-w D)", "...
//      is world-writable (mode 1777): anyone could plant a file of the plugin's name there
//      first (fix: keep plugins in a directory only root can write)", "... directory D is
//      owned by uid U, expected root or uid E: its owner could swap the plugin (fix: chown
//      root D)".
//   2. The resolved path is opened one component at a time: each directory with
//      openat(O_PATH|O_DIRECTORY|O_NOFOLLOW) from the one before and checked on its
//      descriptor, the file with openat(O_RDONLY|O_CLOEXEC|O_NOFOLLOW|O_NONBLOCK); a component
//      swapped for a symlink after realpath fails to open. Every check after this is made on
//      the opened descriptor, never on the path again.
//   3. fstat the descriptor: a regular file, not group- or world-writable, owned by root or by
//      the broker's effective uid.
//   4. SHA-256 of the descriptor's contents; compared with the optional pin from config.
//   5. dlopen("/proc/self/fd/<N>", RTLD_NOW|RTLD_LOCAL): the very file that was checked is the
//      one loaded, so a swap of the path between check and load is harmless. (Each load
//      spells that path uniquely: glibc matches dlopen names textually.)
//   6. dlsym lk_provider_entry, call it with this host's ABI version, validate the table.
// Libraries are never dlclose'd. A process-wide registry keyed by (device, inode) makes a
// second load of the same file return the same PluginLibrary.
#ifndef LATCHKEY_BROKER_PLUGIN_LOADER_H_
#define LATCHKEY_BROKER_PLUGIN_LOADER_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "latchkey/provider.h"
#include "latchkey/status.h"

namespace latchkey {

// One loaded provider library. Immutable after load; safe to share between threads. The
// dlopen handle is intentionally leaked (never unloaded), so `api()` stays valid for the life
// of the process.
class PluginLibrary {
 public:
  PluginLibrary(const PluginLibrary&) = delete;
  PluginLibrary& operator=(const PluginLibrary&) = delete;

  // The path as it was given to Load (used in messages).
  const std::string& path() const { return path_; }
  // The path after resolving symlinks (what was opened).
  const std::string& resolved_path() const { return resolved_path_; }
  // Lowercase hex SHA-256 of the file as loaded ("" when loaded unpinned with hash_unpinned off).
  const std::string& sha256() const { return sha256_; }
  // The provider's table; static memory inside the plugin.
  const lk_provider_api* api() const { return api_; }
  // The provider's name ("file") and version ("1.0.0"), copied from the table.
  const std::string& name() const { return name_; }
  const std::string& version() const { return version_; }
  // min(host minor, plugin minor).
  uint16_t effective_minor() const { return effective_minor_; }
  dev_t device() const { return device_; }
  ino_t inode() const { return inode_; }

 private:
  friend class PluginLoader;
  PluginLibrary() = default;

  std::string path_;
  std::string resolved_path_;
  std::string sha256_;
  const lk_provider_api* api_ = nullptr;
  std::string name_;
  std::string version_;
  uint16_t effective_minor_ = 0;
  dev_t device_ = 0;
  ino_t inode_ = 0;
};

struct PluginLoadOptions {
  // Optional SHA-256 pin: 64 lowercase hex digits. Empty = no pin.
  std::string sha256_pin;
  // Without a pin, hash the file anyway so that sha256() reports it. latchkey-provider-host
  // turns this off: it reports no digest, and hashing a plugin is most of its start-up CPU
  // (docs/plugin-abi.md, "Performance"); sha256() is then "" unless pinned. A library loaded
  // that way cannot be loaded again with a pin in the same process (FAILED_PRECONDITION).
  bool hash_unpinned = true;
};

class PluginLoader {
 public:
  // Loads (or returns the already loaded) library at `path`. Fails with a message that starts
  // "plugin <path>: " and names the cause; nothing is loaded on failure, except when dlopen
  // succeeded and a later check failed (the library then stays mapped but is never used).
  // Thread-safe: concurrent loads are serialised by the registry's mutex.
  static Result<std::shared_ptr<PluginLibrary>> Load(const std::string& path,
                                                     const PluginLoadOptions& options = {});

  // Smallest provider table this host accepts: through `fetch`, the last required member.
  static constexpr size_t kMinProviderTableSize =
      offsetof(lk_provider_api, fetch) + sizeof(lk_provider_api::fetch);

  // Test hook: called with the descriptor's /proc/self/fd path right before dlopen. Lets a
  // test replace the file at the original path after the checks ran. Not thread-safe; set it
  // only in tests, and reset it to nullptr afterwards.
  static void (*TEST_before_dlopen)(const std::string& original_path, const std::string& fd_path);
  // Test hook: called with realpath(path) after the checks of the path as given and before
  // the resolved path is opened. Lets a test swap a component for a symlink in that window.
  // Same rules as TEST_before_dlopen.
  static void (*TEST_after_realpath)(const std::string& resolved_path);
};

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_PLUGIN_LOADER_H_
