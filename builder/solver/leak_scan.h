// LeakScanner: the build's leak guard. Before anything is exported, the builder scans every new
// layer, the image config, its history and the captured build output for every secret value the
// session handed out, raw and in the encodings a careless step is likely to write.
//
// Patterns per secret value: every form of secure/secret_patterns.h -- the raw bytes; base64
// cores in the standard and URL-safe alphabets at all three alignments, so a value encoded after
// 1 or 2 other bytes -- `printf 'user:%s' "$v" | base64` -- is found; lower- and upper-case hex;
// URL percent-encoding in upper- and lower-case hex -- and the same for every credential part of
// the value (DeriveSecretParts: an .npmrc token, a URL's password, a JSON `auth`, a PEM body
// ...), reported as encoding "part <name>". It is the list the redactor masks.
//
// All patterns of all secrets go into one SecretMatcher -- the Aho-Corasick automaton the
// redactor uses too -- that reads each byte once, whatever the number of secrets. Its tables
// are in secure memory (sodium_malloc'd, wiped on destruction, sealed read-only); the pattern
// bytes exist only in SecretBuffers and only while Create() runs. No secret byte is ever put in
// a std::string, and findings never carry one: an entry name that itself contains a secret is
// reported with every match masked as the redactor masks it (SecretMatcher::Mask, "****").
//
// Thread-safety: a LeakScanner is immutable after Create(); Scan* are const and may run
// concurrently. Copies share the automaton.
#ifndef LATCHKEY_BUILDER_SOLVER_LEAK_SCAN_H_
#define LATCHKEY_BUILDER_SOLVER_LEAK_SCAN_H_

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "builder/image/layer_writer.h"
#include "latchkey/status.h"
#include "secure/secret_buffer.h"
#include "secure/secret_matcher.h"

namespace latchkey::build {

// Values shorter than this are not scanned for (they would match ordinary bytes); documented in
// docs/builder.md.
inline constexpr size_t kMinLeakScanLength = 4;

struct LeakFinding {
  std::string secret_id;
  // "raw", "base64", "base64url", "hex", "HEX", "url"; for a part of the value the same with
  // "part " in front ("part raw", "part base64", ...).
  std::string encoding;
  // The tar entry name ("app/x.txt"; matches of secrets in the name masked as "****"), or for
  // text scans the `where` given.
  std::string path;
  // "data", "name", "linkname", "uname", "gname", "xattr <key>" (key masked like the path), or
  // "text".
  std::string part;

  friend bool operator==(const LeakFinding&, const LeakFinding&) = default;
};

// The leak scan of a layer while WriteLayer writes it (image::LayerObserver): the same
// findings, in the same order, as LeakScanner::ScanLayerFile on the finished blob, without
// reading the blob again. Made by LeakScanner::StartLayerScan; shares the scanner's automaton
// and secret ids (the scanner must outlive it). One layer, one thread.
class LayerLeakScan : public image::LayerObserver {
 public:
  ~LayerLeakScan() override;
  Status OnEntry(struct archive_entry* entry) override;
  Status OnData(const void* data, size_t size) override;
  // The findings so far (all of them once WriteLayer returned OK).
  std::vector<LeakFinding> TakeFindings();

 private:
  friend class LeakScanner;
  struct State;
  LayerLeakScan(std::shared_ptr<const SecretMatcher> matcher, const std::vector<std::string>& ids);
  std::unique_ptr<State> state_;
};

class LeakScanner {
 public:
  // A scanner with nothing to look for.
  LeakScanner() = default;

  // Builds the patterns of every released value (see the file comment). Values that are null,
  // empty or shorter than kMinLeakScanLength are skipped, and so is every id in `allowed`
  // (--allow-secret-leak). An id listed twice is scanned for under both values. Fails only when
  // secure memory runs out (RESOURCE_EXHAUSTED) -- or, for more than 2 GiB of patterns, with
  // INVALID_ARGUMENT from SecretMatcher::Build.
  static Result<LeakScanner> Create(
      const std::vector<std::pair<std::string, std::shared_ptr<const SecretBuffer>>>& released,
      const std::set<std::string>& allowed);

  // True when there is nothing to look for (every value allowed, short or empty).
  bool empty() const { return matcher_ == nullptr; }
  // Number of patterns in the automaton (all secrets, all encodings).
  size_t pattern_count() const { return matcher_ != nullptr ? matcher_->pattern_count() : 0; }
  // True when the automaton is the full DFA table (LeakMatcher::dense()); false for the sparse
  // trie used when the table would exceed LeakMatcher::kDefaultDenseBudget (large values).
  bool uses_dense_table() const;

  // Streams one layer blob (gzip -- or any compression libarchive reads -- or plain tar) and
  // reports, in tar order, at most one finding per (secret id, entry, part): for each entry its
  // name, link target, owner names, pax xattrs (keys and values) and file data. File data is fed
  // block by block with the automaton's state carried across blocks (reset per entry and part),
  // so a match spanning read chunks is found; sparse-file holes count as zero bytes. Once every
  // secret has been found in a part, the rest of it is skipped. Returns at once, reading nothing,
  // when empty(). A gzip blob is inflated with its CRC and length checked (image/layer_stream.h).
  // Errors: "leak scan: open <path>: <strerror>" / "leak scan: read <path>: <strerror>"
  // (NOT_FOUND, PERMISSION_DENIED, INTERNAL); DATA_LOSS "leak scan: <path>: gzip data is
  // corrupt: <zlib message>", "leak scan: <path>: gzip data is truncated", or "leak scan: <path>:
  // <libarchive message>" (e.g. "Unrecognized archive format") for a corrupt blob.
  Result<std::vector<LeakFinding>> ScanLayerFile(const std::string& blob_path) const;

  // A scan to hand WriteLayer as LayerOptions::observer: the layer is scanned as it is written
  // (one pass over its bytes). nullptr when empty().
  std::unique_ptr<LayerLeakScan> StartLayerScan() const;

  // Scans what a step changed in a directory that outlives it (a cache mount): every entry under
  // `root` whose ctime is at or after `since` (changed_tree.h) -- its name, its symlink target
  // and, for a regular file, its data -- reporting as ScanLayerFile does, with the path relative
  // to `root` (secret bytes masked). Errors: those of WalkChangedTree, and "leak scan: open|read
  // <root>/<path>: <strerror>".
  Result<std::vector<LeakFinding>> ScanChangedTree(const std::string& root,
                                                   const struct timespec& since) const;

  // Scans text (config JSON, history, captured output): at most one finding per secret id, in
  // order of first occurrence. `where` becomes LeakFinding::path; part "text".
  std::vector<LeakFinding> ScanText(std::string_view text, std::string_view where) const;

 private:
  // Pattern owners are indexes into secret_ids_.
  std::shared_ptr<const SecretMatcher> matcher_;
  std::vector<std::string> secret_ids_;
};

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_LEAK_SCAN_H_
