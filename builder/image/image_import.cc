#include "builder/image/image_import.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "builder/image/config_json.h"
#include "builder/image/image_ref.h"
#include "builder/image/layer_stream.h"
#include "builder/image/media_types.h"

namespace latchkey::image {

using nlohmann::json;

namespace {

// Makes the blob `digest` present in the store (copying and verifying it) or fails.
using EnsureBlob = std::function<Status(const std::string& digest)>;

std::string NativeArchitecture() {
  struct utsname u;
  if (::uname(&u) != 0) return "amd64";
  std::string m = u.machine;
  if (m == "x86_64") return "amd64";
  if (m == "aarch64") return "arm64";
  if (m == "i686" || m == "i386") return "386";
  if (m.rfind("arm", 0) == 0) return "arm";
  return m;
}

bool IsIndexMediaType(std::string_view mt) {
  return mt == kMediaTypeImageIndex || mt == kMediaTypeDockerManifestList;
}

// A name for an index entry in listings: its ref name, else its image name, else its digest.
std::string EntryLabel(const IndexEntry& e) {
  if (!e.ref_name.empty()) return e.ref_name;
  if (auto it = e.annotations.find(kAnnotationImageName); it != e.annotations.end()) {
    return it->second;
  }
  return e.digest;
}

std::string EntryName(const IndexEntry& e) {
  auto it = e.annotations.find(kAnnotationImageName);
  if (it == e.annotations.end()) return "";
  auto r = ParseImageRef(it->second);
  return r.ok() ? r->ToString() : "";
}

bool EntryMatches(const IndexEntry& e, std::string_view tag) {
  if (e.ref_name == tag) return true;
  auto it = e.annotations.find(kAnnotationImageName);
  if (it == e.annotations.end()) return false;
  auto full = ParseImageRef(it->second);
  if (!full.ok()) return false;
  if (full->tag == tag) return true;
  auto want = ParseImageRef(tag);
  return want.ok() && want->ToString() == full->ToString();
}

std::string JoinLabels(const std::vector<std::string>& labels) {
  std::string out;
  for (const auto& l : labels) out += (out.empty() ? "" : ", ") + l;
  return out;
}

Result<IndexEntry> SelectEntry(const std::vector<IndexEntry>& entries, std::string_view tag,
                               const std::string& what, const std::string& path) {
  std::vector<std::string> labels;
  for (const auto& e : entries) labels.push_back(EntryLabel(e));
  if (entries.empty()) return NotFoundError(what + " holds no image");
  if (tag.empty()) {
    if (entries.size() == 1) return entries.front();
    return InvalidArgumentError(what + " holds " + std::to_string(entries.size()) + " images (" +
                                JoinLabels(labels) + "); choose one with " + path + ":TAG");
  }
  for (const auto& e : entries) {
    if (EntryMatches(e, tag)) return e;
  }
  return NotFoundError(what + " has no image \"" + std::string(tag) +
                       "\" (it has: " + JoinLabels(labels) + ")");
}

// Resolves the descriptor (an image manifest, or an index holding one for this platform) to an
// image manifest whose config and layers are all present in `blobs`.
Result<std::string> ResolveManifest(BlobStore& blobs, const EnsureBlob& ensure,
                                    const std::string& digest, const std::string& what,
                                    int depth = 0) {
  if (depth > 4) return InvalidArgumentError(what + ": image indexes nest too deeply");
  LK_RETURN_IF_ERROR(ensure(digest));
  LK_ASSIGN_OR_RETURN(std::string text, blobs.ReadBytes(digest, true));
  LK_ASSIGN_OR_RETURN(json m, ParseJson(text, what + ": manifest " + digest));
  if (!m.is_object())
    return InvalidArgumentError(what + ": manifest " + digest + " is not an object");
  std::string mt = m.value("mediaType", std::string());
  if (IsIndexMediaType(mt) || (mt.empty() && m.contains("manifests"))) {
    const std::string arch = NativeArchitecture();
    std::vector<std::string> platforms;
    auto ms = m.find("manifests");
    if (ms != m.end() && ms->is_array()) {
      for (const auto& d : *ms) {
        if (!d.is_object() || !d.contains("digest") || !d["digest"].is_string()) continue;
        auto p = d.find("platform");
        if (p == d.end() || !p->is_object()) continue;
        std::string os = p->value("os", std::string());
        std::string a = p->value("architecture", std::string());
        platforms.push_back(os + "/" + a);
        if (os == "linux" && a == arch) {
          return ResolveManifest(blobs, ensure, d["digest"].get<std::string>(), what, depth + 1);
        }
      }
    }
    return NotFoundError(what + ": no linux/" + arch +
                         " image in its index (it has: " + JoinLabels(platforms) + ")");
  }
  auto c = m.find("config");
  if (c == m.end() || !c->is_object() || !c->contains("digest") || !(*c)["digest"].is_string()) {
    return InvalidArgumentError(what + ": manifest " + digest + " has no config descriptor");
  }
  LK_RETURN_IF_ERROR(ensure((*c)["digest"].get<std::string>()));
  auto ls = m.find("layers");
  if (ls != m.end() && ls->is_array()) {
    for (const auto& l : *ls) {
      if (!l.is_object() || !l.contains("digest") || !l["digest"].is_string()) {
        return InvalidArgumentError(what + ": manifest " + digest + " has a layer with no digest");
      }
      LK_RETURN_IF_ERROR(ensure(l["digest"].get<std::string>()));
    }
  }
  return digest;
}

Result<ImportedImage> ImportFromIndex(BlobStore& blobs, const EnsureBlob& ensure,
                                      const std::vector<IndexEntry>& entries, std::string_view tag,
                                      const std::string& what, const std::string& path) {
  LK_ASSIGN_OR_RETURN(IndexEntry e, SelectEntry(entries, tag, what, path));
  LK_ASSIGN_OR_RETURN(std::string manifest, ResolveManifest(blobs, ensure, e.digest, what));
  ImportedImage out;
  auto img = LoadImage(blobs, manifest);
  if (!img.ok()) return img.status().WithPrefix(what);
  out.image = std::move(*img);
  out.name = EntryName(e);
  return out;
}

// Streams the file `src` into the store, verifying it against `digest`.
Status CopyVerified(BlobStore& blobs, const std::string& src, const std::string& digest,
                    const std::string& what) {
  UniqueFd fd(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return NotFoundError(what + " has no blob " + digest + " (" + src + ")");
    return ErrnoStatus("open", src, errno);
  }
  LK_ASSIGN_OR_RETURN(BlobStore::Writer w, blobs.NewWriter());
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("read", src, errno);
    if (n == 0) break;
    LK_RETURN_IF_ERROR(w.Write(buf, static_cast<size_t>(n)));
  }
  auto info = w.Commit(digest);
  if (!info.ok()) return info.status().WithPrefix(what);
  return Status::OK();
}

struct ReadArchiveDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};

