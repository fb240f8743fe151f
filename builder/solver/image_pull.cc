// BuildRun::StoreOrPull and PullImage: images from the local store or, through the request's
// ImagePuller (image_puller.h), from their registry, with BuildKit's "[internal] load metadata
// for <ref>" vertex (build_run.h).

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "builder/image/export_spec.h"
#include "builder/solver/build_run.h"
#include "builder/solver/progress_output.h"

namespace latchkey::build {
namespace {

using Clock = std::chrono::steady_clock;

// Prints a pull's events on its vertex as BuildKit's plain progress does:
//   resolve 127.0.0.1:5000/app:1@sha256:… 0.1s done
//   sha256:<hex> 6MB / 6MB 0.4s done
// Called from the puller's threads, one call at a time (the mutex makes that a guarantee).
class PullNotes {
 public:
  PullNotes(ProgressWriter& progress, int vertex, std::string name)
      : progress_(progress), vertex_(vertex), name_(std::move(name)), start_(Clock::now()) {}

  void operator()(const PullEvent& e) {
    std::lock_guard<std::mutex> lock(mu_);
    const Clock::time_point now = Clock::now();
    switch (e.kind) {
      case PullEvent::Kind::kResolved:
        progress_.Note(vertex_, "resolve " + name_ + "@" + e.digest + " " +
                                    FormatSeconds(SecondsBetween(start_, now), 1) + "s done");
        break;
      case PullEvent::Kind::kStarted:
        started_[e.digest] = now;
        break;
      case PullEvent::Kind::kDownloaded: {
        auto it = started_.find(e.digest);
        const Clock::time_point from = it == started_.end() ? start_ : it->second;
        const std::string size = image::HumanSize(e.size);
        progress_.Note(vertex_, e.digest + " " + size + " / " + size + " " +
                                    FormatSeconds(SecondsBetween(from, now), 1) + "s done");
        break;
      }
      case PullEvent::Kind::kPresent:  // BuildKit prints nothing for content it has
        break;
      case PullEvent::Kind::kResumed:
        progress_.Note(vertex_, e.digest + " " + image::HumanSize(e.bytes) + " / " +
                                    image::HumanSize(e.size) + " connection dropped; resuming");
        break;
    }
  }

 private:
  ProgressWriter& progress_;
  const int vertex_;
  const std::string name_;
  const Clock::time_point start_;
  std::mutex mu_;
  std::map<std::string, Clock::time_point> started_;
};

bool Unreachable(const Status& st) {
  return st.code() == StatusCode::kUnavailable || st.code() == StatusCode::kDeadlineExceeded;
}

}  // namespace

Result<image::Image> BuildRun::StoreOrPull(const std::string& ref, const std::string& platform,
                                           BuildMaterial* material) {
  material->platform = platform;
  Result<image::Reference> parsed = image::ParseNormalizedReference(ref);
  if (req_.puller == nullptr || !parsed.ok()) {
    // The store's text, for a missing image and for a reference it cannot parse.
    LK_ASSIGN_OR_RETURN(image::Image img, store_.Resolve(ref));
    if (parsed.ok()) material->ref = image::WithDefaultTag(*parsed).String();
    material->digest = img.manifest_digest;
    return img;
  }
  const image::Reference r = image::WithDefaultTag(*parsed);
  material->ref = r.String();
  if (!r.digest.empty()) {
    // Content-addressed: a manifest already in the blob store needs no registry, --pull or not.
    if (store_.blobs().Has(r.digest)) {
      Result<image::Image> img = image::LoadImage(store_.blobs(), r.digest);
      if (img.ok()) {
        material->digest = r.digest;
        return img;
      }
    }
    return PullImage(ref, r, platform, false, material);
  }
  Result<image::Image> local = store_.Resolve(ref);
  if (local.ok() && !req_.pull) {
    material->digest = local->manifest_digest;
    return local;
  }
  if (!local.ok() && local.status().code() != StatusCode::kNotFound) return local.status();
  return PullImage(ref, r, platform, local.ok(), material);
}

Result<image::Image> BuildRun::PullImage(const std::string& as_written, const image::Reference& ref,
                                         const std::string& platform, bool have_local,
                                         BuildMaterial* material) {
  const std::string full = ref.String();
  const int vertex = progress_.Start("[internal] load metadata for " + full);
  image::Reference named = ref;
  named.digest.clear();
  PullNotes notes(progress_, vertex, named.String());
  Result<PulledImage> pulled =
      req_.puller->Pull(ref, platform, store_, [&notes](const PullEvent& e) { notes(e); });
  if (!pulled.ok()) {
    const Status& st = pulled.status();
    if (st.code() == StatusCode::kCancelled) {
      progress_.Error(vertex, st.message());
      return st;
    }
    std::string msg =
        as_written + ": failed to resolve source metadata for " + full + ": " + st.message();
    if (Unreachable(st)) {
      const std::string name = ref.tag.empty() ? as_written : ref.FamiliarName() + ":" + ref.tag;
      msg += have_local ? "; without --pull the build uses the local copy of " + as_written
                        : "; to build without the registry, put the image in the local store: " +
                              image::ImportHint(name);
    }
    progress_.Error(vertex, msg);
    return Status(st.code(), msg);
  }
  progress_.Done(vertex);
  material->digest = pulled->digest;
  material->pulled = true;
  return std::move(pulled->image);
}

}  // namespace latchkey::build
