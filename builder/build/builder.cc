#include "builder/build/builder.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/go_text.h"
#include "base/owner_lock.h"
#include "broker/logging.h"
#include "broker/redactor.h"
#include "builder/build/build_cache.h"
#include "builder/build/changed_tree.h"
#include "builder/build/copy.h"
#include "builder/build/dockerignore.h"
#include "builder/build/history.h"
#include "builder/build/leak_report.h"
#include "builder/build/leak_scan.h"
#include "builder/build/overlay_mount.h"
#include "builder/build/run_heredoc.h"
#include "builder/executor/cancel.h"
#include "builder/executor/executor.h"
#include "builder/executor/process_error.h"
#include "builder/executor/sys_util.h"
#include "builder/frontend/config_eval.h"
#include "builder/frontend/lint.h"
#include "builder/image/config_json.h"
#include "builder/image/digest.h"
#include "builder/image/fs_util.h"
#include "builder/image/image_ref.h"
#include "builder/image/image_store.h"
#include "builder/image/layer_extract.h"
#include "builder/image/layer_writer.h"

namespace latchkey::build {
namespace {

using frontend::InstructionKind;

// The from= name under which heredoc scripts are bind-mounted (not a valid stage name).
constexpr const char* kHeredocSource = "latchkey:heredoc";

// The captured build output kept for the final leak scan (the step output itself is streamed
// to the progress writer as it arrives).
constexpr size_t kMaxCapturedOutput = 16 << 20;

// One layer of a stage's filesystem.
struct LayerRef {
  image::LayerDescriptor desc;
  std::string dir;  // unpacked (overlay lower dir form)
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
  std::vector<std::string> dirs;  // unpacked layers, base first
  std::unique_ptr<OverlayMount> view;
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string NowRfc3339() { return image::FormatRfc3339(static_cast<int64_t>(std::time(nullptr))); }

// The build's cancel token (cancel.h), checked between the phases of a build: before each stage
// and step, between extracting layers, after a step's work and before and after each output.
Status CheckCancelled() {
  return executor::CancelRequested() ? CancelledError("build cancelled") : Status::OK();
}

bool DirIsEmpty(const std::string& dir) {
  std::error_code ec;
  return std::filesystem::is_empty(dir, ec) && !ec;
}

// Hands the session's secrets to the executor for one step: fetched when the step asks.
class SessionSecrets : public executor::SecretProvider {
 public:
  SessionSecrets(Session& session, StepContext ctx) : session_(session), ctx_(std::move(ctx)) {}
  Result<std::optional<std::shared_ptr<const SecretBuffer>>> Fetch(const std::string& id) override {
    LK_ASSIGN_OR_RETURN(SecretView view, session_.Fetch(id, ctx_));
    LK_ASSIGN_OR_RETURN(SecretBuffer copy, SecretBuffer::CopyOf(view.bytes()));
    copy.Seal();
    return std::optional<std::shared_ptr<const SecretBuffer>>(
        std::make_shared<const SecretBuffer>(std::move(copy)));
  }

 private:
  Session& session_;
  StepContext ctx_;
};

// Streams a step's (already redacted) output to the progress writer and keeps it for the
// final leak scan.
class StepOutput : public executor::OutputSink {
 public:
  StepOutput(ProgressWriter& progress, int vertex, std::string& captured)
      : progress_(progress), vertex_(vertex), captured_(captured) {}
  void Write(executor::OutputStream stream, std::string_view text) override {
    progress_.Log(vertex_, stream, text);
    if (captured_.size() < kMaxCapturedOutput) {
      captured_.append(text.substr(0, kMaxCapturedOutput - captured_.size()));
    }
  }

 private:
  ProgressWriter& progress_;
  int vertex_;
  std::string& captured_;
};

class BuildRun;

// The copy.h view of an evaluated COPY/ADD step.
CopyInstruction ToCopyInstruction(const frontend::Step& step) {
  const frontend::Instruction& ins = step.instruction;
  CopyInstruction ci;
  ci.add = ins.kind == InstructionKind::kAdd;
  ci.sources = ins.sources;
  ci.inline_sources = ins.source_contents;
  ci.dest = ins.dest;
  ci.workdir = step.config->working_dir.empty() ? "/" : step.config->working_dir;
  ci.chown = ins.chown;
  ci.chmod = ins.chmod;
  ci.excludes = ins.excludes;
  return ci;
}

// Resolves FROM images for the evaluator: oci-layout build contexts first, then the store.
class RunResolver : public frontend::BaseImageResolver {
 public:
  explicit RunResolver(BuildRun& run) : run_(run) {}
  Result<frontend::ImageConfig> Resolve(const std::string& ref,
                                        const std::string& platform) override;

 private:
  BuildRun& run_;
};

class BuildRun {
 public:
  BuildRun(const BuildRequest& req, Session& session, audit::AuditLog& audit,
           ProgressWriter& progress, BuildFailure* failure, image::ImageStore store,
           BuildCache cache)
      : req_(req),
        session_(session),
        audit_(audit),
        progress_(progress),
        failure_(failure),
        store_(std::move(store)),
        cache_(std::move(cache)) {}

