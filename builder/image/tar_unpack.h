// The one hostile-input-safe tar unpacker: layer extraction (layer_extract.h) and ADD's archive
// unpacking (build/copy_untar.h) are two option sets of it.
//
// Hostile input. Every entry name, symlink-then-file path and hardlink target is resolved
// inside the destination with openat2(RESOLVE_IN_ROOT) (base/in_root.h): "../x",
// "/etc/passwd", a symlink "a -> /" followed by "a/etc/passwd", a hardlink to
// "../../../etc/shadow" all land inside (or fail inside) the destination; nothing outside it is
// read, written, linked or removed. An entry replaces whatever is at its path (without following
// a symlink there); a directory over a directory merges. Only the xattrs "user.*" and
// "security.capability" are ever applied (a tar cannot plant trusted.overlay xattrs). Entry types
// other than file, dir, symlink, hardlink, char/block device and fifo are rejected. Directory
// modes, owners and mtimes are applied last, deepest first.
//
// Whiteouts (UnpackOptions::whiteouts):
//  * kNone (ADD): ".wh.*" entries are ordinary files, as in Docker's ADD.
//  * kOverlay (overlay lowerdirs, the layer cache): ".wh.x" becomes a 0/0 character device "x"
//    and ".wh..wh..opq" sets trusted.overlay.opaque=y on its directory.
//  * kApply (flattening into one directory): ".wh.x" removes x and ".wh..wh..opq" removes every
//    child of its directory that this tar did not itself create.
//
// Cancellation (UnpackOptions::cancel) is polled before each entry and after each 64 KiB of a
// file's data; its error is returned unchanged. What was unpacked so far stays in the
// destination: callers unpack into a directory they publish only on success (the layer cache)
// or discard (ADD's step result is not committed once the build is cancelled).
//
// Thread-safety: a TarUnpacker is used by one thread; unpackers into distinct destinations may
// run concurrently.
#ifndef LATCHKEY_BUILDER_IMAGE_TAR_UNPACK_H_
#define LATCHKEY_BUILDER_IMAGE_TAR_UNPACK_H_

#include <sys/types.h>
#include <unistd.h>

#include <ctime>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/cancel.h"
#include "latchkey/status.h"

struct archive;
struct archive_entry;

namespace latchkey::image {

enum class WhiteoutMode { kNone, kOverlay, kApply };

struct UnpackOptions {
  WhiteoutMode whiteouts = WhiteoutMode::kNone;
  // Apply entry uid/gid (a non-root process cannot).
  bool chown = ::geteuid() == 0;
  // Apply the "user.*" and "security.capability" xattrs of files and directories.
  bool xattrs = false;
  // Entries that name the destination itself ("./", "a/.."): when false, a directory entry's
  // metadata is applied to the destination and any other type is INVALID_ARGUMENT
  // `entry "./": would replace the root directory`; when true they are ignored.
  bool keep_destination = false;
  // Put before `entry "<name>"` in every error (e.g. "ADD x.tar: ").
  std::string error_prefix;
  // The end of `hardlink target "<t>" ...` when the target is not in the destination.
  std::string missing_hardlink_text = "is not in the layer";
  // Do not create character or block device nodes (a host directory never gets them); each
  // skipped entry's image path is listed in TarUnpacker::skipped_devices(). Fifos are created.
  bool skip_devices = false;
  // Polled per entry and per 64 KiB of file data (base/cancel.h); empty: never cancelled.
  base::CancelCheck cancel;
};

// The option set of layer extraction (layer_extract.h): `whiteouts` as given, xattrs applied,
// an entry naming the root applies a directory's metadata.
UnpackOptions LayerUnpackOptions(WhiteoutMode whiteouts, bool chown);

// ADD's option set (build/copy_untar.h): no whiteouts, no xattrs, entries naming the destination
// ignored, errors prefixed "<display>: ", a missing hardlink target "is not a file in the
// archive".
UnpackOptions AddUnpackOptions(std::string_view display);

// Unpacks entries, one call per entry, into the directory open as `root_fd` (which must outlive
// the unpacker), then Finish(). Errors name the entry: `entry "a/b": symlink without a target`.
class TarUnpacker {
 public:
  TarUnpacker(int root_fd, UnpackOptions options);

  // Creates the entry `e` (whose data, for a regular file, is read from `a`).
  Status Entry(struct archive* a, struct archive_entry* e);
  // Applies directory modes, owners and mtimes (creating children changes a dir's mtime).
  Status Finish();
  // The image paths ("/dev/mem") of device entries not created because of skip_devices.
  std::vector<std::string>& skipped_devices() { return skipped_devices_; }

 private:
  struct DirMeta {
    mode_t mode;
    uid_t uid;
    gid_t gid;
    struct timespec mtime;
  };
  static DirMeta Meta(struct archive_entry* e);
  Status ClearLeaf(int parent, const std::string& leaf, bool new_is_dir);
  Status Whiteout(const std::vector<std::string>& parts, const std::string& parent_rel,
                  const std::string& leaf, struct archive_entry* e);
  Status Hardlink(int parent, const std::string& leaf, const char* target);
  Status Dir(int parent, const std::string& leaf, const std::string& rel, struct archive_entry* e);
  Status File(struct archive* a, int parent, const std::string& leaf, struct archive_entry* e);
  Status Symlink(int parent, const std::string& leaf, struct archive_entry* e);
  Status Node(int parent, const std::string& leaf, mode_t type, struct archive_entry* e);
  Status OwnerAndTimes(int parent, const std::string& leaf, struct archive_entry* e);
  Status Xattrs(int fd, struct archive_entry* e);

  int root_;
  UnpackOptions opts_;
  std::string display_;                  // `<prefix>entry "<name>"` of the current entry
  std::map<std::string, DirMeta> dirs_;  // directory metadata to apply in Finish
  std::set<std::string> written_;        // paths this tar created (for kApply opaque dirs)
  std::vector<std::string> skipped_devices_;
};

// True when the regular file open as `fd` (readable) starts a tar archive after optional
// gzip, bzip2, xz or zstd decompression (in-process decompressors only). Leaves the file
// position undefined.
bool IsTarArchive(int fd);

// Unpacks the (optionally compressed, as for IsTarArchive) tar in `fd`, from offset 0, into the
// directory `dest_fd`. Archive-level errors are DATA_LOSS `<prefix>cannot read the archive` or
// `<prefix><libarchive's message>`.
Status UnpackArchive(int fd, int dest_fd, const UnpackOptions& options);

}  // namespace latchkey::image

#endif  // LATCHKEY_BUILDER_IMAGE_TAR_UNPACK_H_
