// StreamUntilExit over a container whose output is written by the test: a pause in the output
// flushes what the redactor withholds (and reports it to the sink), without ever showing part of
// a secret. Each test waits for an event (with a generous deadline), never measures time.
#include "builder/executor/runtime.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "base/unique_fd.h"
#include "secure/redactor.h"

namespace latchkey::executor {
namespace {

// A container whose stdout and stderr are pipes the test writes to.
class PipeContainer : public RunningContainer {
 public:
  PipeContainer() {
    int out[2], err[2];
    EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(err, O_CLOEXEC), 0);
    out_r_.reset(out[0]);
    out_w_.reset(out[1]);
    err_r_.reset(err[0]);
    err_w_.reset(err[1]);
  }
  int stdout_fd() const override { return out_r_.get(); }
  int stderr_fd() const override { return err_r_.get(); }
  void Kill() override {}
  Result<int> Wait() override { return 0; }

  void WriteOut(std::string_view text) {
    ASSERT_EQ(::write(out_w_.get(), text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }
  void Close() {
    out_w_.reset();
    err_w_.reset();
  }

 private:
  base::UniqueFd out_r_, out_w_, err_r_, err_w_;
};

// Records what reached it and lets the writer wait for a Pause.
class WaitingSink : public OutputSink {
 public:
  void Write(OutputStream stream, std::string_view text) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (stream == OutputStream::kStdout) out_.append(text);
  }
  void Pause(OutputStream stream) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (stream == OutputStream::kStdout) {
      ++pauses_;
      at_pause_ = out_;
    }
    cv_.notify_all();
  }
  // Waits (up to 30 s) for the pause after `n` - 1 earlier ones; what stdout showed then.
  std::string WaitForPause(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, std::chrono::seconds(30), [&] { return pauses_ >= n; }));
    return at_pause_;
  }
  std::string out() {
    std::lock_guard<std::mutex> lock(mu_);
    return out_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::string out_, at_pause_;
  int pauses_ = 0;
};

TEST(StreamUntilExit, ALastLineWithoutNewlineShowsWhileTheStepRuns) {
  PipeContainer c;
  WaitingSink sink;
  std::thread writer([&] {
    c.WriteOut("compiling\nwaiting for the server");
    // The step is still running (its pipes are open) when the partial line must show.
    EXPECT_EQ(sink.WaitForPause(1), "compiling\nwaiting for the server");
    c.Close();
  });
  Result<int> rc = StreamUntilExit(c, sink, 64);
  writer.join();
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(sink.out(), "compiling\nwaiting for the server");
}

TEST(StreamUntilExit, ACanarySplitAcrossAPauseIsStillMasked) {
  const std::string canary = "lk-canary-7Hq2-pause";
  auto buf = SecretBuffer::CopyOf(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(canary.data()), canary.size()));
  ASSERT_TRUE(buf.ok());
  auto handle = SecretRegistry::Global().Add(std::make_shared<const SecretBuffer>(std::move(*buf)));
  ASSERT_TRUE(handle.ok());
  PipeContainer c;
  WaitingSink sink;
  std::thread writer([&] {
    c.WriteOut("token=lk-canary-7H");
    EXPECT_EQ(sink.WaitForPause(1), "token=");  // the beginning of the canary is kept back
    c.WriteOut("q2-pause and more\n");
    c.Close();
  });
  Result<int> rc = StreamUntilExit(c, sink, 3 * canary.size() + 4);
  writer.join();
  SecretRegistry::Global().Remove(*handle);
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(sink.out(), "token=**** and more\n");
}

}  // namespace
}  // namespace latchkey::executor
