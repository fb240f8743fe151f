#include "builder/frontend/config_eval.h"

#include <algorithm>
#include <set>

#include "base/go_text.h"
#include "base/path.h"

namespace latchkey::frontend {
namespace {

bool ValidSignal(const std::string& s) {
  if (s.empty()) return false;
  bool digits = std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits) return s.size() < 4 && std::stoi(s) > 0 && std::stoi(s) <= 64;
  std::string name = s;
  for (char& c : name) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  if (name.rfind("SIG", 0) == 0) name = name.substr(3);
  static const std::set<std::string> kNames = {
      "ABRT", "ALRM",   "BUS",  "CHLD",   "CLD",   "CONT", "FPE",  "HUP",   "ILL",
      "INT",  "IO",     "IOT",  "KILL",   "PIPE",  "POLL", "PROF", "PWR",   "QUIT",
      "SEGV", "STKFLT", "STOP", "SYS",    "TERM",  "TRAP", "TSTP", "TTIN",  "TTOU",
      "URG",  "USR1",   "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ", "UNUSED"};
  if (kNames.count(name)) return true;
  // RTMIN, RTMIN+n, RTMAX, RTMAX-n.
  if (name == "RTMIN" || name == "RTMAX") return true;
  if ((name.rfind("RTMIN+", 0) == 0 || name.rfind("RTMAX-", 0) == 0) && name.size() > 6) {
    return std::all_of(name.begin() + 6, name.end(), [](char c) { return c >= '0' && c <= '9'; });
  }
  return false;
}

// nat.ParsePortSpec, exposed-port part: "80", "80/udp", "8000-8002/tcp", "ip:host:80".
Status ParseExposedPorts(const std::string& raw, std::set<std::string>& out) {
  std::string spec = raw;
  const size_t colon = spec.rfind(':');
  if (colon != std::string::npos) spec = spec.substr(colon + 1);
  std::string proto = "tcp";
  std::string port = spec;
  const size_t slash = spec.find('/');
  if (slash != std::string::npos) {
    port = spec.substr(0, slash);
    proto = base::AsciiLower(spec.substr(slash + 1));
  }
  if (proto != "tcp" && proto != "udp" && proto != "sctp") {
    return InvalidArgumentError("invalid proto: " + proto);
  }
  auto parse_num = [](const std::string& s, long* v) {
    if (s.empty() || s.size() > 5) return false;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
    }
    *v = std::stol(s);
    return *v <= 65535;
  };
  long lo = 0, hi = 0;
  const size_t dash = port.find('-');
  bool ok = dash == std::string::npos ? parse_num(port, &lo) && (hi = lo, true)
                                      : parse_num(port.substr(0, dash), &lo) &&
                                            parse_num(port.substr(dash + 1), &hi) && hi >= lo;
  if (!ok) return InvalidArgumentError("invalid containerPort: " + port);
  for (long p = lo; p <= hi; ++p) out.insert(std::to_string(p) + "/" + proto);
  return Status::OK();
}

std::vector<std::string> WithShell(const ImageConfig& c, const std::vector<std::string>& cmd) {
  std::vector<std::string> out = c.shell ? *c.shell : std::vector<std::string>{"/bin/sh", "-c"};
  out.insert(out.end(), cmd.begin(), cmd.end());
  return out;
}

Status Expand(const ShellLex& lex, const VarMap& vars, std::string& word) {
  LK_ASSIGN_OR_RETURN(word, lex.ProcessWord(word, vars));
  return Status::OK();
}

}  // namespace

Result<ImageConfig> MapImageResolver::Resolve(const std::string& ref, const std::string&) {
  auto it = images_.find(ref);
  if (it == images_.end()) {
    return NotFoundError("base image " + ref + " not found (no config known for it)");
  }
  return it->second;
}

Result<ImageConfig> EmptyImageResolver::Resolve(const std::string&, const std::string& platform) {
  ImageConfig c;
  const size_t a = platform.find('/');
  c.os = platform.substr(0, a);
  if (a != std::string::npos) {
    const size_t b = platform.find('/', a + 1);
    c.architecture = platform.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1);
    if (b != std::string::npos) c.variant = platform.substr(b + 1);
  }
  return c;
}

const EvaluatedStage* EvaluatedBuild::Stage(int index) const {
  for (const EvaluatedStage& s : stages) {
    if (s.index == index) return &s;
  }
  return nullptr;
}

