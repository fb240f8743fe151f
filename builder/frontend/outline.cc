#include "builder/frontend/outline.h"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

namespace latchkey::frontend {
namespace {

std::string StageLabel(const std::string& name, int index) {
  return name.empty() ? "stage-" + std::to_string(index) : name;
}

std::string Pad(const std::string& s, size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

std::string RenderTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& r : rows) {
    widths.resize(std::max(widths.size(), r.size()));
    for (size_t i = 0; i < r.size(); ++i) widths[i] = std::max(widths[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += i + 1 == r.size() ? r[i] : Pad(r[i], widths[i] + 3);
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace

Result<Outline> OutlineDockerfile(std::string_view text, const OutlineOptions& opts) {
  LK_ASSIGN_OR_RETURN(ParseResult parsed, Parse(text, opts.filename));
  LK_RETURN_IF_ERROR(CheckInstructionNames(parsed, opts.filename));
  LK_ASSIGN_OR_RETURN(Dockerfile df, ParseInstructions(parsed, opts.filename));
  BuildOptions bo;
  bo.target = opts.target;
  bo.build_args = opts.build_args;
  EmptyImageResolver resolver;
  LK_ASSIGN_OR_RETURN(EvaluatedBuild eb, EvaluateBuild(df, bo, resolver, opts.filename));

  Outline o;
  const StageNode& target = eb.graph.stages[eb.graph.target];
  o.target = StageLabel(target.name, target.index);
  o.warnings = LintDockerfile(df);

  // Global ARGs the reachable stages use (FROM lines or redeclared), then stage ARGs.
  std::set<std::string> used_globals;
  for (const EvaluatedStage& s : eb.stages) {
    for (const std::string& m : eb.graph.stages[s.index].used_meta_args) used_globals.insert(m);
    for (const ResolvedArg& a : s.args) used_globals.insert(a.name);
  }
  std::set<std::string> seen;
  for (const ResolvedArg& a : eb.graph.meta_args) {
    if (!used_globals.count(a.name) || !seen.insert(a.name).second) continue;
    o.args.push_back(OutlineArg{a.name, a.default_value, a.value, true, a.description, a.line});
  }
  std::vector<OutlineArg> stage_args;
  for (const EvaluatedStage& s : eb.stages) {
    for (const ResolvedArg& a : s.args) {
      // A redeclared global ARG without a default is the global one, already listed.
      if (!a.default_value && seen.count(a.name)) continue;
      if (!seen.insert(a.name).second) continue;
      stage_args.push_back(
          OutlineArg{a.name, a.default_value, a.value, false, a.description, a.line});
    }
  }
  o.args.insert(o.args.end(), stage_args.begin(), stage_args.end());
  std::stable_sort(o.args.begin(), o.args.end(),
                   [](const OutlineArg& a, const OutlineArg& b) { return a.line < b.line; });

  for (const EvaluatedStage& s : eb.stages) {
    for (const Step& step : s.steps) {
      for (const MountSpec& m : step.mounts) {
        if (m.type != MountType::kSecret) continue;
        OutlineSecret sec;
        sec.id = m.id;
        sec.required = m.required;
        sec.env = m.env;
        sec.target = m.target.empty() ? "" : ResolveTarget(m, s.config.working_dir);
        sec.line = step.line;
        sec.stage = StageLabel(s.name, s.index);
        o.secrets.push_back(std::move(sec));
      }
    }
  }
  std::stable_sort(o.secrets.begin(), o.secrets.end(),
                   [](const OutlineSecret& a, const OutlineSecret& b) { return a.line < b.line; });
  return o;
}

std::string OutlineToTable(const Outline& o) {
  std::string out = "TARGET " + o.target + "\n\nBUILD ARGS\n";
  if (o.args.empty()) {
    out += "(none)\n";
  } else {
    std::vector<std::vector<std::string>> rows = {{"NAME", "DEFAULT", "VALUE", "LINE"}};
    for (const OutlineArg& a : o.args) {
      rows.push_back({a.name, a.default_value ? *a.default_value : "-",
                      a.value ? *a.value : "(unset)", std::to_string(a.line)});
    }
    out += RenderTable(rows);
  }
  out += "\nSECRETS\n";
  if (o.secrets.empty()) {
    out += "(none)\n";
  } else {
    std::vector<std::vector<std::string>> rows = {{"ID", "REQUIRED", "ENV", "TARGET", "LINE"}};
    for (const OutlineSecret& s : o.secrets) {
      rows.push_back({s.id, s.required ? "true" : "false", s.env ? *s.env : "-",
                      s.target.empty() ? "-" : s.target, std::to_string(s.line)});
    }
    out += RenderTable(rows);
  }
  return out;
}

std::string OutlineToJson(const Outline& o) {
  nlohmann::ordered_json j;
  j["target"] = o.target;
  j["args"] = nlohmann::ordered_json::array();
  for (const OutlineArg& a : o.args) {
    nlohmann::ordered_json x;
    x["name"] = a.name;
    if (a.default_value) x["default"] = *a.default_value;
    if (a.value) x["value"] = *a.value;
    x["global"] = a.global;
    if (!a.description.empty()) x["description"] = a.description;
    x["line"] = a.line;
    j["args"].push_back(std::move(x));
  }
  j["secrets"] = nlohmann::ordered_json::array();
  for (const OutlineSecret& s : o.secrets) {
    nlohmann::ordered_json x;
    x["id"] = s.id;
    x["required"] = s.required;
    if (s.env) x["env"] = *s.env;
    if (!s.target.empty()) x["target"] = s.target;
    x["line"] = s.line;
    x["stage"] = s.stage;
    j["secrets"].push_back(std::move(x));
  }
  // Invalid UTF-8 in a Dockerfile value must not throw: replace it.
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace latchkey::frontend
