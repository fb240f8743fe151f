#include "broker/host_protocol.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/errno_status.h"

namespace latchkey::hostproto {

bool IsSecretFrame(Type type) { return type == Type::kCreate || type == Type::kSecret; }

const char* TypeName(Type type) {
  switch (type) {
    case Type::kReady:
      return "READY";
    case Type::kCreate:
      return "CREATE";
    case Type::kFetch:
      return "FETCH";
    case Type::kList:
      return "LIST";
    case Type::kHealth:
      return "HEALTH";
    case Type::kOk:
      return "OK";
    case Type::kSecret:
      return "SECRET";
    case Type::kRefs:
      return "REFS";
    case Type::kError:
      return "ERROR";
    case Type::kLog:
      return "LOG";
  }
  return "?";
}

namespace {

bool KnownType(uint8_t t) { return (t >= 1 && t <= 5) || (t >= 16 && t <= 20); }

}  // namespace

void Encoder::Raw(const void* p, size_t n) {
  if (into_target_) {
    if (pos_ + n <= target_.size()) std::memcpy(target_.data() + pos_, p, n);
    pos_ += n;
    return;
  }
  const auto* b = static_cast<const uint8_t*>(p);
  out_.insert(out_.end(), b, b + n);
}

void Encoder::U32(uint32_t v) {
  uint8_t b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
  Raw(b, 4);
}

void Encoder::U64(uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
  Raw(b, 8);
}

void Encoder::Bytes(std::span<const uint8_t> b) {
  U32(static_cast<uint32_t>(b.size()));
  if (!b.empty()) Raw(b.data(), b.size());
}

bool Decoder::Take(size_t n) {
  if (!ok_ || p_.size() - pos_ < n) {
    ok_ = false;
    return false;
  }
  return true;
}

uint32_t Decoder::U32() {
  if (!Take(4)) return 0;
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(p_[pos_ + i]) << (8 * i);
  pos_ += 4;
  return v;
}

uint64_t Decoder::U64() {
  if (!Take(8)) return 0;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p_[pos_ + i]) << (8 * i);
  pos_ += 8;
  return v;
}

std::span<const uint8_t> Decoder::Bytes() {
  uint32_t n = U32();
  if (!Take(n)) return {};
  auto out = p_.subspan(pos_, n);
  pos_ += n;
  return out;
}

std::string Decoder::Str() {
  auto b = Bytes();
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

Status FrameChannel::Send(Type type, std::span<const uint8_t> payload, int fd) {
  const std::span<const uint8_t> parts[1] = {payload};
  return SendParts(type, parts, fd);
}

Status FrameChannel::SendParts(Type type, std::span<const std::span<const uint8_t>> parts, int fd) {
  constexpr size_t kMaxParts = 7;
  size_t size = 0;
  for (const auto& p : parts) size += p.size();
  if (size + 1 > kMaxFrame || parts.size() > kMaxParts) {
    return InvalidArgumentError(std::string("host protocol: ") + TypeName(type) + " frame of " +
                                std::to_string(size + 1) + " bytes in " +
                                std::to_string(parts.size()) + " parts is over the " +
                                std::to_string(kMaxFrame) + "-byte limit");
  }
  uint8_t header[5];
  uint32_t len = static_cast<uint32_t>(size + 1);
  for (int i = 0; i < 4; ++i) header[i] = static_cast<uint8_t>(len >> (8 * i));
  header[4] = static_cast<uint8_t>(type);
  // The header and every part, in order; a short write moves `first` and trims its iovec.
  iovec iov[kMaxParts + 1];
  size_t count = 0;
  iov[count++] = {header, sizeof(header)};
  for (const auto& p : parts) {
    if (!p.empty()) iov[count++] = {const_cast<uint8_t*>(p.data()), p.size()};
  }
  std::lock_guard lock(send_mu_);
  size_t first = 0;
  bool fd_sent = fd < 0;
  while (first < count) {
    msghdr msg{};
    msg.msg_iov = iov + first;
    msg.msg_iovlen = count - first;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    if (!fd_sent) {
      std::memset(control, 0, sizeof(control));
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    ssize_t w = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return UnavailableError(std::string("host protocol: cannot send ") + TypeName(type) + ": " +
                              std::strerror(errno));
    }
    fd_sent = true;
    auto left = static_cast<size_t>(w);
    while (first < count && left >= iov[first].iov_len) left -= iov[first++].iov_len;
    if (left > 0) {
      iov[first].iov_base = static_cast<uint8_t*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return Status::OK();
}

Status FrameChannel::SetReceiveTimeout(int64_t ms) {
  if (ms == rcvtimeo_ms_) return Status::OK();
  timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
  if (::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
    return base::ErrnoStatus("setsockopt SO_RCVTIMEO", "host socket", errno);
  }
  rcvtimeo_ms_ = ms;
  return Status::OK();
}

Status FrameChannel::ReadFully(uint8_t* p, size_t n,
                               std::optional<std::chrono::steady_clock::time_point> deadline,
                               bool (*stop)(const void*), const void* stop_arg,
                               base::UniqueFd* fd_out) {
  constexpr auto kPoll = std::chrono::milliseconds(50);
  // With a deadline or a stop flag, recvmsg blocks in the kernel for at most the next check
  // (SO_RCVTIMEO: 50 ms with a stop flag, else up to 1 s, never past the deadline), so an
  // answer that is on its way costs one syscall, not a non-blocking read, a poll and a read.
  const bool waitable = deadline.has_value() || stop != nullptr;
  size_t got = 0;
  while (got < n) {
    if (waitable) {
      auto wait = stop != nullptr ? kPoll : std::chrono::milliseconds(1000);
      if (deadline.has_value()) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline -
                                                                 std::chrono::steady_clock::now());
        if (left < wait) wait = left;
      }
      LK_RETURN_IF_ERROR(SetReceiveTimeout(std::max<int64_t>(1, wait.count())));
    } else {
      LK_RETURN_IF_ERROR(SetReceiveTimeout(0));
    }
    iovec iov{p + got, n - got};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t r = ::recvmsg(fd_.get(), &msg, MSG_CMSG_CLOEXEC);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        return UnavailableError(std::string("host protocol: ") + std::strerror(errno));
      }
      // Nothing came within the wait: ask the stop flag, then the deadline.
      if (stop != nullptr && stop(stop_arg)) return CancelledError("host protocol: cancelled");
      if (deadline.has_value() && std::chrono::steady_clock::now() >= *deadline) {
        return DeadlineExceededError("host protocol: deadline passed");
      }
      continue;
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        if (fd_out != nullptr && !fd_out->valid()) {
          fd_out->reset(fd);
        } else {
          ::close(fd);  // more than one, or none expected: dropped
        }
      }
    }
    if (r == 0) return UnavailableError("host protocol: end of stream");
    got += static_cast<size_t>(r);
  }
  return Status::OK();
}

