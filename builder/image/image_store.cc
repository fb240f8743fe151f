#include "builder/image/image_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <ctime>

#include "builder/image/image_import.h"
#include "builder/image/layer_writer.h"
#include "builder/image/media_types.h"

namespace latchkey::image {

std::string FormatRfc3339(int64_t seconds) {
  time_t t = static_cast<time_t>(seconds);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string ImportHint(std::string_view ref) {
  const std::string r(ref);
  return "make a base image: mmdebstrap --variant=minbase bookworm ROOTFS && latchkey image "
         "import --rootfs ROOTFS -t " +
         r + "; or import one: latchkey image import --oci-layout DIR[:TAG] -t " + r +
         " (or --archive FILE for an OCI or docker save archive)";
}

namespace {

Status NotInStore(std::string_view ref) {
  const std::string r(ref);
  return NotFoundError("image \"" + r + "\" is not in the local store. Pull it: latchkey pull " +
                       r + "; or " + ImportHint(r) + "; or build it with -t " + r);
}

// The store's index, read under its lock (held as long as this lives), without the entries
// named `name`.
struct LockedIndex {
  FileLock lock;
  std::vector<IndexEntry> others;
  size_t total = 0;  // entries in the index, `name`'s included
};

Result<LockedIndex> LockIndexWithout(const std::string& layout, const std::string& name) {
  LK_ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(layout + "/index.lock"));
  LK_ASSIGN_OR_RETURN(auto entries, ReadIndex(layout));
  LockedIndex index{std::move(lock), {}, entries.size()};
  for (auto& e : entries) {
    if (e.ref_name != name) index.others.push_back(std::move(e));
  }
  return index;
}

}  // namespace

Result<ImageStore> ImageStore::Open(const std::string& state_dir, base::Env* env) {
  if (state_dir.empty()) return InvalidArgumentError("image store: empty state directory");
  const std::string layout = state_dir + "/images";
  LK_RETURN_IF_ERROR(MakeDirs(layout, 0755));
  LK_ASSIGN_OR_RETURN(BlobStore blobs, BlobStore::Open(layout, env));
  struct stat st;
  if (::stat((layout + "/oci-layout").c_str(), &st) != 0) {
    LK_RETURN_IF_ERROR(base::WriteFileAtomic(*env, layout + "/oci-layout", kOciLayoutFile, 0644));
  }
  return ImageStore(state_dir, std::move(blobs));
}

Status ImageStore::Put(std::string_view manifest_digest, std::string_view ref) {
  LK_ASSIGN_OR_RETURN(ImageRef r, ParseImageRef(ref));
  LK_ASSIGN_OR_RETURN(Image img, LoadImage(blobs_, manifest_digest));
  return Tag(r.ToString(), img);
}

Status ImageStore::Tag(std::string_view ref, const Image& image) {
  LK_ASSIGN_OR_RETURN(ImageRef r, ParseImageRef(ref));
  LK_ASSIGN_OR_RETURN(std::string unused, blobs_.Path(image.manifest_digest));
  (void)unused;
  const std::string name = r.ToString();
  LK_ASSIGN_OR_RETURN(LockedIndex index, LockIndexWithout(layout_dir(), name));
  std::vector<IndexEntry>& kept = index.others;
  kept.push_back(ImageIndexEntry(image, name));
  std::sort(kept.begin(), kept.end(),
            [](const IndexEntry& a, const IndexEntry& b) { return a.ref_name < b.ref_name; });
  return WriteIndex(layout_dir(), kept, *blobs_.env());
}

Result<Image> ImageStore::Resolve(std::string_view ref) const {
  LK_ASSIGN_OR_RETURN(ImageRef r, ParseImageRef(ref));
  const std::string name = r.ToString();
  LK_ASSIGN_OR_RETURN(auto entries, ReadIndex(layout_dir()));
  for (const auto& e : entries) {
    if (e.ref_name == name) {
      auto img = LoadImage(blobs_, e.digest);
      if (!img.ok()) return img.status().WithPrefix("image \"" + std::string(ref) + "\"");
      return img;
    }
  }
  return NotInStore(ref);
}

Result<std::vector<StoredImage>> ImageStore::List() const {
  LK_ASSIGN_OR_RETURN(auto entries, ReadIndex(layout_dir()));
  std::vector<StoredImage> out;
  for (const auto& e : entries) {
    if (e.ref_name.empty()) continue;
    auto img = LoadImage(blobs_, e.digest);
    if (!img.ok()) return img.status().WithPrefix("image \"" + e.ref_name + "\"");
    out.push_back(StoredImage{e.ref_name, std::move(*img)});
  }
  std::sort(out.begin(), out.end(),
            [](const StoredImage& a, const StoredImage& b) { return a.ref < b.ref; });
  return out;
}

Status ImageStore::Remove(std::string_view ref) {
  LK_ASSIGN_OR_RETURN(ImageRef r, ParseImageRef(ref));
  const std::string name = r.ToString();
  LK_ASSIGN_OR_RETURN(LockedIndex index, LockIndexWithout(layout_dir(), name));
  if (index.others.size() == index.total) return NotInStore(ref);
  return WriteIndex(layout_dir(), index.others, *blobs_.env());
}

Result<Image> ImageStore::ImportRootfs(const std::string& rootfs_dir, std::string_view ref,
                                       const ImportOptions& options) {
  LK_ASSIGN_OR_RETURN(ImageRef r, ParseImageRef(ref));
  struct stat st;
  if (::stat(rootfs_dir.c_str(), &st) != 0) {
    return ErrnoStatus("import: root filesystem", rootfs_dir, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return InvalidArgumentError("import: root filesystem " + rootfs_dir +
                                " is not a directory (for an OCI or docker save archive use "
                                "--archive " +
                                rootfs_dir + ")");
  }
  if (IsOciLayoutDir(rootfs_dir)) {
    return InvalidArgumentError(
        "import: " + rootfs_dir +
        " is an OCI image layout, not a root filesystem; use --oci-layout " + rootfs_dir);
  }
  LayerOptions lo;
  lo.source = LayerSource::kRootfs;
  lo.source_date_epoch = options.source_date_epoch;
  LK_ASSIGN_OR_RETURN(LayerDescriptor layer, WriteLayer(rootfs_dir, lo, blobs_));

  frontend::ImageConfig c = frontend::ImageConfig::Scratch();
  c.architecture = options.architecture;
  for (const auto& kv : options.env) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgumentError("import: environment entry \"" + kv + "\" must be KEY=value");
    }
    c.SetEnv(kv.substr(0, eq), kv.substr(eq + 1));
  }
  c.entrypoint = options.entrypoint;
  if (options.cmd) {
    c.cmd = options.cmd;
  } else if (::lstat((rootfs_dir + "/bin/sh").c_str(), &st) == 0) {
    c.cmd = std::vector<std::string>{"/bin/sh"};
  }
  int64_t now = options.source_date_epoch ? *options.source_date_epoch
                                          : static_cast<int64_t>(::time(nullptr));
  c.created = FormatRfc3339(now);
  frontend::HistoryEntry h;
  h.created = c.created;
  h.created_by = "latchkey image import";
  c.history.push_back(h);
  LK_ASSIGN_OR_RETURN(Image img, CommitImage(std::move(c), {layer}, blobs_));
  LK_RETURN_IF_ERROR(Tag(r.ToString(), img));
  return img;
}

}  // namespace latchkey::image
