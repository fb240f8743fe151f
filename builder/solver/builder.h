// Build: turns a Dockerfile and a build context into an OCI image, BuildKit's way, with secrets
// taken from one broker session. See docs/builder.md.
//
// The flow: parse and evaluate the Dockerfile (builder/frontend) with base images resolved from
// --build-context oci-layout sources and the local image store, pulling an image the store
// lacks (or every tag, with --pull) through the request's ImagePuller (image_puller.h); then, stage
// by stage in dependency order, each step either hits the build cache (build_cache.h) or runs:
//   RUN       under runc (builder/executor) on an overlay of the stage's layers; secrets are
//             fetched from the session when the step starts, never earlier;
//   COPY/ADD  into an overlay of the stage's layers, every path resolved inside the root
//             (copy.h);
// and its upper directory becomes a layer (tar+gzip, OCI whiteouts), which the leak guard scans
// for every secret value released so far before the layer is recorded anywhere. Metadata
// instructions change only the config and add an empty_layer history entry. At the end the
// target stage's image is committed, the config, history and captured output are scanned too,
// and the image is tagged and written to the requested outputs.
//
// Thread-safety: one Build call per BuildRequest; concurrent builds over the same state
// directory are safe (blob store, layer cache, build cache and image store are).
#ifndef LATCHKEY_BUILDER_SOLVER_BUILDER_H_
#define LATCHKEY_BUILDER_SOLVER_BUILDER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "builder/executor/step.h"
#include "builder/frontend/stages.h"
#include "builder/image/export_spec.h"
#include "builder/image/oci_image.h"
#include "builder/solver/image_puller.h"
#include "builder/solver/image_pusher.h"
#include "builder/solver/progress.h"
#include "builder/solver/secret_session.h"
#include "builder/solver/step_executor.h"
#include "latchkey/status.h"

namespace spdlog {
class logger;
}  // namespace spdlog

namespace latchkey::build {

// --build-context NAME=...
struct NamedContext {
  enum class Kind { kDirectory, kOciLayout };
  std::string name;
  Kind kind = Kind::kDirectory;
  std::string path;  // directory, or OCI layout directory
  std::string tag;   // oci-layout: the ref name to pick ("" = the only image / "latest")
};

// Parses one --build-context value: "NAME=DIR" or "NAME=oci-layout://PATH[:TAG]" (also
// "@sha256:..." as BuildKit writes digests). INVALID_ARGUMENT with the value quoted:
//   invalid --build-context "<v>": want NAME=DIR or NAME=oci-layout://PATH[:TAG]
//   invalid --build-context "<v>": <scheme>:// sources are not supported (latchkey builds
//     offline); use a directory or oci-layout://
Result<NamedContext> ParseNamedContext(const std::string& value);

struct BuildRequest {
  std::string context_dir;      // absolute
  std::string dockerfile_path;  // absolute
  std::string dockerfile_text;
  frontend::BuildOptions frontend;  // target, build args, platforms
  std::vector<NamedContext> named_contexts;
  std::vector<std::string> tags;  // -t, normalised later
  std::vector<image::ExportSpec> outputs;
  std::map<std::string, std::string> labels;  // --label: image labels
  bool no_cache = false;
  std::set<std::string> no_cache_stages;  // --no-cache-filter (names or indexes)
  executor::NetworkMode network = executor::NetworkMode::kHost;  // --network
  std::string runtime = "runc";
  std::set<std::string> allowed_leaks;            // --allow-secret-leak
  std::map<std::string, std::string> ssh_agents;  // --ssh id -> socket
  std::optional<int64_t> source_date_epoch;       // SOURCE_DATE_EPOCH
  std::string state_dir;                          // the builder state directory
  // RUN step options (buildx flags): --add-host, --shm-size (0 = 64 MiB), --ulimit. They are
  // part of every RUN step's cache key when set.
  std::vector<executor::ExtraHost> extra_hosts;
  int64_t shm_size_bytes = 0;
  std::vector<executor::Rlimit> ulimits;
  // Where RUN --mount=type=ssh connections go instead of ssh_agents (latchkeyd: the client's
  // agents over the build's session). null: the sockets of ssh_agents on this host.
  std::shared_ptr<executor::AgentDialer> ssh_dialer;
  // Runs the RUN steps (not owned; must outlive Build). null: RuncStepExecutor().
  StepExecutor* executor = nullptr;
  // Fetches images the local store lacks (not owned; must outlive Build). null: a missing
  // image fails the build with the store's text (ImageStore::Resolve).
  ImagePuller* puller = nullptr;
  // Sends the image to registries for outputs type=image with push=true (not owned; must
  // outlive Build). null: such an output fails the build (`pushing to a registry needs the
  // latchkey CLI's registry client`).
  ImagePusher* pusher = nullptr;
  // --pull: every image reference with a tag is resolved against its registry again (and
  // pulled when it changed), even when the store has the tag. Needs `puller`.
  bool pull = false;
  // Called for each output other than type=image once it is written at its `dest`, inside the
  // output's progress vertex `vertex` (before its last "... done" line), with the output's
  // index in `outputs`: latchkeyd sends it to the client here. An error fails the build as the
  // output's own error would. Empty: outputs stay where they were written.
  std::function<Status(size_t index, const image::ExportSpec& output, int vertex)> deliver_output;
};

// Where a failed build failed, for the CLI's BuildKit-style error block.
struct BuildFailure {
  std::string vertex;  // "[2/3] RUN false"; "" when not in a step
  int line = 0;        // Dockerfile line; 0 when unknown
  int end_line = 0;
};

// An image the build read from the image store or a registry (FROM, COPY --from=<image>, RUN
// --mount=from=<image>), as buildx lists it in its provenance's materials.
struct BuildMaterial {
  std::string ref;       // normalised: "docker.io/library/alpine:3.19", "reg:5000/app@sha256:…"
  std::string digest;    // what `ref` resolved to: the registry's digest (an index's for a
                         // multi-platform image) when pulled by this build, else the stored
                         // manifest's
  std::string platform;  // "linux/amd64"
  bool pulled = false;   // fetched from the registry by this build
};

struct BuildResult {
  image::Image image;
  // BuildKit's lint warnings for the Dockerfile, as buildx summarises them:
  // "SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ARG
  // \"NPM_TOKEN\") (line 3)". Also shown as "WARN: ..." lines of the first vertex.
  std::vector<std::string> warnings;
  int steps_run = 0;
  int steps_cached = 0;
  std::vector<std::string> tags;  // as stored
  // Every store or registry image the build read, in the order first used.
  std::vector<BuildMaterial> materials;
  // The manifest pushed by a type=image,push=true output (digest empty when nothing was
  // pushed); buildx's containerimage.digest.
  PushedImage pushed;
  std::vector<std::string> pushed_names;  // full names pushed: "127.0.0.1:5000/app:1"
};

// Runs the build. `session` supplies secrets and records leak findings (secret_session.h); it is
// not owned, must outlive the call and is NOT closed here (the caller closes it, on success and
// failure). On failure, `failure` (when non-null) says where. `log` receives the builder's
// debug lines (cache keys, cache entries not reused); it should redact like every latchkey
// logger (the CLI passes the broker's "build" logger); null: no debug lines. Errors carry the
// message the CLI prints after "ERROR: failed to solve: ".
Result<BuildResult> Build(const BuildRequest& request, SecretSession& session,
                          ProgressWriter& progress, BuildFailure* failure,
                          std::shared_ptr<spdlog::logger> log = nullptr);

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_BUILDER_H_
