// SIGKILL crash tests and multi-process access: real child processes (fork) write to or read
// from one store while the parent kills them at random moments or writes alongside them.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "store/store.h"
#include "store/test_util.h"

namespace latchkey::store {
namespace {

using testing::Bytes;
using testing::TempDir;
using testing::View;

// The data of `name` at `version`: recognisable, and of varying size.
std::string ContentFor(const std::string& name, uint64_t version) {
  std::string head = name + "#" + std::to_string(version) + ":";
  size_t size = 64 + (std::hash<std::string>()(head) % 4000);
  std::string out = head;
  while (out.size() < size) out += head;
  return out;
}

enum class Workload { kCreate, kRotate, kRekey };

// The child: writes forever, reporting each committed operation on `fd` as a line.
[[noreturn]] void RunWriter(const std::string& db, const std::string& key, Workload w, int fd,
                            int first) {
  auto s = Store::Open(db, KeySource::UnlockKeyFile(key));
  if (!s.ok()) {
    std::fprintf(stderr, "child open: %s\n", s.status().ToString().c_str());
    _exit(3);
  }
  Store& store = **s;
  for (int i = first;; ++i) {
    std::string line;
    if (w == Workload::kCreate) {
      std::string name = "c" + std::to_string(i);
      if (!store.Create(name, Bytes(ContentFor(name, 1)), {{"i", std::to_string(i)}}).ok())
        _exit(4);
      line = name + "@1\n";
    } else if (w == Workload::kRotate) {
      std::string name = "r" + std::to_string(i % 5);
      auto v = store.Rotate(name, Bytes(ContentFor(name, 0)));  // every r* version: version 0
      if (!v.ok()) _exit(5);
      line = name + "@" + std::to_string(*v) + "\n";
    } else {
      Status st =
          (i % 2 == 0) ? store.RekeyData() : store.RekeyKek(KeySource::UnlockKeyFile(key), nullptr);
      if (!st.ok()) {
        std::fprintf(stderr, "child rekey: %s\n", st.ToString().c_str());
        _exit(6);
      }
      line = "rekey\n";
    }
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(7);
  }
}

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.Join("secrets.db");
    key_ = dir_.Join("unlock.key");
    auto s = Store::Init(db_, KeySource::UnlockKeyFile(key_), nullptr);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    for (int i = 0; i < 5; ++i) {
      std::string name = "r" + std::to_string(i);
      ASSERT_TRUE((*s)->Create(name, Bytes(ContentFor(name, 0)), {}).ok());
    }
    for (int i = 0; i < 40; ++i) {
      std::string name = "base" + std::to_string(i);
      ASSERT_TRUE((*s)->Create(name, Bytes(ContentFor(name, 1)), {}).ok());
    }
    std::random_device rd;
    seed_ = rd();
    rng_.seed(seed_);
  }

