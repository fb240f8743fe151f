#include "session/context_service.h"

#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "base/unique_fd.h"

namespace latchkey::session {
namespace {

using latchkey::v1::ContextEntry;
using latchkey::v1::FileChunk;

grpc::Status WalkError(const std::string& root, const std::string& what, int err) {
  return grpc::Status(grpc::StatusCode::INTERNAL,
                      "context " + root + ": " + what + ": " + std::strerror(err));
}

ContextEntry EntryOf(const std::string& rel, const struct stat& st) {
  ContextEntry e;
  e.set_path(rel);
  e.set_mode(st.st_mode);
  e.set_size(S_ISREG(st.st_mode) ? st.st_size : 0);
  e.set_mtime_ns(static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec);
  e.set_uid(st.st_uid);
  e.set_gid(st.st_gid);
  return e;
}

class Walker {
 public:
  Walker(const std::string& root, const ContextFilter& filter,
         grpc::ServerWriter<ContextEntry>* writer, std::set<std::string, std::less<>>* files)
      : root_(root), filter_(filter), writer_(writer), files_(files) {}

  grpc::Status Dir(const std::string& rel) {
    std::string path = rel.empty() ? root_ : root_ + "/" + rel;
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) return WalkError(root_, "open directory " + path, errno);
    std::vector<std::string> names;
    errno = 0;
    while (dirent* de = ::readdir(d)) {
      std::string n = de->d_name;
      if (n != "." && n != "..") names.push_back(std::move(n));
    }
    int err = errno;
    ::closedir(d);
    if (err != 0) return WalkError(root_, "read directory " + path, err);
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
      std::string child = rel.empty() ? n : rel + "/" + n;
      std::string full = root_ + "/" + child;
      struct stat st {};
      if (::lstat(full.c_str(), &st) != 0) {
        if (errno == ENOENT) continue;  // removed during the walk
        return WalkError(root_, "stat " + full, errno);
      }
      bool excluded = filter_.excluded && filter_.excluded(child);
      if (S_ISDIR(st.st_mode)) {
        if (excluded && !(filter_.may_include_under && filter_.may_include_under(child))) continue;
        if (!writer_->Write(EntryOf(child, st))) return grpc::Status::CANCELLED;
        grpc::Status s = Dir(child);
        if (!s.ok()) return s;
        continue;
      }
      if (excluded) continue;
      ContextEntry e = EntryOf(child, st);
      if (S_ISLNK(st.st_mode)) {
        std::string target(static_cast<size_t>(st.st_size > 0 ? st.st_size : 4096) + 1, '\0');
        ssize_t n = ::readlink(full.c_str(), target.data(), target.size());
        if (n < 0) return WalkError(root_, "read link " + full, errno);
        target.resize(static_cast<size_t>(n));
        e.set_link_target(target);
      } else if (S_ISREG(st.st_mode)) {
        files_->insert(child);
      } else {
        continue;  // sockets, fifos, devices: not part of a build context
      }
      if (!writer_->Write(e)) return grpc::Status::CANCELLED;
    }
    return grpc::Status::OK;
  }

 private:
  const std::string& root_;
  const ContextFilter& filter_;
  grpc::ServerWriter<ContextEntry>* writer_;
  std::set<std::string, std::less<>>* files_;
};

// SHA-256 of the open file `fd` (from its start); false on a read error.
bool HashFile(int fd, unsigned char out[crypto_hash_sha256_BYTES]) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  std::vector<unsigned char> buf(1 << 16);
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;
    crypto_hash_sha256_update(&st, buf.data(), static_cast<size_t>(n));
  }
  crypto_hash_sha256_final(&st, out);
  return ::lseek(fd, 0, SEEK_SET) == 0;
}

}  // namespace

grpc::Status ContextService::Manifest(grpc::ServerContext* context,
                                      const latchkey::v1::ManifestRequest* request,
                                      grpc::ServerWriter<ContextEntry>* writer) {
  (void)context;
  (void)request;
  struct stat st {};
  if (::stat(root_.c_str(), &st) != 0) return WalkError(root_, "stat", errno);
  if (!writer->Write(EntryOf(".", st))) return grpc::Status::CANCELLED;
  std::set<std::string, std::less<>> files;
  grpc::Status s = Walker(root_, filter_, writer, &files).Dir("");
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  listed_ = std::move(files);
  return grpc::Status::OK;
}

grpc::Status ContextService::ReadFiles(grpc::ServerContext* context,
                                       const latchkey::v1::ReadFilesRequest* request,
                                       grpc::ServerWriter<FileChunk>* writer) {
  std::vector<char> buf(kContextChunkSize);
  for (const auto& f : request->files()) {
    if (context->IsCancelled()) return grpc::Status::CANCELLED;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (listed_.count(f.path()) == 0) {
        return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                            "context: " + f.path() + " is not a file of the build context");
      }
    }
    FileChunk head;
    head.set_path(f.path());
    std::string full = root_ + "/" + f.path();
    base::UniqueFd fd(::open(full.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) {
      head.set_error("open " + full + ": " + std::strerror(errno));
      head.set_eof(true);
      if (!writer->Write(head)) return grpc::Status::CANCELLED;
      continue;
    }
    if (f.known_sha256().size() == crypto_hash_sha256_BYTES) {
      unsigned char digest[crypto_hash_sha256_BYTES];
      if (HashFile(fd.get(), digest) &&
          std::memcmp(digest, f.known_sha256().data(), sizeof digest) == 0) {
        head.set_unchanged(true);
        head.set_eof(true);
        if (!writer->Write(head)) return grpc::Status::CANCELLED;
        continue;
      }
    }
    files_sent_.fetch_add(1);
    bool first = true;
    for (;;) {
      ssize_t n = ::read(fd.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      FileChunk c;
      if (first) c = head;
      first = false;
      if (n < 0) {
        c.set_error("read " + full + ": " + std::strerror(errno));
        c.set_eof(true);
      } else {
        c.set_data(buf.data(), static_cast<size_t>(n));
        c.set_eof(n == 0);
        bytes_sent_.fetch_add(static_cast<uint64_t>(n));
      }
      if (!writer->Write(c)) return grpc::Status::CANCELLED;
      if (c.eof()) break;
    }
  }
  return grpc::Status::OK;
}

}  // namespace latchkey::session
