#include "daemon/context_mirror.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/latchkey/v1/control.grpc.pb.h"
#include "base/env.h"
#include "base/errno_status.h"
#include "base/file.h"
#include "base/unique_fd.h"

namespace latchkey::daemon {
namespace {

using latchkey::v1::ContextEntry;

struct Known {
  uint32_t mode = 0;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  std::string link;
  std::string sha256;  // raw bytes, regular files
};

Status CallError(const grpc::Status& st) {
  return Status(
      static_cast<StatusCode>(st.error_code()),
      "context transfer: " + std::string(StatusCodeName(static_cast<StatusCode>(st.error_code()))) +
          ": " + st.error_message());
}

Status BadPath(const std::string& p) {
  return InvalidArgumentError("context transfer: invalid path \"" + p + "\" from the client");
}

std::string Parent(const std::string& p) {
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? "." : p.substr(0, slash);
}

bool CleanRelative(const std::string& p) {
  if (p.empty() || p[0] == '/' || p.back() == '/') return false;
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string::npos) end = p.size();
    std::string_view c(p.data() + start, end - start);
    if (c.empty() || c == "." || c == "..") return false;
    start = end + 1;
  }
  return p.find('\0') == std::string::npos;
}

std::string Hex(const std::string& raw) {
  std::string out(raw.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), reinterpret_cast<const unsigned char*>(raw.data()),
                 raw.size());
  out.pop_back();
  return out;
}

std::string Unhex(const std::string& hex) {
  std::string out(hex.size() / 2, '\0');
  size_t len = 0;
  if (sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), hex.data(),
                     hex.size(), nullptr, &len, nullptr) != 0) {
    return "";
  }
  out.resize(len);
  return out;
}

std::map<std::string, Known> LoadIndex(const std::string& path) {
  std::map<std::string, Known> out;
  auto text = base::ReadFile(path);
  if (!text.ok()) return out;
  auto j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return out;  // a damaged index: everything is fetched again
  for (auto& [p, v] : j.items()) {
    if (!v.is_object()) continue;
    Known k;
    k.mode = v.value("mode", 0u);
    k.size = v.value("size", int64_t{0});
    k.mtime_ns = v.value("mtime_ns", int64_t{0});
    k.link = v.value("link", "");
    k.sha256 = Unhex(v.value("sha256", ""));
    out[p] = std::move(k);
  }
  return out;
}

Status SaveIndex(const std::string& path, const std::map<std::string, Known>& index) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [p, k] : index) {
    nlohmann::json v = {{"mode", k.mode}, {"size", k.size}, {"mtime_ns", k.mtime_ns}};
    if (!k.link.empty()) v["link"] = k.link;
    if (!k.sha256.empty()) v["sha256"] = Hex(k.sha256);
    j[p] = std::move(v);
  }
  return base::WriteFileAtomic(path, j.dump(), 0600);
}

bool SameStat(const Known& k, const ContextEntry& e) {
  return k.mode == e.mode() && k.size == e.size() && k.mtime_ns == e.mtime_ns() &&
         k.link == e.link_target();
}

timespec Timespec(int64_t ns) {
  timespec t{};
  t.tv_sec = static_cast<time_t>(ns / 1000000000);
  t.tv_nsec = static_cast<long>(ns % 1000000000);
  return t;
}

Status SetTimes(const std::string& path, int64_t mtime_ns) {
  timespec times[2] = {Timespec(mtime_ns), Timespec(mtime_ns)};
  if (::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return base::ErrnoStatus("set times of", path, errno);
  }
  return Status::OK();
}