Status ApplyToConfig(const Instruction& ins, const ShellLex& lex, VarMap& vars, ImageConfig& config,
                     bool& cmd_set) {
  using K = InstructionKind;
  switch (ins.kind) {
    case K::kEnv:
      for (KeyValue kv : ins.kvs) {
        LK_RETURN_IF_ERROR(Expand(lex, vars, kv.key));
        LK_RETURN_IF_ERROR(Expand(lex, vars, kv.value));
        config.SetEnv(kv.key, kv.value);
        vars[kv.key] = kv.value;
      }
      break;
    case K::kLabel:
      for (KeyValue kv : ins.kvs) {
        LK_RETURN_IF_ERROR(Expand(lex, vars, kv.key));
        LK_RETURN_IF_ERROR(Expand(lex, vars, kv.value));
        config.labels[kv.key] = kv.value;
      }
      break;
    case K::kWorkdir: {
      std::string wd = ins.words[0];
      LK_RETURN_IF_ERROR(Expand(lex, vars, wd));
      if (wd.empty()) return InvalidArgumentError("cannot normalize nothing");
      if (wd[0] != '/') wd = "/" + config.working_dir + "/" + wd;
      config.working_dir = base::CleanPath(wd);
      break;
    }
    case K::kUser: {
      std::string u = ins.words[0];
      LK_RETURN_IF_ERROR(Expand(lex, vars, u));
      config.user = u;
      break;
    }
    case K::kExpose:
      for (std::string p : ins.words) {
        LK_RETURN_IF_ERROR(Expand(lex, vars, p));
        LK_RETURN_IF_ERROR(ParseExposedPorts(p, config.exposed_ports));
      }
      break;
    case K::kVolume:
      for (std::string v : ins.words) {
        LK_RETURN_IF_ERROR(Expand(lex, vars, v));
        if (base::TrimGoSpace(v).empty()) {
          return InvalidArgumentError("VOLUME specified can not be an empty string");
        }
        config.volumes.insert(v);
      }
      break;
    case K::kStopSignal: {
      std::string s = ins.words[0];
      LK_RETURN_IF_ERROR(Expand(lex, vars, s));
      if (!ValidSignal(s)) return InvalidArgumentError("Invalid signal: " + s);
      config.stop_signal = s;
      break;
    }
    case K::kCmd:
      config.cmd = ins.prepend_shell ? WithShell(config, ins.cmd) : ins.cmd;
      cmd_set = true;
      break;
    case K::kEntrypoint:
      config.entrypoint = ins.prepend_shell ? WithShell(config, ins.cmd) : ins.cmd;
      if (!cmd_set) config.cmd.reset();
      break;
    case K::kShell:
      config.shell = ins.cmd;
      break;
    case K::kHealthcheck: {
      HealthConfig h = ins.health.config;
      // A NONE healthcheck disables the inherited one; intervals stay as written.
      config.healthcheck = h;
      break;
    }
    case K::kOnbuild:
      config.on_build.push_back(ins.trigger);
      break;
    case K::kMaintainer:
      config.author = ins.words[0];
      break;
    case K::kArg:
    case K::kRun:
    case K::kCopy:
    case K::kAdd:
      break;
  }
  return Status::OK();
}

