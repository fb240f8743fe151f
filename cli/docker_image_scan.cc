#include "cli/docker_image_scan.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "builder/solver/leak_report.h"

namespace latchkey::cli {
namespace {

using build::LeakFinding;
using build::LeakScanner;

// Read buffers: the stream's bytes, a layer's data and the metadata pass through secure memory.
constexpr size_t kReadBlock = 64u << 10;
constexpr size_t kTarBlock = 512;
// Zero bytes fed for a sparse hole: more than the longest pattern (the hex form of a 512000-byte
// value), so a match running into or out of the hole is found; longer runs of zeros add nothing.
constexpr uint64_t kMaxHoleFeed = (1u << 20) + (64u << 10);

std::string_view View(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::string LibarchiveError(struct archive* a) {
  const char* e = archive_error_string(a);
  return e != nullptr ? e : "unknown libarchive error";
}

struct ArchiveDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveDeleter>;

// "./a//b/" -> "a/b"; ".." components are resolved ("a/../b" -> "b"; above the root dropped).
std::string NormalizePath(std::string_view name) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= name.size()) {
    size_t j = name.find('/', i);
    if (j == std::string_view::npos) j = name.size();
    std::string_view part = name.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out;
  for (auto p : parts) out += (out.empty() ? "" : "/") + std::string(p);
  return out;
}

// The stream, as libarchive's read callback.
struct StreamReader {
  const DockerTarRead* read = nullptr;
  SecretBuffer buf;
  Status error = Status::OK();
  bool ended = false;  // the callback returned 0: it is not called again
};

la_ssize_t ReadStream(struct archive* a, void* client, const void** out) {
  auto* r = static_cast<StreamReader*>(client);
  Result<size_t> n = (*r->read)(r->buf.mutable_data(), r->buf.size());
  if (!n.ok() || *n > r->buf.size()) {
    r->error = n.ok() ? InternalError(
                            "docker save stream: the read callback returned more bytes "
                            "than asked for")
                      : n.status();
    archive_set_error(a, EIO, "read error");
    return -1;
  }
  *out = r->buf.data();
  if (*n == 0) r->ended = true;
  return static_cast<la_ssize_t>(*n);
}

// The data of the current entry of the outer archive, as libarchive's read callback for the
// inner (layer) archive: first the bytes already peeked, then the rest.
struct EntryReader {
  struct archive* outer = nullptr;
  SecretBuffer buf;
  size_t peeked = 0;
  bool peek_served = false;
  bool outer_failed = false;  // reading the outer archive failed (its error is the one to report)
};

la_ssize_t ReadEntry(struct archive* a, void* client, const void** out) {
  auto* r = static_cast<EntryReader*>(client);
  *out = r->buf.data();
  if (!r->peek_served) {
    r->peek_served = true;
    if (r->peeked > 0) return static_cast<la_ssize_t>(r->peeked);
  }
  la_ssize_t n = archive_read_data(r->outer, r->buf.mutable_data(), r->buf.size());
  if (n < 0) {
    r->outer_failed = true;
    archive_set_error(a, EIO, "read error");
    return -1;
  }
  return n;
}

// Reads up to one tar block of the current outer entry into r.buf (r.peeked bytes).
bool Peek(EntryReader& r) {
  r.peeked = 0;
  r.peek_served = false;
  while (r.peeked < kTarBlock) {
    la_ssize_t n =
        archive_read_data(r.outer, r.buf.mutable_data() + r.peeked, kTarBlock - r.peeked);
    if (n < 0) {
      r.outer_failed = true;
      return false;
    }
    if (n == 0) break;
    r.peeked += static_cast<size_t>(n);
  }
  return true;
}

// A first block that starts a tar archive: a header (ustar magic, POSIX or GNU) or the
// end-of-archive block of an empty one. JSON never starts with a NUL byte.
bool LooksLikeTar(const EntryReader& r) {
  if (r.peeked < kTarBlock) return false;
  const uint8_t* b = r.buf.data();
  if (std::memcmp(b + 257, "ustar", 5) == 0) return true;
  return std::all_of(b, b + kTarBlock, [](uint8_t c) { return c == 0; });
}

// Feeds `count` zero bytes (a sparse hole) to `scan`, at most kMaxHoleFeed of them.
Status FeedZeros(build::LayerLeakScan& scan, uint64_t count) {
  static constexpr uint8_t kZeros[4096] = {};
  for (uint64_t left = std::min(count, kMaxHoleFeed); left > 0;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(left, sizeof kZeros));
    LK_RETURN_IF_ERROR(scan.OnData(kZeros, n));
    left -= n;
  }
  return Status::OK();
}

// The layer's findings with their paths relative to the layer's root ("./x" -> "x").
std::vector<LeakFinding> RelativePaths(std::vector<LeakFinding> findings) {
  for (auto& f : findings) f.path = NormalizePath(f.path);
  return findings;
}

// JSON's escapes resolved everywhere in `text` (\" \\ \/ \b \f \n \r \t \uXXXX with surrogate
// pairs, as UTF-8); other bytes, and malformed escapes, are copied as they are. Never longer than
// `text`.
Result<SecretBuffer> JsonUnescaped(std::span<const uint8_t> text) {
  LK_ASSIGN_OR_RETURN(SecretBuffer out, SecretBuffer::Allocate(text.size()));
  uint8_t* o = out.mutable_data();
  size_t n = 0;
  auto hex4 = [&](size_t at) -> std::optional<uint32_t> {
    if (at + 4 > text.size()) return std::nullopt;
    uint32_t v = 0;
    for (size_t k = at; k < at + 4; ++k) {
      uint8_t c = text[k];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= c - '0';
      } else if (c >= 'a' && c <= 'f') {
        v |= c - 'a' + 10u;
      } else if (c >= 'A' && c <= 'F') {
        v |= c - 'A' + 10u;
      } else {
        return std::nullopt;
      }
    }
    return v;
  };
  for (size_t i = 0; i < text.size();) {
    if (text[i] != '\\' || i + 1 >= text.size()) {
      o[n++] = text[i++];
      continue;
    }
    uint8_t c = text[i + 1];
    const char* simple = std::strchr("\"\\/bfnrt", c);
    if (c != 0 && simple != nullptr) {
      static constexpr char kDecoded[] = "\"\\/\b\f\n\r\t";
      o[n++] = static_cast<uint8_t>(kDecoded[simple - "\"\\/bfnrt"]);
      i += 2;
      continue;
    }
    std::optional<uint32_t> cp = c == 'u' ? hex4(i + 2) : std::nullopt;
    if (!cp) {
      o[n++] = text[i++];
      continue;
    }
    size_t used = 6;
    if (*cp >= 0xD800 && *cp < 0xDC00 && i + 12 <= text.size() && text[i + 6] == '\\' &&
        text[i + 7] == 'u') {
      std::optional<uint32_t> low = hex4(i + 8);
      if (low && *low >= 0xDC00 && *low < 0xE000) {
        *cp = 0x10000 + ((*cp - 0xD800) << 10) + (*low - 0xDC00);
        used = 12;
      }
    }
    uint32_t v = *cp;
    if (v < 0x80) {
      o[n++] = static_cast<uint8_t>(v);
    } else if (v < 0x800) {
      o[n++] = static_cast<uint8_t>(0xC0 | (v >> 6));
      o[n++] = static_cast<uint8_t>(0x80 | (v & 0x3F));
    } else if (v < 0x10000) {
      o[n++] = static_cast<uint8_t>(0xE0 | (v >> 12));
      o[n++] = static_cast<uint8_t>(0x80 | ((v >> 6) & 0x3F));
      o[n++] = static_cast<uint8_t>(0x80 | (v & 0x3F));
    } else {
      o[n++] = static_cast<uint8_t>(0xF0 | (v >> 18));
      o[n++] = static_cast<uint8_t>(0x80 | ((v >> 12) & 0x3F));
      o[n++] = static_cast<uint8_t>(0x80 | ((v >> 6) & 0x3F));
      o[n++] = static_cast<uint8_t>(0x80 | (v & 0x3F));
    }
    i += used;
  }
  out.Truncate(n);
  out.Seal();
  return out;
}

