#include "builder/solver/leak_scan.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <climits>

#include <algorithm>
#include <cerrno>
#include <map>

#include "builder/image/fs_util.h"
#include "builder/image/layer_stream.h"
#include "builder/solver/changed_tree.h"
#include "secure/leak_matcher.h"
#include "secure/secret_matcher.h"
#include "secure/secret_patterns.h"

namespace latchkey::build {
namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string LibarchiveError(struct archive* a) {
  const char* e = archive_error_string(a);
  return e != nullptr ? e : "unknown libarchive error";
}

struct ArchiveDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};

// One scan's bookkeeping: which secrets were already reported in the current part.
class LeakScanContext {
 public:
  LeakScanContext(const SecretMatcher& matcher, const std::vector<std::string>& ids,
                  std::vector<LeakFinding>& out)
      : matcher_(matcher),
        automaton_(matcher.automaton()),
        ids_(ids),
        out_(out),
        reported_(ids.size(), 0) {}

  // Starts a new part: the automaton restarts and every secret may be reported again.
  void BeginPart(std::string path, std::string part) {
    path_ = std::move(path);
    part_ = std::move(part);
    state_ = LeakMatcher::kStart;
    ++generation_;
    found_ = 0;
  }
  // Restarts the automaton within the same part (the next bytes are not contiguous with the
  // previous ones); secrets already reported stay reported.
  void Restart() { state_ = LeakMatcher::kStart; }
  void Feed(std::span<const uint8_t> data) {
    state_ = automaton_.Feed(state_, data, [&](size_t pattern, size_t) {
      uint32_t secret = matcher_.owner(pattern);
      if (reported_[secret] == generation_) return;
      reported_[secret] = generation_;
      ++found_;
      out_.push_back(LeakFinding{ids_[secret], matcher_.encoding(pattern), path_, part_});
    });
  }
  // Feeds `count` zero bytes (a sparse hole); only the last max_pattern_length matter.
  void FeedZeros(uint64_t count) {
    static constexpr uint8_t kZeros[4096] = {};
    uint64_t left = std::min<uint64_t>(count, automaton_.max_pattern_length());
    while (left > 0 && !done()) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(left, sizeof kZeros));
      Feed({kZeros, n});
      left -= n;
    }
  }
  // True when every secret has been reported in this part.
  bool done() const { return found_ == ids_.size(); }

 private:
  const SecretMatcher& matcher_;
  const LeakMatcher& automaton_;
  const std::vector<std::string>& ids_;
  std::vector<LeakFinding>& out_;
  std::vector<uint64_t> reported_;  // generation in which each secret was last reported
  uint64_t generation_ = 0;
  size_t found_ = 0;
  std::string path_, part_;
  LeakMatcher::State state_ = LeakMatcher::kStart;
};

// Scans one tar entry's header -- name, link target, owner names, xattrs (keys and values) --
// and starts its "data" part.
void ScanEntryHeader(LeakScanContext& ctx, const SecretMatcher& matcher, struct archive_entry* e) {
  auto scan_string = [&](const std::string& path, std::string part, const char* value) {
    if (value == nullptr || *value == '\0') return;
    ctx.BeginPart(path, std::move(part));
    ctx.Feed(Bytes(value));
  };
  // Entry names, link targets and xattrs are only viewed in libarchive's buffers: one of them
  // may hold a secret, which must not be copied into a std::string.
  const char* name = archive_entry_pathname(e);
  if (name == nullptr) name = archive_entry_pathname_utf8(e);
  const std::string path = matcher.Mask(name != nullptr ? name : "");

  scan_string(path, "name", name);
  const char* link = archive_entry_hardlink(e);
  if (link == nullptr) link = archive_entry_symlink(e);
  scan_string(path, "linkname", link);
  scan_string(path, "uname", archive_entry_uname(e));
  scan_string(path, "gname", archive_entry_gname(e));

  // libarchive may list a key twice (pax writers emit both SCHILY.xattr and LIBARCHIVE.xattr
  // records); each key is one part, all its values scanned.
  std::vector<std::pair<std::string_view, std::vector<std::span<const uint8_t>>>> xattrs;
  const char* xname = nullptr;
  const void* xvalue = nullptr;
  size_t xsize = 0;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &xname, &xvalue, &xsize) == ARCHIVE_OK) {
    std::string_view key = xname != nullptr ? xname : "";
    auto it =
        std::find_if(xattrs.begin(), xattrs.end(), [&](const auto& x) { return x.first == key; });
    if (it == xattrs.end()) it = xattrs.insert(xattrs.end(), {key, {}});
    it->second.push_back({static_cast<const uint8_t*>(xvalue), xsize});
  }
  for (const auto& [key, values] : xattrs) {
    ctx.BeginPart(path, "xattr " + matcher.Mask(key));
    ctx.Feed(Bytes(key));
    for (const auto& v : values) {
      ctx.Restart();
      ctx.Feed(v);
    }
  }

  ctx.BeginPart(path, "data");
}