Result<Frame> FrameChannel::Receive(std::optional<std::chrono::steady_clock::time_point> deadline,
                                    bool (*stop)(const void*), const void* stop_arg) {
  uint8_t header[5];
  Frame frame;
  LK_RETURN_IF_ERROR(ReadFully(header, sizeof(header), deadline, stop, stop_arg, &frame.fd));
  uint32_t len = 0;
  for (int i = 0; i < 4; ++i) len |= static_cast<uint32_t>(header[i]) << (8 * i);
  if (len == 0 || len > kMaxFrame) {
    return DataLossError("frame of " + std::to_string(len) + " bytes (limit " +
                         std::to_string(kMaxFrame) + ")");
  }
  if (!KnownType(header[4])) {
    return DataLossError("unknown frame type " + std::to_string(header[4]));
  }
  frame.type = static_cast<Type>(header[4]);
  if (frame.fd.valid() && frame.type != Type::kFetch) {
    return DataLossError(std::string("unexpected descriptor with a ") + TypeName(frame.type) +
                         " frame");
  }
  size_t n = len - 1;
  uint8_t* dst = nullptr;
  if (IsSecretFrame(frame.type)) {
    LK_ASSIGN_OR_RETURN(frame.secret, SecretBuffer::Allocate(n));
    dst = n == 0 ? nullptr : frame.secret.mutable_data();
  } else {
    frame.plain.resize(n);
    dst = frame.plain.data();
  }
  if (n > 0) LK_RETURN_IF_ERROR(ReadFully(dst, n, deadline, stop, stop_arg, nullptr));
  return frame;  // a secret frame stays writable for TakeSecretValue (see Frame)
}

Result<SecretBuffer> TakeSecretValue(Frame& frame, std::span<const uint8_t> value) {
  SecretBuffer& buf = frame.secret;
  const uint8_t* begin = buf.data();
  if (!IsSecretFrame(frame.type) || buf.sealed() ||
      (!value.empty() && (begin == nullptr || value.data() < begin ||
                          value.data() + value.size() > begin + buf.size()))) {
    return InternalError("host protocol: the value is not inside an unsealed secret frame");
  }
  if (!value.empty()) {
    uint8_t* dst = buf.mutable_data();
    std::memmove(dst, value.data(), value.size());
  }
  buf.Truncate(value.size());
  buf.Seal();
  return std::move(buf);
}

}  // namespace latchkey::hostproto
