// Local image references: "NAME[:TAG]", normalised for the local store with Docker's rules
// (reference.h): "docker.io/library/debian:bookworm" and "debian" + tag "bookworm" are the same
// image; a missing tag becomes "latest". The store keys images by the familiar form
// ("debian:bookworm", "team/app:1", "registry.example.com:5000/app:2"). A leading "localhost/"
// is dropped too, so "localhost/app:1" (how podman and buildah name local images) and "app:1"
// name the same image. Digest references ("@sha256:...") are not accepted: the store is keyed by
// tags.
#ifndef LATCHKEY_BUILDER_IMAGE_IMAGE_REF_H_
#define LATCHKEY_BUILDER_IMAGE_IMAGE_REF_H_

#include <string>
#include <string_view>

#include "builder/image/reference.h"
#include "latchkey/status.h"

namespace latchkey::image {

struct ImageRef {
  std::string name;  // familiar: "app", "team/app", "registry:5000/team/app"
  std::string tag;   // "latest"
  std::string full;  // fully qualified, without the tag: "docker.io/library/app"
  std::string ToString() const { return name + ":" + tag; }
  // "docker.io/library/app:dev": what BuildKit writes as io.containerd.image.name.
  std::string FullString() const { return full + ":" + tag; }
  friend bool operator==(const ImageRef&, const ImageRef&) = default;
};

// Parses and normalises `ref`. INVALID_ARGUMENT with Docker's `docker tag` text, e.g.
// `"App" is not a valid repository/tag: invalid reference format: repository name must be
// lowercase`, or `"app@sha256:..." is not a valid repository/tag: digest references are not
// supported by the local store; use NAME:TAG`.
Result<ImageRef> ParseImageRef(std::string_view ref);

}  // namespace latchkey::image

#endif  // LATCHKEY_BUILDER_IMAGE_IMAGE_REF_H_
