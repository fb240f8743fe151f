#include "builder/solver/builder.h"

#include <sys/stat.h>

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/go_text.h"
#include "builder/executor/cancel.h"
#include "builder/frontend/lint.h"
#include "builder/image/digest.h"
#include "builder/image/layer_extract.h"
#include "builder/image/reference.h"
#include "builder/solver/build_run.h"
#include "builder/solver/history.h"
#include "builder/solver/run_heredoc.h"
#include "builder/solver/store_gc.h"

namespace latchkey::build {

using frontend::InstructionKind;

namespace {
// The progress phase of a step after its command: CommitLayer's write, digest and leak scan.
constexpr std::string_view kCommitPhase = "writing layer";
}  // namespace

Status CheckCancelled() {
  return executor::CancelRequested() ? CancelledError("build cancelled") : Status::OK();
}

Status BuildRun::Fail(int vertex, const std::string& name, int line, int end_line, Status st) {
  if (vertex > 0) progress_.Error(vertex, st.message());
  if (failure_) {
    failure_->vertex = name;
    failure_->line = line;
    failure_->end_line = end_line;
  }
  return st;
}

Status BuildRun::Prepare() {
  LK_RETURN_IF_ERROR(image::MakeDirs(req_.state_dir + "/tmp", 0700));
  LK_RETURN_IF_ERROR(image::MakeDirs(req_.state_dir + "/layers/sha256", 0700));
  LK_ASSIGN_OR_RETURN(base::OwnedDir tmp,
                      base::MakeOwnedTempDir(req_.state_dir + "/tmp", "build-"));
  tmp_ = tmp.path;
  tmp_lock_ = std::move(tmp.lock);
  empty_dir_ = tmp_ + "/empty";
  // What was there before, so that a refused build deletes only what it wrote.
  for (auto [dir, names] : {std::pair{store_.blobs().root() + "/blobs/sha256", &blobs_before_},
                            std::pair{req_.state_dir + "/layers/sha256", &layer_dirs_before_}}) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      names->insert(e.path().filename().string());
    }
  }
  return image::MakeDirs(empty_dir_, 0755);
}

std::vector<std::string> BuildRun::NewLayerDirs() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(req_.state_dir + "/layers/sha256", ec)) {
    std::string name = e.path().filename().string();
    if (!layer_dirs_before_.count(name)) out.push_back("sha256:" + name);
  }
  return out;
}

Status BuildRun::Unpack(int vertex, std::vector<LayerRef>& layers) {
  constexpr std::string_view kUnpackPhase = "unpacking layers";
  bool started = false;
  for (LayerRef& l : layers) {
    if (!l.dir.empty()) continue;
    // Already in the layer cache (a directory there is complete): no phase to show.
    std::string cached =
        req_.state_dir + "/layers/sha256/" + std::string(image::DigestHex(l.desc.diff_id));
    struct stat st;
    if (image::IsValidDigest(l.desc.diff_id) && ::stat(cached.c_str(), &st) == 0 &&
        S_ISDIR(st.st_mode)) {
      l.dir = std::move(cached);
      continue;
    }
    LK_RETURN_IF_ERROR(CheckCancelled());
    if (!started && vertex > 0) progress_.PhaseStart(vertex, kUnpackPhase);
    started = true;
    LK_ASSIGN_OR_RETURN(l.dir, image::ExtractLayer(store_.blobs(), l.desc.digest, l.desc.diff_id,
                                                   req_.state_dir, CheckCancelled));
  }
  if (started && vertex > 0) progress_.PhaseDone(vertex, kUnpackPhase);
  return CheckCancelled();
}

