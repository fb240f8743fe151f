#include "builder/image/deflate_walk.h"

#include <array>
#include <cstring>
#include <string>

namespace latchkey::image {
namespace {

constexpr int kMaxCodeBits = 15;
constexpr int kFastBits = 12;  // codes up to this long decode with one table lookup
constexpr int kMaxLitLen = 288;
constexpr int kMaxDist = 32;

// RFC 1951 3.2.5: base and extra bits of length symbols 257..285 and distance symbols 0..29.
constexpr uint16_t kLengthBase[29] = {3,  4,  5,  6,   7,   8,   9,   10,  11, 13,
                                      15, 17, 19, 23,  27,  31,  35,  43,  51, 59,
                                      67, 83, 99, 115, 131, 163, 195, 227, 258};
constexpr uint8_t kLengthExtra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
constexpr uint16_t kDistBase[30] = {1,    2,    3,    4,    5,    7,    9,    13,    17,    25,
                                    33,   49,   65,   97,   129,  193,  257,  385,   513,   769,
                                    1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
constexpr uint8_t kDistExtra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                    6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
// The order code length code lengths are sent in (RFC 1951 3.2.7).
constexpr uint8_t kCodeLengthOrder[19] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                          11, 4,  12, 3, 13, 2, 14, 1, 15};

// Bits from the low end of each byte first. Reading past the end yields zero bits; the caller
// checks the position against the size.
class BitReader {
 public:
  BitReader(const unsigned char* data, size_t size) : data_(data), size_(size) {}

  // Makes at least 56 bits available (zeros past the end).
  void Refill() {
    if (count_ >= 56) return;
    if (next_ + 8 <= size_) {
      // One unaligned load; the bytes it reads beyond the whole ones counted are read again,
      // with the same values, by the next refill.
      uint64_t word;
      std::memcpy(&word, data_ + next_, 8);
      bits_ |= word << count_;
      const int take = (63 - count_) >> 3;
      next_ += static_cast<size_t>(take);
      count_ += take * 8;
      return;
    }
    while (count_ <= 56) {
      if (next_ < size_) bits_ |= static_cast<uint64_t>(data_[next_]) << count_;
      ++next_;
      count_ += 8;
    }
    // Over 64 zero bits loaded past the end: every real bit has been consumed.
    past_end_ = next_ > size_ + 8;
  }
  // True once decoding has gone past the stream's last byte (a truncated stream: the zeros it
  // reads there may well decode).
  bool PastEnd() const { return past_end_; }
  uint32_t Peek(int n) const { return static_cast<uint32_t>(bits_ & ((uint64_t{1} << n) - 1)); }
  void Drop(int n) {
    bits_ >>= n;
    count_ -= n;
  }
  uint32_t Take(int n) {
    uint32_t v = Peek(n);
    Drop(n);
    return v;
  }
  // Bits consumed so far.
  uint64_t Position() const {
    return static_cast<uint64_t>(next_) * 8 - static_cast<uint64_t>(count_);
  }
  // Continues at byte `offset`, dropping what is buffered.
  void SeekByte(size_t offset) {
    next_ = offset;
    bits_ = 0;
    count_ = 0;
    past_end_ = false;
  }

 private:
  const unsigned char* data_;
  size_t size_;
  size_t next_ = 0;  // next byte to load
  uint64_t bits_ = 0;
  int count_ = 0;  // valid bits in bits_
  bool past_end_ = false;
};

// A canonical Huffman code: a table for codes up to kFastBits long, and puff's count/symbol
// lists (zlib's contrib/puff) for the longer ones.
class Huffman {
 public:
  // False when the lengths over-subscribe the code (more codes than the bits allow). An
  // incomplete code is accepted (RFC 1951 allows one distance code); its unused bit patterns
  // fail in Decode.
  bool Build(const uint8_t* lengths, int n) {
    count_.fill(0);
    for (int s = 0; s < n; ++s) ++count_[lengths[s]];
    count_[0] = 0;
    int left = 1;
    for (int len = 1; len <= kMaxCodeBits; ++len) {
      left = left * 2 - count_[len];
      if (left < 0) return false;
    }
    std::array<int, kMaxCodeBits + 2> offset{};
    for (int len = 1; len <= kMaxCodeBits; ++len) offset[len + 1] = offset[len] + count_[len];
    fast_.fill(0);
    std::array<uint32_t, kMaxCodeBits + 1> next_code{};
    uint32_t code = 0;
    for (int len = 1; len <= kMaxCodeBits; ++len) {
      code = (code + static_cast<uint32_t>(count_[len - 1])) << 1;
      next_code[len] = code;
    }
    for (int s = 0; s < n; ++s) {
      const int len = lengths[s];
      if (len == 0) continue;
      symbol_[offset[len]++] = static_cast<uint16_t>(s);
      if (len > kFastBits) continue;
      // Deflate sends a code's bits from its most significant one: index by the reversed code.
      uint32_t c = next_code[len]++, reversed = 0;
      for (int i = 0; i < len; ++i) reversed |= ((c >> i) & 1u) << (len - 1 - i);
      for (uint32_t i = reversed; i < (1u << kFastBits); i += 1u << len) {
        fast_[i] = static_cast<uint16_t>((s << 4) | len);
      }
    }
    return true;
  }

