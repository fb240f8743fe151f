#include "registry/puller.h"

#include <atomic>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "builder/image/digest.h"
#include "registry/blob_sources.h"

namespace latchkey::registry {
namespace {

// Streams one blob into a BlobStore writer, hashing and counting as it goes. A 200 answer to
// a resumed (Range) request starts the blob over.
class BlobSink : public BodySink {
 public:
  BlobSink(image::BlobStore& blobs, const Descriptor& d, const std::atomic<bool>& stop)
      : blobs_(blobs), d_(d), stop_(stop) {}

  Status Reset() {
    auto w = blobs_.NewWriter();
    if (!w.ok()) return w.status();
    writer_.reset();
    writer_.emplace(std::move(*w));
    got_ = 0;
    return Status::OK();
  }

  Status OnHeaders(const HttpResponse& head) override {
    if (got_ > 0 && head.status != 206) return Reset();
    return Status::OK();
  }

  Status OnData(const char* data, size_t n) override {
    if (stop_.load()) return CancelledError("pull cancelled");
    if (got_ + static_cast<int64_t>(n) > d_.size) {
      return DataLossError("blob " + d_.digest + ": size mismatch (more than the " +
                           std::to_string(d_.size) + " bytes the manifest says)");
    }
    LK_RETURN_IF_ERROR(writer_->Write(data, n));
    got_ += static_cast<int64_t>(n);
    return Status::OK();
  }

  Status Finish() {
    if (got_ != d_.size) {
      return DataLossError("blob " + d_.digest + ": size mismatch (got " + std::to_string(got_) +
                           " bytes, the manifest says " + std::to_string(d_.size) + ")");
    }
    // The writer hashed the bytes as they streamed in; a mismatch discards the temporary file
    // with `blob <digest>: digest mismatch (got <actual>)`.
    auto info = writer_->Commit(d_.digest);
    if (!info.ok()) return info.status();
    return Status::OK();
  }

  int64_t got() const { return got_; }

 private:
  image::BlobStore& blobs_;
  const Descriptor& d_;
  const std::atomic<bool>& stop_;
  std::optional<image::BlobStore::Writer> writer_;
  int64_t got_ = 0;
};

}  // namespace

Result<PullResult> Pull(RegistryClient& client, image::BlobStore& blobs,
                        const image::Reference& ref, const PullOptions& options) {
  const std::string host = ref.domain;
  const std::string repo = ref.path;
  const std::string display = ref.FamiliarString().empty() ? ref.String() : ref.String();
  const std::string reference = !ref.digest.empty() ? ref.digest
                                : ref.tag.empty()   ? std::string("latest")
                                                    : ref.tag;
  PullResult out;
  LK_ASSIGN_OR_RETURN(FetchedManifest top, client.GetManifest(host, repo, reference, display));
  out.digest = top.digest;
  const std::string what = "manifest for " + display;
  LK_ASSIGN_OR_RETURN(Manifest m, ParseManifest(top.body, top.content_type, what));
  FetchedManifest chosen = top;
  if (m.is_index) {
    LK_ASSIGN_OR_RETURN(Descriptor d, ChoosePlatform(m, options.platform));
    LK_ASSIGN_OR_RETURN(chosen, client.GetManifest(host, repo, d.digest, display + "@" + d.digest));
    LK_ASSIGN_OR_RETURN(m, ParseManifest(chosen.body, chosen.content_type,
                                         "manifest for " + display + "@" + d.digest));
    if (m.is_index) {
      return InvalidArgumentError("manifest for " + display + "@" + d.digest +
                                  " is an index inside an index; latchkey does not pull it");
    }
  }
  std::mutex mu;  // guards progress calls and the counters
  auto emit = [&](const PullEvent& e) {
    if (options.progress) options.progress(e);
  };
  {
    std::lock_guard<std::mutex> lock(mu);
    emit({PullEvent::kResolved, chosen.digest, static_cast<int64_t>(chosen.body.size()), 0});
  }

  std::vector<Descriptor> todo;
  todo.push_back(m.config);
  for (const auto& l : m.layers) todo.push_back(l);
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  Status first_error;

  auto fetch_one = [&](const Descriptor& d) -> Status {
    if (blobs.Has(d.digest)) {
      std::lock_guard<std::mutex> lock(mu);
      ++out.blobs_present;
      emit({PullEvent::kPresent, d.digest, d.size, 0});
      return Status::OK();
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      emit({PullEvent::kStarted, d.digest, d.size, 0});
    }
    BlobSink sink(blobs, d, stop);
    LK_RETURN_IF_ERROR(sink.Reset());
    for (int attempt = 0;; ++attempt) {
      TransportResult tr;
      Status s = client.GetBlob(host, repo, d.digest, sink.got(), sink, &tr);
      if (s.ok()) break;
      if (tr.failure == TransportFailure::kDropped && attempt < options.max_resumes &&
          !stop.load()) {
        std::lock_guard<std::mutex> lock(mu);
        emit({PullEvent::kResumed, d.digest, d.size, sink.got()});
        continue;
      }
      return s;
    }
    LK_RETURN_IF_ERROR(sink.Finish());
    std::lock_guard<std::mutex> lock(mu);
    ++out.blobs_downloaded;
    out.bytes_downloaded += d.size;
    emit({PullEvent::kDownloaded, d.digest, d.size, d.size});
    return Status::OK();
  };
  auto worker = [&] {
    for (;;) {
      size_t i = next.fetch_add(1);
      if (i >= todo.size() || stop.load()) return;
      Status s = fetch_one(todo[i]);
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first_error.ok()) first_error = s;
        stop.store(true);
        return;
      }
    }
  };
  const size_t n = std::min<size_t>(std::max(options.parallel, 1), todo.size());
  std::vector<std::thread> threads;
  for (size_t i = 1; i < n; ++i) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (!first_error.ok()) {
    // Ctrl-C ends every transfer at once, each with its own symptom: report the cancellation.
    Status cancelled = client.Cancelled();
    return cancelled.ok() ? first_error : cancelled;
  }

  LK_ASSIGN_OR_RETURN(image::BlobInfo mi, blobs.PutBytes(chosen.body));
  if (mi.digest != chosen.digest) {
    return InternalError("manifest " + chosen.digest + " stored as " + mi.digest);
  }
  auto img = image::LoadImage(blobs, mi.digest);
  if (!img.ok()) return img.status().WithPrefix("pull " + display);
  out.image = std::move(*img);
  // Where the blobs came from, so that a push to this registry can mount them
  // (blob_sources.h). A hint: failing to record it does not fail the pull.
  for (const auto& d : todo) (void)RecordBlobSource(blobs, d.digest, {host, repo});
  return out;
}

}  // namespace latchkey::registry
