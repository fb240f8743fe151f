#include "plugins/file/file_provider.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

namespace latchkey::file_provider {

namespace {

// Poll interval while waiting on a read-once source, so the deadline is checked regularly.
constexpr int kPollSliceMs = 100;
// First block for a source whose size is unknown.
constexpr size_t kInitialStreamBlock = 4096;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string SizeText(size_t n) {
  if (n % (1024 * 1024) == 0) return std::to_string(n / (1024 * 1024)) + "MiB";
  if (n % 1024 == 0) return std::to_string(n / 1024) + "KiB";
  return std::to_string(n) + " bytes";
}

// Errors about one fetch. `id` is the secret id (or the reference when the id is unknown).
struct Errors {
  std::string id;
  std::string path;

  Status TooBig(size_t max) const {
    return InvalidArgumentError("secret " + id + " too big. max size " + SizeText(max));
  }
  Status Open(int err) const {
    std::string p = "secret " + id + ": file " + path + ": ";
    if (err == ENOENT || err == ENOTDIR) return NotFoundError(p + "no such file or directory");
    if (err == EACCES || err == EPERM) return PermissionDeniedError(p + "permission denied");
    return UnavailableError(p + "cannot open: " + std::strerror(err));
  }
  Status Read(int err) const {
    return UnavailableError("secret " + id + ": file " + path +
                            ": read failed: " + std::strerror(err));
  }
  // The call's deadline passed while waiting on a stream (a FIFO with no writer, or one that
  // has not closed it); other statuses (cancellation) pass unchanged.
  Status Waiting(const Status& st, bool writer_seen) const {
    if (st.code() != StatusCode::kDeadlineExceeded) return st;
    return DeadlineExceededError(
        "secret " + id + ": file " + path + ": deadline exceeded " +
        (writer_seen ? "waiting for the writer to finish (no end of file yet)"
                     : "waiting for a writer (nothing opened the FIFO for writing)"));
  }
};

// Grows a host secure block by allocating a bigger one and copying; the old one is freed
// (wiped) by the host.
class GrowBuffer {
 public:
  explicit GrowBuffer(const sdk::Host& host) : host_(host) {}

  Status Reserve(size_t capacity) {
    if (capacity <= buf_.size()) return Status::OK();
    LK_ASSIGN_OR_RETURN(sdk::SecretBytes bigger, host_.AllocSecret(capacity));
    if (len_ > 0) std::memcpy(bigger.data(), buf_.data(), len_);
    buf_ = std::move(bigger);
    return Status::OK();
  }
  uint8_t* tail() { return buf_.data() + len_; }
  size_t room() const { return buf_.size() - len_; }
  size_t len() const { return len_; }
  void Advance(size_t n) { len_ += n; }

  // The value as a block of exactly len() bytes.
  Result<sdk::SecretBytes> Finish() {
    if (len_ == buf_.size()) return std::move(buf_);
    LK_ASSIGN_OR_RETURN(sdk::SecretBytes exact, host_.CopySecret(buf_.data(), len_));
    buf_.Reset();
    return exact;
  }

 private:
  sdk::Host host_;
  sdk::SecretBytes buf_;
  size_t len_ = 0;
};

// Reads a source of unknown length (a pipe, a FIFO, a device) until EOF, up to max_size
// bytes, polling so that the call's deadline is honoured. With `await_writer` (a FIFO), an
// EOF before any writer showed up means "no writer yet", not "empty": it waits for one, as
// `cat fifo` does, until the deadline.
Result<sdk::SecretBytes> ReadStream(int fd, const sdk::Request& req, const Errors& errors,
                                    size_t max_size, GrowBuffer buf, bool await_writer) {
  bool writer_seen = !await_writer;
  for (;;) {
    if (buf.room() == 0) {
      if (buf.len() > max_size) return errors.TooBig(max_size);
      size_t next = std::max(kInitialStreamBlock, buf.len() * 2);
      LK_RETURN_IF_ERROR(buf.Reserve(std::min(next, max_size + 1)));
    }
    ssize_t n = ::read(fd, buf.tail(), buf.room());
    if (n > 0) {
      writer_seen = true;
      buf.Advance(static_cast<size_t>(n));
      if (buf.len() > max_size) return errors.TooBig(max_size);
      continue;
    }
    if (n == 0 && writer_seen) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return errors.Read(errno);
      writer_seen = true;  // EAGAIN: a writer is connected but has not written yet
    }
    if (Status d = req.CheckDeadline(); !d.ok()) return errors.Waiting(d, writer_seen);
    // Linux reports POLLHUP on a FIFO only once a writer has come and gone since our open.
    struct pollfd p = {fd, POLLIN, 0};
    int ready = ::poll(&p, 1, kPollSliceMs);
    if (ready < 0 && errno != EINTR) return errors.Read(errno);
    if (ready > 0 && (p.revents & (POLLIN | POLLHUP)) != 0) writer_seen = true;
  }
  return buf.Finish();
}

// Reads a regular file of (current) size `size`; keeps reading when it grew meanwhile.
Result<sdk::SecretBytes> ReadRegular(int fd, size_t size, const sdk::Request& req,
                                     const Errors& errors, size_t max_size) {
  GrowBuffer buf(req.host);
  LK_RETURN_IF_ERROR(buf.Reserve(size));
  while (buf.room() > 0) {
    ssize_t n = ::read(fd, buf.tail(), buf.room());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errors.Read(errno);
    }
    if (n == 0) return buf.Finish();  // shrank while we read
    buf.Advance(static_cast<size_t>(n));
  }
  // Full: check for EOF with one byte on the stack, wiped at once.
  uint8_t probe = 0;
  ssize_t n;
  do {
    n = ::read(fd, &probe, 1);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errors.Read(errno);
  if (n == 0) return buf.Finish();
  // The file grew while we read it: continue as a stream.
  Status s = buf.Reserve(std::min(std::max(size * 2, kInitialStreamBlock), max_size + 1));
  if (s.ok()) {
    *buf.tail() = probe;
    buf.Advance(1);
  }
  probe = 0;
  __asm__ __volatile__("" : : "r"(&probe) : "memory");  // keep the wipe
  LK_RETURN_IF_ERROR(s);
  if (buf.len() > max_size) return errors.TooBig(max_size);
  return ReadStream(fd, req, errors, max_size, std::move(buf), /*await_writer=*/false);
}

}  // namespace

