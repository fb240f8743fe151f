#include "cli/output_receiver.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <utility>
#include <vector>

#include "base/errno_status.h"
#include "base/file.h"
#include "base/unique_fd.h"
#include "builder/image/export_spec.h"
#include "builder/image/oci_image.h"
#include "builder/image/tar_unpack.h"

namespace latchkey::cli {

struct OutputReceiver::Pending {
  ClientOutputKind kind = ClientOutputKind::kFile;
  std::string dest;
  bool created = false;  // Expect created dest (a directory kind)
  bool received = false;
  bool taken = false;  // a DiffCopy call is (or was) receiving it
  base::UniqueFd fd;   // kFile: the temporary file
  std::string tmp;     // kFile: its path, "" once published
};

namespace {

Status OutputError(const std::string& dest, const Status& cause) {
  return Status(cause.code(), "output " + dest + ": " + cause.message());
}

std::string Parent(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// libarchive's read callback over a ByteSource.
struct Reader {
  const ByteSource* source;
  std::string piece;
};

la_ssize_t ReadCallback(struct archive*, void* data, const void** buf) {
  auto* r = static_cast<Reader*>(data);
  r->piece.clear();
  while (r->piece.empty()) {
    if (!(*r->source)(&r->piece)) return 0;
  }
  *buf = r->piece.data();
  return static_cast<la_ssize_t>(r->piece.size());
}

Status CutShort() {
  return AbortedError(
      "the stream from latchkeyd ended early (the build was cancelled or the daemon went away)");
}

// Unpacks the tar stream of `source` into the directory `dir`. A device entry fails it.
Status UnpackStream(const std::string& dir, const ByteSource& source,
                    const std::function<bool()>& cut_short) {
  base::UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return base::ErrnoStatus("open", dir, errno);
  image::UnpackOptions opts;
  opts.whiteouts = image::WhiteoutMode::kNone;
  opts.xattrs = false;
  opts.keep_destination = true;
  opts.skip_devices = true;
  opts.missing_hardlink_text = "is not a file of the output";
  image::TarUnpacker unpacker(root.get(), opts);
  std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_read_new(),
                                                              archive_read_free);
  archive_read_support_format_tar(a.get());
  Reader reader{&source, {}};
  if (archive_read_open(a.get(), &reader, nullptr, ReadCallback, nullptr) != ARCHIVE_OK) {
    return DataLossError("cannot read the stream: " + std::string(archive_error_string(a.get())));
  }
  while (true) {
    struct archive_entry* e = nullptr;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      return DataLossError("cannot read the stream: " + std::string(archive_error_string(a.get())));
    }
    LK_RETURN_IF_ERROR(unpacker.Entry(a.get(), e));
    if (!unpacker.skipped_devices().empty()) {
      return InvalidArgumentError("latchkeyd sent a device node, " +
                                  unpacker.skipped_devices().front() +
                                  " (the local exporter never creates device nodes)");
    }
  }
  if (cut_short && cut_short()) return CutShort();
  return unpacker.Finish();
}

// Renames every regular file of `from` into `to` (created), replacing what is there.
Status MoveFiles(const std::string& from, const std::string& to) {
  LK_RETURN_IF_ERROR(base::MakeDirs(to));
  DIR* d = ::opendir(from.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return Status::OK();
    return base::ErrnoStatus("open", from, errno);
  }
  std::vector<std::string> names;
  while (dirent* de = ::readdir(d)) {
    std::string n = de->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  ::closedir(d);
  for (const auto& n : names) {
    if (::rename((from + "/" + n).c_str(), (to + "/" + n).c_str()) != 0) {
      return base::ErrnoStatus("rename", from + "/" + n, errno);
    }
  }
  return Status::OK();
}

}  // namespace

OutputReceiver::OutputReceiver() = default;
OutputReceiver::~OutputReceiver() { Abandon(); }

Status OutputReceiver::Expect(size_t index, ClientOutputKind kind, const std::string& dest) {
  auto p = std::make_unique<Pending>();
  p->kind = kind;
  p->dest = dest;
  switch (kind) {
    case ClientOutputKind::kFile: {
      if (dest == image::kStdoutDest) break;  // written to stdout as it arrives
      std::string tmp = dest + ".tmp-XXXXXX";
      int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
      if (fd < 0) return base::ErrnoStatus("create", dest, errno);
      p->fd = base::UniqueFd(fd);
      p->tmp = std::move(tmp);
      break;
    }
    case ClientOutputKind::kDirectory: {
      struct stat st {};
      p->created = ::lstat(dest.c_str(), &st) != 0 && errno == ENOENT;
      LK_RETURN_IF_ERROR(base::MakeDirs(dest));
      break;
    }
    case ClientOutputKind::kOciLayout:
      LK_RETURN_IF_ERROR(image::PrepareOciLayoutDest(dest, &p->created));
      break;
  }
  std::lock_guard<std::mutex> l(mu_);
  pending_[index] = std::move(p);
  return Status::OK();
}

Status OutputReceiver::Receive(size_t index, const ByteSource& source,
                               const std::function<bool()>& cut_short) {
  Pending* p = nullptr;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = pending_.find(index);
    if (it == pending_.end() || it->second->taken) {
      return NotFoundError("output " + std::to_string(index) + " was not requested");
    }
    p = it->second.get();
    p->taken = true;
  }
  Status st;
  switch (p->kind) {
    case ClientOutputKind::kFile:
      st = ReceiveFile(*p, source, cut_short);
      break;
    case ClientOutputKind::kDirectory:
      st = UnpackStream(p->dest, source, cut_short);
      break;
    case ClientOutputKind::kOciLayout:
      st = ReceiveLayout(*p, source, cut_short);
      break;
  }
  if (!st.ok()) return OutputError(p->dest, st);
  std::lock_guard<std::mutex> l(mu_);
  p->received = true;
  return Status::OK();
}