Result<EvaluatedBuild> EvaluateBuild(const Dockerfile& df, const BuildOptions& opts,
                                     BaseImageResolver& resolver, std::string_view filename) {
  EvaluatedBuild out;
  LK_ASSIGN_OR_RETURN(out.graph, BuildStageGraph(df, opts, filename));
  const StageGraph& g = out.graph;
  const ShellLex lex(df.escape_token);
  ShellLexOptions raw_opts;
  raw_opts.escape_token = '\\';
  raw_opts.skip_process_quotes = true;
  const ShellLex raw_lex(raw_opts);

  // Evaluate in stage index order (a FROM only names an earlier stage, so a base is always
  // done first); pruned stages are skipped.
  for (const Stage& st : df.stages) {
    if (!g.reachable[st.index]) continue;
    const StageNode& node = g.stages[st.index];
    EvaluatedStage es;
    es.index = st.index;
    es.name = st.name;
    es.base = node.base;
    es.base_stage = node.base_stage;
    auto line_err = [&](int line, const Status& s) {
      return LineError(filename, line, s.message());
    };

    // A fresh config from the base.
    if (node.base_stage >= 0) {
      const EvaluatedStage* base = nullptr;
      for (const EvaluatedStage& e : out.stages) {
        if (e.index == node.base_stage) base = &e;
      }
      es.config = base->config;  // a copy: the two stages never share state
    } else if (node.scratch) {
      es.config = ImageConfig::Scratch();
      EmptyImageResolver platform_only;
      ImageConfig p =
          *platform_only.Resolve("", node.platform.empty() ? opts.target_platform : node.platform);
      es.config.os = p.os;
      es.config.architecture = p.architecture;
      es.config.variant = p.variant;
    } else {
      Result<ImageConfig> r =
          resolver.Resolve(node.base, node.platform.empty() ? opts.target_platform : node.platform);
      if (!r.ok()) return line_err(st.line, r.status());
      es.config = std::move(r).value();
    }

    // ONBUILD triggers of the base run first.
    std::vector<std::pair<Instruction, bool>> commands;
    if (!es.config.on_build.empty()) {
      std::string text;
      for (const std::string& t : es.config.on_build) text += t + "\n";
      Result<ParseResult> parsed = Parse(text, filename);
      if (!parsed.ok()) {
        return LineError(filename, st.line,
                         "failed to parse ONBUILD trigger: " + parsed.status().message());
      }
      for (const Node& n : parsed->children) {
        Result<Instruction> ins = ParseInstruction(n, filename);
        if (!ins.ok()) {
          return LineError(filename, st.line, "invalid ONBUILD trigger: " + ins.status().message());
        }
        Instruction trig = std::move(ins).value();
        trig.line = st.line;
        trig.end_line = st.line;
        commands.emplace_back(std::move(trig), true);
      }
      es.config.on_build.clear();
    }
    for (const Instruction& ins : st.commands) commands.emplace_back(ins, false);

    VarMap vars = VarMapFromEnvList(es.config.env);
    bool cmd_set = false;
    for (auto& [ins, from_onbuild] : commands) {
      Step step;
      step.instruction = ins;
      step.line = ins.line;
      step.from_onbuild = from_onbuild;
      Instruction& x = step.instruction;
      switch (ins.kind) {
        case InstructionKind::kArg:
          for (KeyValue& kv : x.kvs) {
            ResolvedArg a;
            a.name = kv.key;
            a.line = ins.line;
            for (size_t i = 0; i < ins.prev_comment.size(); ++i) {
              a.description += (i ? " " : "") + ins.prev_comment[i];
            }
            if (kv.has_value) a.default_value = kv.value;
            auto ba = opts.build_args.find(kv.key);
            if (ba != opts.build_args.end()) {
              a.value = ba->second;
            } else if (kv.has_value) {
              Result<std::string> v = lex.ProcessWord(kv.value, vars);
              if (!v.ok()) return line_err(ins.line, v.status());
              a.value = *v;
            } else {
              auto m = g.meta_scope.find(kv.key);
              if (m != g.meta_scope.end()) a.value = m->second;
            }
            if (a.value) {
              vars[kv.key] = *a.value;
              kv.value = *a.value;
              kv.has_value = true;
            }
            es.args.push_back(std::move(a));
          }
          break;
        case InstructionKind::kRun: {
          step.argv = ins.prepend_shell ? WithShell(es.config, ins.cmd) : ins.cmd;
          Result<std::vector<MountSpec>> mounts =
              ExpandMounts(ins.run_flags, ShellExpander(lex, vars));
          if (!mounts.ok()) return line_err(ins.line, mounts.status());
          step.mounts = std::move(mounts).value();
          std::set<std::string> keys;
          for (const std::string& e : es.config.env) {
            step.run_env.push_back(e);
            keys.insert(e.substr(0, e.find('=')));
          }
          for (const auto& [k, v] : vars) {
            if (keys.insert(k).second) step.run_env.push_back(k + "=" + v);
          }
          for (const std::string& p : PredefinedProxyArgs()) {
            auto ba = opts.build_args.find(p);
            if (ba != opts.build_args.end() && keys.insert(p).second) {
              step.run_env.push_back(p + "=" + ba->second);
            }
          }
          break;
        }
        case InstructionKind::kCopy:
        case InstructionKind::kAdd: {
          for (std::string& s : x.sources) {
            Status e = Expand(lex, vars, s);
            if (!e.ok()) return line_err(ins.line, e);
          }
          for (SourceContent& c : x.source_contents) {
            if (!c.expand) continue;
            Result<std::string> v = raw_lex.ProcessWord(c.data, vars);
            if (!v.ok()) return line_err(ins.line, v.status());
            c.data = *v;
          }
          for (std::string* f : {&x.dest, &x.chown, &x.chmod}) {
            Status e = Expand(lex, vars, *f);
            if (!e.ok()) return line_err(ins.line, e);
          }
          if (!x.from.empty()) {
            Result<int> idx = FindStageRef(g.stages, x.from);
            if (!idx.ok()) return line_err(ins.line, idx.status());
            step.from_stage = *idx;
            if (*idx < 0) step.from_image = x.from;
          }
          break;
        }
        default: {
          Status s = ApplyToConfig(ins, lex, vars, es.config, cmd_set);
          if (!s.ok()) return line_err(ins.line, s);
          break;
        }
      }
      step.config = es.config;
      for (const ResolvedArg& a : es.args) {
        step.stage_args.emplace_back(a.name, a.value.value_or(""));
      }
      es.steps.push_back(std::move(step));
    }
    es.vars = std::move(vars);
    out.stages.push_back(std::move(es));
  }
  // Report stages in build order (dependencies first).
  std::vector<EvaluatedStage> ordered;
  for (int i : g.build_order) {
    for (EvaluatedStage& s : out.stages) {
      if (s.index == i) ordered.push_back(std::move(s));
    }
  }
  out.stages = std::move(ordered);
  return out;
}

}  // namespace latchkey::frontend
