// Tests of latchkey-file.so through the real loader and host (broker/provider_instance.h).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include "broker/plugin_test_util.h"
#include "broker/provider_instance.h"

namespace latchkey {
namespace {

using plugintest::ProviderPath;
using plugintest::ScratchDir;
using plugintest::TestString;

std::unique_ptr<ProviderInstance> FileInstance(std::vector<ConfigValue> config = {}) {
  auto lib = PluginLoader::Load(ProviderPath("file"));
  EXPECT_TRUE(lib.ok()) << lib.status().ToString();
  if (!lib.ok()) return nullptr;
  auto inst = ProviderInstance::Create(*lib, config);
  EXPECT_TRUE(inst.ok()) << inst.status().ToString();
  return inst.ok() ? std::move(*inst) : nullptr;
}

Status CreateError(std::vector<ConfigValue> config) {
  auto lib = PluginLoader::Load(ProviderPath("file"));
  EXPECT_TRUE(lib.ok()) << lib.status().ToString();
  auto inst = ProviderInstance::Create(*lib, config);
  EXPECT_FALSE(inst.ok());
  return inst.ok() ? Status() : inst.status();
}

FetchRequest Req(const std::string& ref, const std::string& id = "sid") {
  FetchRequest r;
  r.ref = ref;
  r.secret_id = id;
  return r;
}

std::string Value(ProviderInstance& inst, const std::string& ref) {
  auto r = inst.Fetch(Req(ref));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? TestString(r->value) : "(error)";
}

TEST(FileProvider, ServesAFileAndRereadsItOnEveryFetch) {
  ScratchDir dir;
  std::string p = dir.Write("npmrc", "//registry/:_authToken=abc\n");
  auto inst = FileInstance();
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(Value(*inst, p), "//registry/:_authToken=abc\n");
  dir.Write("npmrc", "rotated");
  EXPECT_EQ(Value(*inst, p), "rotated");
  dir.Write("npmrc", "");
  EXPECT_EQ(Value(*inst, p), "");
  EXPECT_EQ(inst->instance_block_count(), 0u);  // nothing kept for regular files
}

TEST(FileProvider, BinaryContentIsExact) {
  ScratchDir dir;
  std::string bytes("\0\x01\xff\n\0end", 8);
  std::string p = dir.Write("bin", bytes);
  auto inst = FileInstance();
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(Value(*inst, p), bytes);
}

TEST(FileProvider, SizeLimitIsBuildKits) {
  ScratchDir dir;
  std::string exact = dir.Write("exact", std::string(512000, 'a'));
  std::string over = dir.Write("over", std::string(512001, 'a'));
  auto inst = FileInstance();
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(Value(*inst, exact).size(), 512000u);
  auto r = inst->Fetch(Req(over, "big"));
  EXPECT_EQ(r.status(), InvalidArgumentError("provider file: secret big too big. max size 500KiB"));
}

TEST(FileProvider, ConfiguredMaxSize) {
  ScratchDir dir;
  std::string p = dir.Write("f", std::string(11, 'x'));
  auto small = FileInstance({ConfigValue::Text("max_size", "10")});
  ASSERT_NE(small, nullptr);
  EXPECT_EQ(small->Fetch(Req(p)).status(),
            InvalidArgumentError("provider file: secret sid too big. max size 10 bytes"));
  auto kib = FileInstance({ConfigValue::Text("max_size", "1024")});
  ASSERT_NE(kib, nullptr);
  dir.Write("f", std::string(1025, 'x'));
  EXPECT_EQ(kib->Fetch(Req(p)).status(),
            InvalidArgumentError("provider file: secret sid too big. max size 1KiB"));
  EXPECT_EQ(CreateError({ConfigValue::Text("max_size", "600000")}),
            InvalidArgumentError("provider file: config key \"max_size\" must be between 1 and "
                                 "512000 (got 600000)"));
  EXPECT_EQ(CreateError({ConfigValue::Text("max_size", "lots")}),
            InvalidArgumentError("provider file: config key \"max_size\" must be an integer (got "
                                 "\"lots\")"));
}

TEST(FileProvider, MissingFile) {
  ScratchDir dir;
  auto inst = FileInstance();
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(inst->Fetch(Req(dir.Join("absent"))).status(),
            NotFoundError("provider file: secret sid: file " + dir.Join("absent") +
                          ": no such file or directory"));
  // Without a secret id, the reference names the secret.
  EXPECT_EQ(inst->Fetch(Req(dir.Join("absent"), "")).status(),
            NotFoundError("provider file: secret " + dir.Join("absent") + ": file " +
                          dir.Join("absent") + ": no such file or directory"));
}

TEST(FileProvider, DirectoryIsNotAFile) {
  ScratchDir dir;
  auto inst = FileInstance();
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(inst->Fetch(Req(dir.path())).status(),
            InvalidArgumentError("provider file: secret sid: file " + dir.path() +
                                 ": is a directory, not a file"));
}

TEST(FileProvider, UnreadableFile) {
  ScratchDir dir;
  std::string p = dir.Write("private", "root only");
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(p.c_str(), 0600), 0);
  auto inst = FileInstance();
  ASSERT_NE(inst, nullptr);
  if (::geteuid() != 0) {
    // Not root: the file is ours, so make it unreadable to us.
    ASSERT_EQ(::chmod(p.c_str(), 0000), 0);
    EXPECT_EQ(
        inst->Fetch(Req(p)).status(),
        PermissionDeniedError("provider file: secret sid: file " + p + ": permission denied"));
    return;
  }
  // Root reads everything: fetch from a child that dropped to uid 65534.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
    auto r = inst->Fetch(Req(p));
    std::string msg =
        std::to_string(static_cast<int>(r.status().code())) + " " + r.status().message();
    ssize_t w = ::write(fds[1], msg.data(), msg.size());
    ::_exit(w == static_cast<ssize_t>(msg.size()) ? 0 : 3);
  }
  ::close(fds[1]);
  std::string got;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) got.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int wstatus = 0;
  ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
  EXPECT_EQ(WEXITSTATUS(wstatus), 0);
  EXPECT_EQ(got, std::to_string(static_cast<int>(StatusCode::kPermissionDenied)) +
                     " provider file: secret sid: file " + p + ": permission denied");
}

