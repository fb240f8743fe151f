// The leak guard for an image Docker Engine built (`latchkey build --builder docker`): the
// image's `docker save` tar stream (the Engine API's GET /images/<id>/get) is scanned, in one
// pass and without a temporary file, for every secret value the session released, with the
// embedded build's scanner (builder/solver/leak_scan.h) and refused in the embedded build's
// words (builder/solver/leak_report.h).
//
// The stream: Docker Engine 20.10's legacy layout -- manifest.json
// [{"Config":"<hex>.json","RepoTags":[...],"Layers":["<dir>/layer.tar",...]}], the image config
// <hex>.json, each layer as an uncompressed <dir>/layer.tar (beside <dir>/json and
// <dir>/VERSION), `repositories` -- in any order; a layer whose content repeats an earlier one
// is a symlink (or hard link) to that one's layer.tar. Newer Engines' OCI layout (blobs/sha256/
// <hex> listed in the same manifest.json) is read too: an entry is a layer when its name ends
// in "layer.tar" or its first 512-byte block is a tar header (or an end-of-archive block).
//
// What is scanned: every layer's tar entries -- names, link targets, owner names, xattrs, data,
// as LeakScanner::ScanLayerFile does -- and the data of every other entry (the config with its
// history, labels and env, the per-layer `json`, the manifest) as text, both as written and with
// its JSON escapes resolved (Go's encoder writes '&' as \u0026, a newline as \n). The outer
// entries' names are Docker's own (hex ids) and are not scanned.
//
// Secret bytes: the stream passes through secure buffers only (sodium_malloc'd, wiped); an
// entry name is reported masked as the scanner masks it; the manifest and the config are
// parsed only after SecretRegistry::Global() (which holds every value a broker session released)
// masked them, so a layer's history instruction is redacted before it is kept.
//
// Thread-safety: pure functions; the scanner is only read.
#ifndef LATCHKEY_CLI_DOCKER_IMAGE_SCAN_H_
#define LATCHKEY_CLI_DOCKER_IMAGE_SCAN_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "builder/solver/leak_scan.h"
#include "latchkey/status.h"
#include "secure/redactor.h"
#include "secure/secret_buffer.h"

