#include "builder/executor/runtime_process.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <string>

#include "builder/executor/executor_test_util.h"

namespace latchkey::executor {
namespace {

using testing::RecordingSink;

// How many processes on the host run exactly `cmdline` (argv joined by spaces).
int CountProcesses(const std::string& cmdline) {
  std::string cmd = "pgrep -xfc '" + cmdline + "'";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  int n = -1;
  if (std::fscanf(p, "%d", &n) != 1) n = -1;
  ::pclose(p);
  return n;
}

TEST(RuntimeProcess, TheRuntimeIsTheInitOfItsOwnPidNamespaceWithItsOwnProc) {
  RecordingSink sink;
  auto code = RunRuntimeProcess(
      {"/bin/sh", "-c", "echo pid=$$; cat /proc/self/stat | cut -d' ' -f1"}, sink, 64);
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  EXPECT_EQ(*code, 0);
  // $$ is 1; cat is another process of the namespace, as its own /proc numbers it.
  EXPECT_EQ(sink.out.substr(0, 6), "pid=1\n");
  EXPECT_LT(std::stoi(sink.out.substr(6)), 10);
}

TEST(RuntimeProcess, WhatTheRuntimeStartedDiesWithIt) {
  // A detached child that would outlive an ordinary parent (its output does not hold ours).
  std::mt19937 rng(std::random_device{}());
  std::string marker = "sleep 300." + std::to_string(rng() % 1000000 + 1000000);
  RecordingSink sink;
  auto code =
      RunRuntimeProcess({"/bin/sh", "-c", marker + " > /dev/null 2>&1 & echo started"}, sink, 64);
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  EXPECT_EQ(sink.out, "started\n");
  int left = 0;
  for (int i = 0; i < 40; ++i) {  // the kernel reaps the namespace asynchronously
    left = CountProcesses(marker);
    if (left == 0) break;
    ::usleep(25000);
  }
  EXPECT_EQ(left, 0) << marker << " outlived the runtime";
}

// Kill (what a cancelled step does) ends the runtime and closes its output: 128 + SIGKILL.
TEST(RuntimeProcess, KillEndsTheRuntimeAndItsOutput) {
  auto p = RuntimeProcess::Start({"/bin/sh", "-c", "echo up; exec sleep 300"});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  char buf[16];
  ASSERT_EQ(::read((*p)->stdout_fd(), buf, sizeof buf), 3);  // "up\n": it is running
  (*p)->Kill();
  EXPECT_EQ(::read((*p)->stdout_fd(), buf, sizeof buf), 0);  // EOF: every writer is gone
  auto code = (*p)->Wait();
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  EXPECT_EQ(*code, 128 + 9);
  EXPECT_EQ((*p)->Wait().status().message(), "OCI runtime /bin/sh was already waited for");
}

TEST(RuntimeProcess, AMissingRuntimeIsNamed) {
  RecordingSink sink;
  EXPECT_EQ(RunRuntimeProcess({"/nonexistent/runc"}, sink, 64).status().message(),
            "cannot start OCI runtime /nonexistent/runc: No such file or directory");
  EXPECT_EQ(RunRuntimeProcess({"no-such-runtime-here"}, sink, 64).status().message(),
            "cannot start OCI runtime no-such-runtime-here: No such file or directory");
}

}  // namespace
}  // namespace latchkey::executor