Result<std::unique_ptr<FileProvider>> FileProvider::Create(const sdk::Config& config,
                                                           sdk::Host& host) {
  int64_t max_size = config.GetInt("max_size", kMaxSecretSize);
  if (max_size < 1 || max_size > kMaxSecretSize) {
    return InvalidArgumentError("provider file: config key \"max_size\" must be between 1 and " +
                                std::to_string(kMaxSecretSize) + " (got " +
                                std::to_string(max_size) + ")");
  }
  std::string base_dir = config.GetPath("base_dir");
  if (!base_dir.empty() && base_dir[0] != '/') {
    return InvalidArgumentError(
        "provider file: config key \"base_dir\" must be an absolute path "
        "(got \"" +
        base_dir + "\")");
  }
  while (base_dir.size() > 1 && base_dir.back() == '/') base_dir.pop_back();
  return std::unique_ptr<FileProvider>(
      new FileProvider(host, std::move(base_dir), static_cast<size_t>(max_size)));
}

Result<sdk::Response> FileProvider::Fetch(const sdk::Request& req) {
  Errors errors;
  errors.id = std::string(req.secret_id.empty() ? req.ref : req.secret_id);
  if (req.ref.empty()) {
    return InvalidArgumentError("secret " + errors.id +
                                ": the file provider needs a file path as the reference");
  }
  if (req.ref[0] == '/') {
    errors.path = std::string(req.ref);
  } else if (!base_dir_.empty()) {
    errors.path = (base_dir_ == "/" ? "" : base_dir_) + "/" + std::string(req.ref);
  } else {
    return InvalidArgumentError("secret " + errors.id + ": file " + std::string(req.ref) +
                                ": relative path, but the file provider has no base_dir (use an "
                                "absolute path or set base_dir)");
  }

  sdk::Response response;
  // O_NONBLOCK: opening a FIFO must not hang; reads of it poll (see ReadStream).
  Fd fd(::open(errors.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) return errors.Open(errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return errors.Read(errno);
  if (S_ISDIR(st.st_mode)) {
    return InvalidArgumentError("secret " + errors.id + ": file " + errors.path +
                                ": is a directory, not a file");
  }
  if (S_ISREG(st.st_mode)) {
    if (static_cast<uint64_t>(st.st_size) > max_size_) return errors.TooBig(max_size_);
    LK_ASSIGN_OR_RETURN(response.value, ReadRegular(fd.get(), static_cast<size_t>(st.st_size), req,
                                                    errors, max_size_));
    // Which version of the file was served (re-read on every fetch): its inode and mtime.
    char version[64];
    std::snprintf(version, sizeof version, "mtime=%lld.%09ld,ino=%llu",
                  static_cast<long long>(st.st_mtim.tv_sec), st.st_mtim.tv_nsec,
                  static_cast<unsigned long long>(st.st_ino));
    response.version = version;
    return response;
  }

  // A read-once source: read it under the lock, keep it for the instance's life.
  std::pair<uint64_t, uint64_t> key{static_cast<uint64_t>(st.st_dev),
                                    static_cast<uint64_t>(st.st_ino)};
  std::lock_guard<std::mutex> lock(once_mu_);
  auto it = once_values_.find(key);
  if (it == once_values_.end()) {
    LK_ASSIGN_OR_RETURN(sdk::SecretBytes value,
                        ReadStream(fd.get(), req, errors, max_size_, GrowBuffer(req.host),
                                   /*await_writer=*/S_ISFIFO(st.st_mode)));
    LK_ASSIGN_OR_RETURN(sdk::SecretBytes kept, host_.CopySecret(value.data(), value.size()));
    it = once_values_.emplace(key, std::move(kept)).first;
    response.value = std::move(value);
    return response;
  }
  LK_ASSIGN_OR_RETURN(response.value, req.host.CopySecret(it->second.data(), it->second.size()));
  return response;
}

}  // namespace latchkey::file_provider

LATCHKEY_DEFINE_PROVIDER(latchkey::file_provider::FileProvider)
