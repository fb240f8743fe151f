// `latchkey images`, `latchkey image import|tag|export|inspect|rm|prune`: the local image store
// (builder/image/image_store.h). Exit codes: 0 ok, 1 the operation failed (`error: <message>`
// on stderr), 2 usage (bad flags, bad -o spec, bad --config-* values).
//
// The store lives in --state-dir (default /var/lib/latchkey as root, else
// $XDG_STATE_HOME/latchkey). `image import` honours SOURCE_DATE_EPOCH from the environment
// (or --source-date-epoch) for reproducible layers and "created".
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "builder/image/config_json.h"
#include "builder/image/export_spec.h"
#include "builder/image/image_import.h"
#include "builder/image/image_store.h"
#include "builder/image/layer_extract.h"
#include "builder/image/output_image.h"
#include "builder/solver/image_remove.h"
#include "builder/solver/store_gc.h"
#include "cli/cli_setup.h"
#include "cli/command_registry.h"
#include "cli/daemon_client.h"
#include "cli/image_tag.h"
#include "cli/remote_gc.h"
#include "cli/state_recovery_setup.h"
#include "cli/table.h"

namespace latchkey::cli {
namespace {

using image::ImageStore;

struct ImageFlags {
  std::string state_dir;
  const GlobalOptions* global = nullptr;  // for the configured builder state dir
  // import
  std::string rootfs, oci_layout, archive, tag, config_cmd, config_entrypoint,
      architecture = "amd64";
  std::vector<std::string> config_env;
  std::string source_date_epoch;
  // export / inspect / rm / tag
  std::string ref, output, target;
  bool no_trunc = false;
  bool force = false;  // image prune
};

Result<ImageStore> OpenStore(const ImageFlags& f) {
  LK_ASSIGN_OR_RETURN(Config config, LoadProcessConfig(*f.global));
  std::string dir = f.state_dir.empty() ? BuilderStateDir(config) : f.state_dir;
  // Every start that opens the builder state cleans what dead builds left there.
  LK_RETURN_IF_ERROR(RecoverBuilderState(config, dir, "", nullptr));
  return ImageStore::Open(dir);
}

// The store opened by an import: until the import tags, the blobs it writes are referenced by
// nothing, so it holds the store's GC lock shared (no GC may run meanwhile).
struct StoreForImport {
  ImageStore store;
  build::StoreUseLock in_use;
};
Result<StoreForImport> OpenStoreForImport(const ImageFlags& f) {
  LK_ASSIGN_OR_RETURN(ImageStore store, OpenStore(f));
  LK_ASSIGN_OR_RETURN(build::StoreUseLock in_use, build::StoreUseLock::Shared(store.state_dir()));
  return StoreForImport{std::move(store), std::move(in_use)};
}

// An imported image is one to build on: its layers are unpacked into the layer cache now, as
// `docker import` and `buildah pull` store theirs, instead of by the first build that uses it
// (docs/image-store.md, "Unpacked layers": a tagged image's layers stay unpacked).
Status UnpackImported(const ImageStore& store, const image::Image& img) {
  for (const auto& l : img.layers) {
    auto dir = image::ExtractLayer(store.blobs(), l.digest, l.diff_id, store.state_dir());
    if (!dir.ok()) return dir.status().WithPrefix("import: the image is stored; unpacking it");
  }
  return Status::OK();
}

// A --config-cmd / --config-entrypoint value: a JSON array of strings (exec form), or any
// other text, which becomes ["/bin/sh", "-c", text] (shell form), as in a Dockerfile.
Result<std::vector<std::string>> ParseCommand(const std::string& flag, const std::string& v) {
  if (!v.empty() && v.front() == '[') {
    nlohmann::json j = nlohmann::json::parse(v, nullptr, false);
    bool ok = j.is_array();
    std::vector<std::string> out;
    if (ok) {
      for (const auto& s : j) {
        if (!s.is_string())
          ok = false;
        else
          out.push_back(s.get<std::string>());
      }
    }
    if (!ok) {
      return InvalidArgumentError(
          "invalid " + flag + " " + v +
          ": want a JSON array of strings, e.g. '[\"/bin/sh\",\"-c\",\"x\"]'");
    }
    return out;
  }
  return std::vector<std::string>{"/bin/sh", "-c", v};
}

Result<std::optional<int64_t>> ParseEpoch(const std::string& flag_value) {
  std::string v = flag_value;
  std::string what = "--source-date-epoch";
  if (v.empty()) {
    const char* env = std::getenv("SOURCE_DATE_EPOCH");
    if (env == nullptr || *env == '\0') return std::optional<int64_t>();
    v = env;
    what = "SOURCE_DATE_EPOCH";
  }
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (errno != 0 || end == v.c_str() || *end != '\0' || n < 0) {
    return InvalidArgumentError("invalid " + what + " \"" + v +
                                "\": want a non-negative number of seconds since 1970");
  }
  return std::optional<int64_t>(n);
}

int RunImages(const ImageFlags& f) {
  auto host = ChooseHost(*f.global);
  if (!host.ok()) return Fail(host.status());
  if (!host->host.empty()) return RunRemoteImages(*host, f.no_trunc);
  auto store = OpenStore(f);
  if (!store.ok()) return Fail(store.status());
  auto list = store->List();
  if (!list.ok()) return Fail(list.status());
  std::vector<std::vector<std::string>> rows = {
      {"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"}};
  for (const auto& si : *list) {
    size_t colon = si.ref.rfind(':');
    std::string id = std::string(image::DigestHex(si.image.config_digest));
    if (!f.no_trunc) id = id.substr(0, 12);
    rows.push_back({si.ref.substr(0, colon), si.ref.substr(colon + 1), id,
                    si.image.config.created.empty() ? "-" : si.image.config.created,
                    image::HumanSize(si.image.LayersSize())});
  }
  std::cout << FormatTable(rows);
  return kExitOk;
}

// --oci-layout DIR[:TAG] / --archive FILE[:TAG]: the image is named by -t, else by the name
// the source gives it (io.containerd.image.name, a docker save RepoTag).
int RunImportImage(const ImageFlags& f) {
  const bool layout = !f.oci_layout.empty();
  if (!f.config_cmd.empty() || !f.config_entrypoint.empty() || !f.config_env.empty() ||
      !f.source_date_epoch.empty()) {
    return Usage(std::string("--config-* and --source-date-epoch apply to --rootfs only; ") +
                 (layout ? "--oci-layout" : "--archive") + " imports the image as it is");
  }
  if (!f.tag.empty()) {
    auto ref = image::ParseImageRef(f.tag);
    if (!ref.ok()) return Usage(ref.status().message());
  }
  auto s = OpenStoreForImport(f);
  if (!s.ok()) return Fail(s.status());
  auto [path, tag] = image::SplitPathAndTag(layout ? f.oci_layout : f.archive);
  auto img = layout ? image::ImportOciLayout(s->store.blobs(), path, tag)
                    : image::ImportArchive(s->store.blobs(), path, tag);
  if (!img.ok()) return Fail(img.status());
  std::string name = f.tag.empty() ? img->name : f.tag;
  if (name.empty()) {
    return Fail(InvalidArgumentError(
        "import: " + path + " does not name the image (no io.containerd.image.name annotation" +
        (layout ? "" : " or RepoTags") + "); name it with -t NAME[:TAG]"));
  }
  Status st = s->store.Tag(name, img->image);
  if (st.ok()) st = UnpackImported(s->store, img->image);
  if (!st.ok()) return Fail(st);
  std::cout << img->image.config_digest << "\n";
  return kExitOk;
}

int RunImport(const ImageFlags& f) {
  int sources = !f.rootfs.empty() + !f.oci_layout.empty() + !f.archive.empty();
  if (sources != 1) return Usage("import: give exactly one of --rootfs, --oci-layout or --archive");
  if (f.rootfs.empty()) return RunImportImage(f);
  if (f.tag.empty()) return Usage("import: --rootfs needs -t NAME[:TAG]");
  image::ImportOptions opts;
  opts.architecture = f.architecture;
  opts.env = f.config_env;
  if (!f.config_cmd.empty()) {
    auto c = ParseCommand("--config-cmd", f.config_cmd);
    if (!c.ok()) return Usage(c.status().message());
    opts.cmd = *c;
  }
  if (!f.config_entrypoint.empty()) {
    auto c = ParseCommand("--config-entrypoint", f.config_entrypoint);
    if (!c.ok()) return Usage(c.status().message());
    opts.entrypoint = *c;
  }
  auto epoch = ParseEpoch(f.source_date_epoch);
  if (!epoch.ok()) return Usage(epoch.status().message());
  opts.source_date_epoch = *epoch;
  auto ref = image::ParseImageRef(f.tag);
  if (!ref.ok()) return Usage(ref.status().message());
  auto s = OpenStoreForImport(f);
  if (!s.ok()) return Fail(s.status());
  auto img = s->store.ImportRootfs(f.rootfs, f.tag, opts);
  if (!img.ok()) return Fail(img.status());
  if (Status st = UnpackImported(s->store, *img); !st.ok()) return Fail(st);
  std::cout << img->config_digest << "\n";
  return kExitOk;
}

// `image tag SRC DST`, as `docker tag` (cli/image_tag.h).
int RunTag(const ImageFlags& f) {
  Status refs = CheckTagReferences(f.ref, f.target);
  if (!refs.ok()) return Usage(refs.message());
  auto store = OpenStore(f);
  if (!store.ok()) return Fail(store.status());
  Status st = TagImage(*store, f.ref, f.target);
  if (!st.ok()) return Fail(st);
  return kExitOk;
}

int RunExport(const ImageFlags& f) {
  auto spec = image::ParseExportSpec(f.output);
  if (!spec.ok()) return Usage(spec.status().message());
  // Shared GC lock: the compressed layers and manifest written for the output are referenced
  // by no root until the export is done.
  auto opened = OpenStoreForImport(f);
  if (!opened.ok()) return Fail(opened.status());
  ImageStore* store = &opened->store;
  auto resolved = store->Resolve(f.ref);
  if (!resolved.ok()) return Fail(resolved.status());
  Result<image::Image> img = resolved;
  if (spec->type != image::ExportType::kLocal) {
    img = image::ImageForOutput(store->blobs(), *resolved, spec->compression);
    if (!img.ok()) return Fail(img.status());
  }
  // Named as BuildKit names its OCI exports: the full name and, as the ref name, its tag.
  image::ImageRef name = spec->name.name.empty() ? *image::ParseImageRef(f.ref) : spec->name;
  Status st;
  switch (spec->type) {
    case image::ExportType::kOciArchive:
      st = image::WriteOciArchive(store->blobs(), *img, spec->dest, name.tag, name.FullString());
      break;
    case image::ExportType::kOciLayout:
      st = image::WriteOciLayout(store->blobs(), *img, spec->dest, name.tag, name.FullString());
      break;
    case image::ExportType::kImage:  // ParseExportSpec never returns it (builds only)
      st = InvalidArgumentError("type=image is a build output; use latchkey push");
      break;
    case image::ExportType::kLocal: {
      std::vector<std::string> devices;
      st = image::ExportRootfs(store->blobs(), *img, spec->dest, &devices);
      for (const std::string& d : devices) std::cerr << image::SkippedDeviceWarning(d) << "\n";
      break;
    }
  }
  if (!st.ok()) return Fail(st);
  return kExitOk;
}

int RunInspect(const ImageFlags& f) {
  auto store = OpenStore(f);
  if (!store.ok()) return Fail(store.status());
  auto img = store->Resolve(f.ref);
  if (!img.ok()) return Fail(img.status());
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : img->layers) {
    layers.push_back({{"mediaType", l.media_type},
                      {"digest", l.digest},
                      {"size", l.size},
                      {"diff_id", l.diff_id}});
  }
  nlohmann::json out = {{"ref", image::ParseImageRef(f.ref)->ToString()},
                        {"manifest", img->manifest_digest},
                        {"config_digest", img->config_digest},
                        {"layers", layers},
                        {"config", image::ConfigToJsonValue(img->config)}};
  std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return kExitOk;
}

// Untags, then frees what no other image or cache entry references (a GC that leaves the
// build cache alone). While a build holds the state dir the sweep is left to a later prune.
int RunRemove(const ImageFlags& f) {
  auto host = ChooseHost(*f.global);
  if (!host.ok()) return Fail(host.status());
  if (!host->host.empty()) return RunRemoteRemove(*host, f.ref);
  auto store = OpenStore(f);
  if (!store.ok()) return Fail(store.status());
  auto removed = build::RemoveImageAndFree(*store, f.ref);
  if (!removed.ok()) {
    // The tag is gone once the GC runs: say so before its error.
    if (removed.status().code() != StatusCode::kNotFound &&
        removed.status().code() != StatusCode::kInvalidArgument) {
      std::cout << "Untagged: " << image::ParseImageRef(f.ref)->ToString() << "\n";
    }
    return Fail(removed.status());
  }
  std::cout << "Untagged: " << removed->untagged << "\n";
  if (removed->storage_deferred) {
    std::cerr << "note: a build is using " << store->state_dir()
              << "; the image's storage is freed by the next latchkey prune\n";
    return kExitOk;
  }
  for (const auto& id : removed->deleted) std::cout << "Deleted: " << id << "\n";
  return kExitOk;
}

// `image prune`: untagged (dangling) images and storage nothing references; the build cache
// stays (`latchkey prune` is for it). Through latchkeyd with a host (cli/remote_gc.h).
int RunImagePrune(const ImageFlags& f) {
  auto host = ChooseHost(*f.global);
  if (!host.ok()) return Fail(host.status());
  if (Status st = CheckNoStateDir(f.state_dir, *host); !st.ok()) return Usage(st.message());
  if (!f.force) {
    std::cerr << "WARNING! This will remove all dangling images. Are you sure you want to "
                 "continue? [y/N] "
              << std::flush;
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "y" && answer != "Y") return kExitOk;
  }
  Result<build::GcReport> r = build::GcReport{};
  if (!host->host.empty()) {
    latchkey::v1::PruneRequest req;
    req.set_keep_cache(true);
    r = DaemonPrune(*host, std::move(req));
    if (!r.ok()) return FailFlags(r.status());
  } else {
    auto store = OpenStore(f);
    if (!store.ok()) return Fail(store.status());
    build::GcPolicy keep_cache;
    keep_cache.cache = false;
    r = build::CollectGarbage(store->state_dir(), keep_cache, false, /*wait=*/false);
    if (!r.ok() && r.status().code() == StatusCode::kUnavailable) {
      std::cerr << "waiting for the running builds on " << store->state_dir() << " to finish\n";
      r = build::CollectGarbage(store->state_dir(), keep_cache, false, /*wait=*/true);
    }
    if (!r.ok()) return Fail(r.status());
  }
  bool header = false;
  for (const auto& i : r->items) {
    if (i.kind != build::GcItem::Kind::kImage) continue;
    if (!header) std::cout << "Deleted Images:\n";
    header = true;
    std::cout << "deleted: " << i.id << "\n";
  }
  std::cout << "Total reclaimed space: " << image::HumanSize(r->reclaimed) << "\n";
  return kExitOk;
}

