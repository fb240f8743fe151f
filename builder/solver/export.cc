// BuildRun, commit and outputs: a step's upper dir becomes a layer in the blob store and the
// layer cache, and the committed image goes to the store (-t) and to -o outputs (build_run.h).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/file.h"
#include "builder/executor/cancel.h"
#include "builder/image/digest.h"
#include "builder/image/image_ref.h"
#include "builder/image/layer_writer.h"
#include "builder/image/output_image.h"
#include "builder/solver/build_run.h"

namespace latchkey::build {
namespace {

bool PathExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// Interrupted while an output directory was written (the writer itself stops at its next poll,
// and removes a directory it created): a directory the finished writer created is not left
// behind as a result either.
Status RemoveIfCancelled(const std::string& dir, bool existed) {
  Status cancelled = CheckCancelled();
  if (!cancelled.ok() && !existed) (void)image::RemoveAll(dir);
  return cancelled;
}

// The file at `path` to the process's standard output, then removed.
Status CopyToStdout(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return image::ErrnoStatus("open", path, errno);
  std::vector<char> buf(1 << 20);
  Status st;
  while (st.ok()) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      st = image::ErrnoStatus("read", path, errno);
      break;
    }
    if (n == 0) break;
    st = base::WriteAll(STDOUT_FILENO, buf.data(), static_cast<size_t>(n), "stdout");
  }
  ::close(fd);
  ::unlink(path.c_str());
  return st;
}

bool DirIsEmpty(const std::string& dir) {
  std::error_code ec;
  return std::filesystem::is_empty(dir, ec) && !ec;
}

}  // namespace