namespace latchkey::cli {

// Reads up to `cap` bytes of the `docker save` stream into `buf`; returns how many, 0 at its
// end, or an error (passed through unchanged by the functions below).
using DockerTarRead = std::function<Result<size_t>(void* buf, size_t cap)>;

// The largest entry of the stream that is not a layer (config, manifest, a layer's `json`):
// anything larger is refused, as no metadata file of an image comes near it.
inline constexpr size_t kMaxDockerMetadataSize = 16u << 20;

// One layer of the image, in manifest.json's order.
struct DockerLayerLeaks {
  size_t number = 0;  // 1-based index in manifest.json's "Layers"
  std::string path;   // as listed there ("<dir>/layer.tar")
  // The instruction that made the layer, from the config's history (its non-empty_layer entries
  // in order are the layers): BuildKit's "RUN /bin/sh -c cp a b # buildkit" as "RUN cp a b",
  // its first line, at most kMaxInstructionLength characters ("..." after the cut), redacted.
  // Empty when the history does not say (its entries do not match the layers, or the config is
  // not JSON).
  std::string instruction;
  // The layer's digest from the config's rootfs.diff_ids ("sha256:<hex>" of the uncompressed
  // tar, what the audit log's leak.finding names a layer by); empty when the config does not
  // list one per layer.
  std::string diff_id;
  // In tar order, at most one per (secret, entry, part); paths relative to the layer's root.
  std::vector<build::LeakFinding> findings;
};

inline constexpr size_t kMaxInstructionLength = 60;

struct DockerImageLeaks {
  std::vector<DockerLayerLeaks> layers;  // every layer of the manifest, in its order
  // Findings in the config and the other metadata entries: path is the entry name
  // ("<hex>.json", "<dir>/json", "manifest.json"), part "text"; at most one per (secret, entry).
  std::vector<build::LeakFinding> metadata;
  // True when nothing was found.
  bool clean() const;
};

// Scans the stream (see the file comment) for every value `scanner` holds; `image` names the
// image in errors (its id, "sha256:..."). Reads the stream to its end. Errors, all DATA_LOSS
// and starting "leak scan of Docker image <image>: " but the read callback's own, returned as
// it is:
//   "the image export is not a tar archive: <libarchive message>"   (at the first header)
//   "the image export is corrupt: <libarchive message>"             (later, e.g. truncated)
//   "layer <path> is not a valid tar archive: <libarchive message>"
//   "<path> is <N> bytes, more than an image metadata file may be (16 MiB)"
//   "the image export has no manifest.json (is it a docker save archive?)"
//   "manifest.json is not valid JSON (at byte <N>)"
//   "manifest.json lists <N> images, expected one"
//   "manifest.json is not a docker save manifest (expected [{\"Config\": ..., \"Layers\":
//    [...]}])"
//   "the image config <path> listed in manifest.json is not in the image export"
//   "layer <N> (<path>) listed in manifest.json is not in the image export"
//   "layer <N> (<path>) listed in manifest.json is not a tar archive"
// RESOURCE_EXHAUSTED when secure memory runs out. With an empty() scanner nothing is read and
// the result has no layers.
Result<DockerImageLeaks> ScanDockerImage(const build::LeakScanner& scanner,
                                         const DockerTarRead& read, std::string_view image,
                                         const SecretRegistry& redactor = SecretRegistry::Global());

// "layer 2 of the Docker image (RUN cp /run/secrets/x /leak)", or without the parenthesis when
// the instruction is not known: the container FormatLeakError names.
std::string DockerLayerName(const DockerLayerLeaks& layer);

// The guard's verdict on `leaks`, as an embedded build's final scan words it: the first layer
// (in manifest order) with a finding of a secret not in `allowed` gives FAILED_PRECONDITION
// `secret "x" leaked into layer 2 of the Docker image (RUN cp /run/secrets/x /leak) at /leak;
// <consequence> (if this is intended, pass --allow-secret-leak x)`; else any metadata finding
// gives `secret "x" leaked into the image config (its history, labels or env); <consequence>
// (...)`; else OK. Each finding of an allowed secret adds, once per secret and layer, to
// `warnings` (may be null) `WARNING: secret "x" leaked into layer 2 of the Docker image (...) at
// /leak; allowed by --allow-secret-leak` (or "into the image config (its history, labels or
// env); allowed by --allow-secret-leak").
Status JudgeDockerImageLeaks(const DockerImageLeaks& leaks, const std::set<std::string>& allowed,
                             const std::string& consequence, std::vector<std::string>* warnings);

// What CheckDockerImageLeaks reports besides its status; every member may be null.
struct DockerLeakCheckOutput {
  std::vector<std::string>* warnings = nullptr;  // as JudgeDockerImageLeaks
  DockerImageLeaks* leaks = nullptr;  // every finding, allowed or not (for the audit log)
};

// The whole guard: a scanner for every value in `released` (allowed ones included, so their
// findings become warnings), ScanDockerImage, JudgeDockerImageLeaks. When no released value is
// long enough to be scanned for (kMinLeakScanLength) it returns OK without calling `read`.
// `consequence` is what the caller did about the image ("the image was removed from Docker
// Engine"). Errors: ScanDockerImage's, LeakScanner::Create's, or the FAILED_PRECONDITION refusal.
Status CheckDockerImageLeaks(
    const std::vector<std::pair<std::string, std::shared_ptr<const SecretBuffer>>>& released,
    const std::set<std::string>& allowed, const DockerTarRead& read, std::string_view image,
    const std::string& consequence, const DockerLeakCheckOutput& out = {});

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_DOCKER_IMAGE_SCAN_H_
