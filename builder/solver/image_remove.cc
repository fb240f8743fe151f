#include "builder/solver/image_remove.h"

#include "builder/image/image_ref.h"
#include "builder/solver/store_gc.h"

namespace latchkey::build {

Result<ImageRemoval> RemoveImageAndFree(image::ImageStore& store, const std::string& ref) {
  auto parsed = image::ParseImageRef(ref);
  if (!parsed.ok()) return InvalidArgumentError(parsed.status().message());
  LK_RETURN_IF_ERROR(store.Remove(ref));
  ImageRemoval out;
  out.untagged = parsed->ToString();
  GcPolicy keep_cache;
  keep_cache.cache = false;
  auto r = CollectGarbage(store.state_dir(), keep_cache, /*dry_run=*/false, /*wait=*/false);
  if (!r.ok() && r.status().code() == StatusCode::kUnavailable) {
    out.storage_deferred = true;
    return out;
  }
  if (!r.ok()) return r.status();
  for (const auto& i : r->items) {
    if (i.kind == GcItem::Kind::kImage) out.deleted.push_back(i.id);
  }
  return out;
}

}  // namespace latchkey::build