// BuildKit's "RUN /bin/sh -c cp a b # buildkit" (also "RUN |1 A=b /bin/sh -c ...") as "RUN cp
// a b"; the classic builder's "/bin/sh -c #(nop)  COPY ..." as "COPY ..." and "/bin/sh -c cmd"
// as "RUN cmd". Its first line, cut at kMaxInstructionLength characters.
std::string ShortInstruction(std::string s) {
  constexpr std::string_view kBuildkit = " # buildkit", kShell = "/bin/sh -c ",
                             kNop = "/bin/sh -c #(nop) ";
  if (s.ends_with(kBuildkit)) s.resize(s.size() - kBuildkit.size());
  if (s.starts_with(kNop)) {
    s = s.substr(kNop.size());
  } else if (s.starts_with(kShell)) {
    s = "RUN " + s.substr(kShell.size());
  } else if (s.starts_with("RUN ")) {
    size_t shell = s.find(kShell);
    if (shell != std::string::npos) s = "RUN " + s.substr(shell + kShell.size());
  }
  s = s.substr(0, s.find_first_of("\r\n"));
  size_t begin = s.find_first_not_of(" \t");
  s = begin == std::string::npos ? "" : s.substr(begin);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  if (s.size() > kMaxInstructionLength) {
    size_t cut = kMaxInstructionLength;
    while (cut > 0 && (static_cast<uint8_t>(s[cut]) & 0xC0) == 0x80) --cut;  // a UTF-8 boundary
    s = s.substr(0, cut) + "...";
  }
  return s;
}

