// UniqueFd: the one owner of a file descriptor in latchkey.
//
// Thread-safety: a UniqueFd is a value; distinct objects may be used from distinct threads.
#ifndef LATCHKEY_BASE_UNIQUE_FD_H_
#define LATCHKEY_BASE_UNIQUE_FD_H_

namespace latchkey::base {

// Owns one file descriptor (or none: -1) and closes it on destruction or reset. Move-only.
// close(2) errors are ignored: call ::close(release()) where the result matters (e.g. after
// writing a file whose close may report a deferred write error).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Gives up ownership without closing; the object holds -1 afterwards.
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  // Closes the held descriptor (if any) and takes ownership of `fd`.
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

}  // namespace latchkey::base

#endif  // LATCHKEY_BASE_UNIQUE_FD_H_
