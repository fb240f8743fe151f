// BuildRun, RUN: the step spec, mounts, heredoc scripts and secrets handed to the executor,
// and the output streamed to the progress writer (build_run.h, executor.md).

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "builder/executor/executor.h"
#include "builder/executor/process_error.h"
#include "builder/solver/build_run.h"
#include "builder/solver/changed_tree.h"
#include "builder/solver/run_heredoc.h"
#include "builder/solver/step_executor.h"
#include "builder/solver/step_mounts.h"

namespace latchkey::build {
using frontend::InstructionKind;

namespace {

// The from= name under which heredoc scripts are bind-mounted (not a valid stage name).
constexpr const char* kHeredocSource = "latchkey:heredoc";

// The captured build output kept for the final leak scan (the step output itself is streamed
// to the progress writer as it arrives).
constexpr size_t kMaxCapturedOutput = 16 << 20;

// Hands the session's secrets to the executor for one step: fetched when the step asks; the
// step's use of SSH agents is recorded through the session.
class SessionSecrets : public executor::SecretProvider {
 public:
  SessionSecrets(SecretSession& session, StepRef step)
      : session_(session), step_(std::move(step)) {}
  Result<std::optional<std::shared_ptr<const SecretBuffer>>> Fetch(const std::string& id) override {
    LK_ASSIGN_OR_RETURN(std::shared_ptr<const SecretBuffer> value, session_.Fetch(id, step_));
    return std::optional<std::shared_ptr<const SecretBuffer>>(std::move(value));
  }
  Status RecordSshUse(const executor::SshUse& use) override {
    return session_.RecordSshForward(use, step_);
  }

 private:
  SecretSession& session_;
  StepRef step_;
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
  void Pause(executor::OutputStream stream) override { progress_.LogPause(vertex_, stream); }

 private:
  ProgressWriter& progress_;
  int vertex_;
  std::string& captured_;
};

}  // namespace

Status BuildRun::Execute(const frontend::Step& step,
                         const std::vector<frontend::InlineFile>& scripts, int vertex,
                         const StageResult& r, const std::string& dir, const StepRef& ctx) {
  const frontend::Instruction& ins = step.instruction;
  std::string upper = dir + "/upper", work = dir + "/work";
  LK_RETURN_IF_ERROR(image::MakeDirs(upper, 0755));
  LK_RETURN_IF_ERROR(image::MakeDirs(work, 0700));
  if (ins.kind == InstructionKind::kRun) return ExecuteRun(step, scripts, vertex, r, dir, ctx);
  return ExecuteCopyStep(step, r, dir);
}

// RUN: the executor runs the command on an overlay of the stage's layers, with the step's
// mounts, heredoc scripts and secrets; the cache mounts are leak-scanned afterwards.
Status BuildRun::ExecuteRun(const frontend::Step& step,
                            const std::vector<frontend::InlineFile>& scripts, int vertex,
                            const StageResult& r, const std::string& dir, const StepRef& ctx) {
  const frontend::Instruction& ins = step.instruction;
  std::string upper = dir + "/upper", work = dir + "/work";
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
  spec.mounts = ToStepMounts(step.mounts, spec.workdir);
  spec.extra_hosts = req_.extra_hosts;
  spec.shm_size_bytes = req_.shm_size_bytes;
  spec.rlimits = req_.ulimits;
  executor::MountSources sources;
  sources.context_dir = req_.context_dir;
  sources.ssh_agents = req_.ssh_agents;
  sources.ssh_dialer = req_.ssh_dialer;
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
      spec.mounts.push_back(executor::BindMount{std::string(kHeredocMountDir) + "/" + f.name,
                                                f.name, kHeredocSource, true});
    }
    sources.from_dirs[kHeredocSource] = script_dir;
  }
  SessionSecrets secrets(session_, ctx);
  StepOutput out(progress_, vertex, captured_);
  executor::ExecutorOptions eo;
  eo.state_dir = req_.state_dir;
  eo.runtime = req_.runtime;
  const struct timespec since = ChangedTreeClock();
  StepExecutor& runner = req_.executor != nullptr ? *req_.executor : RuncStepExecutor();
  Result<executor::StepResult> res = runner.Run(eo, spec, secrets, sources, out);
  LK_RETURN_IF_ERROR(ScanCacheMounts(step, since, ctx));  // also after a failed step
  if (!res.ok()) return res.status();
  if (res->exit_code != 0) {
    return UnknownError(
        executor::FormatProcessFailure(step.argv, res->secret_env_names, res->exit_code));
  }
  return Status::OK();
}

}  // namespace latchkey::build
