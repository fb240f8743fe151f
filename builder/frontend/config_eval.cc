#include "builder/frontend/config_eval.h"

#include <algorithm>
#include <memory>
#include <set>
#include <unordered_map>

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

// ---- Memory accounting (see kMaxEvaluatedBytes) -------------------------------------------

// Approximate heap and header bytes of one string and of one tree node.
constexpr size_t kStringOverhead = sizeof(std::string);
constexpr size_t kNodeOverhead = 48;

size_t Bytes(const std::string& s) { return kStringOverhead + s.size(); }
size_t Bytes(const std::vector<std::string>& v) {
  size_t n = sizeof(v);
  for (const std::string& s : v) n += Bytes(s);
  return n;
}
size_t Bytes(const std::set<std::string>& v) {
  size_t n = sizeof(v);
  for (const std::string& s : v) n += Bytes(s) + kNodeOverhead;
  return n;
}

size_t ConfigBytes(const ImageConfig& c) {
  size_t n = sizeof(ImageConfig) + Bytes(c.env) + Bytes(c.exposed_ports) + Bytes(c.volumes) +
             Bytes(c.on_build) + Bytes(c.diff_ids) + c.user.size() + c.working_dir.size() +
             c.stop_signal.size() + c.created.size() + c.author.size();
  for (const auto& [k, v] : c.labels) n += Bytes(k) + Bytes(v) + kNodeOverhead;
  for (const auto* list : {&c.entrypoint, &c.cmd, &c.shell}) {
    if (*list) n += Bytes(**list);
  }
  if (c.healthcheck) n += Bytes(c.healthcheck->test);
  for (const HistoryEntry& h : c.history) {
    n += sizeof(h) + h.created.size() + h.created_by.size() + h.comment.size();
  }
  return n;
}

// A step itself: the struct and the (expanded) values its instruction and argv hold.
size_t StepBytes(const Step& step) {
  const Instruction& x = step.instruction;
  size_t n = sizeof(Step) + x.original.size() + Bytes(x.cmd) + Bytes(x.words) + Bytes(x.sources) +
             x.dest.size() + x.chown.size() + x.chmod.size() + x.trigger.size() + Bytes(step.argv) +
             step.mounts.size() * sizeof(MountSpec);
  for (const KeyValue& kv : x.kvs) n += sizeof(kv) + kv.key.size() + kv.value.size();
  for (const SourceContent& c : x.source_contents) n += sizeof(c) + c.path.size() + c.data.size();
  for (const InlineFile& f : x.files) n += sizeof(f) + f.name.size() + f.data.size();
  return n;
}

size_t VarMapBytes(const VarMap& vars) {
  size_t n = sizeof(vars);
  for (const auto& [k, v] : vars) n += Bytes(k) + Bytes(v) + kNodeOverhead;
  return n;
}

// Counts what an evaluation keeps; fails once the total passes kMaxEvaluatedBytes.
class EvalBudget {
 public:
  Status Add(size_t bytes) {
    used_ += bytes;
    if (used_ <= kMaxEvaluatedBytes) return Status::OK();
    return ResourceExhaustedError(
        "the evaluated steps, image configs and step environments exceed " +
        std::to_string(kMaxEvaluatedBytes >> 20) +
        " MiB: use fewer instructions or fewer and smaller ENV, LABEL, ARG and WORKDIR values");
  }

 private:
  size_t used_ = 0;
};

// Position of each env key ("KEY" of "KEY=value") in ImageConfig::env, so that ENV replaces
// or appends in constant time. The first entry of a key wins, as in ImageConfig::SetEnv.
using EnvIndex = std::unordered_map<std::string, size_t>;

EnvIndex IndexEnv(const std::vector<std::string>& env) {
  EnvIndex index;
  for (size_t i = 0; i < env.size(); ++i) {
    const size_t eq = env[i].find('=');
    if (eq != std::string::npos) index.emplace(env[i].substr(0, eq), i);
  }
  return index;
}