TEST(FileProvider, RelativeReferences) {
  ScratchDir dir;
  dir.Write("token", "t0k");
  auto plain = FileInstance();
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->Fetch(Req("token")).status(),
            InvalidArgumentError("provider file: secret sid: file token: relative path, but the "
                                 "file provider has no base_dir (use an absolute path or set "
                                 "base_dir)"));
  auto based = FileInstance({ConfigValue::Text("base_dir", dir.path() + "/")});
  ASSERT_NE(based, nullptr);
  EXPECT_EQ(Value(*based, "token"), "t0k");
  EXPECT_EQ(Value(*based, dir.Join("token")), "t0k");  // absolute refs ignore base_dir
  EXPECT_EQ(CreateError({ConfigValue::Text("base_dir", "relative/dir")}),
            InvalidArgumentError("provider file: config key \"base_dir\" must be an absolute "
                                 "path (got \"relative/dir\")"));
  EXPECT_EQ(plain->Fetch(Req("")).status(),
            InvalidArgumentError("provider file: secret sid: the file provider needs a file path "
                                 "as the reference"));
}

TEST(FileProvider, FifoIsReadOnceAndKeptForTheInstance) {
  ScratchDir dir;
  std::string p = dir.Join("fifo");
  ASSERT_EQ(::mkfifo(p.c_str(), 0600), 0);
  std::thread writer([&] {
    int fd = ::open(p.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "once", 4), 4);
    ::close(fd);
  });
  auto inst = FileInstance();
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(Value(*inst, p), "once");
  writer.join();
  EXPECT_EQ(inst->instance_block_count(), 1u);
  // Nobody writes any more: the kept value is served.
  EXPECT_EQ(Value(*inst, p), "once");
  // A new instance (a new session) reads the source again.
  auto other = FileInstance();
  ASSERT_NE(other, nullptr);
  std::thread writer2([&] {
    int fd = ::open(p.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "twice", 5), 5);
    ::close(fd);
  });
  EXPECT_EQ(Value(*other, p), "twice");
  writer2.join();
  EXPECT_EQ(Value(*inst, p), "once");
}