// Turns a step's upper dir into a layer: written to the blob store uncompressed (outputs
// compress it when they need to: image/output_image.h) and leak-scanned in the same pass, then
// moved into the layer cache. nullopt when the step changed nothing.
Result<std::optional<image::LayerDescriptor>> BuildRun::CommitLayer(
    const std::string& upper, const LayerRef& where, std::vector<std::string>* allowed) {
  if (DirIsEmpty(upper)) return std::optional<image::LayerDescriptor>();
  image::LayerOptions opts;
  opts.source = image::LayerSource::kOverlayUpper;
  opts.source_date_epoch = req_.source_date_epoch;
  opts.cancel = CheckCancelled;
  opts.compression = image::Compression::kUncompressed;
  LK_ASSIGN_OR_RETURN(const LeakScanner* scanner, Scanner());
  std::unique_ptr<LayerLeakScan> scan = scanner->StartLayerScan();
  opts.observer = scan.get();
  Result<image::LayerDescriptor> written = image::WriteLayer(upper, opts, store_.blobs());
  if (!written.ok()) {
    if (written.status().code() == StatusCode::kCancelled) return written.status();
    return written.status().WithPrefix("step " + std::to_string(where.step) +
                                       " (Dockerfile:" + std::to_string(where.line) + ")");
  }
  image::LayerDescriptor desc = std::move(written).value();
  Status scanned = scan ? LayerFindings(scan->TakeFindings(), desc, where, allowed,
                                        /*at_step=*/true)
                        : Status::OK();
  if (!scanned.ok()) {
    ::unlink(store_.blobs().PathFor(desc.digest).c_str());
    DropCacheEntries();
    return scanned;
  }
  std::string dest =
      req_.state_dir + "/layers/sha256/" + std::string(image::DigestHex(desc.diff_id));
  if (::access(dest.c_str(), F_OK) != 0) {
    // The step's overlay was mounted `volatile` (executor/overlay_volatile.h) and is unmounted
    // now: one syncfs of the upper dir's own filesystem (the state dir's) writes back everything
    // the step wrote, before the directory is published in the layer cache.
    int fd = ::open(upper.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return image::ErrnoStatus("open", upper, errno);
    const int synced = ::syncfs(fd), err = errno;
    ::close(fd);
    if (synced != 0) return image::ErrnoStatus("sync", upper, err);
    if (::rename(upper.c_str(), dest.c_str()) != 0 && errno != ENOTEMPTY && errno != EEXIST) {
      return image::ErrnoStatus("rename", upper, errno);
    }
  }
  written_layers_.push_back(desc);
  return std::optional<image::LayerDescriptor>(desc);
}

// The image as an oci output emits it: its layers compressed as the output asks (once per
// layer, compression and level: the store's compressed-layer cache).
Result<image::Image> BuildRun::EmitImage(const image::Image& img, const image::ExportSpec& out,
                                         int vertex) {
  const image::OutputCompression& c = out.compression;
  const int level = c.level < 0 ? image::DefaultCompressionLevel(c.compression) : c.level;
  auto start = std::chrono::steady_clock::now();
  LK_ASSIGN_OR_RETURN(image::Image emit,
                      image::ImageForOutput(store_.blobs(), img, c, CheckCancelled));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  char took[32];
  std::snprintf(took, sizeof took, "%.1fs", secs);
  progress_.Note(
      vertex,
      "compressing layers (" + std::string(image::CompressionName(c.compression)) +
          (c.compression == image::Compression::kUncompressed ? ""
                                                              : " level " + std::to_string(level)) +
          ") " + took + " done");
  return emit;
}

Status BuildRun::Export(const image::Image& img, BuildResult& result) {
  if (req_.tags.empty() && req_.outputs.empty()) {
    progress_.Print(
        "WARNING: No output specified. The build result will only remain in the build cache; "
        "use -t NAME:TAG to store the image or -o type=oci,dest=FILE.tar to write it out");
    return Status::OK();
  }
  auto step = [&](const std::string& name, const std::function<Status(int)>& fn) -> Status {
    LK_RETURN_IF_ERROR(CheckCancelled());
    int v = progress_.Start(name);
    auto start = std::chrono::steady_clock::now();
    Status st = fn(v);
    if (st.ok()) st = CheckCancelled();
    if (!st.ok()) return Fail(v, name, 0, 0, st);
    (void)start;
    progress_.Done(v);
    return Status::OK();
  };
  // OCI outputs are named as BuildKit names them: io.containerd.image.name is the full name
  // (name= or the first -t), org.opencontainers.image.ref.name its tag ("latest" unnamed).
  image::ImageRef default_name;
  if (!req_.tags.empty()) {
    Result<image::ImageRef> ref = image::ParseImageRef(req_.tags.front());
    if (ref.ok()) default_name = *ref;
  }
  // -t and type=image outputs share one "exporting to image" vertex, as in BuildKit: every
  // name is tagged in the store, then the names of push=true outputs are pushed.
  std::vector<image::ImageRef> names;
  std::vector<std::pair<image::ImageRef, image::OutputCompression>> push_names;
  auto add = [](std::vector<image::ImageRef>& v, const image::ImageRef& r) {
    for (const auto& x : v)
      if (x == r) return;
    v.push_back(r);
  };
  // A name pushed by several outputs is pushed once, as the first of them asks.
  auto add_push = [&push_names](const image::ImageRef& r, const image::OutputCompression& c) {
    for (const auto& x : push_names)
      if (x.first == r) return;
    push_names.emplace_back(r, c);
  };
  for (const auto& t : req_.tags) {
    LK_ASSIGN_OR_RETURN(image::ImageRef ref, image::ParseImageRef(t));
    add(names, ref);
  }
  for (const auto& out : req_.outputs) {
    if (out.type != image::ExportType::kImage) continue;
    std::vector<image::ImageRef> these;
    if (!out.name.name.empty()) {
      these.push_back(out.name);
    } else {
      for (const auto& t : req_.tags) these.push_back(*image::ParseImageRef(t));
    }
    if (out.push && these.empty())
      return InvalidArgumentError("tag is needed when pushing to registry");
    for (const auto& r : these) {
      add(names, r);
      if (out.push) add_push(r, out.compression);
    }
  }
  if (!names.empty()) {
    LK_RETURN_IF_ERROR(step("exporting to image", [&](int v) -> Status {
      progress_.Note(v, "exporting layers done");
      progress_.Note(v, "writing image " + img.config_digest + " done");
      for (const auto& ref : names) {
        LK_RETURN_IF_ERROR(store_.Tag(ref.ToString(), img));
        progress_.Note(v, "naming to " + ref.ToString() + " done");
        result.tags.push_back(ref.ToString());
      }
      for (const auto& [ref, compression] : push_names) {
        LK_RETURN_IF_ERROR(PushImage(v, ref, compression, img, result));
      }
      return Status::OK();
    }));
  }
  for (size_t index = 0; index < req_.outputs.size(); ++index) {
    const image::ExportSpec& out = req_.outputs[index];
    const std::string& shown = out.shown_dest.empty() ? out.dest : out.shown_dest;
    auto deliver = [&](int v) -> Status {
      if (!req_.deliver_output) return Status::OK();
      return req_.deliver_output(index, out, v);
    };
    const image::ImageRef& named = out.name.name.empty() ? default_name : out.name;
    const std::string name_ref = named.name.empty() ? "latest" : named.tag;
    const std::string image_name = named.name.empty() ? "" : named.FullString();
    switch (out.type) {
      case image::ExportType::kOciArchive:
        LK_RETURN_IF_ERROR(step("exporting to oci image format", [&](int v) -> Status {
          LK_ASSIGN_OR_RETURN(image::Image emit, EmitImage(img, out, v));
          progress_.Note(v, "exporting manifest " + emit.manifest_digest + " done");
          // dest=-: written into this build's scratch space, then copied to stdout.
          const bool to_stdout = out.dest == image::kStdoutDest;
          const std::string path =
              to_stdout ? tmp_ + "/stdout-" + std::to_string(index) + ".tar" : out.dest;
          LK_RETURN_IF_ERROR(image::WriteOciArchive(store_.blobs(), emit, path, name_ref,
                                                    image_name, CheckCancelled));
          if (to_stdout) LK_RETURN_IF_ERROR(CopyToStdout(path));
          if (executor::CancelRequested()) {
            // Interrupted while the archive was written: it is not left behind as a result.
            (void)::unlink(out.dest.c_str());
            return CancelledError("build cancelled");
          }
          LK_RETURN_IF_ERROR(deliver(v));
          progress_.Note(v, "sending tarball to " + shown + " done");
          return Status::OK();
        }));
        break;
      case image::ExportType::kOciLayout:
        LK_RETURN_IF_ERROR(step("exporting to oci image layout", [&](int v) -> Status {
          LK_ASSIGN_OR_RETURN(image::Image emit, EmitImage(img, out, v));
          const bool existed = PathExists(out.dest);
          LK_RETURN_IF_ERROR(image::WriteOciLayout(store_.blobs(), emit, out.dest, name_ref,
                                                   image_name, CheckCancelled));
          LK_RETURN_IF_ERROR(RemoveIfCancelled(out.dest, existed));
          LK_RETURN_IF_ERROR(deliver(v));
          progress_.Note(v, "writing " + shown + ":" + name_ref + " done");
          return Status::OK();
        }));
        break;
      case image::ExportType::kImage:
        break;  // tagged and pushed above
      case image::ExportType::kLocal:
        LK_RETURN_IF_ERROR(step("exporting to client directory", [&](int v) -> Status {
          std::vector<std::string> devices;
          const bool existed = PathExists(out.dest);
          LK_RETURN_IF_ERROR(
              image::ExportRootfs(store_.blobs(), img, out.dest, &devices, CheckCancelled));
          LK_RETURN_IF_ERROR(RemoveIfCancelled(out.dest, existed));
          for (const std::string& d : devices) progress_.Note(v, image::SkippedDeviceWarning(d));
          LK_RETURN_IF_ERROR(deliver(v));
          progress_.Note(v, "copying files to " + shown + " done");
          return Status::OK();
        }));
        break;
    }
  }
  return Status::OK();
}

}  // namespace latchkey::build