void AddStateDir(CLI::App* sub, ImageFlags* f) {
  sub->add_option("--state-dir", f->state_dir,
                  "Builder state directory (default: the configuration's builder state "
                  "directory, <state_dir>/builder)");
}

// The image a subcommand works on.
void AddImageRef(CLI::App* sub, ImageFlags* f) {
  sub->add_option("ref", f->ref, "Image reference NAME[:TAG]")->required();
}

void Register(CLI::App& app, CommandContext& ctx) {
  auto f = std::make_shared<ImageFlags>();
  f->global = &ctx.global;

  auto* images = app.add_subcommand("images", "List the images in the local store");
  AddStateDir(images, f.get());
  images->add_flag("--no-trunc", f->no_trunc, "Show full image IDs");
  AddHostOption(images, &ctx.global);
  images->callback([f, &ctx] { ctx.exit_code = RunImages(*f); });

  auto* image = AddCommandGroup(app, "image", "Manage the local image store");

  auto* imp = image->add_subcommand(
      "import", "Import a root filesystem directory, an OCI layout or an image archive");
  AddStateDir(imp, f.get());
  imp->add_option("--rootfs", f->rootfs, "Root filesystem directory (e.g. from mmdebstrap)");
  imp->add_option("--oci-layout", f->oci_layout,
                  "OCI image layout DIR[:TAG] (TAG: its ref name or image name; needed when the "
                  "layout holds several images)");
  imp->add_option("--archive", f->archive, "OCI archive or `docker save` archive FILE[:TAG]");
  imp->add_option("-t,--tag", f->tag,
                  "Image reference NAME[:TAG] (required with --rootfs; default: the name the "
                  "layout or archive gives)");
  imp->add_option("--config-cmd", f->config_cmd,
                  "Cmd: JSON array (exec form) or a shell command (default [\"/bin/sh\"] if "
                  "/bin/sh exists)");
  imp->add_option("--config-entrypoint", f->config_entrypoint,
                  "Entrypoint: JSON array (exec form) or a shell command");
  imp->add_option("--config-env", f->config_env, "Environment variable KEY=value (repeatable)");
  imp->add_option("--architecture", f->architecture, "Image architecture");
  imp->add_option("--source-date-epoch", f->source_date_epoch,
                  "Clamp mtimes and set created (default: $SOURCE_DATE_EPOCH)");
  imp->callback([f, &ctx] { ctx.exit_code = RunImport(*f); });

  auto* tag = image->add_subcommand("tag", "Give an image in the local store another name");
  AddStateDir(tag, f.get());
  tag->add_option("source", f->ref, "Image reference SOURCE[:TAG]")->required();
  tag->add_option("target", f->target, "New reference TARGET[:TAG]")->required();
  tag->callback([f, &ctx] { ctx.exit_code = RunTag(*f); });

  auto* exp = image->add_subcommand("export", "Write an image as an OCI archive, layout or rootfs");
  AddStateDir(exp, f.get());
  AddImageRef(exp, f.get());
  exp->add_option("-o,--output", f->output,
                  "type=oci,dest=FILE.tar | type=oci-layout,dest=DIR | type=local,dest=DIR "
                  "[,name=NAME[:TAG]]; the oci types take [,compression=gzip|zstd|uncompressed]"
                  "[,compression-level=N][,force-compression=true]")
      ->required();
  exp->callback([f, &ctx] { ctx.exit_code = RunExport(*f); });

  auto* ins = image->add_subcommand("inspect", "Print an image's manifest, layers and config");
  AddStateDir(ins, f.get());
  AddImageRef(ins, f.get());
  ins->callback([f, &ctx] { ctx.exit_code = RunInspect(*f); });

  auto* rm = image->add_subcommand(
      "rm", "Remove a tag, and the storage no other image or cache entry references");
  AddStateDir(rm, f.get());
  AddImageRef(rm, f.get());
  AddHostOption(rm, &ctx.global);
  rm->callback([f, &ctx] { ctx.exit_code = RunRemove(*f); });

  auto* prune = image->add_subcommand("prune", "Remove untagged images and unreferenced blobs");
  AddStateDir(prune, f.get());
  prune->add_flag("-f,--force", f->force, "Do not prompt for confirmation");
  AddHostOption(prune, &ctx.global);
  prune->callback([f, &ctx] { ctx.exit_code = RunImagePrune(*f); });
}

CommandRegistrar reg("image", Register);

}  // namespace
}  // namespace latchkey::cli