  // The next symbol, or -1 for a bit pattern the code does not use. Needs kMaxCodeBits bits
  // available in `in`.
  int Decode(BitReader& in) const {
    const uint16_t e = fast_[in.Peek(kFastBits)];
    if (e != 0) {
      in.Drop(e & 15);
      return e >> 4;
    }
    // puff's decode: one bit at a time, counting codes of each length.
    const uint32_t bits = in.Peek(kMaxCodeBits);
    int code = 0, first = 0, index = 0;
    for (int len = 1; len <= kMaxCodeBits; ++len) {
      code |= static_cast<int>((bits >> (len - 1)) & 1u);
      const int count = count_[len];
      if (code - count < first) {
        in.Drop(len);
        return symbol_[index + (code - first)];
      }
      index += count;
      first = (first + count) << 1;
      code <<= 1;
    }
    return -1;
  }

 private:
  std::array<uint16_t, 1 << kFastBits> fast_{};  // symbol << 4 | length; 0: longer code
  std::array<int, kMaxCodeBits + 1> count_{};
  std::array<uint16_t, kMaxLitLen> symbol_{};
};

Status Invalid(const std::string& why, uint64_t bit) {
  return DataLossError("not a valid deflate stream: " + why + " (bit " + std::to_string(bit) + ")");
}

const Huffman& FixedLitLen() {
  static const Huffman h = [] {
    uint8_t lengths[kMaxLitLen];
    for (int s = 0; s < kMaxLitLen; ++s) lengths[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
    Huffman built;
    built.Build(lengths, kMaxLitLen);
    return built;
  }();
  return h;
}

const Huffman& FixedDist() {
  static const Huffman h = [] {
    uint8_t lengths[30];
    std::memset(lengths, 5, sizeof lengths);
    Huffman built;
    built.Build(lengths, 30);
    return built;
  }();
  return h;
}

// Reads a dynamic block's code definitions into `lit` and `dist`.
Status ReadDynamicCodes(BitReader& in, Huffman& lit, Huffman& dist) {
  const uint64_t at = in.Position();
  in.Refill();
  const int nlit = static_cast<int>(in.Take(5)) + 257;
  const int ndist = static_cast<int>(in.Take(5)) + 1;
  const int ncode = static_cast<int>(in.Take(4)) + 4;
  if (nlit > 286 || ndist > 30) return Invalid("too many length or distance codes", at);
  uint8_t lengths[kMaxLitLen + kMaxDist] = {};
  for (int i = 0; i < ncode; ++i) {
    in.Refill();
    lengths[kCodeLengthOrder[i]] = static_cast<uint8_t>(in.Take(3));
  }
  Huffman code_lengths;
  if (!code_lengths.Build(lengths, 19)) return Invalid("over-subscribed code length code", at);
  std::memset(lengths, 0, 19);
  int n = 0;
  while (n < nlit + ndist) {
    in.Refill();
    const int sym = code_lengths.Decode(in);
    if (sym < 0) return Invalid("bad code length code", in.Position());
    if (sym < 16) {
      lengths[n++] = static_cast<uint8_t>(sym);
      continue;
    }
    uint8_t value = 0;
    int repeat = 0;
    if (sym == 16) {
      if (n == 0) return Invalid("a repeated code length with none before it", in.Position());
      value = lengths[n - 1];
      repeat = 3 + static_cast<int>(in.Take(2));
    } else if (sym == 17) {
      repeat = 3 + static_cast<int>(in.Take(3));
    } else {
      repeat = 11 + static_cast<int>(in.Take(7));
    }
    if (n + repeat > nlit + ndist) return Invalid("code lengths past the end", in.Position());
    std::memset(lengths + n, value, static_cast<size_t>(repeat));
    n += repeat;
  }
  if (lengths[256] == 0) return Invalid("no end-of-block code", at);
  if (!lit.Build(lengths, nlit)) return Invalid("over-subscribed literal/length code", at);
  if (!dist.Build(lengths + nlit, ndist)) return Invalid("over-subscribed distance code", at);
  return Status::OK();
}

// Decodes one Huffman-coded block's symbols up to its end-of-block code, adding the bytes it
// would produce to `*produced`.
Status WalkCodes(BitReader& reader, const Huffman& lit, const Huffman& dist, uint64_t* produced) {
  // A local copy the compiler can keep in registers: the decode is a chain of dependent loads,
  // and a store and reload of the reader per symbol would lengthen every link.
  BitReader in = reader;
  uint64_t out = *produced;
  for (;;) {
    if (in.PastEnd()) return Invalid("the stream ends inside a block", in.Position());
    in.Refill();  // 56 bits: two literal codes, or a length code, its extra bits, a distance
                  // code and its extra bits
    int sym = lit.Decode(in);
    if (sym < 256) {
      if (sym < 0) return Invalid("bad literal/length code", in.Position());
      ++out;
      sym = lit.Decode(in);
      if (sym < 256) {
        if (sym < 0) return Invalid("bad literal/length code", in.Position());
        ++out;
        continue;
      }
      in.Refill();
    }
    if (sym == 256) break;
    const int l = sym - 257;
    if (l >= 29) return Invalid("bad length symbol", in.Position());
    const uint32_t length = kLengthBase[l] + in.Take(kLengthExtra[l]);
    const int d = dist.Decode(in);
    if (d < 0 || d >= 30) return Invalid("bad distance code", in.Position());
    const uint32_t distance = kDistBase[d] + in.Take(kDistExtra[d]);
    if (distance > out) return Invalid("a distance before the start", in.Position());
    out += length;
  }
  reader = in;
  *produced = out;
  return Status::OK();
}

}  // namespace

Result<DeflateLayout> WalkDeflate(const unsigned char* data, size_t size) {
  BitReader in(data, size);
  DeflateLayout layout;
  Huffman lit, dist;
  const uint64_t size_bits = static_cast<uint64_t>(size) * 8;
  for (;;) {
    const uint64_t header = in.Position();
    if (header + 3 > size_bits) return Invalid("the stream ends before its last block", header);
    in.Refill();
    const bool last = in.Take(1) != 0;
    const uint32_t type = in.Take(2);
    ++layout.blocks;
    if (type == 0) {
      const uint64_t aligned = (in.Position() + 7) / 8;
      if (aligned + 4 > size) return Invalid("a truncated stored block", header);
      const unsigned len = data[aligned] | (data[aligned + 1] << 8);
      const unsigned nlen = data[aligned + 2] | (data[aligned + 3] << 8);
      if (len != (~nlen & 0xffffu)) return Invalid("a stored block's length check fails", header);
      if (aligned + 4 + len > size) return Invalid("a truncated stored block", header);
      in.SeekByte(static_cast<size_t>(aligned + 4 + len));
      layout.output_size += len;
    } else if (type == 1) {
      LK_RETURN_IF_ERROR(WalkCodes(in, FixedLitLen(), FixedDist(), &layout.output_size));
    } else if (type == 2) {
      LK_RETURN_IF_ERROR(ReadDynamicCodes(in, lit, dist));
      LK_RETURN_IF_ERROR(WalkCodes(in, lit, dist, &layout.output_size));
    } else {
      return Invalid("block type 3", header);
    }
    if (in.Position() > size_bits) return Invalid("the stream ends inside a block", header);
    if (last) {
      layout.final_block_bit = header;
      const uint64_t end = in.Position();
      layout.padding_bits = static_cast<int>((8 - end % 8) % 8);
      if ((end + 7) / 8 != size) return Invalid("bytes after the last block", end);
      return layout;
    }
  }
}

}  // namespace latchkey::image
