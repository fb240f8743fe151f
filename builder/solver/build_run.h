// BuildRun: one `latchkey build` (builder.h's Build) from parse to outputs. Internal to the
// builder; its methods live in one file per pipeline stage:
//   builder.cc      Run -> RunStage -> RunStep: stage and step sequencing, cancellation checks
//   base_images.cc  FROM resolution (oci-layout contexts, the store) and read-only source views
//   image_pull.cc   images from the store or, on a miss or with --pull, the request's puller
//   step_key.cc     a step's cache key, and whether a cache entry may be reused
//   step_exec.cc    RUN through the executor
//   step_copy.cc    COPY / ADD
//   leak_guard.cc   leak scans of layers, cache mounts, config and output; refusal clean-up
//   export.cc       committing a step's layer, and the outputs (-t, -o)
// Not thread-safe: a BuildRun is driven by one thread.
#ifndef LATCHKEY_BUILDER_SOLVER_BUILD_RUN_H_
#define LATCHKEY_BUILDER_SOLVER_BUILD_RUN_H_

#include <spdlog/logger.h>

#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/owner_lock.h"
#include "builder/frontend/config_eval.h"
#include "builder/image/config_json.h"
#include "builder/image/fs_util.h"
#include "builder/image/image_store.h"
#include "builder/solver/build_cache.h"
#include "builder/solver/builder.h"
#include "builder/solver/copy.h"
#include "builder/solver/dockerignore.h"
#include "builder/solver/leak_scan.h"
#include "builder/solver/overlay_mount.h"
#include "builder/solver/secret_session.h"

namespace latchkey::build {

// RUN, COPY and ADD change the filesystem (a "[k/n]" vertex, a layer unless nothing changed);
// every other instruction changes only the config.
inline bool IsFilesystemStep(frontend::InstructionKind kind) {
  return kind == frontend::InstructionKind::kRun || kind == frontend::InstructionKind::kCopy ||
         kind == frontend::InstructionKind::kAdd;
}

inline std::string NowRfc3339() {
  return image::FormatRfc3339(static_cast<int64_t>(std::time(nullptr)));
}

// The build's cancel token (cancel.h), checked between the phases of a build: before each stage
// and step, between extracting layers, after a step's work and before and after each output.
// CANCELLED "build cancelled" once Ctrl-C (or SIGTERM, SIGHUP) was requested, else OK.
Status CheckCancelled();

// The copy.h view of an evaluated COPY/ADD step.
CopyInstruction ToCopyInstruction(const frontend::Step& step);

// One layer of a stage's filesystem.
struct LayerRef {
  image::LayerDescriptor desc;
  std::string dir;  // unpacked (overlay lower dir form); "" until Unpack (base and cache-hit
                    // layers are unpacked only when a step or a COPY --from needs their files)
  bool from_base = false;
  int number = 0;  // 1-based position in the stage's image (base layers included)
  // How many released secret values the leak guard had checked this layer against (0 for a
  // cache hit: it was checked in the build that made it, against that build's values).
  size_t scanned_with = 0;
  bool created_here = false;  // written by this build (its blob may be deleted on a leak)
  std::string cache_key;      // the cache entry that names it
  int step = 0;               // 1-based vertex step number in its stage ("[k/n]")
  int line = 0;
  std::string stage;
  std::string instruction;
};

struct StageResult {
  std::string chain;  // cache chain: what the next step's key builds on
  std::vector<LayerRef> layers;
  std::vector<frontend::HistoryEntry> history;
  std::string last_created;
  std::unique_ptr<OverlayMount> view;  // read-only view, mounted on first use as a source
};

struct ResolvedImage {
  image::Image image;
  BuildMaterial material;         // ref "" for an oci-layout build context
  std::vector<std::string> dirs;  // unpacked layers, base first
  std::unique_ptr<OverlayMount> view;
};

class BuildRun;

// Resolves FROM images for the evaluator: oci-layout build contexts first, then the store (or
// the registry, image_pull.cc).
class RunResolver : public frontend::BaseImageResolver {
 public:
  explicit RunResolver(BuildRun& run) : run_(run) {}
  Result<frontend::ImageConfig> Resolve(const std::string& ref,
                                        const std::string& platform) override;

 private:
  BuildRun& run_;
};

// One build. `req`, `session`, `progress` and `failure` (may be null) are not owned and must
// outlive it; `log` (never null) receives debug lines. It owns the image store and build cache
// handles. Run() is called once. The
// destructor unmounts the source views, removes the build's scratch dir and, when the leak guard
// refused the build, every layer the build wrote.
class BuildRun {
 public:
  BuildRun(const BuildRequest& req, SecretSession& session, ProgressWriter& progress,
           BuildFailure* failure, std::shared_ptr<spdlog::logger> log, image::ImageStore store,
           BuildCache cache)
      : req_(req),
        session_(session),
        progress_(progress),
        log_(std::move(log)),
        failure_(failure),
        store_(std::move(store)),
        cache_(std::move(cache)) {}

