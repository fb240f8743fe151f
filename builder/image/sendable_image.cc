#include "builder/image/sendable_image.h"

#include <nlohmann/json.hpp>

#include "builder/image/media_types.h"

namespace latchkey::image {

Result<OutputImage> SendableImage(BlobStore& blobs, const Image& image) {
  OutputImage out;
  LK_ASSIGN_OR_RETURN(out.manifest, blobs.ReadBytes(image.manifest_digest, /*verify=*/true));
  out.digest = image.manifest_digest;
  auto j = nlohmann::json::parse(out.manifest, nullptr, false);
  out.media_type = kMediaTypeManifest;
  if (j.is_object() && j.contains("mediaType") && j["mediaType"].is_string()) {
    out.media_type = j["mediaType"].get<std::string>();
  }
  const std::string config_type =
      out.media_type == kMediaTypeDockerManifest
          ? std::string("application/vnd.docker.container.image.v1+json")
          : std::string(kMediaTypeConfig);
  out.blobs.push_back({config_type, image.config_digest, image.config_size});
  for (const auto& l : image.layers) {
    LK_RETURN_IF_ERROR(blobs.Path(l.digest).status());
    out.blobs.push_back({l.media_type, l.digest, l.size});
  }
  LK_RETURN_IF_ERROR(blobs.Path(image.config_digest).status());
  return out;
}

}  // namespace latchkey::image