// Receives the files of one ReadFiles call into `tree`, recording their digests in `index`.
Status Receive(latchkey::v1::ContextSync::Stub& stub, const latchkey::v1::ReadFilesRequest& req,
               const std::string& tree, const std::string& tmp_dir,
               std::map<std::string, Known>* index, ContextSyncStats* stats) {
  grpc::ClientContext ctx;
  auto reader = stub.ReadFiles(&ctx, req);
  latchkey::v1::FileChunk c;
  std::set<std::string> wanted;
  for (const auto& f : req.files()) wanted.insert(f.path());
  base::UniqueFd out;
  std::string current, tmp;
  crypto_hash_sha256_state hash;
  Status failed;
  while (reader->Read(&c)) {
    if (!c.path().empty()) {
      if (out.valid() || wanted.erase(c.path()) == 0) {
        failed = BadPath(c.path());
        break;
      }
      current = c.path();
      if (!c.error().empty()) {
        failed = FailedPreconditionError("context transfer: " + c.error());
        break;
      }
      if (c.unchanged()) {
        // Same bytes as our copy (only the stat changed): keep it.
        current.clear();
        continue;
      }
      tmp = tmp_dir + "/file";
      (void)::unlink(tmp.c_str());
      out = base::UniqueFd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
      if (!out.valid()) {
        failed = base::ErrnoStatus("create", tmp, errno);
        break;
      }
      crypto_hash_sha256_init(&hash);
      ++stats->files_fetched;
    }
    if (!out.valid()) {
      failed = InvalidArgumentError("context transfer: a file chunk without its file's name");
      break;
    }
    if (!c.error().empty()) {
      failed = FailedPreconditionError("context transfer: " + c.error());
      break;
    }
    if (!c.data().empty()) {
      if (Status st = base::WriteAll(out.get(), c.data().data(), c.data().size(), tmp); !st.ok()) {
        failed = st;
        break;
      }
      crypto_hash_sha256_update(&hash, reinterpret_cast<const unsigned char*>(c.data().data()),
                                c.data().size());
      stats->bytes_fetched += c.data().size();
    }
    if (c.eof()) {
      out.reset();
      std::string digest(crypto_hash_sha256_BYTES, '\0');
      crypto_hash_sha256_final(&hash, reinterpret_cast<unsigned char*>(digest.data()));
      std::string dest = tree + "/" + current;
      if (::rename(tmp.c_str(), dest.c_str()) != 0) {
        failed = base::ErrnoStatus("rename into", dest, errno);
        break;
      }
      (*index)[current].sha256 = std::move(digest);
      current.clear();
    }
  }
  if (!failed.ok()) {
    ctx.TryCancel();
    (void)reader->Finish();
    return failed;
  }
  grpc::Status st = reader->Finish();
  if (!st.ok()) return CallError(st);
  if (out.valid() || !wanted.empty()) {
    return FailedPreconditionError(
        "context transfer: the client did not send every file asked for");
  }
  return Status::OK();
}

}  // namespace