// A LayerStream error as the scanner reports it: gzip and zlib errors do not name the blob
// (I/O errors do), so they get its path.
Status StreamError(const Status& st, const std::string& blob_path) {
  bool named = st.code() != StatusCode::kDataLoss && st.code() != StatusCode::kInternal;
  return st.WithPrefix(named ? "leak scan" : "leak scan: " + blob_path);
}

}  // namespace

Result<LeakScanner> LeakScanner::Create(
    const std::vector<std::pair<std::string, std::shared_ptr<const SecretBuffer>>>& released,
    const std::set<std::string>& allowed) {
  LeakScanner s;
  std::map<std::string, uint32_t> index;
  // Every value's patterns, wiped when Create returns (the automaton keeps its own tables).
  std::vector<std::pair<uint32_t, std::vector<SecretPattern>>> patterns;
  for (const auto& [id, value] : released) {
    if (allowed.count(id) != 0 || value == nullptr || value->size() < kMinLeakScanLength) continue;
    auto [it, inserted] = index.emplace(id, static_cast<uint32_t>(s.secret_ids_.size()));
    if (inserted) s.secret_ids_.push_back(id);
    LK_ASSIGN_OR_RETURN(std::vector<SecretPattern> forms, SecretPatterns(value->bytes()));
    patterns.emplace_back(it->second, std::move(forms));
  }
  std::vector<SecretMatcher::Input> inputs;
  for (const auto& [secret, forms] : patterns) {
    for (const SecretPattern& p : forms) inputs.push_back({&p, secret});
  }
  if (inputs.empty()) return s;
  LK_ASSIGN_OR_RETURN(SecretMatcher matcher, SecretMatcher::Build(inputs));
  s.matcher_ = std::make_shared<const SecretMatcher>(std::move(matcher));
  return s;
}

bool LeakScanner::uses_dense_table() const {
  return matcher_ != nullptr && matcher_->automaton().dense();
}

std::vector<LeakFinding> LeakScanner::ScanText(std::string_view text,
                                               std::string_view where) const {
  std::vector<LeakFinding> out;
  if (empty()) return out;
  LeakScanContext ctx(*matcher_, secret_ids_, out);
  ctx.BeginPart(std::string(where), "text");
  ctx.Feed(Bytes(text));
  return out;
}

Result<std::vector<LeakFinding>> LeakScanner::ScanChangedTree(const std::string& root,
                                                              const struct timespec& since) const {
  std::vector<LeakFinding> out;
  if (empty()) return out;
  LeakScanContext ctx(*matcher_, secret_ids_, out);
  auto display = [&](std::string_view name) { return matcher_->Mask(name); };
  Status walked = WalkChangedTree(
      root, since, display,
      [&](int dirfd, const char* name, const struct stat& st, const std::string& path) -> Status {
        ctx.BeginPart(path, "name");
        ctx.Feed(Bytes(name));
        if (S_ISLNK(st.st_mode)) {
          char target[PATH_MAX];
          ssize_t n = ::readlinkat(dirfd, name, target, sizeof target);
          if (n > 0) {
            ctx.BeginPart(path, "linkname");
            ctx.Feed({reinterpret_cast<const uint8_t*>(target), static_cast<size_t>(n)});
          }
          sodium_memzero(target, sizeof target);
          return Status::OK();
        }
        if (!S_ISREG(st.st_mode)) return Status::OK();
        int fd = ::openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
          if (errno == ENOENT) return Status::OK();
          return image::ErrnoStatus("leak scan: open", root + "/" + path, errno);
        }
        ctx.BeginPart(path, "data");
        uint8_t buf[1 << 16];
        Status st_read = Status::OK();
        for (;;) {
          ssize_t n = ::read(fd, buf, sizeof buf);
          if (n < 0 && errno == EINTR) continue;
          if (n < 0) {
            st_read = image::ErrnoStatus("leak scan: read", root + "/" + path, errno);
            break;
          }
          if (n == 0 || ctx.done()) break;
          ctx.Feed({buf, static_cast<size_t>(n)});
        }
        sodium_memzero(buf, sizeof buf);
        ::close(fd);
        return st_read;
      });
  if (!walked.ok()) return walked;
  return out;
}

