#include "builder/image/compressor.h"

#include <libdeflate.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "builder/image/deflate_walk.h"
#include "builder/image/media_types.h"

namespace latchkey::image {
namespace {

constexpr size_t kGzipBlock = 1 << 20;     // input bytes per independently deflated block
constexpr size_t kProbe = 16 * 1024;       // bytes per compressibility probe
constexpr size_t kStoreAbovePercent = 97;  // a probe deflating to >= 97 % is incompressible

int ResolveThreads(int threads) {
  if (threads > 0) return threads;
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

// One block of a parallel gzip stream.
struct GzipJob {
  std::vector<unsigned char> input;
  bool last = false;
  std::vector<unsigned char> output;
  uLong crc = 0;
  Status status;
  bool done = false;
};

// True when `n` bytes at `p` do not shrink under a quick deflate (level 1): random bytes,
// already compressed files.
bool Incompressible(const unsigned char* p, size_t n) {
  z_stream zs = {};
  if (deflateInit2(&zs, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;
  unsigned char out[kProbe + 1024];
  zs.next_in = const_cast<unsigned char*>(p);
  zs.avail_in = static_cast<uInt>(n);
  zs.next_out = out;
  zs.avail_out = sizeof out;
  int rc = deflate(&zs, Z_FINISH);
  size_t produced = sizeof out - zs.avail_out;
  deflateEnd(&zs);
  return rc == Z_STREAM_END && produced * 100 >= n * kStoreAbovePercent;
}

// The level a block is deflated at: 0 (stored) when every probe of it -- kProbe bytes at four
// evenly spaced offsets -- is incompressible, since deflating random bytes at level 6 costs as
// much as compressing text and saves nothing (pigz and klauspost's deflate skip such data the
// same way). Depends only on the block's bytes, so the output stays reproducible.
int BlockLevel(const std::vector<unsigned char>& in, int level) {
  if (level == 0 || in.size() < 4 * kProbe) return level;
  for (int i = 0; i < 4; ++i) {
    if (!Incompressible(in.data() + in.size() / 4 * static_cast<size_t>(i), kProbe)) return level;
  }
  return 0;
}

// libdeflate compressors, one per level, owned by one thread (a compressor is not thread-safe,
// and allocating one per block would cost more than a stored block takes).
class DeflaterCache {
 public:
  DeflaterCache() = default;
  DeflaterCache(const DeflaterCache&) = delete;
  DeflaterCache& operator=(const DeflaterCache&) = delete;
  ~DeflaterCache() {
    for (auto* c : by_level_) {
      if (c != nullptr) libdeflate_free_compressor(c);
    }
  }
  // nullptr when out of memory. `level` is 0..9 (CheckCompressionLevel).
  libdeflate_compressor* For(int level) {
    auto& c = by_level_[static_cast<size_t>(level)];
    if (c == nullptr) c = libdeflate_alloc_compressor(level);
    return c;
  }

 private:
  libdeflate_compressor* by_level_[10] = {};
};

// Turns a complete raw deflate stream into one that continues: clears the final bit of its
// last block and appends an empty stored block, the bytes a zlib sync flush ends with (zlib's
// examples/gzappend.c does the same). WalkDeflate finds that bit (only a decoder can: a Huffman
// block does not store its length) and proves that the block inflates to `input_size` bytes.
Status Unfinalize(std::vector<unsigned char>& deflate, size_t input_size) {
  Result<DeflateLayout> layout = WalkDeflate(deflate.data(), deflate.size());
  if (!layout.ok() || layout->output_size != input_size || deflate.empty()) {
    return InternalError("gzip compression failed: a deflated block does not inflate back");
  }
  const uint64_t final_bit = layout->final_block_bit;
  deflate[final_bit / 8] &= static_cast<unsigned char>(~(1u << (final_bit % 8)));
  // An empty stored block: 3 zero header bits (not final, type 00), padding to the byte, then
  // LEN 0000 and NLEN FFFF. The header goes into the last byte's padding bits (zeroed here)
  // when at least 3 are free, else into one more zero byte.
  const int unused_at_end = layout->padding_bits;
  deflate.back() &= static_cast<unsigned char>(0xffu >> unused_at_end);
  if (unused_at_end < 3) deflate.push_back(0);
  static const unsigned char kEmptyStored[4] = {0x00, 0x00, 0xff, 0xff};
  deflate.insert(deflate.end(), kEmptyStored, kEmptyStored + 4);
  return Status::OK();
}

// Deflates one block with libdeflate (about 3x faster than zlib at the same level, and no
// larger): raw deflate, made to continue into the next block (Unfinalize) unless it is the
// last one.
Status DeflateBlock(GzipJob& job, int level, DeflaterCache& deflaters) {
  level = BlockLevel(job.input, level);
  libdeflate_compressor* c = deflaters.For(level);
  if (c == nullptr) return ResourceExhaustedError("gzip compression: out of memory");
  job.output.resize(libdeflate_deflate_compress_bound(c, job.input.size()) + 8);
  size_t n = libdeflate_deflate_compress(c, job.input.data(), job.input.size(), job.output.data(),
                                         job.output.size());
  if (n == 0) return InternalError("gzip compression failed (output larger than its bound)");
  job.output.resize(n);
  if (!job.last) LK_RETURN_IF_ERROR(Unfinalize(job.output, job.input.size()));
  job.crc = libdeflate_crc32(0, job.input.data(), job.input.size());
  return Status::OK();
}

class GzipCompressor : public Compressor {
 public:
  GzipCompressor(int level, int threads, Sink sink)
      : level_(level), threads_(threads), sink_(std::move(sink)) {
    for (int i = 0; i < threads_ && threads_ > 1; ++i) workers_.emplace_back([this] { Work(); });
    current_.reserve(kGzipBlock);
  }
  ~GzipCompressor() override {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

  Status Start() {
    // gzip header: magic, CM deflate, no flags, mtime 0, XFL 0, OS 3 (unix).
    static const unsigned char kHeader[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    return sink_(kHeader, sizeof kHeader);
  }

  Status Write(const void* data, size_t size) override {
    LK_RETURN_IF_ERROR(error_);
    const auto* p = static_cast<const unsigned char*>(data);
    while (size > 0) {
      size_t n = std::min(size, kGzipBlock - current_.size());
      current_.insert(current_.end(), p, p + n);
      p += n;
      size -= n;
      if (current_.size() == kGzipBlock) LK_RETURN_IF_ERROR(Submit(false));
    }
    return Status::OK();
  }

  Status Finish() override {
    LK_RETURN_IF_ERROR(error_);
    LK_RETURN_IF_ERROR(Submit(true));
    while (!order_.empty()) LK_RETURN_IF_ERROR(EmitOldest());
    unsigned char trailer[8];
    for (int i = 0; i < 4; ++i) {
      trailer[i] = static_cast<unsigned char>((crc_ >> (8 * i)) & 0xff);
      trailer[4 + i] = static_cast<unsigned char>((total_ >> (8 * i)) & 0xff);
    }
    return Fail(sink_(trailer, sizeof trailer));
  }

 private:
  Status Fail(Status st) {
    if (!st.ok() && error_.ok()) error_ = st;
    return st;
  }

  Status Submit(bool last) {
    auto job = std::make_shared<GzipJob>();
    job->input = std::move(current_);
    job->last = last;
    current_ = std::vector<unsigned char>();
    current_.reserve(kGzipBlock);
    if (workers_.empty()) {
      job->status = DeflateBlock(*job, level_, deflaters_);
      job->done = true;
      order_.push_back(job);
      return EmitOldest();
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      queue_.push_back(job);
    }
    cv_.notify_one();
    order_.push_back(job);
    while (order_.size() > static_cast<size_t>(2 * threads_)) LK_RETURN_IF_ERROR(EmitOldest());
    return Status::OK();
  }

  // Waits for the oldest block, writes it and folds its CRC in.
  Status EmitOldest() {
    std::shared_ptr<GzipJob> job = order_.front();
    order_.pop_front();
    {
      std::unique_lock<std::mutex> l(mu_);
      done_cv_.wait(l, [&] { return job->done; });
    }
    LK_RETURN_IF_ERROR(Fail(job->status));
    crc_ = crc32_combine(crc_, job->crc, static_cast<z_off_t>(job->input.size()));
    total_ += job->input.size();
    return Fail(sink_(job->output.data(), job->output.size()));
  }

  void Work() {
    DeflaterCache deflaters;
    for (;;) {
      std::shared_ptr<GzipJob> job;
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        job = queue_.front();
        queue_.pop_front();
      }
      Status st = DeflateBlock(*job, level_, deflaters);
      {
        std::lock_guard<std::mutex> l(mu_);
        job->status = std::move(st);
        job->done = true;
      }
      done_cv_.notify_all();
    }
  }

  const int level_;
  const int threads_;
  Sink sink_;
  std::vector<unsigned char> current_;
  DeflaterCache deflaters_;                     // the calling thread's, when there are no workers
  std::deque<std::shared_ptr<GzipJob>> order_;  // submitted, not yet written (caller thread)
  uLong crc_ = crc32(0L, Z_NULL, 0);
  uint64_t total_ = 0;
  Status error_;

  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::deque<std::shared_ptr<GzipJob>> queue_;  // waiting for a worker (guarded by mu_)
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

class ZstdCompressor : public Compressor {
 public:
  explicit ZstdCompressor(Sink sink) : sink_(std::move(sink)), out_(ZSTD_CStreamOutSize()) {}
  ~ZstdCompressor() override {
    if (cctx_ != nullptr) ZSTD_freeCCtx(cctx_);
  }

  Status Init(int level, int threads) {
    cctx_ = ZSTD_createCCtx();
    if (cctx_ == nullptr) return InternalError("cannot initialise zstd");
    if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1))) {
      return InternalError("cannot initialise zstd");
    }
    // A libzstd built without threads refuses nbWorkers: it then compresses on this thread.
    (void)ZSTD_CCtx_setParameter(cctx_, ZSTD_c_nbWorkers, std::max(1, threads));
    return Status::OK();
  }

  Status Write(const void* data, size_t size) override {
    ZSTD_inBuffer in = {data, size, 0};
    while (in.pos < in.size) LK_RETURN_IF_ERROR(Step(&in, ZSTD_e_continue));
    return Status::OK();
  }

  Status Finish() override {
    ZSTD_inBuffer in = {nullptr, 0, 0};
    for (;;) {
      size_t left = 0;
      LK_RETURN_IF_ERROR(Step(&in, ZSTD_e_end, &left));
      if (left == 0) return Status::OK();
    }
  }

 private:
  Status Step(ZSTD_inBuffer* in, ZSTD_EndDirective mode, size_t* left = nullptr) {
    ZSTD_outBuffer out = {out_.data(), out_.size(), 0};
    size_t rc = ZSTD_compressStream2(cctx_, &out, in, mode);
    if (ZSTD_isError(rc)) {
      return InternalError(std::string("zstd compression failed: ") + ZSTD_getErrorName(rc));
    }
    if (left != nullptr) *left = rc;
    if (out.pos > 0) return sink_(out_.data(), out.pos);
    return Status::OK();
  }

  Sink sink_;
  ZSTD_CCtx* cctx_ = nullptr;
  std::vector<unsigned char> out_;
};

}  // namespace

std::string_view CompressionName(Compression c) {
  switch (c) {
    case Compression::kUncompressed:
      return "uncompressed";
    case Compression::kGzip:
      return "gzip";
    case Compression::kZstd:
      return "zstd";
  }
  return "?";
}

Result<Compression> ParseCompression(std::string_view value) {
  if (value == "uncompressed") return Compression::kUncompressed;
  if (value == "gzip") return Compression::kGzip;
  if (value == "zstd") return Compression::kZstd;
  return InvalidArgumentError("unsupported compression type " + std::string(value));
}

int DefaultCompressionLevel(Compression c) {
  return c == Compression::kZstd ? 3 : c == Compression::kGzip ? 3 : 0;
}

Status CheckCompressionLevel(Compression c, int level) {
  if (c == Compression::kGzip && (level < 0 || level > 9)) {
    return InvalidArgumentError("compression-level " + std::to_string(level) +
                                " is out of range for gzip (0..9)");
  }
  if (c == Compression::kZstd && (level < 1 || level > 19)) {
    return InvalidArgumentError("compression-level " + std::to_string(level) +
                                " is out of range for zstd (1..19)");
  }
  return Status::OK();
}

const char* LayerMediaType(Compression c) {
  switch (c) {
    case Compression::kUncompressed:
      return kMediaTypeLayerTar;
    case Compression::kGzip:
      return kMediaTypeLayerGzip;
    case Compression::kZstd:
      return kMediaTypeLayerZstd;
  }
  return kMediaTypeLayerTar;
}

Result<std::unique_ptr<Compressor>> Compressor::Create(Compression compression, int level,
                                                       int threads, Sink sink) {
  LK_RETURN_IF_ERROR(CheckCompressionLevel(compression, level));
  threads = ResolveThreads(threads);
  if (compression == Compression::kGzip) {
    auto c = std::make_unique<GzipCompressor>(level, threads, std::move(sink));
    LK_RETURN_IF_ERROR(c->Start());
    return std::unique_ptr<Compressor>(std::move(c));
  }
  if (compression == Compression::kZstd) {
    auto c = std::make_unique<ZstdCompressor>(std::move(sink));
    LK_RETURN_IF_ERROR(c->Init(level, threads));
    return std::unique_ptr<Compressor>(std::move(c));
  }
  return InvalidArgumentError("compressor: nothing to compress with for \"uncompressed\"");
}

}  // namespace latchkey::image
