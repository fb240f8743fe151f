#include "builder/build/leak_scan.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <climits>

#include <algorithm>
#include <cerrno>
#include <map>

#include "builder/build/changed_tree.h"
#include "builder/image/fs_util.h"
#include "builder/image/layer_stream.h"
#include "secure/leak_matcher.h"
#include "secure/redactor.h"
#include "secure/secret_parts.h"

namespace latchkey::build {
namespace {

bool Unreserved(uint8_t c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// The RFC 3986 percent-encoding of `value` with upper- or lower-case hex digits.
Result<SecretBuffer> UrlEncode(std::span<const uint8_t> value, bool upper) {
  size_t len = 0;
  for (uint8_t c : value) len += Unreserved(c) ? 1 : 3;
  LK_ASSIGN_OR_RETURN(SecretBuffer out, SecretBuffer::Allocate(len));
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  uint8_t* p = out.mutable_data();
  for (uint8_t c : value) {
    if (Unreserved(c)) {
      *p++ = c;
    } else {
      *p++ = '%';
      *p++ = static_cast<uint8_t>(digits[c >> 4]);
      *p++ = static_cast<uint8_t>(digits[c & 15]);
    }
  }
  out.Seal();
  return out;
}

// The encoding names of a part's patterns ("part " + the whole value's names).
const char* PartEncoding(const char* encoding) {
  static constexpr std::pair<std::string_view, const char*> kNames[] = {
      {"raw", "part raw"}, {"base64", "part base64"}, {"base64url", "part base64url"},
      {"hex", "part hex"}, {"HEX", "part HEX"},       {"url", "part url"}};
  for (const auto& [name, part] : kNames) {
    if (name == encoding) return part;
  }
  return "part";
}

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

la_ssize_t ReadCallback(struct archive* a, void* client, const void** buf) {
  auto* reader = static_cast<image::LayerStream*>(client);
  ssize_t n = reader->Read(buf);
  if (n < 0) {
    archive_set_error(a, EIO, "%s", reader->error().message().c_str());
    return -1;
  }
  return n;
}

// One scan's bookkeeping: which secrets were already reported in the current part.
class LeakScanContext {
 public:
  LeakScanContext(const LeakMatcher& matcher, const std::vector<std::string>& ids,
                  const std::vector<const char*>& encodings, const std::vector<uint32_t>& secret_of,
                  std::vector<LeakFinding>& out)
      : matcher_(matcher),
        ids_(ids),
        encodings_(encodings),
        secret_of_(secret_of),
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
    state_ = matcher_.Feed(state_, data, [&](size_t pattern, size_t) {
      uint32_t secret = secret_of_[pattern];
      if (reported_[secret] == generation_) return;
      reported_[secret] = generation_;
      ++found_;
      out_.push_back(LeakFinding{ids_[secret], encodings_[pattern], path_, part_});
    });
  }
  // Feeds `count` zero bytes (a sparse hole); only the last max_pattern_length matter.
  void FeedZeros(uint64_t count) {
    static constexpr uint8_t kZeros[4096] = {};
    uint64_t left = std::min<uint64_t>(count, matcher_.max_pattern_length());
    while (left > 0 && !done()) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(left, sizeof kZeros));
      Feed({kZeros, n});
      left -= n;
    }
  }
  // True when every secret has been reported in this part.
  bool done() const { return found_ == ids_.size(); }

 private:
  const LeakMatcher& matcher_;
  const std::vector<std::string>& ids_;
  const std::vector<const char*>& encodings_;
  const std::vector<uint32_t>& secret_of_;
  std::vector<LeakFinding>& out_;
  std::vector<uint64_t> reported_;  // generation in which each secret was last reported
  uint64_t generation_ = 0;
  size_t found_ = 0;
  std::string path_, part_;
  LeakMatcher::State state_ = LeakMatcher::kStart;
};

