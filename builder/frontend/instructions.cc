#include "builder/frontend/instructions.h"

#include <map>

#include "base/go_csv.h"
#include "base/go_text.h"
#include "builder/frontend/shell_lex.h"
#include "builder/frontend/suggest.h"

namespace latchkey::frontend {
namespace {

enum class FlagType { kBool, kString, kStrings };

struct FlagValue {
  bool set = false;
  std::string value;
  std::vector<std::string> values;
};

// BuildKit's BFlags: flags are "--name", "--name=value"; "--" ends the list.
Result<std::map<std::string, FlagValue>> ParseFlags(
    const std::vector<std::string>& raw,
    const std::vector<std::pair<std::string, FlagType>>& spec) {
  std::map<std::string, FlagValue> out;
  std::vector<std::string> names;
  for (const auto& [name, type] : spec) {
    names.push_back(name);
    out[name];
  }
  for (const std::string& arg : raw) {
    if (arg.rfind("--", 0) != 0) return InvalidArgumentError("arg should start with -- : " + arg);
    if (arg == "--") break;
    const size_t eq = arg.find('=');
    const std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    const std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    const std::string flag = "--" + name;
    const FlagType* type = nullptr;
    for (const auto& s : spec) {
      if (s.first == name) type = &s.second;
    }
    if (type == nullptr) {
      return InvalidArgumentError(WithSuggestion("unknown flag: " + flag, name, names));
    }
    FlagValue& fv = out[name];
    if (fv.set && *type != FlagType::kStrings) {
      return InvalidArgumentError("duplicate flag specified: " + flag);
    }
    fv.set = true;
    switch (*type) {
      case FlagType::kBool: {
        if (eq != std::string::npos && value.empty()) {
          return InvalidArgumentError("missing a value on flag: " + flag);
        }
        const std::string lower = base::AsciiLower(value);
        if (lower == "true" || lower.empty()) {
          fv.value = "true";
        } else if (lower == "false") {
          fv.value = "false";
        } else {
          return InvalidArgumentError("expecting boolean value for flag " + flag +
                                      ", not: " + value);
        }
        break;
      }
      case FlagType::kString:
        if (eq == std::string::npos)
          return InvalidArgumentError("missing a value on flag: " + flag);
        fv.value = value;
        break;
      case FlagType::kStrings:
        if (eq == std::string::npos)
          return InvalidArgumentError("missing a value on flag: " + flag);
        fv.values.push_back(value);
        break;
    }
  }
  return out;
}

// The flags COPY and ADD share: --chown, --chmod, --link and --exclude (from ParseFlags).
void SetCopyFlags(std::map<std::string, FlagValue>& f, Instruction& ins) {
  ins.chown = f["chown"].value;
  ins.chmod = f["chmod"].value;
  ins.link = f["link"].value == "true";
  ins.excludes = f["exclude"].values;
}

Status AtLeastOne(const char* name) {
  return InvalidArgumentError(std::string(name) + " requires at least one argument");
}
Status ExactlyOne(const char* name) {
  return InvalidArgumentError(std::string(name) + " requires exactly one argument");
}

std::vector<std::string> HandleJsonArgs(const Node& n, const std::vector<std::string>& args) {
  if (args.empty()) return {};
  if (n.json) return args;
  std::string joined;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i) joined += ' ';
    joined += args[i];
  }
  return {joined};
}

Status ParseKvps(const Node& n, const char* name, Instruction& ins) {
  if (n.args.empty()) return AtLeastOne(name);
  if (n.args.size() % 3 != 0) {
    return InvalidArgumentError(std::string("Bad input to ") + name + ", too many arguments");
  }
  for (size_t i = 0; i < n.args.size(); i += 3) {
    if (n.args[i].empty()) {
      return InvalidArgumentError(std::string(name) + " names can not be blank");
    }
    ins.kvs.push_back(KeyValue{n.args[i], n.args[i + 1], true, n.args[i + 2].empty()});
  }
  return Status::OK();
}

