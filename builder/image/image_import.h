// Reading images that other tools wrote into a BlobStore: OCI image layout directories
// (umoci, skopeo `oci:`, buildah `oci:`, BuildKit `type=oci-layout`), OCI archives (a tar of a
// layout: BuildKit/buildx `type=oci`, skopeo `oci-archive:`) and `docker save` archives (a
// manifest.json naming a config and uncompressed layer tars; Docker 25+ also adds an OCI
// layout, which is then used).
//
// Every blob is verified against its digest while it is copied; nothing is tagged here (the
// caller tags the returned image, see image_store.h). An index entry that is itself an image
// index (a multi-platform image) resolves to its linux/<native architecture> manifest.
//
// Thread-safety: reentrant; see blob_store.h for concurrent writers.
#ifndef LATCHKEY_BUILDER_IMAGE_IMAGE_IMPORT_H_
#define LATCHKEY_BUILDER_IMAGE_IMAGE_IMPORT_H_

#include <string>
#include <string_view>

#include "builder/image/blob_store.h"
#include "builder/image/oci_image.h"
#include "latchkey/status.h"

namespace latchkey::image {

struct ImportedImage {
  Image image;
  // The name the source gives the image (io.containerd.image.name, or a docker save RepoTag),
  // normalised ("app:dev"); "" when the source names none.
  std::string name;
};

// Splits "PATH[:TAG]" at its last ":" when what follows has no "/" and PATH alone exists (or the
// whole string does not). {"dir", "dev"} for "dir:dev"; {"dir", ""} for "dir".
std::pair<std::string, std::string> SplitPathAndTag(const std::string& spec);

// True when `dir` holds an OCI image layout (an "oci-layout" file).
bool IsOciLayoutDir(const std::string& dir);

// Imports the image `tag` selects from the OCI layout `dir`: the manifest whose
// org.opencontainers.image.ref.name is `tag`, or whose io.containerd.image.name has tag `tag`
// or is `tag`; with an empty `tag`, the only manifest. NOT_FOUND / INVALID_ARGUMENT name the
// layout and list the names it holds, e.g.
// `OCI layout DIR has no image "v2" (it has: latest, dev)` or
// `OCI layout DIR holds 2 images (latest, dev); choose one with DIR:TAG`.
Result<ImportedImage> ImportOciLayout(BlobStore& blobs, const std::string& dir,
                                      std::string_view tag);

// Imports from a tar archive: an OCI archive (index.json) or a `docker save` archive
// (manifest.json); `tag` selects as above (for docker save: a RepoTag, normalised, or its tag
// part). INVALID_ARGUMENT `FILE is neither an OCI archive (no index.json) nor a docker save
// archive (no manifest.json)`.
Result<ImportedImage> ImportArchive(BlobStore& blobs, const std::string& tar_path,
                                    std::string_view tag);

}  // namespace latchkey::image

#endif  // LATCHKEY_BUILDER_IMAGE_IMAGE_IMPORT_H_
