#include "builder/frontend/stages.h"

#include <algorithm>
#include <unordered_map>
#include <utility>

#include "base/go_text.h"

namespace latchkey::frontend {
namespace {

struct Platform {
  std::string os, arch, variant;
};

Platform SplitPlatform(const std::string& p) {
  Platform out;
  size_t a = p.find('/');
  out.os = p.substr(0, a);
  if (a == std::string::npos) return out;
  size_t b = p.find('/', a + 1);
  out.arch = p.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1);
  if (b != std::string::npos) out.variant = p.substr(b + 1);
  return out;
}

void AddUnique(std::vector<int>& v, int x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

std::string StageLabel(const StageNode& s) {
  return s.name.empty() ? "stage-" + std::to_string(s.index) : s.name;
}

}  // namespace

const std::vector<std::string>& PredefinedProxyArgs() {
  static const std::vector<std::string> kArgs = {
      "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
      "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy"};
  return kArgs;
}

VarMap AutomaticPlatformArgs(const BuildOptions& opts) {
  VarMap m;
  Platform t = SplitPlatform(opts.target_platform);
  Platform b = SplitPlatform(opts.build_platform);
  m["TARGETPLATFORM"] = opts.target_platform;
  m["TARGETOS"] = t.os;
  m["TARGETARCH"] = t.arch;
  m["TARGETVARIANT"] = t.variant;
  m["BUILDPLATFORM"] = opts.build_platform;
  m["BUILDOS"] = b.os;
  m["BUILDARCH"] = b.arch;
  m["BUILDVARIANT"] = b.variant;
  return m;
}

Result<int> FindStageRef(const std::vector<StageNode>& stages, std::string_view value) {
  const std::string lower = base::AsciiLower(value);
  for (const StageNode& s : stages) {
    if (!s.name.empty() && s.name == lower) return s.index;
  }
  // strconv.Atoi: optional sign, decimal digits.
  std::string_view v = value;
  bool neg = false;
  if (!v.empty() && (v[0] == '+' || v[0] == '-')) {
    neg = v[0] == '-';
    v.remove_prefix(1);
  }
  if (v.empty() || v.size() > 18) return -1;
  long long n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
  }
  if (neg) n = -n;
  if (n < 0 || n >= static_cast<long long>(stages.size())) {
    return InvalidArgumentError("invalid stage index " + std::to_string(n) + " (stages 0.." +
                                std::to_string(static_cast<long long>(stages.size()) - 1) + ")");
  }
  return static_cast<int>(n);
}

