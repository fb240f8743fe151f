#include "registry/blob_sources.h"

#include "builder/image/digest.h"
#include "builder/image/fs_util.h"

namespace latchkey::registry {
namespace {

std::string SourcePath(const image::BlobStore& blobs, const std::string& digest) {
  return blobs.root() + "/sources/sha256/" + std::string(image::DigestHex(digest));
}

}  // namespace

Status RecordBlobSource(const image::BlobStore& blobs, const std::string& digest,
                        const BlobSource& source) {
  LK_RETURN_IF_ERROR(image::MakeDirs(blobs.root() + "/sources/sha256", 0700));
  return image::WriteFileAtomic(SourcePath(blobs, digest),
                                source.host + "/" + source.repository + "\n", 0600);
}

std::optional<BlobSource> LookupBlobSource(const image::BlobStore& blobs,
                                           const std::string& digest) {
  if (!blobs.Has(digest)) return std::nullopt;
  auto text = image::ReadFile(SourcePath(blobs, digest));
  if (!text.ok()) return std::nullopt;
  std::string line = text->substr(0, text->find('\n'));
  size_t slash = line.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == line.size()) return std::nullopt;
  return BlobSource{line.substr(0, slash), line.substr(slash + 1)};
}

}  // namespace latchkey::registry