Status OutputReceiver::ReceiveFile(Pending& p, const ByteSource& source,
                                   const std::function<bool()>& cut_short) {
  std::string piece;
  if (p.dest == image::kStdoutDest) {
    while (source(&piece)) {
      LK_RETURN_IF_ERROR(base::WriteAll(stdout_fd_, piece.data(), piece.size(), "stdout"));
    }
    if (cut_short && cut_short()) return CutShort();
    return Status::OK();
  }
  while (source(&piece)) {
    size_t off = 0;
    while (off < piece.size()) {
      ssize_t n = ::write(p.fd.get(), piece.data() + off, piece.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return base::ErrnoStatus("write", p.tmp, errno);
      off += static_cast<size_t>(n);
    }
  }
  if (cut_short && cut_short()) return CutShort();
  if (::fchmod(p.fd.get(), 0644) != 0 || ::fsync(p.fd.get()) != 0) {
    return base::ErrnoStatus("sync", p.tmp, errno);
  }
  if (::rename(p.tmp.c_str(), p.dest.c_str()) != 0) {
    return base::ErrnoStatus("rename", p.tmp, errno);
  }
  p.tmp.clear();
  p.fd.reset();
  return Status::OK();
}

Status OutputReceiver::ReceiveLayout(Pending& p, const ByteSource& source,
                                     const std::function<bool()>& cut_short) {
  // The daemon's fresh layout, beside dest; then merged into dest.
  LK_ASSIGN_OR_RETURN(std::string tmp, base::MakeTempDir(Parent(p.dest), ".latchkey-layout-"));
  struct RemoveTmp {
    std::string dir;
    ~RemoveTmp() { (void)base::RemoveAll(dir); }
  } remove_tmp{tmp};
  LK_RETURN_IF_ERROR(UnpackStream(tmp, source, cut_short));
  LK_ASSIGN_OR_RETURN(auto received, image::ReadIndex(tmp));
  LK_RETURN_IF_ERROR(MoveFiles(tmp + "/blobs/sha256", p.dest + "/blobs/sha256"));
  const std::string layout = tmp + "/oci-layout";
  if (::rename(layout.c_str(), (p.dest + "/oci-layout").c_str()) != 0) {
    return base::ErrnoStatus("rename", layout, errno);
  }
  LK_ASSIGN_OR_RETURN(auto entries, image::ReadIndex(p.dest));
  std::set<std::string> replaced;
  for (const auto& e : received) {
    if (!e.ref_name.empty()) replaced.insert(e.ref_name);
  }
  std::vector<image::IndexEntry> kept;
  for (auto& e : entries) {
    if (e.ref_name.empty() || replaced.count(e.ref_name) == 0) kept.push_back(std::move(e));
  }
  for (auto& e : received) kept.push_back(std::move(e));
  return image::WriteIndex(p.dest, kept);
}

grpc::Status OutputReceiver::DiffCopy(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<moby::filesync::v1::BytesMessage, moby::filesync::v1::BytesMessage>*
        stream) {
  const auto& md = context->client_metadata();
  auto it = md.find(kExporterIdKey);
  std::string id = it == md.end() ? "" : std::string(it->second.data(), it->second.size());
  char* end = nullptr;
  unsigned long index = std::strtoul(id.c_str(), &end, 10);
  if (id.empty() || end == nullptr || *end != '\0') {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        std::string("FileSend.DiffCopy: metadata ") + kExporterIdKey +
                            " must name an output index, got \"" + id + "\"");
  }
  moby::filesync::v1::BytesMessage msg;
  Status st = Receive(
      static_cast<size_t>(index),
      [stream, &msg](std::string* piece) {
        if (!stream->Read(&msg)) return false;
        piece->swap(*msg.mutable_data());
        return true;
      },
      [context] { return context->IsCancelled(); });
  if (!st.ok()) return grpc::Status(static_cast<grpc::StatusCode>(st.code()), st.message());
  return grpc::Status::OK;
}

Status OutputReceiver::Missing() const {
  auto* self = const_cast<OutputReceiver*>(this);
  std::lock_guard<std::mutex> l(self->mu_);
  for (const auto& [index, p] : pending_) {
    if (!p->received) return DataLossError("latchkeyd did not send the output " + p->dest);
  }
  return Status::OK();
}

void OutputReceiver::Abandon() {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [index, p] : pending_) {
    if (p->received) continue;
    if (!p->tmp.empty()) {
      (void)::unlink(p->tmp.c_str());
      p->tmp.clear();
    }
    if (p->created) {
      (void)base::RemoveAll(p->dest);
      p->created = false;
    }
  }
}

}  // namespace latchkey::cli
