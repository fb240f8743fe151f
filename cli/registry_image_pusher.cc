#include "cli/registry_image_pusher.h"

#include <utility>

#include "builder/executor/cancel.h"
#include "builder/image/output_image.h"
#include "builder/image/sendable_image.h"

namespace latchkey::cli {
namespace {

build::PushEvent::Kind KindOf(registry::PushEvent::Kind k) {
  switch (k) {
    case registry::PushEvent::kPresent:
      return build::PushEvent::Kind::kPresent;
    case registry::PushEvent::kMounted:
      return build::PushEvent::Kind::kMounted;
    case registry::PushEvent::kStarted:
      return build::PushEvent::Kind::kStarted;
    case registry::PushEvent::kUploaded:
      return build::PushEvent::Kind::kUploaded;
    case registry::PushEvent::kManifest:
      return build::PushEvent::Kind::kManifest;
  }
  return build::PushEvent::Kind::kStarted;
}

}  // namespace

Result<PushedFromStore> PushFromStore(registry::RegistryClient& client, image::ImageStore& store,
                                      const image::Image& image, const image::Reference& ref,
                                      const image::OutputCompression& compression,
                                      const registry::PushOptions& options,
                                      const base::CancelCheck& cancel) {
  // The store keeps built layers uncompressed: a push sends them compressed as asked (gzip,
  // the default media type, unless an output's compression= says otherwise).
  LK_ASSIGN_OR_RETURN(image::Image compressed,
                      image::ImageForOutput(store.blobs(), image, compression, cancel));
  LK_ASSIGN_OR_RETURN(image::OutputImage out, image::SendableImage(store.blobs(), compressed));
  PushedFromStore p;
  p.media_type = out.media_type;
  p.manifest_size = static_cast<int64_t>(out.manifest.size());
  LK_ASSIGN_OR_RETURN(p.result, registry::Push(client, store.blobs(), out, ref, options));
  return p;
}

Result<build::PushedImage> RegistryImagePusher::Push(const image::ImageRef& name,
                                                     const image::Image& image,
                                                     image::ImageStore& store,
                                                     const image::OutputCompression& compression,
                                                     const build::PushProgressFn& progress) {
  LK_ASSIGN_OR_RETURN(image::Reference ref, image::ParseNormalizedReference(name.FullString()));
  registry::PushOptions opts;
  if (progress) {
    opts.progress = [&progress](const registry::PushEvent& e) {
      build::PushEvent out;
      out.kind = KindOf(e.kind);
      out.digest = e.digest;
      out.size = e.size;
      out.from = e.from;
      progress(out);
    };
  }
  if (!registry_) {
    LK_ASSIGN_OR_RETURN(registry_, CliRegistry::Open(config_, session_, PushStep(ref.String())));
  } else {
    registry_->SetStep(PushStep(ref.String()));
  }
  base::CancelCheck cancel = executor::CancelCheckOfThisThread("build cancelled");
  registry_->client().SetCancel(cancel);
  LK_ASSIGN_OR_RETURN(PushedFromStore p, PushFromStore(registry_->client(), store, image, ref,
                                                       compression, opts, cancel));
  build::PushedImage out;
  out.digest = p.result.digest;
  out.media_type = p.media_type;
  out.size = p.manifest_size;
  return out;
}

}  // namespace latchkey::cli