Result<std::vector<LeakFinding>> LeakScanner::ScanLayerFile(const std::string& blob_path) const {
  std::vector<LeakFinding> out;
  if (empty()) return out;
  auto opened = image::LayerStream::OpenFile(blob_path, /*hash=*/false);
  if (!opened.ok()) return opened.status().WithPrefix("leak scan");
  image::LayerStream& reader = **opened;
  std::unique_ptr<struct archive, ArchiveDeleter> a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_empty(a.get());
  // The reader's own error (I/O, gzip) wins over libarchive's account of it.
  auto failed = [&]() -> Status {
    if (!reader.error().ok()) return StreamError(reader.error(), blob_path);
    return DataLossError("leak scan: " + blob_path + ": " + LibarchiveError(a.get()));
  };
  if (archive_read_open(a.get(), &reader, nullptr, image::ArchiveReadLayerStream, nullptr) !=
      ARCHIVE_OK) {
    return failed();
  }

  LeakScanContext ctx(*matcher_, secret_ids_, out);
  for (;;) {
    struct archive_entry* e = nullptr;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return failed();
    ScanEntryHeader(ctx, *matcher_, e);
    int64_t pos = 0;
    for (;;) {
      const void* block = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      rc = archive_read_data_block(a.get(), &block, &size, &offset);
      if (rc == ARCHIVE_EOF) break;
      if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return failed();
      if (offset > pos) ctx.FeedZeros(static_cast<uint64_t>(offset - pos));
      ctx.Feed({static_cast<const uint8_t*>(block), size});
      pos = offset + static_cast<int64_t>(size);
      if (ctx.done()) break;  // the next header skips the rest of the entry
    }
    if (!ctx.done() && archive_entry_size_is_set(e) && archive_entry_size(e) > pos &&
        archive_entry_filetype(e) == AE_IFREG && archive_entry_hardlink(e) == nullptr) {
      ctx.FeedZeros(static_cast<uint64_t>(archive_entry_size(e) - pos));  // a trailing hole
    }
  }
  // Past the end-of-archive marker: read the rest so a gzip trailer (CRC, length) is checked.
  Status drained = reader.Drain();
  if (!drained.ok()) return StreamError(drained, blob_path);
  return out;
}

struct LayerLeakScan::State {
  State(std::shared_ptr<const SecretMatcher> m, const std::vector<std::string>& ids)
      : matcher(std::move(m)), ctx(*matcher, ids, findings) {}
  std::shared_ptr<const SecretMatcher> matcher;
  std::vector<LeakFinding> findings;
  LeakScanContext ctx;
};

LayerLeakScan::LayerLeakScan(std::shared_ptr<const SecretMatcher> matcher,
                             const std::vector<std::string>& ids)
    : state_(std::make_unique<State>(std::move(matcher), ids)) {}

LayerLeakScan::~LayerLeakScan() = default;

Status LayerLeakScan::OnEntry(struct archive_entry* entry) {
  ScanEntryHeader(state_->ctx, *state_->matcher, entry);
  return Status::OK();
}

Status LayerLeakScan::OnData(const void* data, size_t size) {
  if (!state_->ctx.done()) state_->ctx.Feed({static_cast<const uint8_t*>(data), size});
  return Status::OK();
}

std::vector<LeakFinding> LayerLeakScan::TakeFindings() { return std::move(state_->findings); }

std::unique_ptr<LayerLeakScan> LeakScanner::StartLayerScan() const {
  if (empty()) return nullptr;
  return std::unique_ptr<LayerLeakScan>(new LayerLeakScan(matcher_, secret_ids_));
}

}  // namespace latchkey::build