// `text` with every byte covered by a match replaced, one kRedactionMask per covered run.
// A base64 core's match also covers the character on either side that mixes in a neighbouring
// byte (`widen_of` by pattern: bit 0 before, bit 1 after), as the redactor does.
std::string Masked(const LeakMatcher& matcher, const std::vector<uint8_t>& widen_of,
                   std::string_view text) {
  std::vector<bool> covered(text.size(), false);
  bool any = false;
  matcher.Feed(LeakMatcher::kStart, Bytes(text), [&](size_t pattern, size_t end) {
    size_t begin = end - matcher.pattern_length(pattern);
    if ((widen_of[pattern] & 1) != 0 && begin > 0) --begin;
    if ((widen_of[pattern] & 2) != 0 && end < text.size()) ++end;
    std::fill(covered.begin() + static_cast<ptrdiff_t>(begin),
              covered.begin() + static_cast<ptrdiff_t>(end), true);
    any = true;
  });
  if (!any) return std::string(text);
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (!covered[i]) {
      out.push_back(text[i++]);
      continue;
    }
    while (i < text.size() && covered[i]) ++i;
    out.append(kRedactionMask);
  }
  return out;
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
  std::vector<SecretBuffer> derived;  // encoded forms; wiped when Create returns
  // Spans into `derived` are taken once it stops growing; until then remember indexes.
  struct Pending {
    const SecretBuffer* raw;
    size_t derived_index;  // SIZE_MAX for the raw value itself
    uint32_t secret;
    const char* encoding;
    uint8_t widen = 0;  // base64 cores: bit 0 partial_before, bit 1 partial_after
  };
  std::vector<Pending> pending;
  // The patterns of one value (the secret's own, or a part of it when `part`).
  auto add_value = [&](const SecretBuffer* raw, size_t raw_index, uint32_t secret,
                       bool part) -> Status {
    auto name = [&](const char* e) { return part ? PartEncoding(e) : e; };
    std::span<const uint8_t> bytes =
        raw_index == SIZE_MAX ? raw->bytes() : derived[raw_index].bytes();
    pending.push_back({raw, raw_index, secret, name("raw")});
    LK_ASSIGN_OR_RETURN(std::vector<EncodedForm> forms, EncodedForms(bytes));
    LK_ASSIGN_OR_RETURN(SecretBuffer upper, UrlEncode(bytes, true));
    LK_ASSIGN_OR_RETURN(SecretBuffer lower, UrlEncode(bytes, false));
    bool differs = raw_index == SIZE_MAX ? !raw->Equals(upper.bytes())
                                         : !derived[raw_index].Equals(upper.bytes());
    bool lower_differs = !lower.Equals(upper.bytes());
    // `bytes` stays valid while `derived` grows: it points into a SecretBuffer's own memory.
    for (auto& f : forms) {
      uint8_t widen = (f.partial_before ? 1 : 0) | (f.partial_after ? 2 : 0);
      pending.push_back({raw, derived.size(), secret, name(f.encoding), widen});
      derived.push_back(std::move(f.bytes));
    }
    if (differs) {
      pending.push_back({raw, derived.size(), secret, name("url")});
      derived.push_back(std::move(upper));
      if (lower_differs) {
        pending.push_back({raw, derived.size(), secret, name("url")});
        derived.push_back(std::move(lower));
      }
    }
    return Status::OK();
  };
  for (const auto& [id, value] : released) {
    if (allowed.count(id) != 0 || value == nullptr || value->size() < kMinLeakScanLength) continue;
    auto [it, inserted] = index.emplace(id, static_cast<uint32_t>(s.secret_ids_.size()));
    if (inserted) s.secret_ids_.push_back(id);
    const uint32_t secret = it->second;
    LK_RETURN_IF_ERROR(add_value(value.get(), SIZE_MAX, secret, false));
    LK_ASSIGN_OR_RETURN(std::vector<SecretPart> parts, DeriveSecretParts(value->bytes()));
    for (auto& part : parts) {
      size_t at = derived.size();
      derived.push_back(std::move(part.value));
      LK_RETURN_IF_ERROR(add_value(nullptr, at, secret, true));
    }
  }
  if (pending.empty()) return s;
  std::vector<std::span<const uint8_t>> spans;
  for (const auto& p : pending) {
    spans.push_back(p.derived_index == SIZE_MAX ? p.raw->bytes()
                                                : derived[p.derived_index].bytes());
    s.secret_of_.push_back(p.secret);
    s.encoding_of_.push_back(p.encoding);
    s.widen_of_.push_back(p.widen);
  }
  LK_ASSIGN_OR_RETURN(LeakMatcher matcher, LeakMatcher::Build(spans));
  s.matcher_ = std::make_shared<const LeakMatcher>(std::move(matcher));
  return s;
}

size_t LeakScanner::pattern_count() const { return secret_of_.size(); }

bool LeakScanner::uses_dense_table() const { return matcher_ != nullptr && matcher_->dense(); }

std::vector<LeakFinding> LeakScanner::ScanText(std::string_view text,
                                               std::string_view where) const {
  std::vector<LeakFinding> out;
  if (empty()) return out;
  LeakScanContext ctx(*matcher_, secret_ids_, encoding_of_, secret_of_, out);
  ctx.BeginPart(std::string(where), "text");
  ctx.Feed(Bytes(text));
  return out;
}

Result<std::vector<LeakFinding>> LeakScanner::ScanChangedTree(const std::string& root,
                                                              const struct timespec& since) const {
  std::vector<LeakFinding> out;
  if (empty()) return out;
  LeakScanContext ctx(*matcher_, secret_ids_, encoding_of_, secret_of_, out);
  auto display = [&](std::string_view name) { return Masked(*matcher_, widen_of_, name); };
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
  if (archive_read_open(a.get(), &reader, nullptr, ReadCallback, nullptr) != ARCHIVE_OK) {
    return failed();
  }

  LeakScanContext ctx(*matcher_, secret_ids_, encoding_of_, secret_of_, out);
  auto scan_string = [&](const std::string& path, std::string part, const char* value) {
    if (value == nullptr || *value == '\0') return;
    ctx.BeginPart(path, std::move(part));
    ctx.Feed(Bytes(value));
  };

  for (;;) {
    struct archive_entry* e = nullptr;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return failed();
    // Entry names, link targets and xattrs are only viewed in libarchive's buffers: one of them
    // may hold a secret, which must not be copied into a std::string.
    const char* name = archive_entry_pathname(e);
    if (name == nullptr) name = archive_entry_pathname_utf8(e);
    const std::string path = Masked(*matcher_, widen_of_, name != nullptr ? name : "");

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
      ctx.BeginPart(path, "xattr " + Masked(*matcher_, widen_of_, key));
      ctx.Feed(Bytes(key));
      for (const auto& v : values) {
        ctx.Restart();
        ctx.Feed(v);
      }
    }

    ctx.BeginPart(path, "data");
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

}  // namespace latchkey::build