class ImageScan {
 public:
  ImageScan(const LeakScanner& scanner, const DockerTarRead& read, std::string_view image,
            const SecretRegistry& redactor)
      : scanner_(scanner), read_(read), image_(image), redactor_(redactor) {}

  Result<DockerImageLeaks> Run() {
    DockerImageLeaks out;
    if (scanner_.empty()) return out;
    LK_ASSIGN_OR_RETURN(stream_.buf, SecretBuffer::Allocate(kReadBlock));
    LK_ASSIGN_OR_RETURN(entry_.buf, SecretBuffer::Allocate(kReadBlock));
    stream_.read = &read_;
    ArchivePtr a(archive_read_new());
    archive_read_support_format_tar(a.get());
    entry_.outer = a.get();
    if (archive_read_open(a.get(), &stream_, nullptr, ReadStream, nullptr) != ARCHIVE_OK) {
      return OuterError(a.get(), /*first=*/true);
    }
    for (bool first = true;; first = false) {
      struct archive_entry* e = nullptr;
      int rc = archive_read_next_header(a.get(), &e);
      if (rc == ARCHIVE_EOF) break;
      if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return OuterError(a.get(), first);
      LK_RETURN_IF_ERROR(Entry(a.get(), e, out));
    }
    LK_RETURN_IF_ERROR(Drain());
    LK_RETURN_IF_ERROR(Finish(out));
    return out;
  }

 private:
  Status Error(const std::string& what) const {
    return DataLossError("leak scan of Docker image " + image_ + ": " + what);
  }
  Status OuterError(struct archive* a, bool first) const {
    if (!stream_.error.ok()) return stream_.error;
    return Error(
        (first ? "the image export is not a tar archive: " : "the image export is corrupt: ") +
        LibarchiveError(a));
  }

  Status Entry(struct archive* a, struct archive_entry* e, DockerImageLeaks& out) {
    const char* raw_name = archive_entry_pathname(e);
    const std::string name = NormalizePath(raw_name != nullptr ? raw_name : "");
    if (const char* hard = archive_entry_hardlink(e); hard != nullptr) {
      aliases_[name] = NormalizePath(hard);
      return Status::OK();
    }
    if (archive_entry_filetype(e) == AE_IFLNK) {
      const char* target = archive_entry_symlink(e);
      std::string t = target != nullptr ? target : "";
      size_t slash = name.rfind('/');
      std::string dir = slash == std::string::npos ? "" : name.substr(0, slash);
      aliases_[name] = NormalizePath(t.starts_with("/") ? t : dir + "/" + t);
      return Status::OK();
    }
    if (archive_entry_filetype(e) != AE_IFREG) return Status::OK();
    if (!Peek(entry_)) return OuterError(a, false);
    if (name.ends_with("layer.tar") || LooksLikeTar(entry_)) return Layer(a, name);
    return Metadata(a, e, name, out);
  }

