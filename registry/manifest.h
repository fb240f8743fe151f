// Registry manifests: parsing OCI image indexes and manifests and Docker manifest lists and
// schema 2 manifests, with the limits a pull enforces, and the platform choice for an index.
//
// Limits: a manifest larger than 4 MiB (kMaxManifestBytes, as containerd) or with more than
// 1000 layers (kMaxLayers) is refused before anything else is fetched.
//
// Thread-safety: pure functions.
#ifndef LATCHKEY_REGISTRY_MANIFEST_H_
#define LATCHKEY_REGISTRY_MANIFEST_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "latchkey/status.h"

namespace latchkey::registry {

inline constexpr int64_t kMaxManifestBytes = 4 << 20;
inline constexpr size_t kMaxLayers = 1000;

// What a pull asks for, in preference order (the Accept header).
inline constexpr const char* kManifestAccept =
    "application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;  // "" when none
  // "linux/arm64/v8", "linux/amd64"
  std::string String() const;
};

// "linux/amd64", "linux/arm64/v8", "linux/arm/v7" (lower-cased; "aarch64" is arm64,
// "x86_64" amd64). INVALID_ARGUMENT `invalid platform "x": want OS/ARCH[/VARIANT], e.g.
// linux/amd64`.
Result<Platform> ParsePlatform(std::string_view text);

// The platform of this host: linux/<uname machine as an OCI architecture>[/variant].
Platform HostPlatform();

struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
  Platform platform;  // index entries only
  bool has_platform = false;
};

struct Manifest {
  bool is_index = false;
  std::string media_type;
  Descriptor config;                  // image manifests
  std::vector<Descriptor> layers;     // image manifests
  std::vector<Descriptor> manifests;  // indexes
};

// Parses a manifest body. `content_type` is the response's Content-Type (used when the body
// has no mediaType). `what` names it in errors ("manifest for 127.0.0.1:5000/app:1").
// INVALID_ARGUMENT texts:
//   "<what> is a Docker schema 1 manifest, which latchkey does not pull (push the image again
//    with a current Docker or skopeo)"
//   "<what> has media type \"x\", which is neither an image manifest nor an index"
//   "<what> has 1001 layers; more than 1000 is refused"
//   "<what>: layer sha256:…: foreign layer (<media type>) is not distributable and is not
//    pulled"
//   "<what> is not valid JSON" / "<what>: <field> is missing or not a <type>"
Result<Manifest> ParseManifest(std::string_view body, std::string_view content_type,
                               const std::string& what);

// The index entry for `want`: same os and architecture, and the same variant when `want` has
// one (arm64 without a variant matches v8; amd64 without a variant matches any). NOT_FOUND
// with Docker's text `no matching manifest for linux/arm64/v8 in the manifest list entries`.
Result<Descriptor> ChoosePlatform(const Manifest& index, const Platform& want);

}  // namespace latchkey::registry

#endif  // LATCHKEY_REGISTRY_MANIFEST_H_