  // Forks a writer, kills it with SIGKILL after a random delay, returns what it reported.
  std::string KillWriterMidway(Workload w, int iteration) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      RunWriter(db_, key_, w, fds[1], iteration * 1000);
    }
    ::close(fds[1]);
    std::uniform_int_distribution<int> delay_ms(2, 120);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng_)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "writer exited early with status " << status << " (seed " << seed_ << ")";
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    return out;
  }

  // Opens the store and checks every version of every secret, and every reported commit.
  void VerifyStore(const std::string& reported) {
    auto s = Store::Open(db_, KeySource::UnlockKeyFile(key_));
    ASSERT_TRUE(s.ok()) << s.status().ToString() << " (seed " << seed_ << ")";
    auto list = (*s)->List({});
    ASSERT_TRUE(list.ok()) << list.status().ToString();
    std::set<std::string> present;
    for (const SecretInfo& info : *list) {
      for (uint64_t v = 1; v <= info.latest_version; ++v) {
        auto r = (*s)->Read({info.name, v});
        ASSERT_TRUE(r.ok()) << info.name << "@" << v << ": " << r.status().ToString();
        uint64_t expect_v = info.name[0] == 'r' ? 0 : v;
        EXPECT_EQ(View(r->data), ContentFor(info.name, expect_v)) << info.name << "@" << v;
        present.insert(info.name + "@" + std::to_string(v));
      }
      if (info.name[0] == 'c') {
        EXPECT_EQ(info.labels.size(), 1u) << info.name;
      }
    }
    size_t pos = 0;
    while (pos < reported.size()) {
      size_t nl = reported.find('\n', pos);
      if (nl == std::string::npos) break;  // a line cut by the kill
      std::string line = reported.substr(pos, nl - pos);
      pos = nl + 1;
      if (line != "rekey") {
        EXPECT_TRUE(present.count(line)) << line << " was committed but is lost";
      }
    }
  }

  void Run(Workload w) {
    constexpr int kIterations = 30;
    size_t commits = 0;
    for (int i = 1; i <= kIterations; ++i) {
      std::string reported = KillWriterMidway(w, i);
      commits += static_cast<size_t>(std::count(reported.begin(), reported.end(), '\n'));
      VerifyStore(reported);
      if (HasFatalFailure()) return;
    }
    // The writers got work done between kills, so the kills hit a store in motion.
    EXPECT_GT(commits, static_cast<size_t>(kIterations));
  }

  TempDir dir_;
  std::string db_, key_;
  unsigned seed_ = 0;
  std::mt19937 rng_;
};

TEST_F(CrashTest, KillDuringCreate) { Run(Workload::kCreate); }
TEST_F(CrashTest, KillDuringRotate) {
  // Rotated content is ContentFor(name, 0) for every version of r*, checked above.
  Run(Workload::kRotate);
}
TEST_F(CrashTest, KillDuringRekey) { Run(Workload::kRekey); }

// Readers in three processes and writers in two (the parent and a child) share one store.
TEST(MultiProcessTest, ConcurrentReadersAndWriters) {
  TempDir dir;
  std::string db = dir.Join("secrets.db"), key = dir.Join("unlock.key");
  {
    auto s = Store::Init(db, KeySource::UnlockKeyFile(key), nullptr);
    ASSERT_TRUE(s.ok());
    for (int i = 0; i < 20; ++i) {
      std::string name = "m" + std::to_string(i);
      ASSERT_TRUE((*s)->Create(name, Bytes(ContentFor(name, 1)), {}).ok());
    }
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  std::vector<pid_t> children;
  for (int c = 0; c < 4; ++c) {
    pid_t pid = ::fork();
    if (pid == 0) {
      auto s = Store::Open(db, KeySource::UnlockKeyFile(key));
      if (!s.ok()) _exit(2);
      int reads = 0;
      for (int i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
        std::string name = "m" + std::to_string(i % 20);
        if (c == 3) {  // a second writer
          auto v = (*s)->Rotate(name, Bytes(ContentFor(name, 0)));
          if (!v.ok()) {
            std::fprintf(stderr, "writer child: %s\n", v.status().ToString().c_str());
            _exit(3);
          }
          continue;
        }
        auto r = (*s)->Read({name, 0});
        if (!r.ok()) {
          std::fprintf(stderr, "reader child: %s\n", r.status().ToString().c_str());
          _exit(4);
        }
        std::string want = ContentFor(name, r->version == 1 ? 1 : 0);
        if (View(r->data) != want) _exit(5);
        ++reads;
      }
      _exit(c == 3 || reads > 0 ? 0 : 6);
    }
    children.push_back(pid);
  }
  auto s = Store::Open(db, KeySource::UnlockKeyFile(key));
  ASSERT_TRUE(s.ok());
  int rotations = 0;
  for (int i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
    std::string name = "m" + std::to_string(i % 20);
    auto v = (*s)->Rotate(name, Bytes(ContentFor(name, 0)));
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    ++rotations;
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  }
  EXPECT_GT(rotations, 0);
  auto st = (*s)->GetStatus();
  EXPECT_GT(st->versions, 20u + static_cast<uint64_t>(rotations));  // the child wrote too
}

}  // namespace
}  // namespace latchkey::store