  Status Layer(struct archive* outer, const std::string& name) {
    std::unique_ptr<build::LayerLeakScan> scan = scanner_.StartLayerScan();
    ArchivePtr in(archive_read_new());
    archive_read_support_format_tar(in.get());
    archive_read_support_format_empty(in.get());
    auto failed = [&]() -> Status {
      if (entry_.outer_failed) return OuterError(outer, false);
      return Error("layer " + name + " is not a valid tar archive: " + LibarchiveError(in.get()));
    };
    if (archive_read_open(in.get(), &entry_, nullptr, ReadEntry, nullptr) != ARCHIVE_OK) {
      return failed();
    }
    for (;;) {
      struct archive_entry* e = nullptr;
      int rc = archive_read_next_header(in.get(), &e);
      if (rc == ARCHIVE_EOF) break;
      if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return failed();
      LK_RETURN_IF_ERROR(scan->OnEntry(e));
      int64_t pos = 0;
      for (;;) {
        const void* block = nullptr;
        size_t size = 0;
        la_int64_t offset = 0;
        rc = archive_read_data_block(in.get(), &block, &size, &offset);
        if (rc == ARCHIVE_EOF) break;
        if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return failed();
        if (offset > pos) LK_RETURN_IF_ERROR(FeedZeros(*scan, static_cast<uint64_t>(offset - pos)));
        LK_RETURN_IF_ERROR(scan->OnData(block, size));
        pos = offset + static_cast<int64_t>(size);
      }
      if (archive_entry_size_is_set(e) && archive_entry_size(e) > pos &&
          archive_entry_filetype(e) == AE_IFREG && archive_entry_hardlink(e) == nullptr) {
        LK_RETURN_IF_ERROR(FeedZeros(*scan, static_cast<uint64_t>(archive_entry_size(e) - pos)));
      }
    }
    layers_[name] = RelativePaths(scan->TakeFindings());
    return Status::OK();
  }

  Status Metadata(struct archive* outer, struct archive_entry* e, const std::string& name,
                  DockerImageLeaks& out) {
    const int64_t size = archive_entry_size(e);
    if (size > static_cast<int64_t>(kMaxDockerMetadataSize)) {
      return Error(name + " is " + std::to_string(size) +
                   " bytes, more than an image metadata file may be (16 MiB)");
    }
    const size_t want = static_cast<size_t>(std::max<int64_t>(size, 0));
    LK_ASSIGN_OR_RETURN(SecretBuffer data, SecretBuffer::Allocate(std::max(want, entry_.peeked)));
    std::memcpy(data.mutable_data(), entry_.buf.data(), entry_.peeked);
    size_t have = entry_.peeked;
    while (have < data.size()) {
      la_ssize_t n = archive_read_data(outer, data.mutable_data() + have, data.size() - have);
      if (n < 0) return OuterError(outer, false);
      if (n == 0) break;
      have += static_cast<size_t>(n);
    }
    data.Truncate(have);
    data.Seal();
    metadata_seen_.insert(name);

    // The text as written, then with its JSON escapes resolved; one finding per secret.
    std::vector<LeakFinding> found = scanner_.ScanText(View(data.bytes()), name);
    LK_ASSIGN_OR_RETURN(SecretBuffer unescaped, JsonUnescaped(data.bytes()));
    for (auto& f : scanner_.ScanText(View(unescaped.bytes()), name)) {
      bool known = std::any_of(found.begin(), found.end(),
                               [&](const LeakFinding& g) { return g.secret_id == f.secret_id; });
      if (!known) found.push_back(std::move(f));
    }
    for (auto& f : found) out.metadata.push_back(std::move(f));

    if (name == "manifest.json") {
      manifest_ = std::move(data);
    } else if (name.ends_with(".json") || name.starts_with("blobs/")) {
      json_[name] = std::move(data);  // a config, perhaps: manifest.json may come last
    }
    return Status::OK();
  }

  // Reads what follows the end-of-archive marker, so the whole stream is consumed.
  Status Drain() {
    while (!stream_.ended) {
      Result<size_t> n = read_(stream_.buf.mutable_data(), stream_.buf.size());
      if (!n.ok()) return n.status();
      if (*n == 0) stream_.ended = true;
    }
    return Status::OK();
  }