constexpr int64_t kMaxMetadataFile = 16 << 20;

// "./a/../b" -> "b"; "" for names that leave the archive's root.
std::string NormaliseEntryName(std::string_view name) {
  std::string n = std::filesystem::path(std::string(name)).lexically_normal().string();
  while (!n.empty() && n.front() == '/') n.erase(0, 1);
  if (n == "." || n.rfind("..", 0) == 0) return "";
  return n;
}

// What a tar archive holds: its metadata files in memory, every other regular file as a blob.
struct ArchiveContents {
  std::map<std::string, std::string> metadata;  // index.json, oci-layout, manifest.json
  std::map<std::string, std::string> files;     // entry name -> blob digest
};

Result<ArchiveContents> ReadArchive(BlobStore& blobs, const std::string& path) {
  const std::string what = "archive " + path;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus("open archive", path, errno);
  std::unique_ptr<struct archive, ReadArchiveDeleter> a(archive_read_new());
  archive_read_support_format_tar(a.get());
  archive_read_support_filter_gzip(a.get());
  if (archive_read_open_fd(a.get(), fd.get(), 1 << 16) != ARCHIVE_OK) {
    return InvalidArgumentError(what + ": not a tar archive: " + archive_error_string(a.get()));
  }
  ArchiveContents out;
  std::map<std::string, std::string> links;  // name -> normalised target (hard and symbolic)
  for (;;) {
    struct archive_entry* e = nullptr;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      return DataLossError(what + ": corrupt tar: " + archive_error_string(a.get()));
    }
    std::string name = NormaliseEntryName(archive_entry_pathname(e));
    if (name.empty()) continue;
    if (const char* hl = archive_entry_hardlink(e)) {
      links[name] = NormaliseEntryName(hl);
      continue;
    }
    if (archive_entry_filetype(e) == AE_IFLNK) {
      const char* target = archive_entry_symlink(e);
      std::string dir = std::filesystem::path(name).parent_path().string();
      if (target != nullptr) {
        links[name] = NormaliseEntryName(target[0] == '/' ? target : dir + "/" + target);
      }
      continue;
    }
    if (archive_entry_filetype(e) != AE_IFREG) continue;
    char buf[1 << 16];
    if (name == "index.json" || name == "oci-layout" || name == "manifest.json") {
      if (archive_entry_size(e) > kMaxMetadataFile) {
        return InvalidArgumentError(what + ": " + name + " is larger than 16 MiB");
      }
      std::string text;
      for (;;) {
        la_ssize_t n = archive_read_data(a.get(), buf, sizeof buf);
        if (n < 0) return DataLossError(what + ": " + archive_error_string(a.get()));
        if (n == 0) break;
        text.append(buf, static_cast<size_t>(n));
      }
      out.metadata[name] = std::move(text);
      continue;
    }
    LK_ASSIGN_OR_RETURN(BlobStore::Writer w, blobs.NewWriter());
    for (;;) {
      la_ssize_t n = archive_read_data(a.get(), buf, sizeof buf);
      if (n < 0) return DataLossError(what + ": " + archive_error_string(a.get()));
      if (n == 0) break;
      LK_RETURN_IF_ERROR(w.Write(buf, static_cast<size_t>(n)));
    }
    std::string expected;
    if (name.rfind("blobs/", 0) == 0) {
      std::string rest = name.substr(6);
      size_t slash = rest.find('/');
      if (slash != std::string::npos)
        expected = rest.substr(0, slash) + ":" + rest.substr(slash + 1);
    }
    auto info = w.Commit(expected);
    if (!info.ok()) return info.status().WithPrefix(what + ": " + name);
    out.files[name] = info->digest;
  }
  // Links (docker save shares identical layers this way), resolved through chains.
  for (const auto& [name, target] : links) {
    std::string t = target;
    for (int hops = 0; hops < 16 && !out.files.count(t); ++hops) {
      auto it = links.find(t);
      if (it == links.end()) break;
      t = it->second;
    }
    if (auto f = out.files.find(t); f != out.files.end()) out.files[name] = f->second;
  }
  return out;
}

