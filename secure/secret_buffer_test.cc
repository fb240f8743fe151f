#include "secure/secret_buffer.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

namespace latchkey {
namespace {

std::span<const uint8_t> Bytes(const char* s) {
  return {reinterpret_cast<const uint8_t*>(s), std::strlen(s)};
}

TEST(SecretBuffer, CopyOfHoldsTheBytesAndIsSealed) {
  auto buf = SecretBuffer::CopyOf(Bytes("canary-3f9a"));
  ASSERT_TRUE(buf.ok()) << buf.status().ToString();
  EXPECT_EQ(buf->size(), 11u);
  EXPECT_TRUE(buf->sealed());
  EXPECT_TRUE(buf->Equals(Bytes("canary-3f9a")));
  EXPECT_FALSE(buf->Equals(Bytes("canary-3f9b")));
  EXPECT_FALSE(buf->Equals(Bytes("canary")));
}

TEST(SecretBuffer, EmptySecretIsValid) {
  auto buf = SecretBuffer::CopyOf({});
  ASSERT_TRUE(buf.ok());
  EXPECT_TRUE(buf->empty());
  EXPECT_NE(buf->data(), nullptr);
  EXPECT_TRUE(buf->Equals({}));
}

TEST(SecretBuffer, MoveLeavesSourceEmpty) {
  auto a = SecretBuffer::CopyOf(Bytes("value"));
  ASSERT_TRUE(a.ok());
  SecretBuffer b = std::move(*a);
  EXPECT_EQ(a->size(), 0u);
  EXPECT_EQ(a->data(), nullptr);
  EXPECT_TRUE(b.Equals(Bytes("value")));
}

TEST(SecretBuffer, TruncateShrinksBeforeSeal) {
  auto buf = SecretBuffer::Allocate(8);
  ASSERT_TRUE(buf.ok());
  std::memcpy(buf->mutable_data(), "abcdefgh", 8);
  buf->Truncate(3);
  buf->Seal();
  EXPECT_TRUE(buf->Equals(Bytes("abc")));
}

TEST(SecretBuffer, WritingASealedBufferFaults) {
  auto buf = SecretBuffer::CopyOf(Bytes("sealed"));
  ASSERT_TRUE(buf.ok());
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The page is read-only: this write must kill the child with SIGSEGV. Restore the default
    // action first (AddressSanitizer installs its own SIGSEGV handler, which exits instead).
    signal(SIGSEGV, SIG_DFL);
    const_cast<uint8_t*>(buf->data())[0] = 'X';
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGSEGV);
}

}  // namespace
}  // namespace latchkey
