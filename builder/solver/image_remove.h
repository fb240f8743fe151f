// `latchkey image rm` as one function, shared by the CLI (cli/image_cmd.cc) and latchkeyd's
// RemoveImage (daemon/control_service.h): untag, then free the storage no other image or
// cache entry references (a GC that leaves the build cache alone, store_gc.h), under the state
// dir's GC lock.
//
// Thread-safety: as CollectGarbage (the lock orders concurrent callers and builds).
#ifndef LATCHKEY_BUILDER_SOLVER_IMAGE_REMOVE_H_
#define LATCHKEY_BUILDER_SOLVER_IMAGE_REMOVE_H_

#include <string>
#include <vector>

#include "builder/image/image_store.h"
#include "latchkey/status.h"

namespace latchkey::build {

struct ImageRemoval {
  std::string untagged;              // the reference as `image rm` prints it ("app:1")
  std::vector<std::string> deleted;  // manifests whose storage was freed ("sha256:...")
  // A build held the state dir: the tag is gone, its storage is freed by the next prune.
  bool storage_deferred = false;
};

// Removes tag `ref` from `store`, then runs the GC without waiting for running builds.
// Errors: INVALID_ARGUMENT with the reference parser's text for a malformed ref; the image
// store's NOT_FOUND (`image "<ref>" is not in the local store, ...`); the GC's errors (the tag
// is already removed then).
Result<ImageRemoval> RemoveImageAndFree(image::ImageStore& store, const std::string& ref);

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_IMAGE_REMOVE_H_