Result<ImportedImage> ImportDockerSave(BlobStore& blobs, const ArchiveContents& contents,
                                       std::string_view tag, const std::string& what,
                                       const std::string& path) {
  LK_ASSIGN_OR_RETURN(json m,
                      ParseJson(contents.metadata.at("manifest.json"), what + ": manifest.json"));
  if (!m.is_array()) return InvalidArgumentError(what + ": manifest.json is not an array");
  struct Entry {
    std::string config;
    std::vector<std::string> tags, layers;
  };
  std::vector<Entry> entries;
  for (const auto& j : m) {
    if (!j.is_object() || !j.contains("Config") || !j["Config"].is_string()) {
      return InvalidArgumentError(what + ": a manifest.json entry has no Config");
    }
    Entry e;
    e.config = j["Config"].get<std::string>();
    for (const auto& t : j.value("RepoTags", json::array())) {
      if (t.is_string()) e.tags.push_back(t.get<std::string>());
    }
    for (const auto& l : j.value("Layers", json::array())) {
      if (l.is_string()) e.layers.push_back(l.get<std::string>());
    }
    entries.push_back(std::move(e));
  }
  std::vector<std::string> labels;
  for (const auto& e : entries) labels.push_back(e.tags.empty() ? e.config : JoinLabels(e.tags));
  const Entry* chosen = nullptr;
  std::string name;
  if (entries.empty()) return NotFoundError(what + " holds no image");
  if (tag.empty()) {
    if (entries.size() > 1) {
      return InvalidArgumentError(what + " holds " + std::to_string(entries.size()) + " images (" +
                                  JoinLabels(labels) + "); choose one with " + path + ":TAG");
    }
    chosen = &entries.front();
    if (!chosen->tags.empty()) {
      auto r = ParseImageRef(chosen->tags.front());
      if (r.ok()) name = r->ToString();
    }
  } else {
    auto want = ParseImageRef(tag);
    for (const auto& e : entries) {
      for (const auto& t : e.tags) {
        auto r = ParseImageRef(t);
        if (!r.ok()) continue;
        if (r->tag == tag || (want.ok() && want->ToString() == r->ToString())) {
          chosen = &e;
          name = r->ToString();
          break;
        }
      }
      if (chosen != nullptr) break;
    }
    if (chosen == nullptr) {
      return NotFoundError(what + " has no image \"" + std::string(tag) +
                           "\" (it has: " + JoinLabels(labels) + ")");
    }
  }
  auto file = [&](const std::string& entry) -> Result<std::string> {
    auto it = contents.files.find(NormaliseEntryName(entry));
    if (it == contents.files.end()) {
      return NotFoundError(what + ": manifest.json names " + entry + ", which the archive lacks");
    }
    return it->second;
  };
  LK_ASSIGN_OR_RETURN(std::string config_digest, file(chosen->config));
  LK_ASSIGN_OR_RETURN(std::string config_path, blobs.Path(config_digest));
  struct stat st;
  if (::stat(config_path.c_str(), &st) != 0) return ErrnoStatus("stat", config_path, errno);
  json layers = json::array();
  for (const auto& l : chosen->layers) {
    LK_ASSIGN_OR_RETURN(std::string d, file(l));
    LK_ASSIGN_OR_RETURN(std::string p, blobs.Path(d));
    struct stat ls;
    if (::stat(p.c_str(), &ls) != 0) return ErrnoStatus("stat", p, errno);
    unsigned char head[2] = {0, 0};
    {
      UniqueFd lfd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
      if (!lfd.valid() || ::read(lfd.get(), head, 2) < 0) return ErrnoStatus("read", p, errno);
    }
    layers.push_back(
        {{"mediaType", HasGzipMagic(head, 2) ? kMediaTypeLayerGzip : kMediaTypeLayerTar},
         {"digest", d},
         {"size", static_cast<int64_t>(ls.st_size)}});
  }
  json manifest = {{"schemaVersion", 2},
                   {"mediaType", kMediaTypeManifest},
                   {"config",
                    {{"mediaType", kMediaTypeConfig},
                     {"digest", config_digest},
                     {"size", static_cast<int64_t>(st.st_size)}}},
                   {"layers", layers}};
  LK_ASSIGN_OR_RETURN(BlobInfo minfo, blobs.PutBytes(CanonicalJson(manifest)));
  auto img = LoadImage(blobs, minfo.digest);
  if (!img.ok()) return img.status().WithPrefix(what);
  ImportedImage out;
  out.image = std::move(*img);
  out.name = name;
  return out;
}

}  // namespace

