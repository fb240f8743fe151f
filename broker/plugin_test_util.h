// Test helpers shared by the loader, host and bundled-provider tests: where the built plugins
// are, a scratch directory, and log capture. Test-only; header-only.
#ifndef LATCHKEY_BROKER_PLUGIN_TEST_UTIL_H_
#define LATCHKEY_BROKER_PLUGIN_TEST_UTIL_H_

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "broker/provider_host.h"
#include "secure/secret_buffer.h"

namespace latchkey::plugintest {

// The build directory: $LATCHKEY_BUILD_DIR (set by ctest), else two levels above this test
// binary (build/<dir>/<test>).
inline std::string BuildDir() {
  if (const char* env = std::getenv("LATCHKEY_BUILD_DIR"); env != nullptr && env[0] != '\0') {
    return env;
  }
  return std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path().string();
}

inline std::string ProviderPath(const std::string& name) {
  return BuildDir() + "/lib/latchkey/providers/latchkey-" + name + ".so";
}

inline std::string FixturePath(const std::string& name) {
  return BuildDir() + "/lib/latchkey/test-fixtures/" + name + ".so";
}

// A fresh directory under the build tree (not /tmp, which may be noexec), removed on
// destruction.
class ScratchDir {
 public:
  ScratchDir() {
    std::string base = BuildDir() + "/test-scratch";
    std::filesystem::create_directories(base);
    std::string tmpl = base + "/h3-XXXXXX";
    path_ = ::mkdtemp(tmpl.data()) != nullptr ? tmpl : base;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Join(const std::string& name) const { return path_ + "/" + name; }
  // Writes `content` to `name` (mode 0644) and returns its path.
  std::string Write(const std::string& name, const std::string& content) const {
    std::string p = Join(name);
    std::ofstream(p, std::ios::binary) << content;
    std::filesystem::permissions(p, std::filesystem::perms(0644));
    return p;
  }

 private:
  std::string path_;
};

// Captures what the "plugin.<name>" logger writes while it lives.
class LogCapture {
 public:
  explicit LogCapture(const std::string& provider_name)
      : logger_(PluginLogger(provider_name)),
        sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_)) {
    sink_->set_pattern("%l %v");
    old_level_ = logger_->level();
    logger_->set_level(spdlog::level::debug);
    logger_->sinks().push_back(sink_);
  }
  ~LogCapture() {
    auto& sinks = logger_->sinks();
    for (auto it = sinks.begin(); it != sinks.end(); ++it) {
      if (*it == sink_) {
        sinks.erase(it);
        break;
      }
    }
    logger_->set_level(old_level_);
  }
  std::string text() const { return stream_.str(); }

 private:
  std::ostringstream stream_;
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
  spdlog::level::level_enum old_level_;
};

// The bytes of a SecretBuffer as a string, for assertions in tests only.
inline std::string TestString(const SecretBuffer& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

}  // namespace latchkey::plugintest

#endif  // LATCHKEY_BROKER_PLUGIN_TEST_UTIL_H_