// ApplyToConfig with an env index (may be null: ImageConfig::SetEnv then) and the bytes of the
// values the instruction stored added to `*stored`.
Status Apply(const Instruction& ins, const ShellLex& lex, VarMap& vars, ImageConfig& config,
             bool& cmd_set, EnvIndex* index, size_t* stored);

// Whether MetadataView keeps a field of the config for instructions of this kind.
bool ViewHasFields(InstructionKind kind) {
  using K = InstructionKind;
  switch (kind) {
    case K::kEnv:
    case K::kLabel:
    case K::kWorkdir:
    case K::kUser:
    case K::kCmd:
    case K::kEntrypoint:
    case K::kShell:
    case K::kStopSignal:
    case K::kMaintainer:
      return true;
    default:
      return false;
  }
}

// The part of `config` (the config after `ins`) that the history text of `ins` needs (see
// Step::config).
ImageConfig MetadataView(const ImageConfig& config, const Instruction& ins, const EnvIndex& index) {
  ImageConfig v;
  v.os = config.os;
  v.architecture = config.architecture;
  v.variant = config.variant;
  v.working_dir.clear();
  using K = InstructionKind;
  switch (ins.kind) {
    case K::kEnv:
      for (const KeyValue& kv : ins.kvs) {
        auto it = index.find(kv.key);
        if (it != index.end()) v.env.push_back(config.env[it->second]);
      }
      break;
    case K::kLabel:
      for (const KeyValue& kv : ins.kvs) {
        auto it = config.labels.find(kv.key);
        if (it != config.labels.end()) v.labels.insert(*it);
      }
      break;
    case K::kWorkdir:
      v.working_dir = config.working_dir;
      break;
    case K::kUser:
      v.user = config.user;
      break;
    case K::kCmd:
      v.cmd = config.cmd;
      break;
    case K::kEntrypoint:
      v.entrypoint = config.entrypoint;
      break;
    case K::kShell:
      v.shell = config.shell;
      break;
    case K::kStopSignal:
      v.stop_signal = config.stop_signal;
      break;
    case K::kMaintainer:
      v.author = config.author;
      break;
    default:
      break;
  }
  return v;
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
  size_t stored = 0;
  return Apply(ins, lex, vars, config, cmd_set, nullptr, &stored);
}