Result<ContextSyncStats> SyncContext(const std::shared_ptr<grpc::Channel>& session,
                                     const std::string& mirror_dir, const std::string& context) {
  const std::string tree = mirror_dir + "/tree";
  const std::string tmp_dir = mirror_dir + "/tmp";
  const std::string index_path = mirror_dir + "/index.json";
  LK_RETURN_IF_ERROR(base::MakeDirs(tree, 0700));
  LK_RETURN_IF_ERROR(base::MakeDirs(tmp_dir, 0700));
  auto stub = latchkey::v1::ContextSync::NewStub(session);

  // 1. The client's manifest, checked: clean relative paths below listed directories.
  std::vector<ContextEntry> entries;
  std::set<std::string> dirs;
  {
    grpc::ClientContext ctx;
    latchkey::v1::ManifestRequest mreq;
    mreq.set_context(context);
    auto reader = stub->Manifest(&ctx, mreq);
    ContextEntry e;
    while (reader->Read(&e)) entries.push_back(e);
    grpc::Status st = reader->Finish();
    if (!st.ok()) return CallError(st);
  }
  ContextSyncStats stats;
  stats.entries = entries.size();
  if (entries.empty() || entries[0].path() != "." || !S_ISDIR(entries[0].mode())) {
    return InvalidArgumentError(
        "context transfer: the client's manifest does not start with "
        "its root directory");
  }
  dirs.insert(".");
  std::set<std::string> seen;
  for (size_t i = 1; i < entries.size(); ++i) {
    const std::string& p = entries[i].path();
    if (!CleanRelative(p) || dirs.count(Parent(p)) == 0 || !seen.insert(p).second) {
      return BadPath(p);
    }
    uint32_t type = entries[i].mode() & S_IFMT;
    if (type == S_IFDIR) {
      dirs.insert(p);
    } else if (type != S_IFREG && type != S_IFLNK) {
      return BadPath(p);
    }
  }

  // 2. What changed since the index.
  std::map<std::string, Known> old = LoadIndex(index_path);
  std::map<std::string, Known> index;
  for (const auto& e : entries) {
    Known k;
    k.mode = e.mode();
    k.size = e.size();
    k.mtime_ns = e.mtime_ns();
    k.link = e.link_target();
    index[e.path()] = k;
  }
  // Our directories stay writable while we change them (modes are applied again at the end).
  (void)::chmod(tree.c_str(), 0700);
  for (const auto& [p, k] : old) {
    if (S_ISDIR(k.mode) && p != ".") (void)::chmod((tree + "/" + p).c_str(), 0700);
  }
  // Gone, or of another type: removed (deepest first; a removed directory takes its children).
  for (auto it = old.rbegin(); it != old.rend(); ++it) {
    auto now = index.find(it->first);
    if (it->first == ".") continue;
    if (now == index.end() || (now->second.mode & S_IFMT) != (it->second.mode & S_IFMT) ||
        ((it->second.mode & S_IFMT) == S_IFLNK && now->second.link != it->second.link)) {
      LK_RETURN_IF_ERROR(base::RemoveAll(tree + "/" + it->first));
    }
  }
  // 3. Directories and symlinks; the files to fetch.
  latchkey::v1::ReadFilesRequest fetch;
  fetch.set_context(context);
  for (size_t i = 1; i < entries.size(); ++i) {
    const ContextEntry& e = entries[i];
    const std::string path = tree + "/" + e.path();
    auto was = old.find(e.path());
    bool same_type = was != old.end() && (was->second.mode & S_IFMT) == (e.mode() & S_IFMT);
    switch (e.mode() & S_IFMT) {
      case S_IFDIR: {
        struct stat st {};
        if (::lstat(path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
          LK_RETURN_IF_ERROR(base::RemoveAll(path));
        }
        if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
          return base::ErrnoStatus("create directory", path, errno);
        }
        break;
      }
      case S_IFLNK: {
        struct stat st {};
        if (::lstat(path.c_str(), &st) == 0) {
          if (same_type && S_ISLNK(st.st_mode) && was->second.link == e.link_target()) break;
          LK_RETURN_IF_ERROR(base::RemoveAll(path));
        }
        if (::symlink(e.link_target().c_str(), path.c_str()) != 0) {
          return base::ErrnoStatus("create symlink", path, errno);
        }
        break;
      }
      default: {  // regular file
        struct stat st {};
        bool present = ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
        if (present && same_type && SameStat(was->second, e) && !was->second.sha256.empty()) {
          index[e.path()].sha256 = was->second.sha256;
          break;
        }
        auto* f = fetch.add_files();
        f->set_path(e.path());
        if (present && same_type) {
          f->set_known_sha256(was->second.sha256);
          index[e.path()].sha256 = was->second.sha256;  // kept when "unchanged"
        }
        break;
      }
    }
  }
  // 4. The changed files' bytes.
  if (fetch.files_size() > 0) {
    LK_RETURN_IF_ERROR(Receive(*stub, fetch, tree, tmp_dir, &index, &stats));
  }
  // 5. Modes and times as the client has them; directories last, deepest first.
  for (size_t i = 1; i < entries.size(); ++i) {
    const ContextEntry& e = entries[i];
    if (S_ISDIR(e.mode())) continue;
    const std::string path = tree + "/" + e.path();
    if (S_ISREG(e.mode()) && ::chmod(path.c_str(), e.mode() & 07777) != 0) {
      return base::ErrnoStatus("chmod", path, errno);
    }
    LK_RETURN_IF_ERROR(SetTimes(path, e.mtime_ns()));
  }
  for (size_t i = entries.size(); i-- > 0;) {
    const ContextEntry& e = entries[i];
    if (!S_ISDIR(e.mode())) continue;
    const std::string path = i == 0 ? tree : tree + "/" + e.path();
    if (::chmod(path.c_str(), e.mode() & 07777) != 0) {
      return base::ErrnoStatus("chmod", path, errno);
    }
    LK_RETURN_IF_ERROR(SetTimes(path, e.mtime_ns()));
  }
  LK_RETURN_IF_ERROR(SaveIndex(index_path, index));
  return stats;
}

}  // namespace latchkey::daemon