// Go's time.ParseDuration, in nanoseconds.
Result<int64_t> ParseGoDuration(const std::string& orig) {
  auto invalid = [&] {
    return InvalidArgumentError("time: invalid duration " + base::GoQuote(orig));
  };
  std::string_view s = orig;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return int64_t{0};
  if (s.empty()) return invalid();
  long double total = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || (s[0] >= '0' && s[0] <= '9'))) return invalid();
    size_t i = 0;
    long double v = 0;
    bool digits = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      v = v * 10 + (s[i] - '0');
      ++i;
      digits = true;
    }
    if (i < s.size() && s[i] == '.') {
      ++i;
      long double scale = 0.1L;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        v += (s[i] - '0') * scale;
        scale /= 10;
        ++i;
        digits = true;
      }
    }
    if (!digits) return invalid();
    size_t u = i;
    while (u < s.size() && s[u] != '.' && !(s[u] >= '0' && s[u] <= '9')) ++u;
    const std::string unit(s.substr(i, u - i));
    if (unit.empty()) {
      return InvalidArgumentError("time: missing unit in duration " + base::GoQuote(orig));
    }
    long double mult = 0;
    if (unit == "ns")
      mult = 1;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs")
      mult = 1e3L;
    else if (unit == "ms")
      mult = 1e6L;
    else if (unit == "s")
      mult = 1e9L;
    else if (unit == "m")
      mult = 60e9L;
    else if (unit == "h")
      mult = 3600e9L;
    else {
      return InvalidArgumentError("time: unknown unit " + base::GoQuote(unit) + " in duration " +
                                  base::GoQuote(orig));
    }
    total += v * mult;
    if (total > 9.223372036854775807e18L) return invalid();
    s.remove_prefix(u);
  }
  const auto ns = static_cast<int64_t>(total);
  return neg ? -ns : ns;
}

Result<int64_t> ParseInterval(const FlagValue& f, const char* name) {
  if (f.value.empty()) return int64_t{0};
  LK_ASSIGN_OR_RETURN(int64_t d, ParseGoDuration(f.value));
  if (d == 0) return int64_t{0};
  if (d < 1000000) {
    return InvalidArgumentError(std::string("Interval \"") + name + "\" cannot be less than 1ms");
  }
  return d;
}

Status ParseHealthcheck(const Node& n, Instruction& ins) {
  LK_ASSIGN_OR_RETURN(auto flags, ParseFlags(n.flags, {{"interval", FlagType::kString},
                                                       {"timeout", FlagType::kString},
                                                       {"start-period", FlagType::kString},
                                                       {"start-interval", FlagType::kString},
                                                       {"retries", FlagType::kString}}));
  if (n.args.empty()) return AtLeastOne("HEALTHCHECK");
  std::string typ = n.args[0];
  for (char& c : typ) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  HealthConfig& h = ins.health.config;
  if (typ == "NONE") {
    if (n.args.size() != 1) return InvalidArgumentError("HEALTHCHECK NONE takes no arguments");
    h.test = {"NONE"};
    return Status::OK();
  }
  if (typ != "CMD") {
    return InvalidArgumentError("Unknown type " + base::GoQuote(typ) + " in HEALTHCHECK (try CMD)");
  }
  std::vector<std::string> rest(n.args.begin() + 1, n.args.end());
  std::vector<std::string> cmd = HandleJsonArgs(n, rest);
  if (cmd.empty()) return InvalidArgumentError("Missing command after HEALTHCHECK CMD");
  h.test.push_back(n.json ? "CMD" : "CMD-SHELL");
  for (auto& c : cmd) h.test.push_back(std::move(c));
  LK_ASSIGN_OR_RETURN(h.interval_ns, ParseInterval(flags["interval"], "interval"));
  LK_ASSIGN_OR_RETURN(h.timeout_ns, ParseInterval(flags["timeout"], "timeout"));
  LK_ASSIGN_OR_RETURN(h.start_period_ns, ParseInterval(flags["start-period"], "start-period"));
  LK_ASSIGN_OR_RETURN(h.start_interval_ns,
                      ParseInterval(flags["start-interval"], "start-interval"));
  const std::string& r = flags["retries"].value;
  if (!r.empty()) {
    bool neg = r[0] == '-';
    size_t i = (r[0] == '-' || r[0] == '+') ? 1 : 0;
    int64_t v = 0;
    bool ok = i < r.size();
    for (; i < r.size() && ok; ++i) {
      if (r[i] < '0' || r[i] > '9') {
        ok = false;
        break;
      }
      v = v * 10 + (r[i] - '0');
      if (v > 2147483648LL) ok = false;
    }
    if (ok && !neg && v > 2147483647LL) ok = false;
    if (!ok) {
      return InvalidArgumentError(
          "strconv.ParseInt: parsing " + base::GoQuote(r) +
          (i < r.size() || r.size() <= 1 ? ": invalid syntax" : ": value out of range"));
    }
    if (neg) v = -v;
    if (v < 0) {
      return InvalidArgumentError("--retries cannot be negative (" + std::to_string(v) + ")");
    }
    h.retries = static_cast<int32_t>(v);
  }
  return Status::OK();
}

