// Where a blob in the local store came from, so a push to the same registry can mount it
// from that repository instead of uploading it (cross-repository blob mount). One small file
// per blob beside the store's blobs: <blob root>/sources/sha256/<hex>, holding one line
// "HOST/REPOSITORY" (e.g. "127.0.0.1:5000/team/base"), written by a pull for every blob of the
// image it pulled and by a push for every blob it pushed (the last one wins). It is a hint
// only: nothing depends on it being there or right (a registry that cannot mount answers with
// an ordinary upload). A source file whose blob is gone is ignored.
//
// Thread-safety: files are replaced atomically; concurrent writers of one blob leave one of
// their lines.
#ifndef LATCHKEY_REGISTRY_BLOB_SOURCES_H_
#define LATCHKEY_REGISTRY_BLOB_SOURCES_H_

#include <optional>
#include <string>

#include "builder/image/blob_store.h"
#include "latchkey/status.h"

namespace latchkey::registry {

struct BlobSource {
  std::string host;        // "127.0.0.1:5000", "docker.io"
  std::string repository;  // "team/base", "library/debian"
};

// Records `source` for the blob `digest` (a valid digest) of `blobs`. Errors name the file.
Status RecordBlobSource(const image::BlobStore& blobs, const std::string& digest,
                        const BlobSource& source);

// The recorded source of the present blob `digest`, or nullopt (none recorded, unreadable or
// the blob is not in the store).
std::optional<BlobSource> LookupBlobSource(const image::BlobStore& blobs,
                                           const std::string& digest);

}  // namespace latchkey::registry

#endif  // LATCHKEY_REGISTRY_BLOB_SOURCES_H_
