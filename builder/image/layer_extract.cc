#include "builder/image/layer_extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>

#include "base/owner_lock.h"
#include "builder/image/digest.h"
#include "builder/image/layer_stream.h"
#include "builder/image/media_types.h"
#include "builder/image/tar_unpack.h"

namespace latchkey::image {

ExtractOptions::ExtractOptions() : chown(::geteuid() == 0) {}

namespace {

struct ReadArchiveDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};

}  // namespace

Result<ExtractResult> ExtractLayerTo(const std::string& layer_path, const std::string& dest,
                                     const ExtractOptions& options) {
  const std::string prefix = "extract layer " + layer_path;
  LK_RETURN_IF_ERROR(base::PollCancel(options.cancel));
  UniqueFd fd(::open(layer_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus("open", layer_path, errno).WithPrefix("extract layer");
  UniqueFd root(::open(dest.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return ErrnoStatus("open destination", dest, errno).WithPrefix(prefix);

  auto stream = LayerStream::Open(std::move(fd), layer_path, /*hash=*/true);
  if (!stream.ok()) return stream.status().WithPrefix(prefix);
  LayerStream& reader = **stream;
  std::unique_ptr<struct archive, ReadArchiveDeleter> a(archive_read_new());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_empty(a.get());
  if (archive_read_open(a.get(), &reader, nullptr, ArchiveReadLayerStream, nullptr) != ARCHIVE_OK) {
    if (!reader.error().ok()) return reader.error().WithPrefix(prefix);
    return DataLossError(prefix + ": not a tar archive: " + archive_error_string(a.get()));
  }
  UnpackOptions unpack = LayerUnpackOptions(options.whiteouts, options.chown);
  unpack.skip_devices = options.skip_devices;
  Status cancelled;  // the check's status, returned without the prefix
  if (options.cancel) {
    unpack.cancel = [&]() {
      cancelled = options.cancel();
      return cancelled;
    };
  }
  TarUnpacker ex(root.get(), std::move(unpack));
  ExtractResult result;
  for (;;) {
    struct archive_entry* e = nullptr;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      if (!reader.error().ok()) return reader.error().WithPrefix(prefix);
      return DataLossError(prefix + ": corrupt tar: " + archive_error_string(a.get()));
    }
    ++result.entries;
    Status st = ex.Entry(a.get(), e);
    if (!st.ok()) {
      if (!cancelled.ok()) return cancelled;
      if (!reader.error().ok()) return reader.error().WithPrefix(prefix);
      return st.WithPrefix(prefix);
    }
  }
  LK_RETURN_IF_ERROR(ex.Finish().WithPrefix(prefix));
  LK_RETURN_IF_ERROR(reader.Drain().WithPrefix(prefix));
  result.digest = reader.Digest();
  result.diff_id = reader.DiffId();
  result.skipped_devices = std::move(ex.skipped_devices());
  if (!options.expected_digest.empty() && options.expected_digest != result.digest) {
    return DataLossError(prefix + ": content has digest " + result.digest + ", expected " +
                         options.expected_digest);
  }
  if (!options.expected_diff_id.empty() && options.expected_diff_id != result.diff_id) {
    return DataLossError(prefix + ": uncompressed content has diff_id " + result.diff_id +
                         ", expected " + options.expected_diff_id);
  }
  return result;
}

Result<std::string> ExtractLayer(const BlobStore& blobs, std::string_view digest,
                                 std::string_view diff_id, const std::string& state_dir,
                                 const base::CancelCheck& cancel) {
  if (!IsValidDigest(diff_id)) {
    return InvalidArgumentError("invalid diff_id \"" + std::string(diff_id) +
                                "\": want sha256:<64 lowercase hex digits>");
  }
  const std::string base = state_dir + "/layers";
  const std::string final_dir = base + "/sha256/" + std::string(DigestHex(diff_id));
  struct stat st;
  if (::stat(final_dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return final_dir;
  LK_ASSIGN_OR_RETURN(std::string blob, blobs.Path(digest));
  LK_RETURN_IF_ERROR(MakeDirs(base + "/sha256", 0700));
  LK_RETURN_IF_ERROR(MakeDirs(base + "/tmp", 0700));
  // Owned through <tmp>.lock until the rename, so that state recovery leaves it alone.
  LK_ASSIGN_OR_RETURN(
      base::OwnedDir owned,
      base::MakeOwnedTempDir(base + "/tmp", std::string(DigestHex(diff_id).substr(0, 12)) + "-"));
  const std::string tmp = owned.path;
  auto cleanup = [&](Status s) -> Result<std::string> {
    (void)RemoveAll(tmp);
    return s;
  };
  if (::chmod(tmp.c_str(), 0755) != 0) return cleanup(ErrnoStatus("chmod", tmp, errno));
  ExtractOptions opts;
  opts.whiteouts = WhiteoutMode::kOverlay;
  opts.expected_digest = std::string(digest);
  opts.expected_diff_id = std::string(diff_id);
  opts.cancel = cancel;
  auto r = ExtractLayerTo(blob, tmp, opts);
  if (!r.ok()) return cleanup(r.status());
  if (Status st = base::PollCancel(cancel); !st.ok()) return cleanup(st);
  {
    UniqueFd fd(::open(tmp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid() || ::syncfs(fd.get()) != 0) return cleanup(ErrnoStatus("sync", tmp, errno));
  }
  if (::rename(tmp.c_str(), final_dir.c_str()) != 0) {
    if (errno == EEXIST || errno == ENOTEMPTY) {  // another extractor won the race
      (void)RemoveAll(tmp);
      return final_dir;
    }
    return cleanup(ErrnoStatus("rename", tmp, errno));
  }
  LK_RETURN_IF_ERROR(FsyncDir(base + "/sha256"));
  return final_dir;
}

}  // namespace latchkey::image