  ~BuildRun() {
    stages_.clear();
    images_.clear();
    if (refused_) RemoveWrittenLayers();
    if (!tmp_.empty()) (void)image::RemoveAll(tmp_);
    tmp_lock_.Release();  // after the directory is gone (state_recovery.h)
  }

  Result<BuildResult> Run();
  Result<ResolvedImage*> ResolveImage(const std::string& ref);

 private:
  Status Prepare();
  Result<ResolvedImage*> LoadFromLayout(const NamedContext& nc, const std::string& key);
  Status RunStage(const frontend::EvaluatedStage& es, size_t stage_count);
  Status RunStep(const frontend::EvaluatedStage& es, const frontend::Step& step, int number,
                 int total, const std::string& prefix, StageResult& r);
  Result<std::string> SourceView(int stage, const std::string& image_or_name, CopySourceRoot* root);
  Result<std::string> RunKey(const frontend::Step& step,
                             const std::vector<frontend::InlineFile>& scripts,
                             const StageResult& r);
  // Where a COPY/ADD step reads: the context (with .dockerignore), or its --from source.
  Status CopySource(const frontend::Step& step, CopySourceRoot* root);
  Status Execute(const frontend::Step& step, const std::vector<frontend::InlineFile>& scripts,
                 int vertex, const StageResult& r, const std::string& dir, const StepContext& ctx);
  Result<std::optional<image::LayerDescriptor>> CommitLayer(const std::string& upper,
                                                            const LayerRef& where,
                                                            std::vector<std::string>* allowed);
  Status ScanLayer(const image::LayerDescriptor& desc, const LayerRef& where,
                   std::vector<std::string>* allowed, bool at_step);
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
                         const StepContext& ctx);
  Status RecordLeak(const LeakFinding& f, const std::string& layer, const LayerRef& where);
  Result<const LeakScanner*> Scanner();
  Status ScanFinal(const frontend::ImageConfig& config, const StageResult& target);
  Status Export(const image::Image& img, BuildResult& result);
  Status Fail(int vertex, const std::string& name, int line, int end_line, Status st);
  std::string Created() const {
    return req_.source_date_epoch ? image::FormatRfc3339(*req_.source_date_epoch) : NowRfc3339();
  }
  std::string StageLabel(const frontend::EvaluatedStage& es) const {
    return es.name.empty() ? std::to_string(es.index) : es.name;
  }
  std::vector<std::string> LowerDirs(const std::vector<LayerRef>& layers) const {
    std::vector<std::string> out;
    for (auto it = layers.rbegin(); it != layers.rend(); ++it) out.push_back(it->dir);
    if (out.empty()) out.push_back(empty_dir_);
    return out;
  }

  const BuildRequest& req_;
  Session& session_;
  audit::AuditLog& audit_;
  ProgressWriter& progress_;
  BuildFailure* failure_;
  image::ImageStore store_;
  BuildCache cache_;