Status BuildRun::RunStep(const frontend::EvaluatedStage& es, const frontend::Step& given,
                         int number, int total, const std::string& prefix, StageResult& r) {
  const frontend::Instruction& ins = given.instruction;
  // A RUN's command with its heredocs applied (what runs, is keyed and is recorded).
  frontend::Step step = given;
  std::vector<frontend::InlineFile> scripts;
  if (ins.kind == InstructionKind::kRun) {
    Result<RunCommand> cmd = ResolveRunCommand(given);
    if (!cmd.ok()) return Fail(0, "", ins.line, ins.end_line, cmd.status());
    step.argv = std::move(cmd->argv);
    scripts = std::move(cmd->scripts);
  }
  // Progress, errors and the audit record show the step's text cut to a sane length.
  std::string text = base::TruncateForDisplay(StepDisplayText(step));
  frontend::HistoryEntry h;
  h.created_by = HistoryCreatedBy(step);
  if (!IsFilesystemStep(ins.kind)) {
    h.empty_layer = true;
    h.created = req_.source_date_epoch ? Created() : r.last_created;
    r.history.push_back(std::move(h));
    return Status::OK();
  }
  std::string name =
      "[" + prefix + std::to_string(number) + "/" + std::to_string(total) + "] " + text;
  int vertex = progress_.Start(name);
  step_vertex_ = vertex;
  auto fail = [&](Status st) { return Fail(vertex, name, ins.line, ins.end_line, std::move(st)); };
  if (ins.kind == InstructionKind::kAdd && (!ins.checksum.empty() || ins.keep_git_dir)) {
    return fail(InvalidArgumentError(
        std::string("ADD ") + (ins.checksum.empty() ? "--keep-git-dir" : "--checksum") +
        " applies to remote sources, which latchkey does not support (it builds offline)"));
  }
  LayerRef where;
  where.number = static_cast<int>(r.layers.size()) + 1;
  where.step = number;
  where.line = ins.line;
  where.stage = StageLabel(es);
  where.instruction = text;
  StepRef ctx;
  ctx.stage = where.stage;
  ctx.index = static_cast<uint32_t>(number);
  ctx.line = static_cast<uint32_t>(ins.line);
  ctx.instruction = text;

  // The cache key.
  Result<std::string> k = StepKey(step, scripts, r);
  if (!k.ok()) return fail(k.status());
  const std::string key = *k;

  if (Status st = CheckCancelled(); !st.ok()) return fail(st);
  std::optional<CacheEntry> hit = LookupStep(es, step, key, ctx, name);
  if (hit) {
    if (hit->layer) {
      // Unpacked only when a later step or a COPY --from needs its files (Unpack).
      where.desc = *hit->layer;
      where.cache_key = key;
      r.layers.push_back(where);
    }
    h.created = hit->created;
    h.empty_layer = !hit->layer;
    r.last_created = hit->created;
    r.history.push_back(std::move(h));
    r.chain = key;
    progress_.Cached(vertex);
    ++steps_cached_;
    return Status::OK();
  }

  if (Status st = Unpack(vertex, r.layers); !st.ok()) return fail(st);
  Result<std::string> dir = image::MakeTempDir(tmp_, "step-");
  if (!dir.ok()) return fail(dir.status());
  Status st = Execute(step, scripts, vertex, r, *dir, ctx);
  if (st.ok()) st = CheckCancelled();  // a COPY's work is not committed after Ctrl-C
  if (!st.ok()) {
    (void)image::RemoveAll(*dir);
    return fail(st);
  }
  std::vector<std::string> allowed;
  // The layer's tar, digest and leak scan can take seconds for a big step: shown as a phase.
  progress_.PhaseStart(vertex, kCommitPhase);
  Result<std::optional<image::LayerDescriptor>> layer =
      CommitLayer(*dir + "/upper", where, &allowed);
  if (layer.ok()) progress_.PhaseDone(vertex, kCommitPhase);
  (void)image::RemoveAll(*dir);
  if (!layer.ok()) return fail(layer.status());
  if (Status c = CheckCancelled(); !c.ok()) return fail(c);
  CacheEntry entry;
  entry.layer = *layer;
  entry.created = Created();
  entry.allowed_leaks = allowed;
  if (*layer) {
    where.desc = **layer;
    where.dir =
        req_.state_dir + "/layers/sha256/" + std::string(image::DigestHex((*layer)->diff_id));
    where.scanned_with = scanner_secrets_;
    where.created_here = true;
    where.cache_key = key;
    r.layers.push_back(where);
  }
  Status stored = cache_.Store(key, entry);
  if (!stored.ok()) return fail(stored);
  written_keys_.push_back(key);
  h.created = entry.created;
  h.empty_layer = !*layer;
  r.last_created = entry.created;
  r.history.push_back(std::move(h));
  r.chain = key;
  progress_.Done(vertex);
  ++steps_run_;
  return Status::OK();
}