std::pair<std::string, std::string> SplitPathAndTag(const std::string& spec) {
  size_t colon = spec.rfind(':');
  if (colon == std::string::npos || spec.find('/', colon) != std::string::npos) return {spec, ""};
  struct stat st;
  if (::stat(spec.c_str(), &st) == 0) {
    std::string path = spec.substr(0, colon);
    if (::stat(path.c_str(), &st) != 0) return {spec, ""};
  }
  return {spec.substr(0, colon), spec.substr(colon + 1)};
}

bool IsOciLayoutDir(const std::string& dir) {
  struct stat st;
  return ::stat((dir + "/oci-layout").c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<ImportedImage> ImportOciLayout(BlobStore& blobs, const std::string& dir,
                                      std::string_view tag) {
  const std::string what = "OCI layout " + dir;
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return ErrnoStatus("open OCI layout", dir, errno);
  if (!IsOciLayoutDir(dir)) {
    return InvalidArgumentError(dir + " is not an OCI image layout (no oci-layout file)");
  }
  auto entries = ReadIndex(dir);
  if (!entries.ok()) return entries.status().WithPrefix(what);
  EnsureBlob ensure = [&](const std::string& digest) -> Status {
    if (!IsValidDigest(digest)) {
      return InvalidArgumentError(what + ": \"" + digest +
                                  "\" is not a valid digest (want sha256:<64 lowercase hex "
                                  "digits>)");
    }
    if (blobs.Has(digest)) return Status::OK();
    return CopyVerified(blobs, dir + "/blobs/sha256/" + std::string(DigestHex(digest)), digest,
                        what);
  };
  return ImportFromIndex(blobs, ensure, *entries, tag, what, dir);
}

Result<ImportedImage> ImportArchive(BlobStore& blobs, const std::string& tar_path,
                                    std::string_view tag) {
  const std::string what = "archive " + tar_path;
  LK_ASSIGN_OR_RETURN(ArchiveContents contents, ReadArchive(blobs, tar_path));
  if (contents.metadata.count("index.json")) {
    LK_ASSIGN_OR_RETURN(std::vector<IndexEntry> entries,
                        ParseIndex(contents.metadata["index.json"], what + ": index.json"));
    EnsureBlob ensure = [&](const std::string& digest) -> Status {
      if (!IsValidDigest(digest)) {
        return InvalidArgumentError(what + ": \"" + digest + "\" is not a valid digest");
      }
      if (blobs.Has(digest)) return Status::OK();
      return NotFoundError(what + " has no blob " + digest);
    };
    return ImportFromIndex(blobs, ensure, entries, tag, what, tar_path);
  }
  if (contents.metadata.count("manifest.json")) {
    return ImportDockerSave(blobs, contents, tag, what, tar_path);
  }
  return InvalidArgumentError(tar_path +
                              " is neither an OCI archive (no index.json) nor a docker save "
                              "archive (no manifest.json)");
}

}  // namespace latchkey::image
