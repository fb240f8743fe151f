#include "builder/image/image_ref.h"

namespace latchkey::image {

Result<ImageRef> ParseImageRef(std::string_view ref) {
  auto bad = [&](std::string_view why) {
    return InvalidArgumentError("\"" + std::string(ref) +
                                "\" is not a valid repository/tag: " + std::string(why));
  };
  std::string_view s = ref;
  if (s.substr(0, 10) == "localhost/") s.remove_prefix(10);
  auto r = ParseNormalizedReference(s);
  if (!r.ok()) return bad(r.status().message());
  if (!r->digest.empty()) {
    return bad("digest references are not supported by the local store; use NAME:TAG");
  }
  Reference t = WithDefaultTag(*std::move(r));
  ImageRef out;
  out.name = t.FamiliarName();
  out.tag = t.tag;
  out.full = t.Name();
  return out;
}

}  // namespace latchkey::image