  // The manifest, its config's history, and every listed layer in its order.
  Status Finish(DockerImageLeaks& out) {
    if (!manifest_)
      return Error("the image export has no manifest.json (is it a docker save archive?)");
    nlohmann::json manifest;
    try {
      manifest = nlohmann::json::parse(redactor_.Redact(View(manifest_->bytes())));
    } catch (const nlohmann::json::parse_error& e) {
      return Error("manifest.json is not valid JSON (at byte " + std::to_string(e.byte) + ")");
    }
    if (manifest.is_array() && manifest.size() != 1) {
      return Error("manifest.json lists " + std::to_string(manifest.size()) +
                   " images, expected one");
    }
    const Status shape = Error(
        "manifest.json is not a docker save manifest (expected [{\"Config\": ..., \"Layers\": "
        "[...]}])");
    if (!manifest.is_array() || !manifest[0].is_object()) return shape;
    const nlohmann::json& image = manifest[0];
    auto config = image.find("Config");
    auto layers = image.find("Layers");
    if (config == image.end() || !config->is_string() || layers == image.end() ||
        !layers->is_array()) {
      return shape;
    }
    std::vector<std::string> paths;
    for (const auto& l : *layers) {
      if (!l.is_string()) return shape;
      paths.push_back(l.get<std::string>());
    }

    const std::string config_path = NormalizePath(config->get<std::string>());
    auto cfg = json_.find(Resolve(config_path));
    if (cfg == json_.end()) {
      return Error("the image config " + config_path +
                   " listed in manifest.json is not in the image export");
    }
    const LayerFacts facts = ConfigFacts(cfg->second, paths.size());

    for (size_t i = 0; i < paths.size(); ++i) {
      DockerLayerLeaks layer;
      layer.number = i + 1;
      layer.path = NormalizePath(paths[i]);
      const std::string listed = "layer " + std::to_string(i + 1) + " (" + layer.path + ")";
      const std::string found = Resolve(layer.path);
      auto it = layers_.find(found);
      if (it == layers_.end()) {
        if (metadata_seen_.count(found)) {
          return Error(listed + " listed in manifest.json is not a tar archive");
        }
        return Error(listed + " listed in manifest.json is not in the image export");
      }
      layer.instruction = facts.instructions[i];
      layer.diff_id = facts.diff_ids[i];
      layer.findings = it->second;
      out.layers.push_back(std::move(layer));
    }
    return Status::OK();
  }

  // `path` with its symlinks and hard links followed (at most 8).
  std::string Resolve(std::string path) const {
    for (int hops = 0; hops < 8; ++hops) {
      auto it = aliases_.find(path);
      if (it == aliases_.end()) break;
      path = it->second;
    }
    return path;
  }

  // What the config says about each of `layers` layers: the instruction that made it (its
  // history) and its diff_id (rootfs.diff_ids); each list all empty when the config does not
  // say (not JSON, or not one entry per layer).
  struct LayerFacts {
    std::vector<std::string> instructions, diff_ids;
  };
  LayerFacts ConfigFacts(const SecretBuffer& config, size_t layers) const {
    LayerFacts out{std::vector<std::string>(layers), std::vector<std::string>(layers)};
    nlohmann::json doc = nlohmann::json::parse(redactor_.Redact(View(config.bytes())), nullptr,
                                               /*allow_exceptions=*/false);
    if (!doc.is_object()) return out;
    auto rootfs = doc.find("rootfs");
    if (rootfs != doc.end() && rootfs->is_object()) {
      auto ids = rootfs->find("diff_ids");
      if (ids != rootfs->end() && ids->is_array() && ids->size() == layers &&
          std::all_of(ids->begin(), ids->end(), [](const auto& d) { return d.is_string(); })) {
        for (size_t i = 0; i < layers; ++i) out.diff_ids[i] = (*ids)[i].get<std::string>();
      }
    }
    auto history = doc.find("history");
    if (history == doc.end() || !history->is_array()) return out;
    std::vector<std::string> created;
    for (const auto& h : *history) {
      if (!h.is_object()) return out;
      auto empty = h.find("empty_layer");
      if (empty != h.end() && empty->is_boolean() && empty->get<bool>()) continue;
      auto by = h.find("created_by");
      // Redacted again: a value with a quote or newline was escaped in the document.
      created.push_back(by != h.end() && by->is_string()
                            ? ShortInstruction(redactor_.Redact(by->get<std::string>()))
                            : "");
    }
    if (created.size() == layers) out.instructions = std::move(created);
    return out;
  }

