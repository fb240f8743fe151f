// Local image references: "NAME[:TAG]", normalised for the local store.
//
// Normalisation: a missing tag becomes "latest"; a leading "localhost/" is dropped, so
// "localhost/app:1" and "app:1" name the same image. NAME is one or more "/"-separated
// lowercase components ([a-z0-9] separated by ".", "_", "__" or "-"s); the first component may
// instead be a registry host ("registry.example.com:5000"). TAG is [A-Za-z0-9_][A-Za-z0-9_.-]*,
// at most 128 characters. Digest references ("@sha256:...") are not accepted.
#ifndef LATCHKEY_BUILDER_IMAGE_IMAGE_REF_H_
#define LATCHKEY_BUILDER_IMAGE_IMAGE_REF_H_

#include <string>
#include <string_view>

#include "latchkey/status.h"

namespace latchkey::image {

struct ImageRef {
  std::string name;  // "app", "library/busybox", "registry:5000/team/app"
  std::string tag;   // "latest"
  std::string ToString() const { return name + ":" + tag; }
  friend bool operator==(const ImageRef&, const ImageRef&) = default;
};

// Parses and normalises `ref`. INVALID_ARGUMENT, e.g.
// `invalid image reference "App": the name must be lowercase`.
Result<ImageRef> ParseImageRef(std::string_view ref);

}  // namespace latchkey::image

#endif  // LATCHKEY_BUILDER_IMAGE_IMAGE_REF_H_
