// `latchkey push REF [--progress plain|quiet] [-q] [--chunk-size BYTES] [--compression gzip|zstd|
// uncompressed] [--compression-level N] [--force-compression]`: sends an image of
// the local image store to its registry (registry/pusher.h, through PushFromStore), as
// `docker push` does: blobs the repository has are skipped (HEAD), blobs pulled from or
// pushed to another repository of the same registry are mounted, the rest uploaded; then the
// manifest. Credentials and `registries:` options as `latchkey pull` (registry_setup.h).
// Prints the pushed digest. Exit codes: 0 pushed, 1 the push failed (`error: <message>`),
// 2 usage (bad reference or flag), 128+N stopped by signal N (Ctrl-C: 130).
#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "builder/executor/cancel.h"
#include "builder/image/compressor.h"
#include "builder/image/export_spec.h"
#include "builder/image/image_ref.h"
#include "builder/image/image_store.h"
#include "builder/image/reference.h"
#include "builder/solver/store_gc.h"
#include "cli/cancel_signals.h"
#include "cli/cli_setup.h"
#include "cli/command_registry.h"
#include "cli/registry_image_pusher.h"
#include "cli/registry_setup.h"
#include "cli/state_recovery_setup.h"

namespace latchkey::cli {
namespace {

struct PushFlags {
  std::string ref, progress = "auto", state_dir, chunk_size;
  std::string compression, compression_level;
  bool quiet = false, force_compression = false;
};

// --compression, --compression-level and --force-compression, with the -o keys' texts.
Result<image::OutputCompression> CompressionFlags(const PushFlags& f) {
  image::OutputCompression c;
  if (!f.compression.empty()) {
    auto parsed = image::ParseCompression(f.compression);
    if (!parsed.ok()) {
      return InvalidArgumentError("invalid --compression \"" + f.compression + "\": " +
                                  parsed.status().message() + " (want gzip, zstd or uncompressed)");
    }
    c.compression = *parsed;
  }
  if (!f.compression_level.empty()) {
    char* end = nullptr;
    errno = 0;
    long v = std::strtol(f.compression_level.c_str(), &end, 10);
    if (*end != '\0' || errno != 0 || v < -1000 || v > 1000) {
      return InvalidArgumentError("invalid --compression-level \"" + f.compression_level +
                                  "\": not a number");
    }
    c.level = static_cast<int>(v);
    if (Status st = image::CheckCompressionLevel(c.compression, c.level); !st.ok()) {
      return InvalidArgumentError("invalid --compression-level \"" + f.compression_level +
                                  "\": " + st.message());
    }
  }
  c.force = f.force_compression;
  return c;
}

int Usage(const Status& st) {
  Fail(st);
  return kExitUsage;
}

int RunPush(const CommandContext& ctx, const PushFlags& f) {
  if (Status st = InitProcess(ctx.global); !st.ok()) return Fail(st);
  if (Status st = InstallCancelSignals(); !st.ok()) return Fail(st);
  auto compression = CompressionFlags(f);
  if (!compression.ok()) return Usage(compression.status());
  if (f.progress != "auto" && f.progress != "plain" && f.progress != "quiet") {
    return Usage(InvalidArgumentError("invalid --progress \"" + f.progress +
                                      "\": want auto, plain or quiet"));
  }
  const bool quiet = f.quiet || f.progress == "quiet";
  registry::PushOptions opts;
  if (!f.chunk_size.empty()) {
    char* end = nullptr;
    long long n = std::strtoll(f.chunk_size.c_str(), &end, 10);
    if (end == f.chunk_size.c_str() || *end != '\0' || n <= 0) {
      return Usage(InvalidArgumentError("invalid --chunk-size \"" + f.chunk_size +
                                        "\": want a number of bytes greater than 0"));
    }
    opts.chunk_size = n;
  }
  auto parsed = image::ParseNormalizedReference(f.ref);
  if (!parsed.ok()) return Usage(parsed.status());
  image::Reference ref = image::WithDefaultTag(*parsed);
  if (ref.tag.empty()) {
    return Usage(InvalidArgumentError("push " + f.ref +
                                      ": the local store keys images by tag; push NAME:TAG"));
  }
  auto local = image::ParseImageRef(ref.FamiliarName() + ":" + ref.tag);
  if (!local.ok()) return Usage(local.status());

  auto config = LoadProcessConfig(ctx.global);
  if (!config.ok()) return Fail(config.status());
  std::string dir = f.state_dir.empty() ? BuilderStateDir(*config) : f.state_dir;
  if (Status st = RecoverBuilderState(*config, dir, "", nullptr); !st.ok()) return Fail(st);
  auto store = image::ImageStore::Open(dir);
  if (!store.ok()) return Fail(store.status());
  // The blobs being sent must not be collected meanwhile.
  auto in_use = build::StoreUseLock::Shared(dir);
  if (!in_use.ok()) return Fail(in_use.status());
  auto img = store->Resolve(local->ToString());
  if (!img.ok()) return Fail(img.status());

  auto broker_session = RegistryCommandSession::Start(*config);
  if (!broker_session.ok()) return Fail(broker_session.status());
  auto reg = CliRegistry::Open(*config, (*broker_session)->session(), PushStep(ref.String()));
  if (!reg.ok()) return Fail(reg.status());

  const std::string display = ref.String();
  if (!quiet) {
    std::cout << "The push refers to repository [" << ref.domain << "/" << ref.path << "]\n"
              << "pushing layers\n";
    std::cout.flush();
    opts.progress = [&](const registry::PushEvent& e) {
      switch (e.kind) {
        case registry::PushEvent::kPresent:
          std::cout << e.digest << " already exists\n";
          break;
        case registry::PushEvent::kMounted:
          std::cout << e.digest << " mounted from " << e.from << "\n";
          break;
        case registry::PushEvent::kUploaded:
          std::cout << e.digest << " " << image::HumanSize(e.size) << " done\n";
          break;
        case registry::PushEvent::kManifest:
          std::cout << "pushing manifest for " << display << "@" << e.digest << " done\n";
          break;
        case registry::PushEvent::kStarted:
          return;
      }
      std::cout.flush();
    };
  }
  // Ctrl-C stops the uploads within about a second; nothing is tagged in the registry then
  // (the manifest goes last).
  base::CancelCheck cancel = executor::CancelCheckOfThisThread(
      "push of " + display + " cancelled; the registry did not get its manifest");
  (*reg)->client().SetCancel(cancel);
  auto r = PushFromStore((*reg)->client(), *store, *img, ref, *compression, opts, cancel);
  const int sig = *CancelSignal();
  Status closed = (*broker_session)->Close(r.ok() ? "completed" : sig ? "cancelled" : "failed");
  if (!r.ok()) {
    Fail(r.status());
    return sig ? 128 + sig : kExitFailure;
  }
  if (!closed.ok()) return Fail(closed);
  if (quiet) {
    std::cout << r->result.digest << "\n";
    return kExitOk;
  }
  std::cout << ref.tag << ": digest: " << r->result.digest << " size: " << r->manifest_size << " ("
            << r->result.blobs_uploaded << " blobs, " << r->result.bytes_uploaded
            << " bytes uploaded; " << r->result.blobs_present << " already present, "
            << r->result.blobs_mounted << " mounted)\n";
  return kExitOk;
}

CommandRegistrar reg("push", [](CLI::App& app, CommandContext& ctx) {
  auto f = std::make_shared<PushFlags>();
  auto* push = app.add_subcommand("push", "Push an image from the local store to a registry");
  push->add_option("ref", f->ref, "Image reference NAME[:TAG] (the registry is NAME's)")
      ->required();
  push->add_option("--progress", f->progress, "auto | plain | quiet (default auto: plain lines)");
  push->add_flag("-q,--quiet", f->quiet, "Print only the pushed digest");
  push->add_option("--chunk-size", f->chunk_size,
                   "Upload blobs larger than this many bytes in chunks of it (default 134217728)");
  push->add_option("--compression", f->compression,
                   "Layer compression the registry gets: gzip (default), zstd or uncompressed");
  push->add_option("--compression-level", f->compression_level,
                   "gzip 0..9 (default 6), zstd 1..19 (default 3)");
  push->add_flag("--force-compression", f->force_compression,
                 "Recompress layers that are already compressed (e.g. a pulled base's)");
  push->add_option("--state-dir", f->state_dir,
                   "Builder state directory (default: the configuration's builder state "
                   "directory, <state_dir>/builder)");
  push->callback([f, &ctx] { ctx.exit_code = RunPush(ctx, *f); });
});

}  // namespace
}  // namespace latchkey::cli
