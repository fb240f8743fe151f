#include "registry/pusher.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "registry/blob_sources.h"
#include "registry/upload_source.h"

namespace latchkey::registry {
namespace {

// One upload session: chunks of `chunk` bytes (PATCH), then the closing PUT.
Status UploadChunked(RegistryClient& client, const std::string& host, const std::string& repo,
                     std::string location, const std::string& path, const image::OutputBlob& b,
                     int64_t chunk, const std::atomic<bool>& stop) {
  for (int64_t start = 0; start < b.size; start += chunk) {
    if (stop.load()) return CancelledError("push cancelled");
    FileRangeSource part(path, start, std::min(chunk, b.size - start));
    LK_ASSIGN_OR_RETURN(location, client.PatchUpload(host, repo, location, b.digest, start, part));
  }
  return client.FinishUpload(host, repo, location, b.digest, nullptr);
}

}  // namespace

Result<PushResult> Push(RegistryClient& client, const image::BlobStore& blobs,
                        const image::OutputImage& image, const image::Reference& target,
                        const PushOptions& options) {
  const std::string host = target.domain;
  const std::string repo = target.path;
  const std::string display = target.String();
  std::string reference = target.tag.empty() ? std::string("latest") : target.tag;
  if (target.tag.empty() && !target.digest.empty()) {
    if (target.digest != image.digest) {
      return InvalidArgumentError("push " + display + ": the reference's digest " + target.digest +
                                  " is not the image's " + image.digest);
    }
    reference = target.digest;
  }
  PushResult out;
  std::mutex mu;  // guards progress calls and the counters
  auto emit = [&](const PushEvent& e) {
    if (options.progress) options.progress(e);
  };
  const int64_t chunk_size = std::max<int64_t>(options.chunk_size, 1);
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  Status first_error;

  auto push_one = [&](const image::OutputBlob& b) -> Status {
    LK_ASSIGN_OR_RETURN(bool present, client.BlobExists(host, repo, b.digest));
    if (present) {
      std::lock_guard<std::mutex> lock(mu);
      ++out.blobs_present;
      emit({PushEvent::kPresent, b.digest, b.size, 0, ""});
      return Status::OK();
    }
    std::string mount_from;
    if (auto src = LookupBlobSource(blobs, b.digest);
        src && src->host == host && src->repository != repo) {
      mount_from = src->repository;
    }
    LK_ASSIGN_OR_RETURN(
        RegistryClient::Upload up,
        client.StartUpload(host, repo, mount_from.empty() ? "" : b.digest, mount_from));
    if (up.mounted) {
      std::lock_guard<std::mutex> lock(mu);
      ++out.blobs_mounted;
      emit({PushEvent::kMounted, b.digest, b.size, 0, host + "/" + mount_from});
      return Status::OK();
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      emit({PushEvent::kStarted, b.digest, b.size, 0, ""});
    }
    LK_ASSIGN_OR_RETURN(std::string path, blobs.Path(b.digest));
    const int64_t chunk = std::max(chunk_size, up.min_chunk);
    Status st;
    if (b.size > chunk) {
      st = UploadChunked(client, host, repo, up.location, path, b, chunk, stop);
    } else {
      FileRangeSource whole(path, 0, b.size);
      st = client.FinishUpload(host, repo, up.location, b.digest, &whole);
      if (st.code() == StatusCode::kResourceExhausted && b.size > 1) {
        // The registry (or a proxy before it) refuses a body this large: a new upload, in
        // chunks of half the blob or less.
        LK_ASSIGN_OR_RETURN(RegistryClient::Upload again, client.StartUpload(host, repo, "", ""));
        st = UploadChunked(client, host, repo, again.location, path, b,
                           std::max((b.size + 1) / 2, again.min_chunk), stop);
      }
    }
    LK_RETURN_IF_ERROR(st);
    std::lock_guard<std::mutex> lock(mu);
    ++out.blobs_uploaded;
    out.bytes_uploaded += b.size;
    emit({PushEvent::kUploaded, b.digest, b.size, b.size, ""});
    return Status::OK();
  };
  auto worker = [&] {
    for (;;) {
      size_t i = next.fetch_add(1);
      if (i >= image.blobs.size() || stop.load()) return;
      Status s = push_one(image.blobs[i]);
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first_error.ok()) first_error = s;
        stop.store(true);
        return;
      }
    }
  };
  const size_t n = std::min<size_t>(std::max(options.parallel, 1), image.blobs.size());
  std::vector<std::thread> threads;
  for (size_t i = 1; i < n; ++i) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (!first_error.ok()) {
    // Ctrl-C ends every transfer at once, each with its own symptom: report the cancellation.
    Status cancelled = client.Cancelled();
    return cancelled.ok() ? first_error : cancelled;
  }

  LK_ASSIGN_OR_RETURN(out.digest, client.PutManifest(host, repo, reference, image.manifest,
                                                     image.media_type, display));
  emit({PushEvent::kManifest, out.digest, static_cast<int64_t>(image.manifest.size()), 0, ""});
  // A hint for the next push to this registry (blob_sources.h): failing to record it costs a
  // mount, nothing else, so it does not fail the push.
  for (const auto& b : image.blobs) (void)RecordBlobSource(blobs, b.digest, {host, repo});
  return out;
}

}  // namespace latchkey::registry
