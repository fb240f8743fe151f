#include "store/secret_io.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>

#include "store/test_util.h"
#include "store/unlock_key.h"

namespace latchkey::store {
namespace {

using testing::Bytes;
using testing::TempDir;
using testing::View;

// A pipe whose write end receives `content` from a thread (so large writes cannot block).
int PipeWith(const std::string& content) {
  ::signal(SIGPIPE, SIG_IGN);  // the reader may stop early (size limit) and close its end
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  std::thread([fd = fds[1], content] {
    size_t done = 0;
    while (done < content.size()) {
      ssize_t n = ::write(fd, content.data() + done, content.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::close(fd);
  }).detach();
  return fds[0];
}

TEST(SecretIoTest, ReadsDataFromADescriptor) {
  int fd = PipeWith("line one\nline two\n");
  auto data = ReadSecretFd(fd);
  ::close(fd);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(View(*data), "line one\nline two\n");  // kept byte for byte
  EXPECT_TRUE(data->sealed());
}

TEST(SecretIoTest, RejectsEmptyAndOversizedData) {
  const char kMsg[] = "secret data must be larger than 0 and less than 512000 bytes";
  int fd = PipeWith("");
  EXPECT_EQ(ReadSecretFd(fd).status(), InvalidArgumentError(kMsg));
  ::close(fd);
  fd = PipeWith(std::string(600000, 'x'));
  EXPECT_EQ(ReadSecretFd(fd).status(), InvalidArgumentError(kMsg));
  ::close(fd);
  fd = PipeWith(std::string(511999, 'x'));
  EXPECT_EQ(ReadSecretFd(fd)->size(), 511999u);
  ::close(fd);
}

TEST(SecretIoTest, ReadsFiles) {
  TempDir dir;
  std::string p = dir.Join("f");
  { std::ofstream(p) << "abc"; }
  EXPECT_EQ(View(*ReadSecretFile(p)), "abc");
  EXPECT_EQ(ReadSecretFile(dir.Join("none")).status(),
            NotFoundError("secret file " + dir.Join("none") + " does not exist"));
  EXPECT_EQ(ReadSecretFile(dir.path()).status(),
            InvalidArgumentError("secret file " + dir.path() + " is a directory"));
}

TEST(SecretIoTest, PassphraseFromDescriptorDropsOneNewline) {
  int fd = PipeWith("correct horse\r\n");
  EXPECT_EQ(View(*ReadPassphraseFd(fd)), "correct horse");
  ::close(fd);
  fd = PipeWith("two lines\n\n");
  EXPECT_EQ(View(*ReadPassphraseFd(fd)), "two lines\n");
  ::close(fd);
  fd = PipeWith("\n");
  EXPECT_EQ(ReadPassphraseFd(fd).status(), InvalidArgumentError("passphrase from file descriptor " +
                                                                std::to_string(fd) + " is empty"));
  ::close(fd);
  fd = PipeWith(std::string(5000, 'p'));
  EXPECT_EQ(ReadPassphraseFd(fd).status(),
            InvalidArgumentError("passphrase from file descriptor " + std::to_string(fd) +
                                 " is longer than 4096 bytes"));
  ::close(fd);
  EXPECT_EQ(ReadPassphraseFd(987).status().code(), StatusCode::kFailedPrecondition);
}

TEST(UnlockKeyTest, FormatsAndParsesRoundTrip) {
  auto key = SecretBuffer::CopyOf(Bytes(std::string(32, '\x01'))).value();
  auto text = FormatUnlockKey(key);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(View(*text), "LKSKEY-1-AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=");
  std::string padded = "  " + std::string(View(*text)) + "\n";
  auto parsed = ParseUnlockKey(Bytes(padded), "x");
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->Equals(key.bytes()));
}

TEST(UnlockKeyTest, RejectsMalformedKeysWithoutQuotingThem) {
  const std::string kMsg =
      "unlock key file f does not hold a latchkey store key (expected one line "
      "LKSKEY-1-<base64>)";
  for (const char* bad : {"", "LKSKEY-1-", "LKSKEY-2-AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
                          "LKSKEY-1-AQEB", "LKSKEY-1-AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=x",
                          "LKSKEY-1-!!!!AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="}) {
    auto r = ParseUnlockKey(Bytes(bad), "f");
    EXPECT_EQ(r.status(), InvalidArgumentError(kMsg)) << bad;
  }
}

TEST(UnlockKeyTest, WriteIsExclusiveAndPrivate) {
  TempDir dir;
  auto key = SecretBuffer::CopyOf(Bytes(std::string(32, 'k'))).value();
  std::string p = dir.Join("u.key");
  ASSERT_TRUE(WriteUnlockKeyFile(p, key, true).ok());
  EXPECT_EQ(WriteUnlockKeyFile(p, key, true),
            AlreadyExistsError("unlock key file " + p + " already exists"));
  auto back = ReadUnlockKeyFile(p);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->Equals(key.bytes()));
}

}  // namespace
}  // namespace latchkey::store
