#include "daemon/context_mirror.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "base/file.h"
#include "base/testutil.h"
#include "session/context_service.h"

namespace latchkey::daemon {
namespace {

void Write(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

std::string Read(const std::string& path) {
  auto r = base::ReadFile(path);
  return r.ok() ? *r : "<missing>";
}

int64_t MtimeNs(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

// A ContextService for `root` served on a unix socket, and a channel to it.
struct Served {
  Served(const std::string& sock, grpc::Service* service) {
    grpc::ServerBuilder b;
    b.AddListeningPort("unix:" + sock, grpc::InsecureServerCredentials());
    b.RegisterService(service);
    server = b.BuildAndStart();
    channel = grpc::CreateChannel("unix:" + sock, grpc::InsecureChannelCredentials());
  }
  ~Served() { server->Shutdown(); }
  std::unique_ptr<grpc::Server> server;
  std::shared_ptr<grpc::Channel> channel;
};

TEST(ContextMirror, SendsOnlyWhatChanged) {
  base::testing::TempDir tmp;
  const std::string ctx = tmp.path() + "/ctx", mirror = tmp.path() + "/mirror";
  ASSERT_TRUE(base::MakeDirs(ctx + "/sub/deep").ok());
  ASSERT_TRUE(base::MakeDirs(ctx + "/skip").ok());
  Write(ctx + "/big", std::string(300000, 'b'));
  Write(ctx + "/small", std::string(1024, 's'));
  Write(ctx + "/sub/deep/c", "c");
  Write(ctx + "/skip/x", "ignored");
  ASSERT_EQ(::chmod((ctx + "/sub/deep/c").c_str(), 0751), 0);
  ASSERT_EQ(::symlink("sub/deep/c", (ctx + "/link").c_str()), 0);
  session::ContextFilter filter;
  filter.excluded = [](std::string_view p) { return p == "skip"; };
  session::ContextService service(ctx, filter);
  Served served(tmp.path() + "/s.sock", &service);

  auto first = SyncContext(served.channel, mirror);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->files_fetched, 3u);
  EXPECT_EQ(first->bytes_fetched, 300000u + 1024u + 1u);
  EXPECT_EQ(service.bytes_sent(), 301025u);
  const std::string tree = mirror + "/tree";
  EXPECT_EQ(Read(tree + "/sub/deep/c"), "c");
  EXPECT_EQ(Read(tree + "/skip/x"), "<missing>");
  struct stat st {};
  ASSERT_EQ(::stat((tree + "/sub/deep/c").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0751u);
  EXPECT_EQ(MtimeNs(tree + "/big"), MtimeNs(ctx + "/big"));
  EXPECT_EQ(MtimeNs(tree + "/sub"), MtimeNs(ctx + "/sub"));
  char target[64] = {};
  ASSERT_GT(::readlink((tree + "/link").c_str(), target, sizeof target - 1), 0);
  EXPECT_STREQ(target, "sub/deep/c");

  // One 1 KiB file changed: exactly its bytes are sent.
  Write(ctx + "/small", std::string(1024, 't'));
  auto second = SyncContext(served.channel, mirror);
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->files_fetched, 1u);
  EXPECT_EQ(second->bytes_fetched, 1024u);
  EXPECT_EQ(service.bytes_sent(), 301025u + 1024u);
  EXPECT_EQ(Read(tree + "/small"), std::string(1024, 't'));

  // Touched only: hashed by the client, no bytes sent; the new mtime is applied.
  struct timespec times[2] = {{1000, 5}, {1000, 5}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (ctx + "/big").c_str(), times, 0), 0);
  auto third = SyncContext(served.channel, mirror);
  ASSERT_TRUE(third.ok()) << third.status().message();
  EXPECT_EQ(third->files_fetched, 0u);
  EXPECT_EQ(service.bytes_sent(), 301025u + 1024u);
  EXPECT_EQ(MtimeNs(tree + "/big"), 1000000000005);

  // Removed and replaced entries follow the client.
  ASSERT_TRUE(base::RemoveAll(ctx + "/sub").ok());
  ASSERT_EQ(::unlink((ctx + "/link").c_str()), 0);
  Write(ctx + "/link", "now a file");
  auto fourth = SyncContext(served.channel, mirror);
  ASSERT_TRUE(fourth.ok()) << fourth.status().message();
  EXPECT_EQ(Read(tree + "/sub/deep/c"), "<missing>");
  EXPECT_EQ(Read(tree + "/link"), "now a file");
}

// A client that sends a path escaping the context.
class EvilContext final : public latchkey::v1::ContextSync::Service {
 public:
  explicit EvilContext(std::string path) : path_(std::move(path)) {}
  grpc::Status Manifest(grpc::ServerContext*, const latchkey::v1::ManifestRequest*,
                        grpc::ServerWriter<latchkey::v1::ContextEntry>* w) override {
    latchkey::v1::ContextEntry root;
    root.set_path(".");
    root.set_mode(S_IFDIR | 0755);
    w->Write(root);
    latchkey::v1::ContextEntry e;
    e.set_path(path_);
    e.set_mode(S_IFREG | 0644);
    w->Write(e);
    return grpc::Status::OK;
  }

 private:
  std::string path_;
};

TEST(ContextMirror, RefusesPathsOutsideTheContext) {
  for (const std::string p : {"../escape", "/etc/passwd", "a/../../b", "nodir/file", "a//b"}) {
    base::testing::TempDir tmp;
    EvilContext evil(p);
    Served served(tmp.path() + "/s.sock", &evil);
    auto r = SyncContext(served.channel, tmp.path() + "/mirror");
    ASSERT_FALSE(r.ok()) << p;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), "context transfer: invalid path \"" + p + "\" from the client");
  }
}

TEST(ContextService, ServesOnlyListedFiles) {
  base::testing::TempDir tmp;
  session::ContextService service(tmp.path(), {});
  Served served(tmp.path() + "/s.sock", &service);
  auto stub = latchkey::v1::ContextSync::NewStub(served.channel);
  grpc::ClientContext ctx;
  latchkey::v1::ReadFilesRequest req;
  req.add_files()->set_path("../../etc/passwd");
  auto reader = stub->ReadFiles(&ctx, req);
  latchkey::v1::FileChunk c;
  EXPECT_FALSE(reader->Read(&c));
  grpc::Status st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(), "context: ../../etc/passwd is not a file of the build context");
}

}  // namespace
}  // namespace latchkey::daemon