Status ParseSourcesAndDest(const Node& n, const char* name, Instruction& ins) {
  if (n.args.size() < 2) {
    return InvalidArgumentError(std::string(name) +
                                " requires at least two arguments, but only one was provided. "
                                "Destination could not be determined");
  }
  ins.dest = n.args.back();
  for (size_t i = 0; i + 1 < n.args.size(); ++i) {
    const std::string& src = n.args[i];
    if (!n.heredocs.empty()) {
      Result<std::optional<Heredoc>> h = ParseHeredoc(src);
      if (h.ok() && h->has_value()) {
        for (const Heredoc& doc : n.heredocs) {
          if (doc.name == (*h)->name) {
            ins.source_contents.push_back(
                SourceContent{doc.name, doc.chomp ? ChompHeredocContent(doc.content) : doc.content,
                              (*h)->expand});
            break;
          }
        }
        continue;
      }
    }
    ins.sources.push_back(src);
  }
  if (!n.heredocs.empty()) {
    Result<std::optional<Heredoc>> h = ParseHeredoc(ins.dest);
    if (h.ok() && h->has_value()) {
      return InvalidArgumentError(std::string(name) + " cannot accept a heredoc as destination");
    }
  }
  return Status::OK();
}

bool IsValidStageName(const std::string& s) {
  if (s.empty() || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

Result<Instruction> ParseOne(const Node& n) {
  Instruction ins;
  ins.line = n.start_line;
  ins.end_line = n.end_line;
  ins.original = n.original;
  ins.flags = n.flags;
  ins.prev_comment = n.prev_comment;
  const std::string& v = n.value;
  using K = InstructionKind;
  auto no_flags = [&]() -> Status { return ParseFlags(n.flags, {}).status(); };
  if (v == "env" || v == "label") {
    ins.kind = v == "env" ? K::kEnv : K::kLabel;
    LK_RETURN_IF_ERROR(no_flags());
    LK_RETURN_IF_ERROR(ParseKvps(n, v == "env" ? "ENV" : "LABEL", ins));
  } else if (v == "arg") {
    ins.kind = K::kArg;
    LK_RETURN_IF_ERROR(no_flags());
    if (n.args.empty()) return AtLeastOne("ARG");
    for (const std::string& a : n.args) {
      const size_t eq = a.find('=');
      if (eq == std::string::npos) {
        ins.kvs.push_back(KeyValue{a, "", false, false});
      } else {
        if (eq == 0) return InvalidArgumentError("ARG names can not be blank");
        ins.kvs.push_back(KeyValue{a.substr(0, eq), a.substr(eq + 1), true, false});
      }
    }
  } else if (v == "cmd" || v == "entrypoint") {
    ins.kind = v == "cmd" ? K::kCmd : K::kEntrypoint;
    LK_RETURN_IF_ERROR(no_flags());
    ins.cmd = HandleJsonArgs(n, n.args);
    ins.prepend_shell = !n.json;
  } else if (v == "run") {
    ins.kind = K::kRun;
    LK_ASSIGN_OR_RETURN(ins.run_flags, ParseRunFlags(n.flags));
    for (const std::string& m : ins.run_flags.mount_values) {
      std::string from;
      Result<std::vector<std::string>> fields = base::CsvValueFields(m);
      if (fields.ok()) {
        for (const std::string& f : *fields) {
          const size_t eq = f.find('=');
          if (eq != std::string::npos && base::AsciiLower(f.substr(0, eq)) == "from") {
            from = f.substr(eq + 1);
          }
        }
      }
      ins.mount_froms.push_back(from);
    }
    ins.cmd = HandleJsonArgs(n, n.args);
    ins.prepend_shell = !n.json;
    if (!n.json) {
      for (const Heredoc& h : n.heredocs) {
        ins.files.push_back(
            InlineFile{h.name, h.chomp ? ChompHeredocContent(h.content) : h.content, h.chomp});
      }
    }
  } else if (v == "shell") {
    ins.kind = K::kShell;
    LK_RETURN_IF_ERROR(no_flags());
    if (n.args.empty()) return AtLeastOne("SHELL");
    if (!n.json) return InvalidArgumentError("SHELL requires the arguments to be in JSON form");
    ins.cmd = n.args;
  } else if (v == "expose") {
    ins.kind = K::kExpose;
    LK_RETURN_IF_ERROR(no_flags());
    if (n.args.empty()) return AtLeastOne("EXPOSE");
    ins.words = n.args;
  } else if (v == "volume") {
    ins.kind = K::kVolume;
    LK_RETURN_IF_ERROR(no_flags());
    if (n.args.empty()) return AtLeastOne("VOLUME");
    for (const std::string& a : n.args) {
      if (base::TrimGoSpace(a).empty()) {
        return InvalidArgumentError("VOLUME specified can not be an empty string");
      }
    }
    ins.words = n.args;
  } else if (v == "user" || v == "workdir" || v == "stopsignal" || v == "maintainer") {
    ins.kind = v == "user"         ? K::kUser
               : v == "workdir"    ? K::kWorkdir
               : v == "stopsignal" ? K::kStopSignal
                                   : K::kMaintainer;
    LK_RETURN_IF_ERROR(no_flags());
    if (n.args.size() != 1) return ExactlyOne(InstructionName(ins.kind));
    ins.words = n.args;
  } else if (v == "copy") {
    ins.kind = K::kCopy;
    LK_ASSIGN_OR_RETURN(auto f, ParseFlags(n.flags, {{"from", FlagType::kString},
                                                     {"chown", FlagType::kString},
                                                     {"chmod", FlagType::kString},
                                                     {"link", FlagType::kBool},
                                                     {"parents", FlagType::kBool},
                                                     {"exclude", FlagType::kStrings}}));
    ins.from = f["from"].value;
    SetCopyFlags(f, ins);
    ins.parents = f["parents"].value == "true";
    if (ins.from.find('$') != std::string::npos) {
      return InvalidArgumentError(
          "variable expansion is not supported for --from, define a new stage with FROM using "
          "ARG from global scope as a workaround");
    }
    LK_RETURN_IF_ERROR(ParseSourcesAndDest(n, "COPY", ins));
  } else if (v == "add") {
    ins.kind = K::kAdd;
    LK_ASSIGN_OR_RETURN(auto f, ParseFlags(n.flags, {{"chown", FlagType::kString},
                                                     {"chmod", FlagType::kString},
                                                     {"link", FlagType::kBool},
                                                     {"keep-git-dir", FlagType::kBool},
                                                     {"checksum", FlagType::kString},
                                                     {"exclude", FlagType::kStrings},
                                                     {"unpack", FlagType::kBool}}));
    SetCopyFlags(f, ins);
    ins.keep_git_dir = f["keep-git-dir"].value == "true";
    ins.checksum = f["checksum"].value;
    if (f["unpack"].set) ins.unpack = f["unpack"].value == "true";
    LK_RETURN_IF_ERROR(ParseSourcesAndDest(n, "ADD", ins));
  } else if (v == "healthcheck") {
    ins.kind = K::kHealthcheck;
    LK_RETURN_IF_ERROR(ParseHealthcheck(n, ins));
  } else if (v == "onbuild") {
    ins.kind = K::kOnbuild;
    LK_RETURN_IF_ERROR(no_flags());
    if (n.nested.empty()) return AtLeastOne("ONBUILD");
    std::string trigger = n.nested[0].value;
    for (char& c : trigger) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    if (trigger == "ONBUILD") {
      return InvalidArgumentError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    }
    if (trigger == "MAINTAINER" || trigger == "FROM") {
      return InvalidArgumentError(trigger + " isn't allowed as an ONBUILD trigger");
    }
    // (?i)^\s*ONBUILD\s* removed from the original line.
    std::string_view o = n.original;
    size_t i = 0;
    while (i < o.size() &&
           (o[i] == ' ' || o[i] == '\t' || o[i] == '\n' || o[i] == '\f' || o[i] == '\r')) {
      ++i;
    }
    i += 7;  // "onbuild", any case (the node value says it is)
    while (i < o.size() &&
           (o[i] == ' ' || o[i] == '\t' || o[i] == '\n' || o[i] == '\f' || o[i] == '\r')) {
      ++i;
    }
    ins.trigger = std::string(o.substr(std::min(i, o.size())));
    for (const Heredoc& h : n.heredocs) ins.trigger += "\n" + h.content + h.name;
  } else {
    return InvalidArgumentError(WithSuggestion("unknown instruction: " + n.original_cmd,
                                               n.original_cmd, KnownInstructions(),
                                               /*case_sensitive=*/false));
  }
  return ins;
}

}  // namespace

const char* InstructionName(InstructionKind kind) {
  switch (kind) {
    case InstructionKind::kAdd:
      return "ADD";
    case InstructionKind::kArg:
      return "ARG";
    case InstructionKind::kCmd:
      return "CMD";
    case InstructionKind::kCopy:
      return "COPY";
    case InstructionKind::kEntrypoint:
      return "ENTRYPOINT";
    case InstructionKind::kEnv:
      return "ENV";
    case InstructionKind::kExpose:
      return "EXPOSE";
    case InstructionKind::kHealthcheck:
      return "HEALTHCHECK";
    case InstructionKind::kLabel:
      return "LABEL";
    case InstructionKind::kMaintainer:
      return "MAINTAINER";
    case InstructionKind::kOnbuild:
      return "ONBUILD";
    case InstructionKind::kRun:
      return "RUN";
    case InstructionKind::kShell:
      return "SHELL";
    case InstructionKind::kStopSignal:
      return "STOPSIGNAL";
    case InstructionKind::kUser:
      return "USER";
    case InstructionKind::kVolume:
      return "VOLUME";
    case InstructionKind::kWorkdir:
      return "WORKDIR";
  }
  return "RUN";
}

Result<Instruction> ParseInstruction(const Node& node, std::string_view filename) {
  if (node.value == "from") {
    return LineError(filename, node.start_line, "FROM isn't allowed here");
  }
  Result<Instruction> r = ParseOne(node);
  if (!r.ok()) return LineError(filename, node.start_line, r.status().message());
  return r;
}

Result<Dockerfile> ParseInstructions(const ParseResult& parsed, std::string_view filename) {
  Dockerfile df;
  df.escape_token = parsed.escape_token;
  df.directives = parsed.directives;
  df.warnings = parsed.warnings;
  for (const Node& n : parsed.children) {
    if (n.value == "from") {
      auto err = [&](std::string_view m) { return LineError(filename, n.start_line, m); };
      Result<std::map<std::string, FlagValue>> f =
          ParseFlags(n.flags, {{"platform", FlagType::kString}});
      if (!f.ok()) return err(f.status().message());
      Stage st;
      if (n.args.size() == 3 && base::AsciiLower(n.args[1]) == "as") {
        st.orig_name = n.args[2];
        st.name = base::AsciiLower(n.args[2]);
        if (!IsValidStageName(st.name)) {
          return err("invalid name for build stage: " + base::GoQuote(st.name) +
                     ", name can't start with a number or contain symbols");
        }
      } else if (n.args.size() != 1) {
        return err("FROM requires either one or three arguments");
      }
      st.base_name = n.args[0];
      st.platform = (*f)["platform"].value;
      st.line = n.start_line;
      st.index = static_cast<int>(df.stages.size());
      df.stages.push_back(std::move(st));
      continue;
    }
    LK_ASSIGN_OR_RETURN(Instruction ins, ParseInstruction(n, filename));
    if (ins.kind == InstructionKind::kArg && df.stages.empty()) {
      df.meta_args.push_back(std::move(ins));
      continue;
    }
    if (df.stages.empty()) {
      return LineError(filename, n.start_line, "no build stage in current context");
    }
    df.stages.back().commands.push_back(std::move(ins));
  }
  return df;
}

Result<Dockerfile> ParseDockerfile(std::string_view text, std::string_view filename) {
  LK_ASSIGN_OR_RETURN(ParseResult parsed, Parse(text, filename));
  return ParseInstructions(parsed, filename);
}

}  // namespace latchkey::frontend
