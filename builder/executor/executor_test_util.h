// Test helpers for the executor: a busybox root filesystem built from /bin/busybox, per-test
// state/upper/work directories, a map-backed SecretProvider and a recording OutputSink.
#ifndef LATCHKEY_BUILDER_EXECUTOR_EXECUTOR_TEST_UTIL_H_
#define LATCHKEY_BUILDER_EXECUTOR_EXECUTOR_TEST_UTIL_H_

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "builder/executor/executor.h"
#include "builder/executor/step.h"
#include "builder/executor/sys_util.h"
#include "secure/secret_buffer.h"

namespace latchkey::executor::testing {

namespace fs = std::filesystem;

inline std::shared_ptr<const SecretBuffer> Secret(std::string_view v) {
  auto b = SecretBuffer::CopyOf(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
  if (!b.ok()) std::abort();
  return std::make_shared<const SecretBuffer>(std::move(b).value());
}

class MapSecrets : public SecretProvider {
 public:
  std::map<std::string, std::shared_ptr<const SecretBuffer>> values;
  std::map<std::string, Status> errors;
  std::vector<std::string> calls;
  Result<std::optional<std::shared_ptr<const SecretBuffer>>> Fetch(const std::string& id) override {
    calls.push_back(id);
    if (auto e = errors.find(id); e != errors.end()) return e->second;
    auto it = values.find(id);
    if (it == values.end()) return std::optional<std::shared_ptr<const SecretBuffer>>();
    return std::optional<std::shared_ptr<const SecretBuffer>>(it->second);
  }
  // Every RecordSshUse call, in order; `ssh_record_answer` is what it returns.
  std::vector<SshUse> ssh_uses;
  Status ssh_record_answer;
  Status RecordSshUse(const SshUse& use) override {
    ssh_uses.push_back(use);
    return ssh_record_answer;
  }
};

class RecordingSink : public OutputSink {
 public:
  std::string out, err;
  std::vector<std::string> chunks;
  void Write(OutputStream s, std::string_view t) override {
    (s == OutputStream::kStdout ? out : err).append(t);
    chunks.emplace_back(t);
  }
};

inline void WriteText(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

// Builds a busybox rootfs once per process under `base`/rootfs.
inline std::string BuildBusyboxRootfs(const fs::path& base) {
  fs::path r = base / "rootfs";
  for (const char* d : {"bin", "etc", "tmp", "proc", "sys", "dev", "root", "run"}) {
    fs::create_directories(r / d);
  }
  fs::copy_file("/bin/busybox", r / "bin/busybox", fs::copy_options::overwrite_existing);
  std::string cmd = "chroot " + r.string() + " /bin/busybox --install -s /bin";
  if (std::system(cmd.c_str()) != 0) std::abort();
  WriteText(r / "etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\napp:x:100:101:app:/home/app:/bin/sh\n"
            "nobody:x:65534:65534:nobody:/:/bin/false\n");
  WriteText(r / "etc/group", "root:x:0:\napp:x:101:\nextra:x:102:app\nnogroup:x:65534:\n");
  ::chmod((r / "tmp").c_str(), 01777);
  return r.string();
}

// Every path below `dir` (relative, sorted), not following symlinks.
inline std::set<std::string> ListTree(const fs::path& dir) {
  std::set<std::string> out;
  if (!fs::exists(dir)) return out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
       ++it) {
    out.insert(fs::relative(it->path(), dir).string());
  }
  return out;
}

// True when any regular file below `dir` contains `needle`.
inline bool TreeContains(const fs::path& dir, const std::string& needle) {
  if (!fs::exists(dir)) return false;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
       ++it) {
    std::error_code ec;
    if (it->is_symlink(ec) || !it->is_regular_file(ec)) continue;
    std::ifstream f(it->path(), std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (data.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace latchkey::executor::testing

#endif  // LATCHKEY_BUILDER_EXECUTOR_EXECUTOR_TEST_UTIL_H_