Result<StageGraph> BuildStageGraph(const Dockerfile& df, const BuildOptions& opts,
                                   std::string_view filename) {
  StageGraph g;
  ShellLex lex(df.escape_token);

  // Global scope.
  g.meta_scope = AutomaticPlatformArgs(opts);
  for (const Instruction& ins : df.meta_args) {
    for (const KeyValue& kv : ins.kvs) {
      ResolvedArg a;
      a.name = kv.key;
      a.line = ins.line;
      for (size_t i = 0; i < ins.prev_comment.size(); ++i) {
        a.description += (i ? " " : "") + ins.prev_comment[i];
      }
      if (kv.has_value) {
        a.default_value = kv.value;
        Result<std::string> v = lex.ProcessWord(kv.value, g.meta_scope);
        if (!v.ok()) return LineError(filename, ins.line, v.status().message());
        a.value = *v;
      }
      auto it = opts.build_args.find(kv.key);
      if (it != opts.build_args.end()) a.value = it->second;
      if (a.value) {
        g.meta_scope[a.name] = *a.value;
      } else {
        g.meta_scope.erase(a.name);
      }
      g.meta_args.push_back(std::move(a));
    }
  }

  // Stages and FROM resolution (a FROM can only name an earlier stage).
  std::unordered_map<std::string, int> by_name;  // the named stages so far
  for (const Stage& st : df.stages) {
    StageNode n;
    n.index = st.index;
    n.name = st.name;
    n.line = st.line;
    if (!n.name.empty() && !by_name.emplace(n.name, n.index).second) {
      return LineError(filename, st.line, "duplicate stage name " + base::GoQuote(n.name));
    }
    Result<WordResult> base = lex.ProcessWordWithMatches(st.base_name, g.meta_scope);
    if (!base.ok()) return LineError(filename, st.line, base.status().message());
    n.base = base->result;
    for (const std::string& m : base->matched) n.used_meta_args.push_back(m);
    if (n.base.empty()) {
      return LineError(filename, st.line, "base name (" + st.base_name + ") should not be blank");
    }
    if (!st.platform.empty()) {
      Result<WordResult> p = lex.ProcessWordWithMatches(st.platform, g.meta_scope);
      if (!p.ok()) return LineError(filename, st.line, p.status().message());
      n.platform = p->result;
      for (const std::string& m : p->matched) n.used_meta_args.push_back(m);
    }
    if (auto it = by_name.find(base::AsciiLower(n.base)); it != by_name.end() && it->second != n.index) {
      n.base_stage = it->second;
    }
    if (n.base_stage >= 0) {
      AddUnique(n.deps, n.base_stage);
    } else {
      n.scratch = n.base == "scratch";
    }
    g.stages.push_back(std::move(n));
  }
  if (g.stages.empty()) {
    return LineError(filename, 1, "dockerfile contains no stages to build");
  }

  // COPY --from / RUN --mount from dependencies; other values are implicit images.
  struct ImageUse {
    std::string image;
    int line;
    int stage;
  };
  std::vector<ImageUse> image_uses;
  for (const Stage& st : df.stages) {
    StageNode& n = g.stages[st.index];
    for (const Instruction& ins : st.commands) {
      std::vector<std::string> refs;
      if (ins.kind == InstructionKind::kCopy && !ins.from.empty()) refs.push_back(ins.from);
      for (const std::string& f : ins.mount_froms) {
        if (!f.empty()) refs.push_back(f);
      }
      for (const std::string& ref : refs) {
        Result<int> idx = FindStageRef(g.stages, ref);
        if (!idx.ok()) return LineError(filename, ins.line, idx.status().message());
        if (*idx >= 0) {
          AddUnique(n.deps, *idx);
        } else {
          image_uses.push_back(ImageUse{ref, ins.line, st.index});
        }
      }
    }
  }

  // Target.
  if (opts.target.empty()) {
    g.target = static_cast<int>(g.stages.size()) - 1;
  } else {
    const std::string t = base::AsciiLower(opts.target);
    for (const StageNode& s : g.stages) {
      if (!s.name.empty() && s.name == t) g.target = s.index;
    }
    if (g.target < 0) {
      return LineError(filename, g.stages.back().line,
                       "target stage " + base::GoQuote(opts.target) + " could not be found");
    }
  }

  // Depth-first from the target: post-order is the build order; a grey node seen again is a
  // cycle. Iterative (an explicit stack of (stage, next dependency)): a chain of thousands of
  // stages must not exhaust the call stack.
  std::vector<int> color(g.stages.size(), 0);  // 0 white, 1 grey, 2 black
  g.reachable.assign(g.stages.size(), false);
  std::vector<std::pair<int, size_t>> stack;
  color[g.target] = 1;
  stack.emplace_back(g.target, 0);
  while (!stack.empty()) {
    const int i = stack.back().first;
    const size_t k = stack.back().second;
    if (k < g.stages[i].deps.size()) {
      stack.back().second = k + 1;
      const int d = g.stages[i].deps[k];
      if (color[d] == 1) {
        return LineError(filename, g.stages[d].line,
                         "circular dependency detected on stage: " + StageLabel(g.stages[d]));
      }
      if (color[d] == 0) {
        color[d] = 1;
        stack.emplace_back(d, 0);
      }
      continue;
    }
    color[i] = 2;
    g.reachable[i] = true;
    g.build_order.push_back(i);
    stack.pop_back();
  }

  for (const ImageUse& u : image_uses) {
    if (!g.reachable[u.stage]) continue;
    ImplicitImageSource* src = nullptr;
    for (auto& s : g.implicit_images) {
      if (s.image == u.image) src = &s;
    }
    if (src == nullptr) {
      g.implicit_images.push_back(ImplicitImageSource{u.image, {}, {}});
      src = &g.implicit_images.back();
    }
    src->lines.push_back(u.line);
    if (std::find(src->used_by.begin(), src->used_by.end(), u.stage) == src->used_by.end()) {
      src->used_by.push_back(u.stage);
      std::sort(src->used_by.begin(), src->used_by.end());
    }
  }
  return g;
}

}  // namespace latchkey::frontend