  std::string tmp_;           // <state>/tmp/build-XXXXXX: this build's scratch space
  base::OwnerLock tmp_lock_;  // <tmp_>.lock, held while the build runs
  std::string empty_dir_;     // an empty directory (overlay padding, scratch lower)
  IgnoreMatcher ignore_;
  std::string dockerfile_name_;
  frontend::EvaluatedBuild eval_;
  std::map<int, StageResult> stages_;
  std::map<std::string, std::unique_ptr<ResolvedImage>> images_;
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

Result<frontend::ImageConfig> RunResolver::Resolve(const std::string& ref,
                                                   const std::string& /*platform*/) {
  LK_ASSIGN_OR_RETURN(ResolvedImage * img, run_.ResolveImage(ref));
  return img->image.config;
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

Result<ResolvedImage*> BuildRun::LoadFromLayout(const NamedContext& nc, const std::string& key) {
  LK_ASSIGN_OR_RETURN(auto index, image::ReadIndex(nc.path));
  const image::IndexEntry* pick = nullptr;
  for (const auto& e : index) {
    bool match = nc.tag.empty() ? (index.size() == 1 || e.ref_name == "latest")
                                : (e.ref_name == nc.tag || e.digest == nc.tag);
    if (match) {
      pick = &e;
      break;
    }
  }
  if (pick == nullptr) {
    return NotFoundError("build context \"" + nc.name + "\": no image " +
                         (nc.tag.empty() ? std::string("(the layout holds several; add :TAG)")
                                         : "\"" + nc.tag + "\"") +
                         " in the OCI layout " + nc.path);
  }
  // Copy the image's blobs into our store (verifying each digest), then load it from there.
  auto import_blob = [&](const std::string& digest) -> Status {
    if (!image::IsValidDigest(digest)) {
      return InvalidArgumentError("build context \"" + nc.name + "\": bad digest " + digest);
    }
    if (store_.blobs().Has(digest)) return Status::OK();
    std::string path = nc.path + "/blobs/sha256/" + std::string(image::DigestHex(digest));
    LK_ASSIGN_OR_RETURN(image::BlobInfo info, store_.blobs().PutFile(path));
    if (info.digest != digest) {
      return DataLossError("build context \"" + nc.name + "\": blob " + path + " has digest " +
                           info.digest + ", not " + digest);
    }
    return Status::OK();
  };
  LK_RETURN_IF_ERROR(import_blob(pick->digest));
  LK_ASSIGN_OR_RETURN(std::string manifest, store_.blobs().ReadBytes(pick->digest));
  nlohmann::json m = nlohmann::json::parse(manifest, nullptr, false);
  if (!m.is_object() || !m.contains("config") || !m.contains("layers")) {
    return InvalidArgumentError("build context \"" + nc.name + "\": " + pick->digest +
                                " is not an image manifest");
  }
  LK_RETURN_IF_ERROR(import_blob(m["config"].value("digest", "")));
  for (const auto& l : m["layers"]) LK_RETURN_IF_ERROR(import_blob(l.value("digest", "")));
  LK_ASSIGN_OR_RETURN(image::Image img, image::LoadImage(store_.blobs(), pick->digest));
  auto r = std::make_unique<ResolvedImage>();
  r->image = std::move(img);
  ResolvedImage* out = r.get();
  images_[key] = std::move(r);
  return out;
}

Result<ResolvedImage*> BuildRun::ResolveImage(const std::string& ref) {
  auto it = images_.find(ref);
  if (it != images_.end()) return it->second.get();
  for (const auto& nc : req_.named_contexts) {
    if (nc.name != Lower(ref)) continue;
    if (nc.kind == NamedContext::Kind::kDirectory) {
      return InvalidArgumentError("build context \"" + nc.name +
                                  "\" is a directory and cannot be used as a base image; "
                                  "pass an oci-layout:// context");
    }
    return LoadFromLayout(nc, ref);
  }
  LK_ASSIGN_OR_RETURN(image::Image img, store_.Resolve(ref));
  auto r = std::make_unique<ResolvedImage>();
  r->image = std::move(img);
  ResolvedImage* out = r.get();
  images_[ref] = std::move(r);
  return out;
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

// A read-only view of a stage's or image's filesystem (mounted once per build), or a named
// directory context, as a COPY source / bind mount source. `stage` >= 0 picks a stage.
Result<std::string> BuildRun::SourceView(int stage, const std::string& name, CopySourceRoot* root) {
  auto mount_view = [&](const std::vector<std::string>& lowers,
                        std::unique_ptr<OverlayMount>& view) -> Result<std::string> {
    if (!view) {
      std::string target = tmp_ + "/view-" + std::to_string(++views_);
      LK_RETURN_IF_ERROR(image::MakeDirs(target, 0755));
      LK_ASSIGN_OR_RETURN(OverlayMount m, OverlayMount::ReadOnly(lowers, empty_dir_, target));
      view = std::make_unique<OverlayMount>(std::move(m));
    }
    return view->path();
  };
  if (stage >= 0) {
    auto it = stages_.find(stage);
    if (it == stages_.end()) return InternalError("stage " + std::to_string(stage) + " not built");
    const frontend::EvaluatedStage* es = eval_.Stage(stage);
    if (root) {
      root->is_context = false;
      root->ignore = nullptr;
      root->display =
          "stage \"" + (es && !es->name.empty() ? es->name : std::to_string(stage)) + "\"";
    }
    return mount_view(LowerDirs(it->second.layers), it->second.view);
  }
  for (const auto& nc : req_.named_contexts) {
    if (nc.name == Lower(name) && nc.kind == NamedContext::Kind::kDirectory) {
      if (root) {
        root->is_context = true;
        root->ignore = nullptr;
        root->display = "build context \"" + nc.name + "\"";
      }
      return nc.path;
    }
  }
  LK_ASSIGN_OR_RETURN(ResolvedImage * img, ResolveImage(name));
  if (img->dirs.empty()) {
    for (const auto& l : img->image.layers) {
      LK_ASSIGN_OR_RETURN(std::string dir,
                          image::ExtractLayer(store_.blobs(), l.digest, l.diff_id, req_.state_dir));
      img->dirs.push_back(dir);
    }
  }
  if (root) {
    root->is_context = false;
    root->ignore = nullptr;
    root->display = "image \"" + name + "\"";
  }
  std::vector<std::string> lowers(img->dirs.rbegin(), img->dirs.rend());
  if (lowers.empty()) lowers.push_back(empty_dir_);
  return mount_view(lowers, img->view);
}

Result<const LeakScanner*> BuildRun::Scanner() {
  auto released = session_.Released();
  if (!scanner_ || released.size() != scanner_secrets_) {
    LK_ASSIGN_OR_RETURN(LeakScanner s, LeakScanner::Create(released, {}));
    scanner_ = std::make_unique<LeakScanner>(std::move(s));
    scanner_secrets_ = released.size();
  }
  return scanner_.get();
}

Status BuildRun::RecordLeak(const LeakFinding& f, const std::string& layer, const LayerRef& where) {
  audit::LeakFindingRecord rec;
  rec.session = session_.id();
  rec.finding = NewSessionId();
  rec.secret = f.secret_id;
  rec.layer = layer;
  rec.path = f.path;
  rec.step.stage = where.stage;
  rec.step.index = where.step;
  rec.step.line = where.line;
  rec.step.instruction = where.instruction;
  return audit_.Append(std::move(rec));
}

// Scans a new layer for every value released so far. A finding for a secret the user allowed
// is recorded and returned in `allowed`; any other fails the step.
Status BuildRun::ScanLayer(const image::LayerDescriptor& desc, const LayerRef& where,
                           std::vector<std::string>* allowed, bool at_step) {
  LK_ASSIGN_OR_RETURN(const LeakScanner* scanner, Scanner());
  if (scanner->empty()) return Status::OK();
  LK_ASSIGN_OR_RETURN(std::string path, store_.blobs().Path(desc.digest));
  LK_ASSIGN_OR_RETURN(std::vector<LeakFinding> findings, scanner->ScanLayerFile(path));
  std::vector<LeakPlace> refused;
  for (const LeakFinding& f : findings) {
    LK_RETURN_IF_ERROR(RecordLeak(f, desc.digest, where));
    if (req_.allowed_leaks.count(f.secret_id)) {
      if (std::find(allowed->begin(), allowed->end(), f.secret_id) == allowed->end()) {
        allowed->push_back(f.secret_id);
        progress_.Print("WARNING: secret \"" + f.secret_id + "\" leaked into layer " +
                        std::to_string(where.number) +
                        " (Dockerfile:" + std::to_string(where.line) + ") at /" + f.path +
                        "; allowed by --allow-secret-leak");
      }
      continue;
    }
    refused.push_back({f.secret_id, "/" + f.path});
  }
  if (refused.empty()) return Status::OK();
  return FailedPreconditionError(FormatLeakError(
      refused,
      "layer " + std::to_string(where.number) + " (step " + std::to_string(where.step) +
          ", Dockerfile:" + std::to_string(where.line) + ")",
      at_step ? "the layer was discarded" : "nothing was exported"));
}

// Turns a step's upper dir into a layer: written to the blob store, leak-scanned, then moved
// into the layer cache. nullopt when the step changed nothing.
Result<std::optional<image::LayerDescriptor>> BuildRun::CommitLayer(
    const std::string& upper, const LayerRef& where, std::vector<std::string>* allowed) {
  if (DirIsEmpty(upper)) return std::optional<image::LayerDescriptor>();
  image::LayerOptions opts;
  opts.source = image::LayerSource::kOverlayUpper;
  opts.source_date_epoch = req_.source_date_epoch;
  Result<image::LayerDescriptor> written = image::WriteLayer(upper, opts, store_.blobs());
  if (!written.ok()) {
    return written.status().WithPrefix("step " + std::to_string(where.step) +
                                       " (Dockerfile:" + std::to_string(where.line) + ")");
  }
  image::LayerDescriptor desc = std::move(written).value();
  Status scan = ScanLayer(desc, where, allowed, /*at_step=*/true);
  if (!scan.ok()) {
    ::unlink(store_.blobs().PathFor(desc.digest).c_str());
    DropCacheEntries();
    return scan;
  }
  std::string dest =
      req_.state_dir + "/layers/sha256/" + std::string(image::DigestHex(desc.diff_id));
  if (::access(dest.c_str(), F_OK) != 0) {
    int fd = ::open(upper.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      ::syncfs(fd);
      ::close(fd);
    }
    if (::rename(upper.c_str(), dest.c_str()) != 0 && errno != ENOTEMPTY && errno != EEXIST) {
      return image::ErrnoStatus("rename", upper, errno);
    }
  }
  written_layers_.push_back(desc);
  return std::optional<image::LayerDescriptor>(desc);
}

Status BuildRun::CopySource(const frontend::Step& step, CopySourceRoot* root) {
  root->dir = req_.context_dir;
  root->ignore = &ignore_;
  if (step.instruction.from.empty()) return Status::OK();
  LK_ASSIGN_OR_RETURN(root->dir, SourceView(step.from_stage, step.instruction.from, root));
  return Status::OK();
}

Result<std::string> BuildRun::RunKey(const frontend::Step& step,
                                     const std::vector<frontend::InlineFile>& scripts,
                                     const StageResult& r) {
  CacheKeyBuilder key;
  key.Add("run").Add(r.chain).Add(step.argv).Add(step.run_env);
  for (const auto& f : scripts) key.Add(f.name).Add(f.data);
  key.Add(step.config->user).Add(step.config->working_dir);
  const auto& net = step.instruction.run_flags.network;
  key.Add(net ? *net : (req_.network == executor::NetworkMode::kNone ? "none" : "default"));
  if (!req_.extra_hosts.empty() || req_.shm_size_bytes > 0 || !req_.ulimits.empty()) {
    std::string opts = "run-options shm=" + std::to_string(req_.shm_size_bytes);
    for (const auto& h : req_.extra_hosts) opts += " host=" + h.host + "=" + h.ip;
    for (const auto& u : req_.ulimits) {
      opts += " ulimit=" + u.type + "=" + std::to_string(u.soft) + ":" + std::to_string(u.hard);
    }
    key.Add(opts);
  }
  for (const auto& m : step.mounts) {
    key.Add(frontend::MountSpecCacheKey(m));
    if (m.type != frontend::MountType::kBind) continue;
    // A bind mount's content is an input of the step (BuildKit's getMountDeps).
    CopySourceRoot root;
    root.dir = req_.context_dir;
    root.ignore = &ignore_;
    if (!m.from.empty()) {
      LK_ASSIGN_OR_RETURN(int idx, frontend::FindStageRef(eval_.graph.stages, m.from));
      if (idx >= 0) {
        key.Add(stages_.at(idx).chain);
        continue;
      }
      LK_ASSIGN_OR_RETURN(root.dir, SourceView(-1, m.from, &root));
    }
    CopyInstruction ci;
    ci.sources = {m.source.empty() ? "." : m.source};
    ci.dest = "/";
    LK_ASSIGN_OR_RETURN(std::string digest, CopySourceDigest(root, ci));
    key.Add(digest);
  }
  return key.Finish();
}

Status BuildRun::Execute(const frontend::Step& step,
                         const std::vector<frontend::InlineFile>& scripts, int vertex,
                         const StageResult& r, const std::string& dir, const StepContext& ctx) {
  const frontend::Instruction& ins = step.instruction;
  std::string upper = dir + "/upper", work = dir + "/work";
  LK_RETURN_IF_ERROR(image::MakeDirs(upper, 0755));
  LK_RETURN_IF_ERROR(image::MakeDirs(work, 0700));
  if (ins.kind == InstructionKind::kRun) {
    executor::StepSpec spec;
    spec.lower_dirs = LowerDirs(r.layers);
    spec.upper_dir = upper;
    spec.work_dir = work;
    spec.args = step.argv;
    spec.env = step.run_env;
    spec.user = step.config->user;
    spec.workdir = step.config->working_dir.empty() ? "/" : step.config->working_dir;
    spec.network = req_.network;
    if (ins.run_flags.network) {
      spec.network = *ins.run_flags.network == "none" ? executor::NetworkMode::kNone
                                                      : executor::NetworkMode::kHost;
    }
    spec.mounts = step.mounts;
    spec.extra_hosts = req_.extra_hosts;
    spec.shm_size_bytes = req_.shm_size_bytes;
    spec.rlimits = req_.ulimits;
    executor::MountSources sources;
    sources.context_dir = req_.context_dir;
    sources.ssh_agents = req_.ssh_agents;
    for (const auto& m : step.mounts) {
      if (m.from.empty() || sources.from_dirs.count(m.from)) continue;
      LK_ASSIGN_OR_RETURN(int idx, frontend::FindStageRef(eval_.graph.stages, m.from));
      LK_ASSIGN_OR_RETURN(std::string path, SourceView(idx, m.from, nullptr));
      sources.from_dirs[m.from] = path;
    }
    if (!scripts.empty()) {
      // BuildKit mounts a single-heredoc script read-only at /dev/pipes/<name>, mode 0755.
      std::string script_dir = dir + "/heredoc";
      LK_RETURN_IF_ERROR(image::MakeDirs(script_dir, 0755));
      for (const auto& f : scripts) {
        LK_RETURN_IF_ERROR(image::WriteFileAtomic(script_dir + "/" + f.name, f.data, 0755));
        frontend::MountSpec m;
        m.type = frontend::MountType::kBind;
        m.from = kHeredocSource;
        m.source = f.name;
        m.target = std::string(kHeredocMountDir) + "/" + f.name;
        m.readonly = true;
        spec.mounts.push_back(std::move(m));
      }
      sources.from_dirs[kHeredocSource] = script_dir;
    }
    SessionSecrets secrets(session_, ctx);
    StepOutput out(progress_, vertex, captured_);
    executor::ExecutorOptions eo;
    eo.state_dir = req_.state_dir;
    eo.runtime = req_.runtime;
    const struct timespec since = ChangedTreeClock();
    Result<executor::StepResult> res = executor::RunStep(eo, spec, secrets, sources, out);
    LK_RETURN_IF_ERROR(ScanCacheMounts(step, since, ctx));  // also after a failed step
    if (!res.ok()) return res.status();
    if (res->exit_code != 0) {
      return UnknownError(
          executor::FormatProcessFailure(step.argv, res->secret_env_names, res->exit_code));
    }
    return Status::OK();
  }
  // COPY / ADD.
  if (ins.parents) {
    return InvalidArgumentError(std::string(frontend::InstructionName(ins.kind)) +
                                " --parents is not supported yet");
  }
  CopySourceRoot root;
  LK_RETURN_IF_ERROR(CopySource(step, &root));
  CopyInstruction ci = ToCopyInstruction(step);
  std::string merged = dir + "/merged";
  LK_RETURN_IF_ERROR(image::MakeDirs(merged, 0755));
  LK_ASSIGN_OR_RETURN(OverlayMount m,
                      OverlayMount::ReadWrite(LowerDirs(r.layers), upper, work, merged));
  LK_RETURN_IF_ERROR(ExecuteCopy(root, ci, merged));
  return m.Unmount();
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
  bool fs_step = ins.kind == InstructionKind::kRun || ins.kind == InstructionKind::kCopy ||
                 ins.kind == InstructionKind::kAdd;
  if (!fs_step) {
    h.empty_layer = true;
    h.created = req_.source_date_epoch ? Created() : r.last_created;
    r.history.push_back(std::move(h));
    return Status::OK();
  }
  std::string name =
      "[" + prefix + std::to_string(number) + "/" + std::to_string(total) + "] " + text;
  int vertex = progress_.Start(name);
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
  StepContext ctx;
  ctx.stage = where.stage;
  ctx.index = static_cast<uint32_t>(number);
  ctx.line = static_cast<uint32_t>(ins.line);
  ctx.instruction = text;

  // The cache key.
  std::string key;
  if (ins.kind == InstructionKind::kRun) {
    Result<std::string> k = RunKey(step, scripts, r);
    if (!k.ok()) return fail(k.status());
    key = *k;
  } else {
    CopySourceRoot root;
    if (Status st = CopySource(step, &root); !st.ok()) return fail(st);
    Result<std::string> digest = CopySourceDigest(root, ToCopyInstruction(step));
    if (!digest.ok()) return fail(digest.status());
    key = CacheKeyBuilder()
              .Add(frontend::InstructionName(ins.kind))
              .Add(r.chain)
              .Add(*digest)
              .Add(root.display)
              .Finish();
  }

  if (Status st = CheckCancelled(); !st.ok()) return fail(st);
  bool use_cache = !req_.no_cache && !req_.no_cache_stages.count(es.name) &&
                   !req_.no_cache_stages.count(std::to_string(es.index));
  GetLogger("build")->debug("{}: cache key {}{}", name, key, use_cache ? "" : " (cache disabled)");
  if (use_cache) {
    std::optional<CacheEntry> hit = cache_.Lookup(key);
    bool usable = hit.has_value();
    if (usable && hit->layer && !store_.blobs().Has(hit->layer->digest)) usable = false;
    if (usable) {
      for (const auto& id : hit->allowed_leaks) {
        if (!req_.allowed_leaks.count(id)) usable = false;
      }
    }
    // A step that mounted secrets is reused only when this session could obtain them now
    // (source resolves, policy allows; nothing is fetched), and the hit is audited; otherwise
    // it runs as it would uncached, so the cache skips neither policy nor `required`.
    if (usable) {
      std::vector<std::string> secret_ids;
      for (const auto& m : step.mounts) {
        if (m.type == frontend::MountType::kSecret) secret_ids.push_back(m.id);
      }
      if (!secret_ids.empty()) {
        Status granted = session_.AuthorizeCacheHit(secret_ids, ctx, key);
        if (!granted.ok()) {
          GetLogger("build")->debug("{}: cache entry not reused: {}", name, granted.message());
          usable = false;
        }
      }
    }
    if (usable) {
      if (hit->layer) {
        Result<std::string> dir = image::ExtractLayer(store_.blobs(), hit->layer->digest,
                                                      hit->layer->diff_id, req_.state_dir);
        if (!dir.ok()) return fail(dir.status());
        if (Status st = CheckCancelled(); !st.ok()) return fail(st);
        where.desc = *hit->layer;
        where.dir = *dir;
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
  }

  Result<std::string> dir = image::MakeTempDir(tmp_, "step-");
  if (!dir.ok()) return fail(dir.status());
  Status st = Execute(step, scripts, vertex, r, *dir, ctx);
  if (st.ok()) st = CheckCancelled();  // a COPY's work is not committed after Ctrl-C
  if (!st.ok()) {
    (void)image::RemoveAll(*dir);
    return fail(st);
  }
  std::vector<std::string> allowed;
  Result<std::optional<image::LayerDescriptor>> layer =
      CommitLayer(*dir + "/upper", where, &allowed);
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
    auto k = step.instruction.kind;
    if (k == InstructionKind::kRun || k == InstructionKind::kCopy || k == InstructionKind::kAdd) {
      ++total;
    }
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
    std::string name = "[" + prefix + "1/" + std::to_string(total) + "] FROM " + es.base;
    int vertex = progress_.Start(name);
    Result<ResolvedImage*> img = ResolveImage(es.base);
    if (!img.ok()) return Fail(vertex, name, node.line, node.line, img.status());
    CacheKeyBuilder chain;
    chain.Add("image");
    for (const auto& l : (*img)->image.layers) {
      if (Status st = CheckCancelled(); !st.ok())
        return Fail(vertex, name, node.line, node.line, st);
      Result<std::string> dir =
          image::ExtractLayer(store_.blobs(), l.digest, l.diff_id, req_.state_dir);
      if (!dir.ok()) return Fail(vertex, name, node.line, node.line, dir.status());
      LayerRef ref;
      ref.desc = l;
      ref.dir = *dir;
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
    auto k = step.instruction.kind;
    bool fs_step =
        k == InstructionKind::kRun || k == InstructionKind::kCopy || k == InstructionKind::kAdd;
    if (fs_step) ++number;
    LK_RETURN_IF_ERROR(CheckCancelled());
    LK_RETURN_IF_ERROR(RunStep(es, step, number, total, prefix, r));
  }
  stages_[es.index] = std::move(r);
  return Status::OK();
}

void BuildRun::DropCacheEntries() {
  for (const auto& key : written_keys_) (void)cache_.Remove(key);
  written_keys_.clear();
  refused_ = true;
}

void BuildRun::RemoveWrittenLayers() {
  for (const auto& l : written_layers_) {
    std::string blob(image::DigestHex(l.digest)), dir(image::DigestHex(l.diff_id));
    if (!blobs_before_.count(blob)) ::unlink(store_.blobs().PathFor(l.digest).c_str());
    if (!layer_dirs_before_.count(dir)) {
      (void)image::RemoveAll(req_.state_dir + "/layers/sha256/" + dir);
    }
  }
  written_layers_.clear();
}

Status BuildRun::ScanCacheMounts(const frontend::Step& step, const struct timespec& since,
                                 const StepContext& ctx) {
  bool secrets = false;
  std::vector<const frontend::MountSpec*> caches;
  for (const auto& m : step.mounts) {
    if (m.type == frontend::MountType::kSecret) secrets = true;
    if (m.type == frontend::MountType::kCache && !m.readonly) caches.push_back(&m);
  }
  if (!secrets || caches.empty()) return Status::OK();
  LK_ASSIGN_OR_RETURN(const LeakScanner* scanner, Scanner());
  if (scanner->empty()) return Status::OK();
  LayerRef where;
  where.stage = ctx.stage;
  where.step = static_cast<int>(ctx.index);
  where.line = static_cast<int>(ctx.line);
  where.instruction = ctx.instruction;
  std::vector<LeakPlace> refused;
  std::vector<std::string> targets;  // of the mounts with a refused finding
  std::vector<std::string> to_clean;
  for (const frontend::MountSpec* m : caches) {
    // The mount's directory, and the other directories of a sharing=private id.
    const std::string base = req_.state_dir + "/cache/" + executor::Sha256Hex(m->id);
    std::vector<std::string> dirs = {base};
    for (int i = 1; ::access((base + "-" + std::to_string(i)).c_str(), F_OK) == 0; ++i) {
      dirs.push_back(base + "-" + std::to_string(i));
    }
    bool hit = false;
    for (const auto& dir : dirs) {
      LK_ASSIGN_OR_RETURN(std::vector<LeakFinding> findings, scanner->ScanChangedTree(dir, since));
      for (const LeakFinding& f : findings) {
        LK_RETURN_IF_ERROR(RecordLeak(f, "cache mount " + m->target, where));
        std::string at = (f.path.empty() ? "" : "/") + f.path;
        if (req_.allowed_leaks.count(f.secret_id)) {
          progress_.Print("WARNING: secret \"" + f.secret_id + "\" leaked into cache mount " +
                          m->target + " (Dockerfile:" + std::to_string(where.line) + ") at " + at +
                          "; allowed by --allow-secret-leak");
          continue;
        }
        refused.push_back({f.secret_id, at});
        hit = true;
      }
      if (hit) to_clean.push_back(dir);
    }
    if (hit) targets.push_back(m->target);
  }
  if (refused.empty()) return Status::OK();
  for (const auto& dir : to_clean) {
    Result<size_t> removed = RemoveChangedTree(dir, since);
    if (!removed.ok())
      return removed.status().WithPrefix("removing what leaked into a cache mount");
  }
  DropCacheEntries();
  const std::string step_text =
      "(step " + std::to_string(where.step) + ", Dockerfile:" + std::to_string(where.line) + ")";
  return FailedPreconditionError(
      FormatLeakError(refused,
                      (targets.size() == 1 ? "cache mount " + targets[0]
                                           : "the cache mounts " +
                                                 [&] {
                                                   std::string t;
                                                   for (const auto& x : targets)
                                                     t += (t.empty() ? "" : ", ") + x;
                                                   return t;
                                                 }()) +
                          " " + step_text,
                      "the files the step wrote there were removed"));
}

// The last check before export. Every layer of the image that is not the base's is scanned
// against every value released in this build, unless it already was: a layer made before a
// secret was first fetched (COPY of a file that holds it, then a RUN that mounts it), or a
// cached layer, was not. Then the config and the captured output.
Status BuildRun::ScanFinal(const frontend::ImageConfig& config, const StageResult& target) {
  LK_ASSIGN_OR_RETURN(const LeakScanner* scanner, Scanner());
  if (scanner->empty()) return Status::OK();
  for (const LayerRef& l : target.layers) {
    if (l.from_base || l.scanned_with >= scanner_secrets_) continue;
    std::vector<std::string> allowed;
    Status st = ScanLayer(l.desc, l, &allowed, /*at_step=*/false);
    if (!st.ok()) {
      if (l.created_here) ::unlink(store_.blobs().PathFor(l.desc.digest).c_str());
      if (!l.cache_key.empty()) (void)cache_.Remove(l.cache_key);
      DropCacheEntries();
      return st;
    }
  }
  std::vector<LeakFinding> findings = scanner->ScanText(image::ConfigToJson(config), "config");
  for (auto& f : scanner->ScanText(captured_, "output")) findings.push_back(std::move(f));
  LayerRef where;
  where.stage = "final";
  std::vector<LeakPlace> refused;
  for (const LeakFinding& f : findings) {
    LK_RETURN_IF_ERROR(RecordLeak(f, f.path, where));
    if (req_.allowed_leaks.count(f.secret_id)) continue;
    refused.push_back({f.secret_id, f.path == "config"
                                        ? "the image config (its history, labels or env)"
                                        : "the build output"});
  }
  if (refused.empty()) return Status::OK();
  DropCacheEntries();
  return FailedPreconditionError(FormatLeakError(refused, "", "nothing was exported"));
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
  if (!req_.tags.empty()) {
    LK_RETURN_IF_ERROR(step("exporting to image", [&](int v) -> Status {
      progress_.Note(v, "exporting layers done");
      progress_.Note(v, "writing image " + img.config_digest + " done");
      for (const auto& t : req_.tags) {
        LK_ASSIGN_OR_RETURN(image::ImageRef ref, image::ParseImageRef(t));
        LK_RETURN_IF_ERROR(store_.Tag(ref.ToString(), img));
        progress_.Note(v, "naming to " + ref.ToString() + " done");
        result.tags.push_back(ref.ToString());
      }
      return Status::OK();
    }));
  }
  for (const auto& out : req_.outputs) {
    const image::ImageRef& named = out.name.name.empty() ? default_name : out.name;
    const std::string name_ref = named.name.empty() ? "latest" : named.tag;
    const std::string image_name = named.name.empty() ? "" : named.FullString();
    switch (out.type) {
      case image::ExportType::kOciArchive:
        LK_RETURN_IF_ERROR(step("exporting to oci image format", [&](int v) -> Status {
          progress_.Note(v, "exporting manifest " + img.manifest_digest + " done");
          LK_RETURN_IF_ERROR(
              image::WriteOciArchive(store_.blobs(), img, out.dest, name_ref, image_name));
          if (executor::CancelRequested()) {
            // Interrupted while the archive was written: it is not left behind as a result.
            (void)::unlink(out.dest.c_str());
            return CancelledError("build cancelled");
          }
          progress_.Note(v, "sending tarball to " + out.dest + " done");
          return Status::OK();
        }));
        break;
      case image::ExportType::kOciLayout:
        LK_RETURN_IF_ERROR(step("exporting to oci image layout", [&](int v) -> Status {
          LK_RETURN_IF_ERROR(
              image::WriteOciLayout(store_.blobs(), img, out.dest, name_ref, image_name));
          progress_.Note(v, "writing " + out.dest + ":" + name_ref + " done");
          return Status::OK();
        }));
        break;
      case image::ExportType::kLocal:
        LK_RETURN_IF_ERROR(step("exporting to client directory", [&](int v) -> Status {
          std::vector<std::string> devices;
          LK_RETURN_IF_ERROR(image::ExportRootfs(store_.blobs(), img, out.dest, &devices));
          for (const std::string& d : devices) progress_.Note(v, image::SkippedDeviceWarning(d));
          progress_.Note(v, "copying files to " + out.dest + " done");
          return Status::OK();
        }));
        break;
    }
  }
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
  return result;
}

}  // namespace

Result<BuildResult> Build(const BuildRequest& request, Session& session, audit::AuditLog& audit,
                          ProgressWriter& progress, BuildFailure* failure) {
  // The state dir holds layers, caches and the audit log of secret builds: owner only.
  LK_RETURN_IF_ERROR(image::MakeDirs(request.state_dir, 0700));
  if (::chmod(request.state_dir.c_str(), 0700) != 0) {
    return image::ErrnoStatus("chmod", request.state_dir, errno);
  }
  LK_ASSIGN_OR_RETURN(image::ImageStore store, image::ImageStore::Open(request.state_dir));
  LK_ASSIGN_OR_RETURN(BuildCache cache, BuildCache::Open(request.state_dir));
  BuildRun run(request, session, audit, progress, failure, std::move(store), std::move(cache));
  return run.Run();
}

}  // namespace latchkey::build
