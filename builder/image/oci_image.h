// OCI image assembly and output: config + manifest blobs, OCI image layout directories, OCI
// archives (a tar of a layout) and flattened root filesystem exports.
//
// Manifests are application/vnd.oci.image.manifest.v1+json with one config descriptor and the
// layer descriptors in order; index.json is an application/vnd.oci.image.index.v1+json whose
// manifest descriptors carry "org.opencontainers.image.ref.name". All JSON is canonical
// (sorted keys, no whitespace), so the same config and layers give the same manifest digest.
//
// Cancellation: the writers below take a base::CancelCheck, polled per blob or layer, per tar
// entry and per chunk of data (at most 1 MiB); its error is returned unchanged. A cancelled
// writer publishes nothing: no archive at the destination, no new index.json entry in a layout
// (a layout directory the call created is removed; complete blobs copied into an existing one
// may remain, unreferenced), and a local export directory the call created is removed.
//
// Thread-safety: functions are reentrant. Writing two images into the same destination layout
// at the same time is not supported (the local store, image_store.h, serialises its own
// writers with a lock).
#ifndef LATCHKEY_BUILDER_IMAGE_OCI_IMAGE_H_
#define LATCHKEY_BUILDER_IMAGE_OCI_IMAGE_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/cancel.h"
#include "base/env.h"
#include "builder/frontend/image_config.h"
#include "builder/image/blob_store.h"
#include "builder/image/layer_writer.h"
#include "latchkey/status.h"

namespace latchkey::image {

// A complete image whose blobs live in a BlobStore.
struct Image {
  std::string manifest_digest;
  int64_t manifest_size = 0;
  std::string config_digest;
  int64_t config_size = 0;
  frontend::ImageConfig config;
  // In order, base first. diff_id comes from the config; uncompressed_size and entries are 0
  // for images loaded from the store.
  std::vector<LayerDescriptor> layers;

  // Sum of the compressed layer sizes.
  int64_t LayersSize() const;
};

// Stores `config` (its diff_ids replaced by those of `layers`) and a manifest for it in
// `blobs`. Returns the complete image. INVALID_ARGUMENT when a layer descriptor has a
// malformed digest or diff_id, or its blob is not in `blobs` (NOT_FOUND).
Result<Image> CommitImage(frontend::ImageConfig config, const std::vector<LayerDescriptor>& layers,
                          BlobStore& blobs);

// Reads the manifest `manifest_digest` and its config from `blobs` (verifying both digests).
// DATA_LOSS on corrupt blobs, INVALID_ARGUMENT on a manifest that is not an OCI/Docker v2
// image manifest or whose layer count differs from the config's diff_ids.
Result<Image> LoadImage(const BlobStore& blobs, std::string_view manifest_digest);

// One manifest entry of an index.json.
struct IndexEntry {
  std::string ref_name;  // the org.opencontainers.image.ref.name annotation ("" if none)
  std::string media_type;
  std::string digest;
  int64_t size = 0;
  std::map<std::string, std::string> annotations;  // all annotations, ref name included
};

// The index entry of `image` named `ref_name`, with the io.containerd.image.name annotation
// `image_name` when that is not empty.
IndexEntry ImageIndexEntry(const Image& image, const std::string& ref_name,
                           const std::string& image_name = "");

// Reads "<layout_dir>/index.json"; a missing file is an empty index.
Result<std::vector<IndexEntry>> ReadIndex(const std::string& layout_dir);
// Parses the text of an index.json; `what` names it in errors.
Result<std::vector<IndexEntry>> ParseIndex(std::string_view text, const std::string& what);
// Writes "<layout_dir>/index.json" atomically (canonical JSON, entries in the given order, mode
// 0644) through `env`. On failure index.json is unchanged and the error names the file.
Status WriteIndex(const std::string& layout_dir, const std::vector<IndexEntry>& entries,
                  base::Env& env = *base::PosixEnv());

// Writes `image` into the OCI image layout directory `dest` under ref name `ref_name` (for
// `skopeo inspect oci:DEST:REF` and `umoci unpack --image DEST:REF`, use a plain tag such as
// "latest"). A non-empty `image_name` ("docker.io/library/app:dev") is written as the
// io.containerd.image.name annotation, as BuildKit does, so `docker load` names the image. `dest`
// may be missing, empty, or an existing OCI layout (the image is added and an older entry with the
// same ref name replaced); anything else is FAILED_PRECONDITION
// `<dest> exists and is not an OCI image layout (no oci-layout file); choose an empty or new
// directory`. Blobs are hard-linked from `blobs` when on the same filesystem, else copied.
// A failure removes `dest` again when this call created it.
Status WriteOciLayout(const BlobStore& blobs, const Image& image, const std::string& dest,
                      const std::string& ref_name, const std::string& image_name = "",
                      const base::CancelCheck& cancel = {});

// WriteOciLayout's check of `dest`, alone (latchkeyd's client checks a -o type=oci-layout
// destination before the build): a missing `dest` is created (`*created` set), an empty
// directory or an OCI layout is fine, anything else is WriteOciLayout's FAILED_PRECONDITION.
Status PrepareOciLayoutDest(const std::string& dest, bool* created);

// Writes `image` as an OCI archive: a tar (oci-layout, index.json, blobs/sha256/...) of the
// layout WriteOciLayout would produce, at `dest_tar` (replaced atomically). Entries have mtime
// 0, owner 0:0 and mode 0644/0755, so equal images give byte-identical archives.
Status WriteOciArchive(const BlobStore& blobs, const Image& image, const std::string& dest_tar,
                       const std::string& ref_name, const std::string& image_name = "",
                       const base::CancelCheck& cancel = {});

// Applies every layer of `image` in order into `dest` (created if missing), executing
// whiteouts (WhiteoutMode::kApply): the image's root filesystem as a plain directory. Layer
// digests and diff_ids are verified. Character and block device nodes are never created on
// the host (ExtractOptions::skip_devices): their image paths ("/dev/mem") are appended to
// `*skipped_devices` when it is given, for the caller to warn about. A failure removes `dest`
// again when this call created it.
Status ExportRootfs(const BlobStore& blobs, const Image& image, const std::string& dest,
                    std::vector<std::string>* skipped_devices = nullptr,
                    const base::CancelCheck& cancel = {});

// The warning for one skipped device: "warning: device node /dev/mem was not exported (the
// local exporter never creates device nodes)".
std::string SkippedDeviceWarning(const std::string& path);

}  // namespace latchkey::image

#endif  // LATCHKEY_BUILDER_IMAGE_OCI_IMAGE_H_
