// In-memory fakes of the executor's side effects (runtime.h, mounter.h), for root-less tests of
// its logic: FakeMounter mounts nothing (a "mounted" directory stays a plain directory) and
// FakeRuntime starts no process (it reads config.json from the FIFO as runc does, looks at the
// bundle, and plays back a scripted container). Both append to one EventLog, so a test sees the
// order of mounts, start, kill, delete and unmounts. Paths in events are shown relative to the
// test's directory ("<dir>/state/secrets/<id>/secret0"), the step id as <id>.
//
// Thread-safety: the fakes are driven by RunStep's thread; a test reads them after RunStep.
#ifndef LATCHKEY_BUILDER_EXECUTOR_RUNTIME_TESTUTIL_H_
#define LATCHKEY_BUILDER_EXECUTOR_RUNTIME_TESTUTIL_H_

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/env.h"
#include "base/file.h"
#include "base/unique_fd.h"
#include "builder/executor/mounter.h"
#include "builder/executor/runtime.h"

namespace latchkey::executor::testing {

class EventLog {
 public:
  explicit EventLog(std::string dir) : dir_(std::move(dir)) {}
  // `text` with the test's directory shown as <dir> and step ids as <id>.
  std::string Show(const std::string& text) const {
    std::string s = text;
    for (size_t p; (p = s.find(dir_)) != std::string::npos;) s.replace(p, dir_.size(), "<dir>");
    static const std::regex kId("(secrets/|scratch/|latchkey-)[0-9a-f]{16}");
    return std::regex_replace(s, kId, "$1<id>");
  }
  void Add(const std::string& event) { events.push_back(Show(event)); }
  std::vector<std::string> events;

 private:
  std::string dir_;
};

// Regular files below `dir` (not following symlinks).
inline int CountFiles(const std::string& dir) {
  int n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) ++n;
  }
  return n;
}

// Records "mount <fstype> <target> <data>" and "unmount <target> (<n> files)" (the regular files
// still in the directory: 0 once the executor wiped a tmpfs). Unmounting empties the directory,
// as the end of a real mount hides what was written to it.
class FakeMounter : public Mounter {
 public:
  explicit FakeMounter(EventLog& log) : log_(log) {}
  // The mount call number `fail_at` (0-based) fails with `failure`.
  int fail_at = -1;
  Status failure = PermissionDeniedError("mount: Operation not permitted");

  Status Mount(const std::string& fstype, const std::string& target, unsigned long,
               const std::string& data) override {
    log_.Add("mount " + fstype + " " + target + " " + data);
    if (calls_++ == fail_at) return failure;
    mounted_.insert(target);
    return Status::OK();
  }
  Status Unmount(const std::string& target) override {
    log_.Add("unmount " + target + " (" + std::to_string(CountFiles(target)) + " files)");
    if (mounted_.erase(target) == 0) return InternalError("unmount " + target + ": not mounted");
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(target, ec)) {
      std::filesystem::remove_all(e.path(), ec);
    }
    return Status::OK();
  }
  // What is mounted now (host paths).
  const std::set<std::string>& mounted() const { return mounted_; }

 private:
  EventLog& log_;
  int calls_ = 0;
  std::set<std::string> mounted_;
};

// What the scripted container does.
struct FakeRun {
  std::string out, err;  // written to its stdout and stderr when it starts
  int exit_code = 0;
  // When set, the runtime "failed": this message is logged as runc logs its own errors (a
  // level=error JSON line in the runtime log).
  std::string runtime_error;
  // The container runs until it is killed (then it exits 137) instead of exiting at once.
  bool run_until_killed = false;
  // Start fails with this (the runtime binary could not be started).
  Status start_error;
  // Called in Start, after the config was read: e.g. RequestCancel() or a look at the disk.
  std::function<void(const ContainerRef&)> on_start;
};

// What the runtime saw when the container started.
struct SeenFile {
  std::string content;
  uint32_t mode = 0;  // permission bits
  friend bool operator==(const SeenFile&, const SeenFile&) = default;
};
struct StartRecord {
  ContainerRef ref;
  bool config_is_fifo = false;
  nlohmann::json config;                        // as read from <bundle>/config.json
  std::set<std::string> mounted;                // the FakeMounter's mounts at that moment
  std::map<std::string, SeenFile> bound_files;  // destination -> bind source under the bundle
};

