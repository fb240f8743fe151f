// ImageStore: the local image store, an OCI image layout at "<state_dir>/images" whose
// index.json maps tags ("NAME:TAG", normalised by image_ref.h) to manifests. Blobs are shared by
// all images (content-addressed, see blob_store.h); unpacked layers are cached in
// "<state_dir>/layers" (see layer_extract.h). Images enter the store by import (ImportRootfs;
// or image_import.h into blobs() and then Tag), by a pull (registry/puller.h into blobs(), then
// Tag) or by a build tagging its result (Tag).
//
// Thread-safety: an ImageStore may be used from many threads, and many processes may open the
// same state dir: index.json changes are read-modify-write under an exclusive flock on
// "<state_dir>/images/index.lock" and replace the file atomically. Readers never lock (they see
// the old or the new index).
#ifndef LATCHKEY_BUILDER_IMAGE_IMAGE_STORE_H_
#define LATCHKEY_BUILDER_IMAGE_IMAGE_STORE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/frontend/image_config.h"
#include "builder/image/blob_store.h"
#include "builder/image/image_ref.h"
#include "builder/image/oci_image.h"
#include "latchkey/status.h"

namespace latchkey::image {

struct StoredImage {
  std::string ref;  // "name:tag"
  Image image;
};

// Options for importing a root filesystem directory as a single-layer image.
struct ImportOptions {
  // Default: ["/bin/sh"] when the rootfs has /bin/sh (a file or symlink), else unset.
  std::optional<std::vector<std::string>> cmd;
  std::optional<std::vector<std::string>> entrypoint;
  std::vector<std::string> env;  // added to the default PATH ("KEY=value")
  std::string architecture = "amd64";
  // Clamps file mtimes and sets "created"; unset: mtimes kept and "created" is now.
  std::optional<int64_t> source_date_epoch;
};

class ImageStore {
 public:
  // Opens (creating if needed) the store under `state_dir`. Blobs and index.json are written
  // through `env` (not owned; must outlive the store), the POSIX Env by default. A failed write
  // leaves no tag pointing at a partial blob: blobs are published complete or not at all, and
  // index.json is replaced only after every blob an image needs is in the store.
  static Result<ImageStore> Open(const std::string& state_dir,
                                 base::Env* env = base::PosixEnv().get());

  const std::string& state_dir() const { return state_dir_; }
  std::string layout_dir() const { return state_dir_ + "/images"; }
  BlobStore& blobs() { return blobs_; }
  const BlobStore& blobs() const { return blobs_; }

  // Points `ref` at `image` (whose blobs must be in this store), replacing any previous target.
  Status Tag(std::string_view ref, const Image& image);
  // Points `ref` at the manifest `manifest_digest` already in the store.
  Status Put(std::string_view manifest_digest, std::string_view ref);

  // The image `ref` names. NOT_FOUND, with the text `latchkey image` shows for a missing
  // image (and a build that has no puller, builder/solver/image_puller.h):
  // `image "<ref>" is not in the local store. Pull it: latchkey pull <ref>; or <ImportHint>;
  // or build it with -t <ref>`.
  Result<Image> Resolve(std::string_view ref) const;

  // Every tag, sorted by ref.
  Result<std::vector<StoredImage>> List() const;

  // Removes the tag (blobs stay; they are shared). NOT_FOUND as in Resolve when absent.
  Status Remove(std::string_view ref);

  // Writes `rootfs_dir` as one layer and tags a default-config image as `ref`:
  // Env [PATH=...] + options.env, WorkingDir "/", Cmd per ImportOptions, one history entry
  // "latchkey image import". Returns the image. INVALID_ARGUMENT when `rootfs_dir` is an OCI
  // image layout (`import: DIR is an OCI image layout, not a root filesystem; use --oci-layout
  // DIR`) or not a directory.
  Result<Image> ImportRootfs(const std::string& rootfs_dir, std::string_view ref,
                             const ImportOptions& options);

 private:
  ImageStore(std::string state_dir, BlobStore blobs)
      : state_dir_(std::move(state_dir)), blobs_(std::move(blobs)) {}
  std::string state_dir_;
  BlobStore blobs_;
};

// How to put `ref` into the local store without a registry, as the missing-image messages say
// it: "make a base image: mmdebstrap --variant=minbase bookworm ROOTFS && latchkey image import
// --rootfs ROOTFS -t <ref>; or import one: latchkey image import --oci-layout DIR[:TAG] -t
// <ref> (or --archive FILE for an OCI or docker save archive)".
std::string ImportHint(std::string_view ref);

// RFC 3339 UTC ("2024-01-02T03:04:05Z") for `seconds` since the epoch.
std::string FormatRfc3339(int64_t seconds);

}  // namespace latchkey::image

#endif  // LATCHKEY_BUILDER_IMAGE_IMAGE_STORE_H_
