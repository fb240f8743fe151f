// Parsing of `latchkey image export -o ...` and `latchkey build -o ...` output specs,
// in BuildKit's CSV form: "type=oci,dest=out.tar", "type=oci-layout,dest=dir",
// "type=local,dest=dir", plus an optional "name=NAME[:TAG]": the image name the oci types
// write into index.json as BuildKit does (io.containerd.image.name = the full name
// "docker.io/library/app:dev", org.opencontainers.image.ref.name = its tag "dev"); default: the
// image's (first) tag. The oci types also take BuildKit's compression keys:
// "compression=gzip|zstd|uncompressed" (default gzip), "compression-level=N" (gzip 0..9, zstd
// 1..19; default 6 / 3) and "force-compression=true|false" (recompress layers that are already
// compressed, e.g. a pulled base's); see output_image.h.
#ifndef LATCHKEY_BUILDER_IMAGE_EXPORT_SPEC_H_
#define LATCHKEY_BUILDER_IMAGE_EXPORT_SPEC_H_

#include <string>
#include <string_view>

#include "builder/image/image_ref.h"
#include "builder/image/output_image.h"
#include "latchkey/status.h"

namespace latchkey::image {

enum class ExportType {
  kOciArchive,  // type=oci: a tar of an OCI layout
  kOciLayout,   // type=oci-layout: an OCI layout directory
  kLocal,       // type=local: the flattened root filesystem
  kImage,       // type=image (builds only): tag in the local store, and push with push=true;
                // type=registry is type=image,push=true (buildx's shorthand)
};

// A `dest` that means the process's standard output (type=oci only, as BuildKit's tar-like
// outputs): the archive is written there.
inline constexpr char kStdoutDest[] = "-";

struct ExportSpec {
  ExportType type = ExportType::kOciArchive;
  std::string dest;
  // From name=: the image reference, normalised (image_ref.h); empty name = the caller's default.
  ImageRef name;
  // type=image: push=true|false (type=registry: true). Not allowed for the other types.
  bool push = false;
  OutputCompression compression;
  // The destination the build's progress names ("sending tarball to <shown_dest> done"); ""
  // = `dest`. latchkeyd writes a client's output to a file of its own (`dest`) and shows the
  // client's path here.
  std::string shown_dest;
};

// INVALID_ARGUMENT with the spec quoted, e.g.
// `invalid -o "type=zip,dest=x": unknown type "zip" (want oci, oci-layout or local)` or
// `invalid -o "type=oci,dest=x,name=A": "A" is not a valid repository/tag: ...`,
// `invalid -o "type=oci,dest=x,compression=lz4": unsupported compression type lz4`,
// `invalid -o "...,compression-level=x": non-int value x specified for compression-level`,
// `invalid -o "...,compression-level=12": compression-level 12 is out of range for gzip (0..9)`,
// `invalid -o "...,force-compression=maybe": non-bool value maybe specified for
// force-compression`, `invalid -o "type=local,dest=d,compression=zstd": compression applies
// to the oci and oci-layout types only`.
Result<ExportSpec> ParseExportSpec(std::string_view spec);

// A build's -o: ParseExportSpec's types plus type=image[,name=REF][,push=true|false] and
// type=registry[,name=REF] (no dest=). INVALID_ARGUMENT texts as ParseExportSpec's, with the
// types listed as "(want oci, oci-layout, local, image or registry)", and
// `invalid -o "type=image,push=yes": push="yes" is not a boolean (want true or false)`,
// `invalid -o "type=oci,dest=x,push=true": push= is only for type=image or type=registry`.
Result<ExportSpec> ParseBuildOutputSpec(std::string_view spec);

// Docker-style human size with 3 significant digits and decimal units: "512B", "1.09MB".
std::string HumanSize(int64_t bytes);

}  // namespace latchkey::image

#endif  // LATCHKEY_BUILDER_IMAGE_EXPORT_SPEC_H_