namespace latchkey::build {

// One push on the "exporting to image" vertex, with BuildKit's lines: "pushing layers", one
// line per blob, "pushing layers <s> done", "pushing manifest for REF@DIGEST <s> done".
Status BuildRun::PushImage(int v, const image::ImageRef& ref,
                           const image::OutputCompression& compression, const image::Image& img,
                           BuildResult& result) {
  if (req_.pusher == nullptr) {
    return FailedPreconditionError("cannot push " + ref.FullString() +
                                   ": pushing to a registry needs the latchkey CLI's registry "
                                   "client");
  }
  auto seconds = [](std::chrono::steady_clock::time_point since) {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fs", s);
    return std::string(buf);
  };
  const auto start = std::chrono::steady_clock::now();
  progress_.Note(v, "pushing layers");
  auto pushed = req_.pusher->Push(ref, img, store_, compression, [&](const PushEvent& e) {
    switch (e.kind) {
      case PushEvent::Kind::kStarted:
        return;
      case PushEvent::Kind::kPresent:
        progress_.Note(v, e.digest + " already exists");
        return;
      case PushEvent::Kind::kMounted:
        progress_.Note(v, e.digest + " mounted from " + e.from);
        return;
      case PushEvent::Kind::kUploaded:
        progress_.Note(v, e.digest + " " + image::HumanSize(e.size) + " done");
        return;
      case PushEvent::Kind::kManifest:
        return;
    }
  });
  if (!pushed.ok()) return pushed.status();
  progress_.Note(v, "pushing layers " + seconds(start) + " done");
  progress_.Note(v, "pushing manifest for " + ref.FullString() + "@" + pushed->digest + " done");
  result.pushed = *pushed;
  result.pushed_names.push_back(ref.FullString());
  return Status::OK();
}

}  // namespace latchkey::build
