#include "cli/buildkit_step.h"

#include <charconv>
#include <string>
#include <vector>

#include "builder/frontend/instructions.h"

namespace latchkey::cli {
namespace {

using frontend::InstructionKind;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool EqualFold(std::string_view a, std::string_view b) { return Lower(a) == Lower(b); }

// A decimal number of at most 9 digits, nothing else.
std::optional<int> ParseNumber(std::string_view s) {
  int v = 0;
  if (s.empty() || s.size() > 9) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

std::vector<std::string_view> SplitBlanks(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    size_t start = i;
    while (i < s.size() && s[i] != ' ') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

// The stage `token` names: an `AS` name, or "stage-<i>"; "" only in a one-stage Dockerfile.
const frontend::Stage* FindStage(const frontend::Dockerfile& df, std::string_view token) {
  if (token.empty()) return df.stages.size() == 1 ? &df.stages[0] : nullptr;
  for (const auto& s : df.stages) {
    if (!s.name.empty() && EqualFold(s.name, token)) return &s;
  }
  constexpr std::string_view kUnnamed = "stage-";
  if (token.substr(0, kUnnamed.size()) != kUnnamed) return nullptr;
  std::optional<int> i = ParseNumber(token.substr(kUnnamed.size()));
  if (!i || static_cast<size_t>(*i) >= df.stages.size()) return nullptr;
  return &df.stages[static_cast<size_t>(*i)];
}

// Whether BuildKit shows a FROM step for `stage`: it starts from an image, not from scratch or
// an earlier stage. nullopt when the base name holds a variable (not expanded here).
std::optional<bool> HasFromStep(const frontend::Dockerfile& df, const frontend::Stage& stage) {
  if (stage.base_name.find('$') != std::string::npos) return std::nullopt;
  if (EqualFold(stage.base_name, "scratch")) return false;
  for (const auto& s : df.stages) {
    if (s.index >= stage.index) break;
    if (!s.name.empty() && EqualFold(s.name, stage.base_name)) return false;
  }
  return true;
}

bool IsStep(InstructionKind kind, bool count_workdir) {
  return kind == InstructionKind::kAdd || kind == InstructionKind::kCopy ||
         kind == InstructionKind::kRun || (count_workdir && kind == InstructionKind::kWorkdir);
}

}  // namespace

std::optional<BuildkitStepName> ParseBuildkitStepName(std::string_view name) {
  if (name.empty() || name[0] != '[') return std::nullopt;
  size_t close = name.find(']');
  if (close == std::string_view::npos) return std::nullopt;
  std::vector<std::string_view> tokens = SplitBlanks(name.substr(1, close - 1));
  if (tokens.empty() || tokens.size() > 3) return std::nullopt;
  std::string_view count = tokens.back();
  size_t slash = count.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::optional<int> k = ParseNumber(count.substr(0, slash));
  std::optional<int> n = ParseNumber(count.substr(slash + 1));
  if (!k || !n || *k < 1 || *k > *n) return std::nullopt;
  BuildkitStepName out;
  out.index = *k;
  out.total = *n;
  for (size_t i = 0; i + 1 < tokens.size(); ++i) {
    std::string& field = tokens[i].find('/') != std::string_view::npos ? out.platform : out.stage;
    if (!field.empty()) return std::nullopt;
    field = std::string(tokens[i]);
  }
  std::string_view rest = name.substr(close + 1);
  if (rest.empty() || rest[0] != ' ') return std::nullopt;
  std::vector<std::string_view> words = SplitBlanks(rest);
  if (words.empty()) return std::nullopt;
  out.instruction = std::string(words[0]);
  return out;
}

build::BuildFailure LocateBuildkitStep(std::string_view vertex_name,
                                       std::string_view dockerfile_text) {
  build::BuildFailure out;
  out.vertex = std::string(vertex_name);
  std::optional<BuildkitStepName> step = ParseBuildkitStepName(vertex_name);
  if (!step) return out;
  Result<frontend::Dockerfile> df = frontend::ParseDockerfile(dockerfile_text);
  if (!df.ok()) return out;
  const frontend::Stage* stage = FindStage(*df, step->stage);
  if (stage == nullptr) return out;

  std::optional<bool> known_from = HasFromStep(*df, *stage);
  std::vector<bool> from_choices =
      known_from ? std::vector<bool>{*known_from} : std::vector<bool>{true, false};
  // BuildKit counts WORKDIR unless file operations are disabled: try that first.
  for (bool count_workdir : {true, false}) {
    int counted = 0;
    for (const auto& ins : stage->commands) counted += IsStep(ins.kind, count_workdir) ? 1 : 0;
    for (bool has_from : from_choices) {
      if (step->total != counted + (has_from ? 1 : 0)) continue;
      if (has_from && step->index == 1) {
        if (!EqualFold(step->instruction, "FROM")) continue;
        out.line = stage->line;
        out.end_line = stage->line;
        return out;
      }
      int want = step->index - (has_from ? 1 : 0);
      int seen = 0;
      for (const auto& ins : stage->commands) {
        if (!IsStep(ins.kind, count_workdir) || ++seen != want) continue;
        if (EqualFold(step->instruction, frontend::InstructionName(ins.kind))) {
          out.line = ins.line;
          out.end_line = ins.end_line;
          return out;
        }
        break;
      }
    }
  }
  return out;
}

}  // namespace latchkey::cli
