#include "cli/secret_input.h"

#include <unistd.h>

#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "base/env.h"
#include "base/file.h"

namespace latchkey::cli {
namespace {

std::string Text(const SecretBuffer& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// A pipe whose read end stands in for standard input; `data` is written from a thread (it may
// be larger than the pipe buffer) and the write end closed.
class FakeStdin {
 public:
  explicit FakeStdin(std::string data) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    read_fd_ = fds[0];
    writer_ = std::thread([fd = fds[1], data = std::move(data)] {
      size_t off = 0;
      while (off < data.size()) {
        ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
      ::close(fd);
    });
  }
  ~FakeStdin() {
    ::close(read_fd_);  // a reader that stopped early unblocks the writer (EPIPE)
    writer_.join();
  }
  int fd() const { return read_fd_; }

 private:
  int read_fd_ = -1;
  std::thread writer_;
};

class SecretInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = base::MakeTempDir("/tmp", "lk-secret-input-test-");
    ASSERT_TRUE(dir.ok()) << dir.status().message();
    dir_ = *dir;
  }
  void TearDown() override { (void)base::RemoveAll(dir_); }
  std::string Write(const std::string& name, const std::string& data) {
    std::string path = dir_ + "/" + name;
    EXPECT_TRUE(base::WriteFileAtomic(path, data, 0600).ok());
    return path;
  }
  std::string dir_;
};

TEST_F(SecretInputTest, SecretDataFromAFile) {
  std::ostringstream notice;
  auto data = ReadSecretData(Write("v", "s3cr3t\n"), -1, notice);
  ASSERT_TRUE(data.ok()) << data.status().message();
  EXPECT_EQ(Text(*data), "s3cr3t\n");
  EXPECT_EQ(notice.str(), "");
}

TEST_F(SecretInputTest, SecretDataFromStandardInput) {
  for (const std::string file : {"", "-"}) {
    FakeStdin in("from-stdin");
    std::ostringstream notice;
    auto data = ReadSecretData(file, in.fd(), notice);
    ASSERT_TRUE(data.ok()) << data.status().message();
    EXPECT_EQ(Text(*data), "from-stdin");
    EXPECT_EQ(notice.str(), "");  // a pipe is not a terminal: no notice
  }
}

TEST_F(SecretInputTest, SecretDataErrorsAreTheStores) {
  std::ostringstream notice;
  auto missing = ReadSecretData(dir_ + "/none", -1, notice);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "secret file " + dir_ + "/none does not exist");
  FakeStdin empty("");
  auto nothing = ReadSecretData("-", empty.fd(), notice);
  ASSERT_FALSE(nothing.ok());
  EXPECT_EQ(nothing.status().message(),
            "secret data must be larger than 0 and less than 512000 bytes");
}

TEST_F(SecretInputTest, HashValueFromFileAndStdin) {
  auto v = ReadHashValue(Write("v", "value"), -1);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(Text(*v), "value");
  FakeStdin in(std::string(kMaxHashValueBytes, 'x'));  // exactly the limit
  v = ReadHashValue("-", in.fd());
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(v->size(), kMaxHashValueBytes);
  auto empty = ReadHashValue(Write("e", ""), -1);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), 0u);
}

TEST_F(SecretInputTest, HashValueErrors) {
  auto missing = ReadHashValue(dir_ + "/none", -1);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(missing.status().message(),
            "cannot read value file " + dir_ + "/none: No such file or directory");

  std::string big = Write("big", std::string(kMaxHashValueBytes + 1, 'x'));
  auto too_big = ReadHashValue(big, -1);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(
      too_big.status().message(),
      "value file " + big + " is larger than 512000 bytes, the largest secret latchkey hands out");

  FakeStdin in(std::string(kMaxHashValueBytes + 100, 'x'));
  auto stdin_too_big = ReadHashValue("-", in.fd());
  ASSERT_FALSE(stdin_too_big.ok());
  EXPECT_EQ(stdin_too_big.status().message(),
            "value file - is larger than 512000 bytes, the largest secret latchkey hands out");

  auto dir = ReadHashValue(dir_, -1);  // open succeeds, read fails
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().message(), "cannot read value file " + dir_ + ": Is a directory");
}

}  // namespace
}  // namespace latchkey::cli
