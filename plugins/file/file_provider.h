// The bundled "file" provider (latchkey-file.so): serves a file's bytes; the reference is the
// path. Regular files are re-read on every fetch. A source that can be read only once (a FIFO,
// a pipe such as a process substitution /dev/fd/N, a character device such as /dev/stdin) is
// read on first fetch and its value kept in the instance's host secure memory for the
// instance's life, which is the session's. See docs/providers.md.
//
// Config keys:
//   base_dir (PATH, optional)  relative references resolve against it; without it a relative
//                              reference is refused.
//   max_size (INT, 512000)     largest value served, 1 to 512000 bytes.
//
// Thread-safety: Fetch may run concurrently (LK_THREADING_CONCURRENT); reads of read-once
// sources are serialised inside the instance.
#ifndef LATCHKEY_PLUGINS_FILE_FILE_PROVIDER_H_
#define LATCHKEY_PLUGINS_FILE_FILE_PROVIDER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "latchkey/provider.hpp"

namespace latchkey::file_provider {

// BuildKit's limit (MaxSecretSize, "500KiB").
inline constexpr int64_t kMaxSecretSize = 512000;

class FileProvider {
 public:
  static constexpr const char* kName = "file";
  static constexpr const char* kVersion = "1.0.0";
  static constexpr lk_config_key kConfig[] = {
      {"base_dir", LK_CONFIG_PATH, 0,
       "directory that relative references resolve against; without it only absolute paths "
       "are accepted",
       nullptr},
      {"max_size", LK_CONFIG_INT, 0, "largest value served, in bytes (1 to 512000)", "512000"},
  };
  static constexpr uint64_t kCapabilities = LK_CAP_DYNAMIC;

  static Result<std::unique_ptr<FileProvider>> Create(const sdk::Config& config, sdk::Host& host);
  Result<sdk::Response> Fetch(const sdk::Request& req);

 private:
  FileProvider(sdk::Host host, std::string base_dir, size_t max_size)
      : host_(host), base_dir_(std::move(base_dir)), max_size_(max_size) {}

  sdk::Host host_;  // the instance context: read-once values live under it
  const std::string base_dir_;
  const size_t max_size_;
  // Values of read-once sources by the opened file's (device, inode): the same FIFO or pipe
  // reached by another name (the broker passes /proc/self/fd/N, and N is reused) is the same
  // source, another one never is. Guarded by once_mu_, which is also held while such a source
  // is read, so that two fetches never both consume it.
  std::mutex once_mu_;
  std::map<std::pair<uint64_t, uint64_t>, sdk::SecretBytes> once_values_;
};

}  // namespace latchkey::file_provider

#endif  // LATCHKEY_PLUGINS_FILE_FILE_PROVIDER_H_