  // The layers ("sha256:<diff_id hex>") unpacked in the layer cache since Run() started: the
  // ones this build committed or unpacked.
  std::vector<std::string> NewLayerDirs() const;

  ~BuildRun() {
    stages_.clear();
    images_.clear();
    if (refused_) RemoveWrittenLayers();
    if (!tmp_.empty()) (void)image::RemoveAll(tmp_);
    tmp_lock_.Release();  // after the directory is gone (state_recovery.h)
  }

  Result<BuildResult> Run();
  // The image `ref` names for `platform` ("" = the target platform), resolved once per build
  // (the first resolution's platform wins): an oci-layout build context of that name, else
  // StoreOrPull.
  Result<ResolvedImage*> ResolveImage(const std::string& ref, const std::string& platform = "");

 private:
  Status Prepare();
  Result<ResolvedImage*> LoadFromLayout(const NamedContext& nc, const std::string& key);
  // The image `ref` (as written in the Dockerfile) names (image_pull.cc): from the local store;
  // without a puller, the store's NOT_FOUND text. With one, a tag the store lacks (or any tag,
  // with --pull) is pulled, and a digest reference is taken from the blob store when its
  // manifest is there, else pulled. `material` receives what was resolved.
  Result<image::Image> StoreOrPull(const std::string& ref, const std::string& platform,
                                   BuildMaterial* material);
  // One pull on its own "[internal] load metadata for <ref>" vertex. A failure is
  // `<as written>: failed to resolve source metadata for <ref>: <the puller's text>`, and when
  // the registry cannot be reached (UNAVAILABLE, DEADLINE_EXCEEDED) a hint follows: with a
  // local copy (--pull) "; without --pull the build uses the local copy of <as written>", else
  // "; to build without the registry, put the image in the local store: <ImportHint>".
  Result<image::Image> PullImage(const std::string& as_written, const image::Reference& ref,
                                 const std::string& platform, bool have_local,
                                 BuildMaterial* material);
  // The base (an earlier stage, scratch or an image whose layers are unpacked), then each step;
  // the result is kept in stages_. Checks the cancel token before each step.
  Status RunStage(const frontend::EvaluatedStage& es, size_t stage_count);
  // One instruction: metadata ones add a history entry; a filesystem step is keyed, reused
  // from the cache or executed and committed, and appended to `r`.
  Status RunStep(const frontend::EvaluatedStage& es, const frontend::Step& step, int number,
                 int total, const std::string& prefix, StageResult& r);
  Result<std::string> SourceView(int stage, const std::string& image_or_name, CopySourceRoot* root);
  // The cache key of a filesystem step (step_key.cc): RunKey for a RUN; for a COPY/ADD the
  // instruction, the chain so far, the digest of its sources and where they come from.
  Result<std::string> StepKey(const frontend::Step& step,
                              const std::vector<frontend::InlineFile>& scripts,
                              const StageResult& r);
  Result<std::string> RunKey(const frontend::Step& step,
                             const std::vector<frontend::InlineFile>& scripts,
                             const StageResult& r);
  // The cache entry the step may reuse (see step_key.cc), or nullopt: the step then runs.
  std::optional<CacheEntry> LookupStep(const frontend::EvaluatedStage& es,
                                       const frontend::Step& step, const std::string& key,
                                       const StepRef& ctx, const std::string& name);
  // Where a COPY/ADD step reads: the context (with .dockerignore), or its --from source.
  Status CopySource(const frontend::Step& step, CopySourceRoot* root);
  // How a COPY --from source names stage `stage` in errors and keys: `stage "build"`.
  std::string StageDisplay(int stage) const;
  // Runs a filesystem step in `dir` (its upper and work dirs are made there): ExecuteRun
  // (step_exec.cc) or ExecuteCopyStep (step_copy.cc).
  Status Execute(const frontend::Step& step, const std::vector<frontend::InlineFile>& scripts,
                 int vertex, const StageResult& r, const std::string& dir, const StepRef& ctx);
  Status ExecuteRun(const frontend::Step& step, const std::vector<frontend::InlineFile>& scripts,
                    int vertex, const StageResult& r, const std::string& dir, const StepRef& ctx);
  Status ExecuteCopyStep(const frontend::Step& step, const StageResult& r, const std::string& dir);
  Result<std::optional<image::LayerDescriptor>> CommitLayer(const std::string& upper,
                                                            const LayerRef& where,
                                                            std::vector<std::string>* allowed);
  Status ScanLayer(const image::LayerDescriptor& desc, const LayerRef& where,
                   std::vector<std::string>* allowed, bool at_step);
  // What the leak guard does with a layer's findings (ScanLayer's, or those of the scan made
  // while CommitLayer wrote the layer): each is recorded; one the user allowed is returned in
  // `allowed` with a warning; any other fails with the leak error.
  Status LayerFindings(const std::vector<LeakFinding>& findings, const image::LayerDescriptor& desc,
                       const LayerRef& where, std::vector<std::string>* allowed, bool at_step);
  // After a leak: no cache entry this build wrote may be reused (a rebuild must run those
  // steps again, fetch the secrets again and meet the leak guard again), and the build is
  // marked refused, so that the layers it wrote are deleted when it ends.
  void DropCacheEntries();
  // A refused build's layers: every blob and unpacked layer directory this build created (not
  // there at Prepare) is deleted. Runs after the stage views are unmounted.
  void RemoveWrittenLayers();
  // After a RUN step that mounted secrets: what it changed in its cache mounts (the only
  // writable mounts that outlive a step) is leak-scanned; a refused finding removes the files
  // the step changed there and fails the step.
  Status ScanCacheMounts(const frontend::Step& step, const struct timespec& since,
                         const StepRef& ctx);
  Status RecordLeak(const LeakFinding& f, const std::string& layer, const LayerRef& where);
  Result<const LeakScanner*> Scanner();
  Status ScanFinal(const frontend::ImageConfig& config, const StageResult& target);
  Status Export(const image::Image& img, BuildResult& result);
  // Pushes `img` as `ref` through req_.pusher, with its lines on vertex `v` (export.cc).
  Status PushImage(int v, const image::ImageRef& ref, const image::OutputCompression& compression,
                   const image::Image& img, BuildResult& result);
  Result<image::Image> EmitImage(const image::Image& img, const image::ExportSpec& out, int vertex);
  Status Fail(int vertex, const std::string& name, int line, int end_line, Status st);
  std::string Created() const {
    return req_.source_date_epoch ? image::FormatRfc3339(*req_.source_date_epoch) : NowRfc3339();
  }
  std::string StageLabel(const frontend::EvaluatedStage& es) const {
    return es.name.empty() ? std::to_string(es.index) : es.name;
  }
  // Unpacks each layer of `layers` that has no dir yet into the layer cache
  // (image::ExtractLayer: an evicted or never unpacked layer comes back from its blob, both
  // digests verified), shown as an "unpacking layers" phase of `vertex` (0: none).
  Status Unpack(int vertex, std::vector<LayerRef>& layers);
  // The overlay lower dirs of `layers` (all unpacked: Unpack), topmost first.
  std::vector<std::string> LowerDirs(const std::vector<LayerRef>& layers) const {
    std::vector<std::string> out;
    for (auto it = layers.rbegin(); it != layers.rend(); ++it) out.push_back(it->dir);
    if (out.empty()) out.push_back(empty_dir_);
    return out;
  }

