// The wire protocol between the broker and latchkey-provider-host (docs/plugin-abi.md,
// "Process isolation"): length-prefixed binary frames on a SOCK_STREAM socketpair.
//
//   frame   = length:u32le type:u8 payload     (length counts type + payload, 1..kMaxFrame)
//   u32/u64/i64 little-endian; str = length:u32le bytes (UTF-8, no NUL)
//
// Frames that carry secret bytes (kCreate: config values; kSecret: a fetched value) are built
// and received in SecretBuffers only, and wiped when dropped; every other frame is plain
// bytes. A secret frame may also be sent from several buffers at once (SendParts: the SECRET
// frame's plain metadata and the value's own SecretBuffer, with no copy of the value), and a
// received one is turned into the value's SecretBuffer in place (TakeSecretValue). A FETCH of a
// file source carries the opened file as SCM_RIGHTS ancillary data.
//
// Cost per frame (the fetch path, docs/plugin-abi.md "Performance"): one sendmsg; two recvmsg
// (header, then payload) that block in the kernel, bounded by SO_RCVTIMEO, instead of a poll.
//
// Thread-safety: a FrameChannel is not thread-safe except Send, which a mutex guards (the host's
// plugin threads log while the serving thread replies).
#ifndef LATCHKEY_BROKER_HOST_PROTOCOL_H_
#define LATCHKEY_BROKER_HOST_PROTOCOL_H_

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/unique_fd.h"
#include "latchkey/status.h"
#include "secure/secret_buffer.h"

namespace latchkey::hostproto {

enum class Type : uint8_t {
  kReady = 1,    // host -> broker after loading: str name, str version, u32 threading,
                 // u64 capabilities, u32 effective ABI minor, u32 n, n x str config key
  kCreate = 2,   // broker -> host: u32 n, n x (str key, str value)       [secret frame]
  kFetch = 3,    // broker -> host: see EncodeFetch                      [+ SCM_RIGHTS fd]
  kList = 4,     // broker -> host: empty
  kHealth = 5,   // broker -> host: empty
  kOk = 16,      // host -> broker: empty
  kSecret = 17,  // host -> broker: u32 flags, i64 expires, str version, str value [secret]
  kRefs = 18,    // host -> broker: u32 n, n x str
  kError = 19,   // host -> broker: u32 code, str message
  kLog = 20,     // host -> broker, at any time: u32 level, str line
};

// Largest frame (type + payload): a 500 KiB secret and its metadata fit with room to spare.
inline constexpr uint32_t kMaxFrame = 1u << 20;

// The fd number the host finds its socket on.
inline constexpr int kHostSocketFd = 3;

bool IsSecretFrame(Type type);
const char* TypeName(Type type);

// A frame's payload: plain bytes, or a SecretBuffer for secret frames. A received secret
// frame's buffer is left writable (unsealed) so that TakeSecretValue can cut the value out of
// it in place; it is wiped when the frame is dropped.
struct Frame {
  Type type = Type::kOk;
  std::vector<uint8_t> plain;
  SecretBuffer secret;
  base::UniqueFd fd;  // an fd that came with the frame, or empty
  std::span<const uint8_t> payload() const {
    return IsSecretFrame(type) ? secret.bytes() : std::span<const uint8_t>(plain);
  }
};

// Appends encoded values to a byte vector (plain frames), or measures and then writes into a
// SecretBuffer (secret frames: Encoder(size) after a measuring pass).
class Encoder {
 public:
  // Measuring / plain mode: bytes go to out() (secret frames use measure-then-write).
  Encoder() = default;
  // Writing into `target` (exactly sized by a previous pass over the same values).
  explicit Encoder(std::span<uint8_t> target) : target_(target), into_target_(true) {}
  void U32(uint32_t v);
  void U64(uint64_t v);
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void Str(std::string_view s) { Bytes({reinterpret_cast<const uint8_t*>(s.data()), s.size()}); }
  void Bytes(std::span<const uint8_t> b);
  size_t size() const { return into_target_ ? pos_ : out_.size(); }
  std::vector<uint8_t>& out() { return out_; }

