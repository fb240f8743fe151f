#include "cli/registry_image_puller.h"

#include <utility>

#include "builder/executor/cancel.h"
#include "builder/image/image_ref.h"
#include "registry/manifest.h"

namespace latchkey::cli {
namespace {

build::PullEvent::Kind KindOf(registry::PullEvent::Kind k) {
  switch (k) {
    case registry::PullEvent::kResolved:
      return build::PullEvent::Kind::kResolved;
    case registry::PullEvent::kStarted:
      return build::PullEvent::Kind::kStarted;
    case registry::PullEvent::kDownloaded:
      return build::PullEvent::Kind::kDownloaded;
    case registry::PullEvent::kPresent:
      return build::PullEvent::Kind::kPresent;
    case registry::PullEvent::kResumed:
      return build::PullEvent::Kind::kResumed;
  }
  return build::PullEvent::Kind::kResolved;
}

}  // namespace

Result<build::PulledImage> RegistryImagePuller::Pull(const image::Reference& ref,
                                                     const std::string& platform,
                                                     image::ImageStore& store,
                                                     const build::PullProgressFn& progress) {
  registry::PullOptions opts;
  LK_ASSIGN_OR_RETURN(opts.platform, registry::ParsePlatform(platform));
  if (progress) {
    opts.progress = [&progress](const registry::PullEvent& e) {
      build::PullEvent out;
      out.kind = KindOf(e.kind);
      out.digest = e.digest;
      out.size = e.size;
      out.bytes = e.bytes;
      progress(out);
    };
  }
  std::string tag;
  if (!ref.tag.empty() && ref.digest.empty()) {
    LK_ASSIGN_OR_RETURN(image::ImageRef local,
                        image::ParseImageRef(ref.FamiliarName() + ":" + ref.tag));
    tag = local.ToString();
  }
  if (!registry_) {
    LK_ASSIGN_OR_RETURN(registry_, CliRegistry::Open(config_, session_, PullStep(ref.String())));
  } else {
    registry_->SetStep(PullStep(ref.String()));
  }
  // Ctrl-C (or the daemon's cancel of this build) stops the downloads, not just the next step.
  registry_->client().SetCancel(executor::CancelCheckOfThisThread("build cancelled"));
  LK_ASSIGN_OR_RETURN(registry::PullResult r,
                      PullIntoStore(registry_->client(), store, ref, opts, tag));
  build::PulledImage out;
  out.image = std::move(r.image);
  out.digest = std::move(r.digest);
  return out;
}

}  // namespace latchkey::cli
