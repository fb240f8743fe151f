// `latchkey pull REF [--platform P] [--progress plain|quiet] [-q]`: copies an image from a
// registry into the local image store (registry/puller.h), tagged as REF, so `latchkey
// images` lists it and `FROM REF` builds from it. Credentials come from a broker session of
// its own (the secret `registry:<host>`: policy, audit record, redaction); per-host TLS and
// plain-HTTP settings from the configuration's `registries:` map and certs.d (both set up in
// registry_setup.h, shared with builds that pull). Exit codes: 0 pulled, 1 the pull failed
// (`error: <message>`), 2 usage (bad reference, platform or flag).
#include <iostream>
#include <memory>
#include <string>

#include "builder/executor/cancel.h"
#include "builder/image/export_spec.h"
#include "builder/image/image_ref.h"
#include "builder/image/image_store.h"
#include "builder/image/reference.h"
#include "builder/solver/store_gc.h"
#include "cli/cancel_signals.h"
#include "cli/cli_setup.h"
#include "cli/command_registry.h"
#include "cli/registry_setup.h"
#include "cli/state_recovery_setup.h"
#include "registry/puller.h"

namespace latchkey::cli {
namespace {

struct PullFlags {
  std::string ref, platform, progress = "auto", state_dir;
  bool quiet = false;
};

std::string Short(const std::string& digest) {
  return digest.size() > 19 ? digest.substr(0, 19) : digest;  // "sha256:" + 12 hex
}

int Usage(const Status& st) {
  Fail(st);
  return kExitUsage;
}

int RunPull(const CommandContext& ctx, const PullFlags& f) {
  if (Status st = InitProcess(ctx.global); !st.ok()) return Fail(st);
  if (Status st = InstallCancelSignals(); !st.ok()) return Fail(st);
  if (f.progress != "auto" && f.progress != "plain" && f.progress != "quiet") {
    return Usage(InvalidArgumentError("invalid --progress \"" + f.progress +
                                      "\": want auto, plain or quiet"));
  }
  const bool quiet = f.quiet || f.progress == "quiet";
  auto parsed = image::ParseNormalizedReference(f.ref);
  if (!parsed.ok()) return Usage(parsed.status());
  image::Reference ref = image::WithDefaultTag(*parsed);
  if (ref.tag.empty()) {
    return Usage(InvalidArgumentError("pull " + f.ref +
                                      ": the local store keys images by tag; pull NAME:TAG@" +
                                      ref.digest + " to name the image"));
  }
  auto local = image::ParseImageRef(ref.FamiliarName() + ":" + ref.tag);
  if (!local.ok()) return Usage(local.status());
  registry::PullOptions opts;
  if (!f.platform.empty()) {
    auto p = registry::ParsePlatform(f.platform);
    if (!p.ok()) return Usage(p.status());
    opts.platform = *p;
  }

  auto config = LoadProcessConfig(ctx.global);
  if (!config.ok()) return Fail(config.status());
  std::string dir = f.state_dir.empty() ? BuilderStateDir(*config) : f.state_dir;
  if (Status st = RecoverBuilderState(*config, dir, "", nullptr); !st.ok()) return Fail(st);
  auto store = image::ImageStore::Open(dir);
  if (!store.ok()) return Fail(store.status());
  // Until tagged, the pulled blobs are referenced by nothing: no GC may run meanwhile.
  auto in_use = build::StoreUseLock::Shared(dir);
  if (!in_use.ok()) return Fail(in_use.status());

  auto broker_session = RegistryCommandSession::Start(*config);
  if (!broker_session.ok()) return Fail(broker_session.status());
  auto reg = CliRegistry::Open(*config, (*broker_session)->session(), PullStep(ref.String()));
  if (!reg.ok()) return Fail(reg.status());

  const std::string display = ref.String();
  if (!quiet) {
    opts.progress = [&](const registry::PullEvent& e) {
      switch (e.kind) {
        case registry::PullEvent::kResolved:
          std::cout << "resolved " << display << " to " << e.digest << " ("
                    << opts.platform.String() << ")\n";
          break;
        case registry::PullEvent::kPresent:
          std::cout << Short(e.digest) << ": already present\n";
          break;
        case registry::PullEvent::kDownloaded:
          std::cout << Short(e.digest) << ": downloaded " << image::HumanSize(e.bytes) << " ("
                    << e.bytes << " bytes)\n";
          break;
        case registry::PullEvent::kResumed:
          std::cout << Short(e.digest) << ": connection dropped at " << e.bytes
                    << " bytes; resuming\n";
          break;
        case registry::PullEvent::kStarted:
          return;
      }
      std::cout.flush();
    };
  }
  // Ctrl-C stops the downloads within about a second; verified blobs stay for the next pull.
  (*reg)->client().SetCancel(executor::CancelCheckOfThisThread(
      "pull of " + display +
      " cancelled; the blobs already downloaded are kept for the next pull"));
  auto r = PullIntoStore((*reg)->client(), *store, ref, opts, local->ToString());
  const int sig = *CancelSignal();
  Status closed = (*broker_session)->Close(r.ok() ? "completed" : sig ? "cancelled" : "failed");
  if (!r.ok()) {
    Fail(r.status());
    return sig ? 128 + sig : kExitFailure;
  }
  if (!closed.ok()) return Fail(closed);
  if (quiet) {
    std::cout << display << "\n";
    return kExitOk;
  }
  std::cout << "Digest: " << r->digest << "\n";
  if (r->blobs_downloaded == 0) {
    std::cout << "Status: Image is up to date for " << display << "\n";
  } else {
    std::cout << "Status: Downloaded newer image for " << display << " (" << r->blobs_downloaded
              << " blobs, " << r->bytes_downloaded << " bytes downloaded; " << r->blobs_present
              << " already present)\n";
  }
  return kExitOk;
}

CommandRegistrar reg("pull", [](CLI::App& app, CommandContext& ctx) {
  auto f = std::make_shared<PullFlags>();
  auto* pull = app.add_subcommand("pull", "Pull an image from a registry into the local store");
  pull->add_option("ref", f->ref, "Image reference NAME[:TAG][@DIGEST]")->required();
  pull->add_option("--platform", f->platform,
                   "Platform OS/ARCH[/VARIANT] of a multi-platform image (default: this host's)");
  pull->add_option("--progress", f->progress, "auto | plain | quiet (default auto: plain lines)");
  pull->add_flag("-q,--quiet", f->quiet, "Print only the pulled reference");
  pull->add_option("--state-dir", f->state_dir,
                   "Builder state directory (default: the configuration's builder state "
                   "directory, <state_dir>/builder)");
  pull->callback([f, &ctx] { ctx.exit_code = RunPull(ctx, *f); });
});

}  // namespace
}  // namespace latchkey::cli
