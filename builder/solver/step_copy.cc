// BuildRun, COPY and ADD: where the sources are read, and the copy into an overlay of the
// stage's layers (build_run.h, copy.h).

#include <string>

#include "builder/solver/build_run.h"

namespace latchkey::build {

using frontend::InstructionKind;

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

Status BuildRun::CopySource(const frontend::Step& step, CopySourceRoot* root) {
  root->dir = req_.context_dir;
  root->ignore = &ignore_;
  if (step.instruction.from.empty()) return Status::OK();
  LK_ASSIGN_OR_RETURN(root->dir, SourceView(step.from_stage, step.instruction.from, root));
  return Status::OK();
}

// COPY / ADD: the sources are copied inside a read-write overlay of the stage's layers.
Status BuildRun::ExecuteCopyStep(const frontend::Step& step, const StageResult& r,
                                 const std::string& dir) {
  const frontend::Instruction& ins = step.instruction;
  std::string upper = dir + "/upper", work = dir + "/work";
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

}  // namespace latchkey::build