  const LeakScanner& scanner_;
  const DockerTarRead& read_;
  const std::string image_;
  const SecretRegistry& redactor_;
  StreamReader stream_;
  EntryReader entry_;
  std::map<std::string, std::vector<LeakFinding>> layers_;  // by entry name
  std::map<std::string, std::string> aliases_;              // link name -> target entry
  std::set<std::string> metadata_seen_;                     // entries read as metadata
  std::optional<SecretBuffer> manifest_;
  std::map<std::string, SecretBuffer> json_;  // other JSON entries, by name
};

}  // namespace

bool DockerImageLeaks::clean() const {
  if (!metadata.empty()) return false;
  return std::all_of(layers.begin(), layers.end(),
                     [](const DockerLayerLeaks& l) { return l.findings.empty(); });
}

Result<DockerImageLeaks> ScanDockerImage(const build::LeakScanner& scanner,
                                         const DockerTarRead& read, std::string_view image,
                                         const SecretRegistry& redactor) {
  return ImageScan(scanner, read, image, redactor).Run();
}

std::string DockerLayerName(const DockerLayerLeaks& layer) {
  std::string name = "layer " + std::to_string(layer.number) + " of the Docker image";
  if (!layer.instruction.empty()) name += " (" + layer.instruction + ")";
  return name;
}

Status JudgeDockerImageLeaks(const DockerImageLeaks& leaks, const std::set<std::string>& allowed,
                             const std::string& consequence, std::vector<std::string>* warnings) {
  constexpr std::string_view kConfig = "the image config (its history, labels or env)";
  Status verdict = Status::OK();
  auto warn = [&](std::vector<std::string>& warned, const std::string& id,
                  const std::string& where) {
    if (std::find(warned.begin(), warned.end(), id) != warned.end()) return;
    warned.push_back(id);
    if (warnings != nullptr) {
      warnings->push_back("WARNING: secret \"" + id + "\" leaked into " + where +
                          "; allowed by --allow-secret-leak");
    }
  };
  for (const DockerLayerLeaks& layer : leaks.layers) {
    std::vector<build::LeakPlace> refused;
    std::vector<std::string> warned;
    const std::string container = DockerLayerName(layer);
    for (const LeakFinding& f : layer.findings) {
      const std::string place = "/" + f.path;
      if (allowed.count(f.secret_id)) {
        warn(warned, f.secret_id, container + " at " + place);
      } else {
        refused.push_back({f.secret_id, place});
      }
    }
    if (!refused.empty() && verdict.ok()) {
      verdict = FailedPreconditionError(build::FormatLeakError(refused, container, consequence));
    }
  }
  std::vector<build::LeakPlace> refused;
  std::vector<std::string> warned;
  for (const LeakFinding& f : leaks.metadata) {
    if (allowed.count(f.secret_id)) {
      warn(warned, f.secret_id, std::string(kConfig));
    } else {
      refused.push_back({f.secret_id, std::string(kConfig)});
    }
  }
  if (!refused.empty() && verdict.ok()) {
    verdict = FailedPreconditionError(build::FormatLeakError(refused, "", consequence));
  }
  return verdict;
}

Status CheckDockerImageLeaks(
    const std::vector<std::pair<std::string, std::shared_ptr<const SecretBuffer>>>& released,
    const std::set<std::string>& allowed, const DockerTarRead& read, std::string_view image,
    const std::string& consequence, const DockerLeakCheckOutput& out) {
  LK_ASSIGN_OR_RETURN(build::LeakScanner scanner, build::LeakScanner::Create(released, {}));
  if (scanner.empty()) return Status::OK();
  LK_ASSIGN_OR_RETURN(DockerImageLeaks leaks, ScanDockerImage(scanner, read, image));
  Status verdict = JudgeDockerImageLeaks(leaks, allowed, consequence, out.warnings);
  if (out.leaks != nullptr) *out.leaks = std::move(leaks);
  return verdict;
}

}  // namespace latchkey::cli
