// COPY and ADD, with BuildKit's semantics, done safely from the host.
//
// Sources are read inside their root (the build context, or the read-only rootfs of another
// stage or image) and written inside the step's root filesystem, every lookup with
// openat2(RESOLVE_IN_ROOT): "../../etc/passwd", absolute symlinks and "../" symlinks on either
// side never reach a host path.
//
// Thread-safety: the functions keep no state; concurrent calls are safe when they write to
// different destination roots.
#ifndef LATCHKEY_BUILDER_SOLVER_COPY_H_
#define LATCHKEY_BUILDER_SOLVER_COPY_H_

#include <string>
#include <vector>

#include "builder/frontend/instructions.h"
#include "builder/solver/dockerignore.h"
#include "latchkey/status.h"

namespace latchkey::build {

// Where the sources of one COPY/ADD come from. Not owned: `ignore` must outlive the call.
struct CopySourceRoot {
  std::string dir;  // the build context dir, or the (read-only, mounted) rootfs of a stage/image
  const IgnoreMatcher* ignore = nullptr;  // the context's .dockerignore; nullptr otherwise
  bool is_context = true;  // context files become 0:0 unless --chown; others keep uid/gid
  std::string display = "build context";  // "build context", "stage \"build\"", "image \"x\""
};

// One COPY/ADD, after variable expansion.
struct CopyInstruction {
  bool add = false;  // ADD: a local tar (plain/gzip/bzip2/xz/zstd) is unpacked into dest
  std::vector<std::string> sources;  // may hold wildcards (*, ?, [..]) as Go filepath.Match
  std::vector<frontend::SourceContent> inline_sources;  // heredoc sources (`COPY <<EOF /x`)
  std::string dest;
  std::string workdir = "/";  // a relative dest is relative to it
  std::string chown;          // "" | user[:group] | uid[:gid], looked up in the DESTINATION rootfs
  std::string chmod;          // "" | octal like 755 / 0644
  std::vector<std::string> excludes;  // COPY --exclude patterns (dockerignore syntax)
};

// A stable "sha256:<hex>" over everything the copy reads (relative names, types, modes,
// ownership for non-context sources, file contents, symlink targets, inline sources) and the
// instruction fields that change the result (dest, workdir, chown, chmod, add, excludes).
// Independent of mtimes and readdir order. Reads nothing outside src.dir. Errors for missing,
// excluded or unmatched sources are those of ExecuteCopy.
Result<std::string> CopySourceDigest(const CopySourceRoot& src, const CopyInstruction& ins);

// Copies into `dest_root` (the step's merged root filesystem) with BuildKit's semantics:
//  * "../x" and "/x" sources are cleaned to inside the root; a top-level source symlink is
//    followed inside the root; symlinks inside copied directories are copied as symlinks;
//    hard links inside one source stay hard links.
//  * A directory source copies its contents. A file lands at dest/<basename> when dest ends in
//    '/' (or is ".", or an existing directory), else at dest. Missing parents are created 0755,
//    owned by the --chown user, else root.
//  * More than one source item (after wildcard expansion, counting heredocs) needs a
//    directory destination.
//  * Context sources: .dockerignore'd files are invisible; owner 0:0 unless --chown; mtimes
//    kept; modes kept unless --chmod (applied to the files and directories copied).
//  * ADD: remote sources are refused; a local tar archive is unpacked into dest (entries
//    cannot escape it; entry owners and modes kept); anything else is copied like COPY.
// Errors (exact):
//   NOT_FOUND "\"<src>\": not found in <display>"
//   NOT_FOUND "\"<src>\": excluded by .dockerignore in <display>"
//   NOT_FOUND "\"<src>\": no source files were specified" (a wildcard matching nothing)
//   INVALID_ARGUMENT "When using COPY with more than one source file, the destination must be
//     a directory and end with a /" (ADD says ADD)
//   INVALID_ARGUMENT "unable to convert uid/gid chown string to host mapping: can't find uid
//     for user <name>: no such user: <name>" (and "can't find gid for group <g>: no such
//     group: <g>")
//   INVALID_ARGUMENT "invalid chmod parameter: <value>"
//   INVALID_ARGUMENT "ADD <src>: remote sources are not supported yet (latchkey builds
//     offline); download it into the context and COPY it"
// On failure the destination may hold part of the copy (the caller discards the step's layer).
Status ExecuteCopy(const CopySourceRoot& src, const CopyInstruction& ins,
                   const std::string& dest_root);

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_COPY_H_
