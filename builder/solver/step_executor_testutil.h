// A fake StepExecutor for builder tests: records each RUN step it is asked to run (its argv,
// the names of its env entries, its mounts, user, workdir and network; never a value: a step
// spec holds no secret, and env values are dropped), writes scripted files into the step's
// upper directory (so the step makes a layer), writes scripted output, and exits with a
// scripted code or fails with a scripted error. It fetches no secret.
//
// Thread-safety: not thread-safe; one build at a time.
#ifndef LATCHKEY_BUILDER_SOLVER_STEP_EXECUTOR_TESTUTIL_H_
#define LATCHKEY_BUILDER_SOLVER_STEP_EXECUTOR_TESTUTIL_H_

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "builder/executor/mount_spec_testutil.h"
#include "builder/solver/step_executor.h"

namespace latchkey::build::testing {

struct RecordedStep {
  std::vector<std::string> args;
  std::vector<std::string> env_names;  // the KEY of each KEY=VALUE, in order
  std::vector<executor::StepMount> mounts;
  std::string user;
  std::string workdir;
  executor::NetworkMode network = executor::NetworkMode::kHost;
  std::vector<std::string> from_sources;  // MountSources::from_dirs keys
};

class FakeStepExecutor : public StepExecutor {
 public:
  std::vector<RecordedStep> steps;
  // A step whose last argument is a key here exits with its code (others exit 0).
  std::map<std::string, int> exit_codes;
  // A step whose last argument is a key here fails with its status.
  std::map<std::string, Status> errors;
  // Written into every step's upper directory (path relative to it -> content).
  std::map<std::string, std::string> files;
  // Written to every step's stdout.
  std::string output;
  // Called for every step after it is recorded (e.g. to request cancellation).
  std::function<void(const RecordedStep&)> on_run;

  Result<executor::StepResult> Run(const executor::ExecutorOptions&, const executor::StepSpec& spec,
                                   executor::SecretProvider&, const executor::MountSources& sources,
                                   executor::OutputSink& sink) override {
    RecordedStep r;
    r.args = spec.args;
    for (const auto& e : spec.env) r.env_names.push_back(e.substr(0, e.find('=')));
    r.mounts = spec.mounts;
    r.user = spec.user;
    r.workdir = spec.workdir;
    r.network = spec.network;
    for (const auto& [from, dir] : sources.from_dirs) r.from_sources.push_back(from);
    steps.push_back(r);
    if (on_run) on_run(r);
    const std::string last = spec.args.empty() ? "" : spec.args.back();
    if (auto e = errors.find(last); e != errors.end()) return e->second;
    for (const auto& [path, content] : files) {
      std::filesystem::path p = std::filesystem::path(spec.upper_dir) / path;
      std::filesystem::create_directories(p.parent_path());
      std::ofstream(p, std::ios::binary) << content;
    }
    if (!output.empty()) sink.Write(executor::OutputStream::kStdout, output);
    executor::StepResult result;
    if (auto c = exit_codes.find(last); c != exit_codes.end()) result.exit_code = c->second;
    for (const auto& m : spec.mounts) {
      if (const auto* s = std::get_if<executor::SecretMount>(&m); s && !s->env.empty()) {
        result.secret_env_names.push_back(s->env);
      }
    }
    return result;
  }
};

}  // namespace latchkey::build::testing

#endif  // LATCHKEY_BUILDER_SOLVER_STEP_EXECUTOR_TESTUTIL_H_
