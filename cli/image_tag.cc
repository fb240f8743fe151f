#include "cli/image_tag.h"

#include <string>
#include <vector>

#include "builder/image/image_ref.h"
#include "builder/image/reference.h"

namespace latchkey::cli {
namespace {

bool IsLowerHex(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The hex of an image ID SOURCE ("sha256:<64 hex>" or a hex prefix), or "" when SOURCE is not
// one.
std::string_view IdHex(std::string_view source) {
  constexpr std::string_view kAlgo = "sha256:";
  if (source.substr(0, kAlgo.size()) == kAlgo) {
    std::string_view hex = source.substr(kAlgo.size());
    return hex.size() == 64 && IsLowerHex(hex) ? hex : std::string_view();
  }
  return IsLowerHex(source) && source.size() <= 64 ? source : std::string_view();
}

Status ParseError(std::string_view ref, const Status& cause) {
  return InvalidArgumentError("Error parsing reference: \"" + std::string(ref) +
                              "\" is not a valid repository/tag: " + cause.message());
}

Status NoSuchImage(std::string_view source) {
  return NotFoundError("No such image: " + std::string(source));
}

}  // namespace

Status CheckTagReferences(std::string_view source, std::string_view target) {
  // Docker's ParseAnyReference: a full image ID is a reference too.
  if (std::string_view hex = IdHex(source); hex.size() != 64) {
    Result<image::Reference> s = image::ParseNormalizedReference(source);
    if (!s.ok()) return ParseError(source, s.status());
  }
  Result<image::Reference> t = image::ParseNormalizedReference(target);
  if (!t.ok()) return ParseError(target, t.status());
  if (!t->digest.empty()) {
    return InvalidArgumentError("refusing to create a tag with a digest reference");
  }
  Result<image::ImageRef> local = image::ParseImageRef(target);
  if (!local.ok()) return local.status();
  return Status::OK();
}

Status TagImage(image::ImageStore& store, std::string_view source, std::string_view target) {
  LK_RETURN_IF_ERROR(CheckTagReferences(source, target));
  LK_ASSIGN_OR_RETURN(std::vector<image::StoredImage> images, store.List());
  const image::Image* found = nullptr;
  Result<image::Reference> named = image::ParseNormalizedReference(source);
  if (named.ok() && !named->digest.empty()) {
    // NAME@DIGEST: a stored image of that repository with that manifest.
    for (const auto& si : images) {
      Result<image::Reference> r = image::ParseNormalizedReference(si.ref);
      if (r.ok() && r->Name() == named->Name() && si.image.manifest_digest == named->digest) {
        found = &si.image;
        break;
      }
    }
  } else if (named.ok()) {
    Result<image::ImageRef> want = image::ParseImageRef(source);
    if (want.ok()) {
      for (const auto& si : images) {
        if (si.ref == want->ToString()) {
          found = &si.image;
          break;
        }
      }
    }
  }
  if (found == nullptr) {
    // Docker then tries SOURCE as an image ID or a unique prefix of one.
    std::string_view hex = IdHex(source);
    if (hex.empty()) return NoSuchImage(source);
    const std::string prefix = "sha256:" + std::string(hex);
    for (const auto& si : images) {
      if (si.image.config_digest.compare(0, prefix.size(), prefix) != 0) continue;
      if (found != nullptr && found->config_digest != si.image.config_digest) {
        return NoSuchImage(source);  // two images share the prefix
      }
      found = &si.image;
    }
    if (found == nullptr) return NoSuchImage(source);
  }
  return store.Tag(target, *found);
}

}  // namespace latchkey::cli
