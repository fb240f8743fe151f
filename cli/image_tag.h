// `latchkey image tag SOURCE TARGET`: Docker's `docker tag` over the local image store.
//
// SOURCE is, as for Docker, a name (NAME[:TAG], "latest" by default), NAME@sha256:<manifest
// digest> of a stored image of that name, or an image ID: "sha256:<64 hex>", 64 hex, or a
// unique prefix of the hex (what `latchkey images` shows is the first 12), tried when no image
// has that name. Only tagged images can be found (the store keeps untagged ones only until a
// GC). TARGET is NAME[:TAG]; tagging replaces what TARGET named before.
//
// Errors, with Docker's texts (docker CLI client.ImageTag and the daemon's lookup):
//   INVALID_ARGUMENT `Error parsing reference: "<ref>" is not a valid repository/tag: <cause>`
//       for a SOURCE or TARGET that is not a reference (causes as image::ParseNormalizedReference)
//   INVALID_ARGUMENT `refusing to create a tag with a digest reference` for TARGET@digest
//   NOT_FOUND `No such image: <SOURCE>` (SOURCE as given), also for an ambiguous ID prefix
//
// Thread-safety: as ImageStore (writers serialise on the index lock).
#ifndef LATCHKEY_CLI_IMAGE_TAG_H_
#define LATCHKEY_CLI_IMAGE_TAG_H_

#include <string_view>

#include "builder/image/image_store.h"
#include "latchkey/status.h"

namespace latchkey::cli {

// Checks both references (INVALID_ARGUMENT as above) without touching the store.
Status CheckTagReferences(std::string_view source, std::string_view target);

// Points TARGET at the image SOURCE names.
Status TagImage(image::ImageStore& store, std::string_view source, std::string_view target);

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_IMAGE_TAG_H_
