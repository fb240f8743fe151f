// BuildRun, the leak guard: every new layer, written cache mount, the image config and the
// build output are scanned for the secret values released so far; a refused build drops its
// cache entries and deletes what it wrote (build_run.h, builder.md "The leak guard").

#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "builder/executor/sys_util.h"
#include "builder/image/digest.h"
#include "builder/solver/build_run.h"
#include "builder/solver/changed_tree.h"
#include "builder/solver/leak_report.h"

namespace latchkey::build {

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
  LeakRecord rec;
  rec.secret_id = f.secret_id;
  rec.layer = layer;
  rec.path = f.path;
  rec.step.stage = where.stage;
  rec.step.index = static_cast<uint32_t>(where.step);
  rec.step.line = static_cast<uint32_t>(where.line);
  rec.step.instruction = where.instruction;
  return session_.RecordLeak(rec);
}

// Scans a new layer for every value released so far. A finding for a secret the user allowed
// is recorded and returned in `allowed`; any other fails the step.
Status BuildRun::ScanLayer(const image::LayerDescriptor& desc, const LayerRef& where,
                           std::vector<std::string>* allowed, bool at_step) {
  LK_ASSIGN_OR_RETURN(const LeakScanner* scanner, Scanner());
  if (scanner->empty()) return Status::OK();
  LK_ASSIGN_OR_RETURN(std::string path, store_.blobs().Path(desc.digest));
  LK_ASSIGN_OR_RETURN(std::vector<LeakFinding> findings, scanner->ScanLayerFile(path));
  return LayerFindings(findings, desc, where, allowed, at_step);
}

Status BuildRun::LayerFindings(const std::vector<LeakFinding>& findings,
                               const image::LayerDescriptor& desc, const LayerRef& where,
                               std::vector<std::string>* allowed, bool at_step) {
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
                                 const StepRef& ctx) {
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

}  // namespace latchkey::build