  const BuildRequest& req_;
  SecretSession& session_;
  ProgressWriter& progress_;
  std::shared_ptr<spdlog::logger> log_;
  BuildFailure* failure_;
  image::ImageStore store_;
  BuildCache cache_;

  std::string tmp_;           // <state>/tmp/build-XXXXXX: this build's scratch space
  base::OwnerLock tmp_lock_;  // <tmp_>.lock, held while the build runs
  std::string empty_dir_;     // an empty directory (overlay padding, scratch lower)
  int step_vertex_ = 0;       // the step being keyed or run: SourceView's unpacking shows there
  IgnoreMatcher ignore_;
  std::string dockerfile_name_;
  frontend::EvaluatedBuild eval_;
  std::map<int, StageResult> stages_;
  std::map<std::string, std::unique_ptr<ResolvedImage>> images_;
  std::vector<BuildMaterial> materials_;  // store and registry images, in order of first use
  std::string captured_;
  int steps_run_ = 0;
  int steps_cached_ = 0;
  int views_ = 0;
  // The leak scanner, rebuilt when the session has released more secrets.
  std::unique_ptr<LeakScanner> scanner_;
  size_t scanner_secrets_ = 0;
  std::vector<std::string> written_keys_;                   // cache entries this build wrote
  bool refused_ = false;                                    // the leak guard refused this build
  std::vector<image::LayerDescriptor> written_layers_;      // layers this build committed
  std::set<std::string> blobs_before_, layer_dirs_before_;  // hex names present at Prepare
};

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_BUILD_RUN_H_