// The broker hands a file source over as /proc/self/fd/N, and N is reused: a kept read-once
// value belongs to the pipe it was read from, not to the name it was reached by.
TEST(FileProvider, KeptValuesBelongToTheSourceNotToItsName) {
  auto inst = FileInstance();
  ASSERT_NE(inst, nullptr);
  std::string first, second;
  for (const char* text : {"first-pipe", "second-pipe"}) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    ASSERT_EQ(::write(fds[1], text, std::strlen(text)), static_cast<ssize_t>(std::strlen(text)));
    ::close(fds[1]);
    // Always the same name: move the read end to one fixed descriptor number.
    ASSERT_EQ(::dup2(fds[0], 200), 200);
    ::close(fds[0]);
    (first.empty() ? first : second) = Value(*inst, "/proc/self/fd/200");
    ::close(200);
  }
  EXPECT_EQ(first, "first-pipe");
  EXPECT_EQ(second, "second-pipe");
}

// Each fetch of a regular file reports which version it served.
TEST(FileProvider, RegularFilesReportTheVersionServed) {
  ScratchDir dir;
  std::string p = dir.Write("token", "v1");
  auto inst = FileInstance();
  ASSERT_NE(inst, nullptr);
  auto a = inst->Fetch(Req(p));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  struct stat st;
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  char want[64];
  std::snprintf(want, sizeof want, "mtime=%lld.%09ld,ino=%llu",
                static_cast<long long>(st.st_mtim.tv_sec), st.st_mtim.tv_nsec,
                static_cast<unsigned long long>(st.st_ino));
  EXPECT_EQ(a->version, want);
  std::string next = dir.Write("token.new", "v2");
  std::filesystem::rename(next, p);
  auto b = inst->Fetch(Req(p));
  ASSERT_TRUE(b.ok());
  EXPECT_NE(b->version, a->version);
}

TEST(FileProvider, ProcessSubstitutionPipeIsReadOnce) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_EQ(::write(fds[1], "piped", 5), 5);
  ::close(fds[1]);
  std::string ref = "/dev/fd/" + std::to_string(fds[0]);
  auto inst = FileInstance();
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(Value(*inst, ref), "piped");
  EXPECT_EQ(Value(*inst, ref), "piped");  // the pipe is drained; the kept value is served
  ::close(fds[0]);
}

TEST(FileProvider, EndlessDeviceHitsTheLimit) {
  auto inst = FileInstance({ConfigValue::Text("max_size", "1024")});
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(inst->Fetch(Req("/dev/zero")).status(),
            InvalidArgumentError("provider file: secret sid too big. max size 1KiB"));
  EXPECT_EQ(inst->instance_block_count(), 0u);  // nothing kept after a failure
}

TEST(FileProvider, SilentFifoHonoursTheDeadline) {
  ScratchDir dir;
  std::string p = dir.Join("silent");
  ASSERT_EQ(::mkfifo(p.c_str(), 0600), 0);
  // Open both ends here so a writer exists but never writes.
  int rw = ::open(p.c_str(), O_RDWR);
  ASSERT_GE(rw, 0);
  auto inst = FileInstance();
  ASSERT_NE(inst, nullptr);
  FetchRequest req = Req(p);
  req.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(150);
  EXPECT_EQ(inst->Fetch(req).status(),
            DeadlineExceededError("provider file: secret sid: file " + p +
                                  ": deadline exceeded waiting for the writer to finish (no end "
                                  "of file yet)"));
  std::atomic<bool> cancelled{true};
  req.deadline.reset();
  req.cancelled = &cancelled;
  // Already cancelled: the host does not call the plugin at all.
  EXPECT_EQ(inst->Fetch(req).status(),
            CancelledError("provider \"file\" was cancelled while fetching \"sid\""));
  ::close(rw);
}

TEST(FileProvider, FifoWithoutWriterWaitsForOneUntilTheDeadline) {
  ScratchDir dir;
  std::string p = dir.Join("nowriter");
  ASSERT_EQ(::mkfifo(p.c_str(), 0600), 0);
  auto inst = FileInstance();
  ASSERT_NE(inst, nullptr);
  FetchRequest req = Req(p);
  req.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(150);
  EXPECT_EQ(inst->Fetch(req).status(),
            DeadlineExceededError("provider file: secret sid: file " + p +
                                  ": deadline exceeded waiting for a writer (nothing opened the "
                                  "FIFO for writing)"));
  EXPECT_EQ(inst->instance_block_count(), 0u);
}

}  // namespace
}  // namespace latchkey