Status BuildRun::RunStage(const frontend::EvaluatedStage& es, size_t stage_count) {
  const frontend::StageNode& node = eval_.graph.stages[es.index];
  StageResult r;
  std::string prefix = !es.name.empty()  ? es.name + " "
                       : stage_count > 1 ? "stage-" + std::to_string(es.index) + " "
                                         : "";
  int total = 1;
  for (const auto& step : es.steps) {
    if (IsFilesystemStep(step.instruction.kind)) ++total;
  }
  if (es.base_stage >= 0) {
    const StageResult& base = stages_.at(es.base_stage);
    r.chain = base.chain;
    r.layers = base.layers;
    r.history = base.history;
    r.last_created = base.last_created;
  } else if (node.scratch) {
    r.chain = "scratch";
  } else {
    // BuildKit names the vertex by the normalised reference, without a default tag
    // ("FROM busybox" -> "FROM docker.io/library/busybox").
    Result<image::Reference> ref = image::ParseNormalizedReference(es.base);
    std::string name = "[" + prefix + "1/" + std::to_string(total) + "] FROM " +
                       (ref.ok() ? ref->String() : es.base);
    int vertex = progress_.Start(name);
    Result<ResolvedImage*> img = ResolveImage(es.base);
    if (!img.ok()) return Fail(vertex, name, node.line, node.line, img.status());
    CacheKeyBuilder chain;
    chain.Add("image");
    for (const auto& l : (*img)->image.layers) {
      // Unpacked when the first step that misses the cache needs the files (Unpack).
      LayerRef ref;
      ref.desc = l;
      ref.from_base = true;
      r.layers.push_back(std::move(ref));
      chain.Add(l.diff_id);
    }
    r.chain = chain.Finish();
    r.history = (*img)->image.config.history;
    r.last_created = (*img)->image.config.created;
    progress_.Note(vertex, "resolve " + es.base + " " + (*img)->image.manifest_digest + " done");
    progress_.Done(vertex);
  }
  if (r.last_created.empty()) r.last_created = Created();
  int number = 1;
  for (const auto& step : es.steps) {
    if (IsFilesystemStep(step.instruction.kind)) ++number;
    LK_RETURN_IF_ERROR(CheckCancelled());
    LK_RETURN_IF_ERROR(RunStep(es, step, number, total, prefix, r));
  }
  stages_[es.index] = std::move(r);
  return Status::OK();
}