namespace {

Status Apply(const Instruction& ins, const ShellLex& lex, VarMap& vars, ImageConfig& config,
             bool& cmd_set, EnvIndex* index, size_t* stored) {
  using K = InstructionKind;
  switch (ins.kind) {
    case K::kEnv:
      for (KeyValue kv : ins.kvs) {
        LK_RETURN_IF_ERROR(Expand(lex, vars, kv.key));
        LK_RETURN_IF_ERROR(Expand(lex, vars, kv.value));
        // Kept in the config and in the variables (the step's history view counts itself).
        *stored += 2 * (Bytes(kv.key) + Bytes(kv.value) + kNodeOverhead);
        if (index == nullptr) {
          config.SetEnv(kv.key, kv.value);
        } else if (auto it = index->find(kv.key); it != index->end()) {
          config.env[it->second] = kv.key + "=" + kv.value;
        } else {
          index->emplace(kv.key, config.env.size());
          config.env.push_back(kv.key + "=" + kv.value);
        }
        vars[kv.key] = kv.value;
      }
      break;
    case K::kLabel:
      for (KeyValue kv : ins.kvs) {
        LK_RETURN_IF_ERROR(Expand(lex, vars, kv.key));
        LK_RETURN_IF_ERROR(Expand(lex, vars, kv.value));
        *stored += 2 * (Bytes(kv.key) + Bytes(kv.value) + kNodeOverhead);
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
        *stored += Bytes(v) + kNodeOverhead;
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

}  // namespace

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
  EvalBudget budget;
  std::unordered_map<int, size_t> evaluated;  // stage index -> position in out.stages

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
      const EvaluatedStage* base = &out.stages[evaluated.at(node.base_stage)];
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

    if (Status s = budget.Add(ConfigBytes(es.config)); !s.ok()) return line_err(st.line, s);

    // ONBUILD triggers of the base run first.
    std::vector<Instruction> triggers;
    if (!es.config.on_build.empty()) {
      std::string text;
      for (const std::string& t : es.config.on_build) text += t + "\n";
      // The trigger text, its parse tree and the parsed instructions.
      Status kept = budget.Add(3 * text.size() +
                               es.config.on_build.size() * (sizeof(Node) + sizeof(Instruction)));
      if (!kept.ok()) return line_err(st.line, kept);
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
        triggers.push_back(std::move(trig));
      }
      es.config.on_build.clear();
    }
    std::vector<std::pair<const Instruction*, bool>> commands;
    for (const Instruction& ins : triggers) commands.emplace_back(&ins, true);
    for (const Instruction& ins : st.commands) commands.emplace_back(&ins, false);

    VarMap vars = VarMapFromEnvList(es.config.env);
    EnvIndex env_index = IndexEnv(es.config.env);
    bool cmd_set = false;
    // The full config shared by RUN/COPY/ADD steps; reset when an instruction changes it.
    std::shared_ptr<const ImageConfig> snapshot;
    auto full_snapshot = [&]() -> Result<std::shared_ptr<const ImageConfig>> {
      if (!snapshot) {
        LK_RETURN_IF_ERROR(budget.Add(ConfigBytes(es.config)));
        snapshot = std::make_shared<const ImageConfig>(es.config);
      }
      return snapshot;
    };
    // The view of metadata instructions that need no field of the config (ARG, EXPOSE, ...).
    std::shared_ptr<const ImageConfig> empty_view;
    for (auto& [ins_ptr, from_onbuild] : commands) {
      const Instruction& ins = *ins_ptr;
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
              // Kept in the variables and the stage's ARG list (the step counts itself).
              Status b = budget.Add(2 * (Bytes(kv.key) + Bytes(*a.value) + kNodeOverhead));
              if (!b.ok()) return line_err(ins.line, b);
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
          for (const ResolvedArg& a : es.args) {
            step.stage_args.emplace_back(a.name, a.value.value_or(""));
          }
          size_t kept = Bytes(step.run_env);
          for (const auto& [k, v] : step.stage_args) kept += Bytes(k) + Bytes(v);
          if (Status b = budget.Add(kept); !b.ok()) return line_err(ins.line, b);
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
          size_t stored = 0;
          Status s = Apply(ins, lex, vars, es.config, cmd_set, &env_index, &stored);
          if (s.ok()) s = budget.Add(stored);
          if (!s.ok()) return line_err(ins.line, s);
          snapshot.reset();
          break;
        }
      }
      switch (ins.kind) {
        case InstructionKind::kRun:
        case InstructionKind::kCopy:
        case InstructionKind::kAdd: {
          Result<std::shared_ptr<const ImageConfig>> full = full_snapshot();
          if (!full.ok()) return line_err(ins.line, full.status());
          step.config = std::move(full).value();
          break;
        }
        default: {
          ImageConfig view = MetadataView(es.config, ins, env_index);
          if (!ViewHasFields(ins.kind)) {
            if (!empty_view) empty_view = std::make_shared<const ImageConfig>(std::move(view));
            step.config = empty_view;
            break;
          }
          if (Status b = budget.Add(ConfigBytes(view)); !b.ok()) return line_err(ins.line, b);
          step.config = std::make_shared<const ImageConfig>(std::move(view));
          break;
        }
      }
      if (Status b = budget.Add(StepBytes(step)); !b.ok()) return line_err(ins.line, b);
      es.steps.push_back(std::move(step));
    }
    if (Status s = budget.Add(VarMapBytes(vars)); !s.ok()) return line_err(st.line, s);
    es.vars = std::move(vars);
    evaluated[es.index] = out.stages.size();
    out.stages.push_back(std::move(es));
  }
  // Report stages in build order (dependencies first).
  std::vector<EvaluatedStage> ordered;
  for (int i : g.build_order) ordered.push_back(std::move(out.stages[evaluated.at(i)]));
  out.stages = std::move(ordered);
  return out;
}

}  // namespace latchkey::frontend