 private:
  void Raw(const void* p, size_t n);
  std::vector<uint8_t> out_;
  std::span<uint8_t> target_;
  size_t pos_ = 0;
  bool into_target_ = false;
};

// Reads values from a payload. Every getter fails (returns false and stays failed) when the
// payload is too short, so a decoder checks ok() once at the end.
class Decoder {
 public:
  explicit Decoder(std::span<const uint8_t> p) : p_(p) {}
  uint32_t U32();
  uint64_t U64();
  int64_t I64() { return static_cast<int64_t>(U64()); }
  std::string Str();
  // A view into the payload (for secret bytes: no copy outside secure memory).
  std::span<const uint8_t> Bytes();
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == p_.size(); }

 private:
  bool Take(size_t n);
  std::span<const uint8_t> p_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// One end of the socketpair.
class FrameChannel {
 public:
  explicit FrameChannel(base::UniqueFd fd) : fd_(std::move(fd)) {}
  int fd() const { return fd_.get(); }

  // Sends one frame; `fd` (>= 0) travels as SCM_RIGHTS. UNAVAILABLE naming the errno when the
  // peer is gone. Thread-safe.
  Status Send(Type type, std::span<const uint8_t> payload, int fd = -1);
  // Sends a secret frame from a SecretBuffer holding exactly the payload.
  Status SendSecret(Type type, const SecretBuffer& payload) { return Send(type, payload.bytes()); }
  // Sends one frame whose payload is the concatenation of `parts` (read in place: a secret's
  // SecretBuffer is never copied), in one sendmsg when the socket takes it all. Thread-safe.
  Status SendParts(Type type, std::span<const std::span<const uint8_t>> parts, int fd = -1);

  // Receives one frame, waiting until `deadline` (none: forever) and, every `poll` interval,
  // asking `stop` whether to give up. Errors:
  //   DEADLINE_EXCEEDED  the deadline passed (nothing consumed, or a partial frame: the
  //                      channel is then unusable)
  //   CANCELLED          `stop` returned true
  //   UNAVAILABLE        "end of stream" / the errno: the peer closed or died
  //   DATA_LOSS          the bytes are not a frame: "frame of N bytes (limit 1048576)",
  //                      "unknown frame type N", "unexpected descriptor with a TYPE frame"
  // Not thread-safe.
  Result<Frame> Receive(std::optional<std::chrono::steady_clock::time_point> deadline,
                        bool (*stop)(const void*) = nullptr, const void* stop_arg = nullptr);

 private:
  Status ReadFully(uint8_t* p, size_t n,
                   std::optional<std::chrono::steady_clock::time_point> deadline,
                   bool (*stop)(const void*), const void* stop_arg, base::UniqueFd* fd_out);
  // Sets SO_RCVTIMEO when `ms` (0: none) differs from the current setting.
  Status SetReceiveTimeout(int64_t ms);
  base::UniqueFd fd_;
  std::mutex send_mu_;
  int64_t rcvtimeo_ms_ = 0;  // the socket's SO_RCVTIMEO; Receive only
};

// Turns a received secret frame into the SecretBuffer holding `value`, a span of its payload
// (from Decoder::Bytes): the value's bytes move to the front of the frame's own secure buffer,
// the rest is wiped, and the buffer is truncated to the value and sealed, so the value is never
// copied a second time. The frame's payload is empty afterwards. INTERNAL when the frame is not
// an unsealed secret frame or `value` does not lie inside its payload.
Result<SecretBuffer> TakeSecretValue(Frame& frame, std::span<const uint8_t> value);

}  // namespace latchkey::hostproto

#endif  // LATCHKEY_BROKER_HOST_PROTOCOL_H_
