// BuildRun, the build cache side of a step: its cache key (every input that can change what
// the step produces) and whether an existing entry may be reused (build_run.h, cache.md).

#include <optional>
#include <string>
#include <vector>

#include "builder/executor/executor.h"
#include "builder/solver/build_run.h"

namespace latchkey::build {

Result<std::string> BuildRun::StepKey(const frontend::Step& step,
                                      const std::vector<frontend::InlineFile>& scripts,
                                      const StageResult& r) {
  const frontend::Instruction& ins = step.instruction;
  if (ins.kind == frontend::InstructionKind::kRun) return RunKey(step, scripts, r);
  CopySourceRoot root;
  const CopyInstruction ci = ToCopyInstruction(step);
  std::string digest;
  // COPY --from=<stage>: the digest of what it reads is a function of the stage's layers (their
  // diff_ids are its exact filesystem) and the instruction, so it is remembered in the build
  // cache under those: a rebuild whose stage hit the cache gets it without unpacking the
  // stage's layers (which need not be unpacked any more: docs/image-store.md).
  std::string memo;
  if (!ins.from.empty() && step.from_stage >= 0) {
    auto it = stages_.find(step.from_stage);
    if (it != stages_.end()) {
      CacheKeyBuilder k;
      k.Add("copy-from-stage source digest v1").Add(ins.from);
      for (const auto& l : it->second.layers) k.Add(l.desc.diff_id);
      k.Add(ci.add ? "add" : "copy").Add(ci.sources).Add(ci.dest).Add(ci.workdir);
      k.Add(ci.chown).Add(ci.chmod).Add(ci.excludes);
      for (const auto& c : ci.inline_sources) k.Add(c.path).Add(c.data).Add(c.expand ? "1" : "0");
      memo = k.Finish();
      if (!req_.no_cache) {
        std::optional<CacheEntry> known = cache_.Lookup(memo);
        if (known && !known->source_digest.empty()) {
          digest = known->source_digest;
          root.display = StageDisplay(step.from_stage);
        }
      }
    }
  }
  if (digest.empty()) {
    LK_RETURN_IF_ERROR(CopySource(step, &root));
    LK_ASSIGN_OR_RETURN(digest, CopySourceDigest(root, ci));
    if (!memo.empty()) {
      CacheEntry e;
      e.created = Created();
      e.source_digest = digest;
      LK_RETURN_IF_ERROR(cache_.Store(memo, e));
    }
  }
  return CacheKeyBuilder()
      .Add(frontend::InstructionName(ins.kind))
      .Add(r.chain)
      .Add(digest)
      .Add(root.display)
      .Finish();
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

// The cache entry a step may reuse: none when the cache is off for its stage, when there is no
// entry for `key`, when the entry's layer blob is gone, when it allowed a leak this build does
// not allow, or when the session could not obtain the secrets the step mounts.
std::optional<CacheEntry> BuildRun::LookupStep(const frontend::EvaluatedStage& es,
                                               const frontend::Step& step, const std::string& key,
                                               const StepRef& ctx, const std::string& name) {
  bool use_cache = !req_.no_cache && !req_.no_cache_stages.count(es.name) &&
                   !req_.no_cache_stages.count(std::to_string(es.index));
  log_->debug("{}: cache key {}{}", name, key, use_cache ? "" : " (cache disabled)");
  if (!use_cache) return std::nullopt;
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
        log_->debug("{}: cache entry not reused: {}", name, granted.message());
        usable = false;
      }
    }
  }
  if (!usable) return std::nullopt;
  return hit;
}

}  // namespace latchkey::build
