#include "builder/solver/history.h"

#include <cctype>
#include <map>

#include "base/go_text.h"
#include "builder/executor/process_error.h"
#include "builder/frontend/shell_lex.h"

namespace latchkey::build {
namespace {

using frontend::InstructionKind;

std::string JoinSpace(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + v[i];
  return out;
}

// Go's fmt %q of a []string: ["a" "b"].
std::string GoQuoteList(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + base::GoQuote(v[i]);
  return out + "]";
}

// Go's fmt %v of a []string: [a b].
std::string GoList(const std::vector<std::string>& v) { return "[" + JoinSpace(v) + "]"; }

std::string KeyValues(const std::vector<frontend::KeyValue>& kvs, bool allow_bare) {
  std::string out;
  for (const auto& kv : kvs) {
    out += " " + kv.key;
    if (kv.has_value || !allow_bare) out += "=" + kv.value;
  }
  return out;
}

// The instruction's words after its keyword, as written.
std::string ArgsAsWritten(const frontend::Step& step) {
  const std::string& o = step.instruction.original;
  size_t i = 0;
  while (i < o.size() && std::isspace(static_cast<unsigned char>(o[i]))) ++i;
  while (i < o.size() && !std::isspace(static_cast<unsigned char>(o[i]))) ++i;
  while (i < o.size() && std::isspace(static_cast<unsigned char>(o[i]))) ++i;
  return o.substr(i);
}

std::string CopyHistory(const frontend::Step& step) {
  const frontend::Instruction& x = step.instruction;
  std::string out = frontend::InstructionName(x.kind);
  if (!x.from.empty()) out += " --from=" + x.from;
  if (!x.chown.empty()) out += " --chown=" + x.chown;
  if (!x.chmod.empty()) out += " --chmod=" + x.chmod;
  if (x.link) out += " --link";
  for (const auto& s : x.sources) out += " " + s;
  for (const auto& c : x.source_contents) out += " <<" + c.path;
  out += " " + x.dest;
  return out + " # buildkit";
}

}  // namespace

std::string RunCommandString(const std::vector<std::string>& args,
                             const std::vector<std::pair<std::string, std::string>>& build_args,
                             const std::vector<std::string>& env) {
  std::map<std::string, std::string> env_map;
  for (const auto& e : env) {
    size_t eq = e.find('=');
    if (eq != std::string::npos) env_map.emplace(e.substr(0, eq), e.substr(eq + 1));
  }
  std::vector<std::string> pairs;
  std::map<std::string, size_t> index;
  for (const auto& [key, value] : build_args) {
    auto it = env_map.find(key);
    std::string kv = key + "=" + (it != env_map.end() ? it->second : value);
    auto at = index.find(key);
    if (at != index.end()) {
      pairs[at->second] = kv;
    } else {
      index[key] = pairs.size();
      pairs.push_back(kv);
    }
  }
  std::vector<std::string> parts;
  if (!pairs.empty()) {
    parts.push_back("|" + std::to_string(pairs.size()));
    parts.insert(parts.end(), pairs.begin(), pairs.end());
  }
  parts.insert(parts.end(), args.begin(), args.end());
  return JoinSpace(parts);
}

std::string HistoryCreatedBy(const frontend::Step& step) {
  const frontend::Instruction& x = step.instruction;
  const frontend::ImageConfig& c = *step.config;
  switch (x.kind) {
    case InstructionKind::kRun:
      return "RUN " + RunCommandString(step.argv, step.stage_args, step.run_env) + " # buildkit";
    case InstructionKind::kCopy:
    case InstructionKind::kAdd:
      return CopyHistory(step);
    case InstructionKind::kEnv: {
      // The values as evaluated (expanded) come from the config after the step.
      std::string out = "ENV";
      for (const auto& kv : x.kvs) out += " " + kv.key + "=" + c.GetEnv(kv.key).value_or(kv.value);
      return out;
    }
    case InstructionKind::kLabel: {
      std::string out = "LABEL";
      for (const auto& kv : x.kvs) {
        auto it = c.labels.find(kv.key);
        out += " " + kv.key + "=" + (it != c.labels.end() ? it->second : kv.value);
      }
      return out;
    }
    case InstructionKind::kArg:
      return "ARG" + KeyValues(x.kvs, true);
    case InstructionKind::kWorkdir:
      return "WORKDIR " + c.working_dir;
    case InstructionKind::kUser:
      return "USER " + c.user;
    case InstructionKind::kCmd:
      return "CMD " + GoQuoteList(c.cmd.value_or(std::vector<std::string>{}));
    case InstructionKind::kEntrypoint:
      return "ENTRYPOINT " + GoQuoteList(c.entrypoint.value_or(std::vector<std::string>{}));
    case InstructionKind::kShell:
      return "SHELL " + GoList(c.shell.value_or(std::vector<std::string>{}));
    case InstructionKind::kVolume:
      return "VOLUME " + GoList(x.words);
    case InstructionKind::kStopSignal:
      return "STOPSIGNAL " + c.stop_signal;
    case InstructionKind::kOnbuild:
      return "ONBUILD " + x.trigger;
    case InstructionKind::kMaintainer:
      return "MAINTAINER " + c.author;
    case InstructionKind::kExpose:
    case InstructionKind::kHealthcheck:
      return std::string(frontend::InstructionName(x.kind)) + " " + ArgsAsWritten(step);
  }
  return std::string(frontend::InstructionName(x.kind));
}

std::vector<std::string> SecretEnvNames(const frontend::Step& step) {
  std::vector<std::string> names;
  for (const auto& m : step.mounts) {
    if (m.type == frontend::MountType::kSecret && m.env) names.push_back(*m.env);
  }
  return names;
}

std::string StepDisplayText(const frontend::Step& step) {
  std::string text =
      std::string(frontend::InstructionName(step.instruction.kind)) + " " + ArgsAsWritten(step);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return executor::MaskSecretEnvRefs(text, SecretEnvNames(step));
}

}  // namespace latchkey::build