class FakeContainer : public RunningContainer {
 public:
  FakeContainer(EventLog& log, base::UniqueFd out_r, base::UniqueFd out_w, base::UniqueFd err_r,
                base::UniqueFd err_w, int exit_code)
      : log_(log),
        out_r_(std::move(out_r)),
        out_w_(std::move(out_w)),
        err_r_(std::move(err_r)),
        err_w_(std::move(err_w)),
        exit_code_(exit_code) {}
  int stdout_fd() const override { return out_r_.get(); }
  int stderr_fd() const override { return err_r_.get(); }
  void Kill() override {
    log_.Add("kill");
    if (out_w_.valid() || err_w_.valid()) exit_code_ = 128 + 9;
    out_w_.reset();
    err_w_.reset();
  }
  Result<int> Wait() override { return exit_code_; }

 private:
  EventLog& log_;
  base::UniqueFd out_r_, out_w_, err_r_, err_w_;
  int exit_code_;
};

// Records "start <id>" and "delete <id>" (the container id, "latchkey-<id>").
class FakeRuntime : public Runtime {
 public:
  FakeRuntime(EventLog& log, const FakeMounter& mounter) : log_(log), mounter_(mounter) {}
  FakeRun run;
  std::vector<StartRecord> starts;

  Result<std::unique_ptr<RunningContainer>> Start(const ContainerRef& ref) override {
    log_.Add("start " + ref.id);
    if (!run.start_error.ok()) return run.start_error;
    StartRecord rec;
    rec.ref = ref;
    rec.mounted = mounter_.mounted();
    std::string config_path = ref.bundle + "/config.json";
    struct stat st;
    rec.config_is_fifo = ::lstat(config_path.c_str(), &st) == 0 && S_ISFIFO(st.st_mode);
    auto text = base::ReadFile(config_path);  // as runc reads it: once, to the end
    if (!text.ok()) return text.status();
    rec.config = nlohmann::json::parse(*text, nullptr, false);
    if (rec.config.is_object() && rec.config.contains("mounts")) {
      for (const auto& m : rec.config["mounts"]) {
        std::string src = m.value("source", "");
        if (m.value("type", "") != "bind" || src.rfind(ref.bundle + "/", 0) != 0) continue;
        if (::stat(src.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        auto data = base::ReadFile(src);
        rec.bound_files[m.value("destination", "")] =
            SeenFile{data.ok() ? *data : "", static_cast<uint32_t>(st.st_mode & 07777)};
      }
    }
    if (!run.runtime_error.empty()) {
      nlohmann::json line = {{"level", "error"}, {"msg", run.runtime_error}};
      LK_RETURN_IF_ERROR(base::WriteFileAtomic(ref.log_path, line.dump() + "\n", 0600));
    }
    starts.push_back(std::move(rec));
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
      return InternalError("pipe for the fake container");
    }
    base::UniqueFd out_r(out[0]), out_w(out[1]), err_r(err[0]), err_w(err[1]);
    // Small enough for a pipe's buffer: written before anyone reads.
    if (::write(out_w.get(), run.out.data(), run.out.size()) !=
            static_cast<ssize_t>(run.out.size()) ||
        ::write(err_w.get(), run.err.data(), run.err.size()) !=
            static_cast<ssize_t>(run.err.size())) {
      return InternalError("write to the fake container's pipes");
    }
    if (!run.run_until_killed) {
      out_w.reset();
      err_w.reset();
    }
    if (run.on_start) run.on_start(ref);
    return std::unique_ptr<RunningContainer>(new FakeContainer(log_, std::move(out_r),
                                                               std::move(out_w), std::move(err_r),
                                                               std::move(err_w), run.exit_code));
  }

  void Delete(const ContainerRef& ref) override { log_.Add("delete " + ref.id); }

 private:
  EventLog& log_;
  const FakeMounter& mounter_;
};

}  // namespace latchkey::executor::testing

#endif  // LATCHKEY_BUILDER_EXECUTOR_RUNTIME_TESTUTIL_H_