Result<BuildResult> BuildRun::Run() {
  LK_RETURN_IF_ERROR(Prepare());
  dockerfile_name_ = std::filesystem::path(req_.dockerfile_path).filename().string();
  Result<frontend::Dockerfile> df =
      frontend::ParseDockerfile(req_.dockerfile_text, dockerfile_name_);
  std::vector<std::string> warnings;
  {
    int v = progress_.Start("[internal] load build definition from " + dockerfile_name_);
    progress_.Note(v, "transferring dockerfile: " +
                          image::HumanSize(static_cast<int64_t>(req_.dockerfile_text.size())) +
                          " done");
    if (df.ok()) {
      // BuildKit's linter.LintFormatShort, shown on this vertex as "WARN: ..." lines.
      for (const frontend::LintWarning& w : frontend::LintDockerfile(*df)) {
        warnings.push_back(w.rule + ": " + w.message + " (line " + std::to_string(w.line) + ")");
        progress_.Note(v, "WARN: " + warnings.back());
      }
    }
    progress_.Done(v);
  }
  if (!df.ok()) return Fail(0, "", 0, 0, df.status());
  {
    int v = progress_.Start("[internal] load .dockerignore");
    Result<IgnoreMatcher> ig = IgnoreMatcher::Load(req_.context_dir, req_.dockerfile_path);
    if (!ig.ok()) return Fail(v, "", 0, 0, ig.status());
    ignore_ = std::move(ig).value();
    progress_.Done(v);
  }
  RunResolver resolver(*this);
  Result<frontend::EvaluatedBuild> eval =
      frontend::EvaluateBuild(*df, req_.frontend, resolver, dockerfile_name_);
  if (!eval.ok()) {
    // "<file>:<line>: <cause>": show the snippet for that line.
    const std::string msg = eval.status().message();
    int line = 0;
    std::string head = dockerfile_name_ + ":";
    if (msg.compare(0, head.size(), head) == 0) line = std::atoi(msg.c_str() + head.size());
    return Fail(0, "", line, line, eval.status());
  }
  eval_ = std::move(eval).value();
  size_t stage_count = eval_.graph.stages.size();
  for (const auto& es : eval_.stages) {
    LK_RETURN_IF_ERROR(CheckCancelled());
    LK_RETURN_IF_ERROR(RunStage(es, stage_count));
  }

  const frontend::EvaluatedStage* target = eval_.Stage(eval_.graph.target);
  if (target == nullptr) return InternalError("the target stage was not evaluated");
  StageResult& r = stages_.at(target->index);
  frontend::ImageConfig config = target->config;
  for (const auto& [k, v] : req_.labels) config.labels[k] = v;
  config.history = r.history;
  config.created = req_.source_date_epoch ? Created() : r.last_created;
  std::vector<image::LayerDescriptor> descs;
  for (const auto& l : r.layers) descs.push_back(l.desc);
  // Scanned before the config and manifest blobs are written: a refused build writes neither.
  LK_RETURN_IF_ERROR(CheckCancelled());
  Status scan = ScanFinal(config, r);
  if (!scan.ok()) return Fail(0, "", 0, 0, scan);
  LK_RETURN_IF_ERROR(CheckCancelled());
  LK_ASSIGN_OR_RETURN(image::Image img, image::CommitImage(config, descs, store_.blobs()));

  BuildResult result;
  LK_RETURN_IF_ERROR(Export(img, result));
  result.image = std::move(img);
  result.steps_run = steps_run_;
  result.steps_cached = steps_cached_;
  result.warnings = std::move(warnings);
  result.materials = materials_;
  return result;
}

Result<BuildResult> Build(const BuildRequest& request, SecretSession& session,
                          ProgressWriter& progress, BuildFailure* failure,
                          std::shared_ptr<spdlog::logger> log) {
  // The state dir holds layers, caches and the audit log of secret builds: owner only.
  LK_RETURN_IF_ERROR(image::MakeDirs(request.state_dir, 0700));
  if (::chmod(request.state_dir.c_str(), 0700) != 0) {
    return image::ErrnoStatus("chmod", request.state_dir, errno);
  }
  // Held for the whole build: no GC sweeps what this build references (store_gc.h).
  LK_ASSIGN_OR_RETURN(StoreUseLock shared, StoreUseLock::Shared(request.state_dir));
  std::optional<StoreUseLock> in_use(std::move(shared));
  LK_ASSIGN_OR_RETURN(image::ImageStore store, image::ImageStore::Open(request.state_dir));
  LK_ASSIGN_OR_RETURN(BuildCache cache, BuildCache::Open(request.state_dir));
  // No logger: debug lines go nowhere.
  if (!log) log = std::make_shared<spdlog::logger>("build");
  Result<BuildResult> result = InternalError("build did not run");
  std::vector<std::string> unpacked;
  {
    BuildRun run(request, session, progress, failure, log, std::move(store), std::move(cache));
    result = run.Run();
    if (result.ok()) unpacked = run.NewLayerDirs();
  }  // its source views are unmounted
  in_use.reset();
  // Only what tagged images need stays unpacked (store_gc.h); a build's other layers (those of
  // intermediate stages, or of a result only in the cache) are unpacked again when needed.
  Result<int> evicted = EvictUnpackedLayers(request.state_dir, unpacked);
  if (!evicted.ok()) {
    log->warn("{}", evicted.status().message());
  } else if (*evicted > 0) {
    log->debug("removed {} unpacked layers no image references", *evicted);
  }
  return result;
}

}  // namespace latchkey::build
