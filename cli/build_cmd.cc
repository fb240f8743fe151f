// `latchkey build`: builds an image from a Dockerfile, BuildKit's way, with the build's secrets
// served by one broker session (opened before the first step, closed after the last, on
// success and failure alike). See docs/builder.md.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/go_text.h"
#include "broker/broker.h"
#include "broker/secret_flags.h"
#include "builder/build/build_flags.h"
#include "builder/build/builder.h"
#include "builder/build/progress.h"
#include "builder/executor/cancel.h"
#include "builder/image/export_spec.h"
#include "builder/image/fs_util.h"
#include "builder/image/image_ref.h"
#include "builder/image/media_types.h"
#include "cli/cli_setup.h"
#include "cli/command_registry.h"
#include "cli/state_recovery_setup.h"
#include "secure/redactor.h"

namespace latchkey::cli {
namespace {

struct BuildFlags {
  std::string context;
  std::string file;
  std::string target;
  std::vector<std::string> build_args;
  std::vector<std::string> secrets;
  std::vector<std::string> ssh;
  std::vector<std::string> build_contexts;
  std::vector<std::string> tags;
  std::vector<std::string> outputs;
  bool no_cache = false;
  std::vector<std::string> no_cache_filter;
  std::string progress = "auto";
  std::string network = "default";
  std::string runtime;
  std::vector<std::string> allow_leaks;
  std::vector<std::string> labels;
  std::string iidfile;
  std::vector<std::string> platforms;
  bool quiet = false;
  std::vector<std::string> add_hosts;
  std::string metadata_file;
  std::string shm_size;
  std::vector<std::string> ulimits;
};

// Docker's flag error: invalid argument "<value>" for "<flag>" flag: <message>.
Status FlagError(const std::string& value, const std::string& flag, const Status& st) {
  return Status(st.code(),
                "invalid argument \"" + value + "\" for \"" + flag + "\" flag: " + st.message());
}

std::string Absolute(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

Result<std::pair<std::string, std::string>> KeyValue(const std::string& flag,
                                                     const std::string& v) {
  size_t eq = v.find('=');
  if (eq == 0 || eq == std::string::npos) {
    return InvalidArgumentError("invalid " + flag + " \"" + v + "\": want KEY=VALUE");
  }
  return std::make_pair(v.substr(0, eq), v.substr(eq + 1));
}

// --ssh default | default=PATH | ID=PATH.
Result<std::map<std::string, std::string>> ParseSsh(const std::vector<std::string>& values) {
  std::map<std::string, std::string> out;
  for (const auto& v : values) {
    size_t eq = v.find('=');
    std::string id = v.substr(0, eq);
    std::string path;
    if (eq != std::string::npos) {
      path = v.substr(eq + 1);
      size_t comma = path.find(',');
      if (comma != std::string::npos) path.resize(comma);  // first socket of a list
    } else {
      const char* sock = std::getenv("SSH_AUTH_SOCK");
      if (sock == nullptr || *sock == '\0') {
        return InvalidArgumentError("invalid --ssh \"" + v +
                                    "\": SSH_AUTH_SOCK is not set; start an agent or pass --ssh " +
                                    id + "=PATH");
      }
      path = sock;
    }
    if (id.empty() || path.empty()) {
      return InvalidArgumentError("invalid --ssh \"" + v + "\": want ID[=PATH]");
    }
    out[id] = Absolute(path);
  }
  return out;
}

Result<build::BuildRequest> MakeRequest(const BuildFlags& f, const Config& config) {
  build::BuildRequest req;
  req.context_dir = Absolute(f.context);
  struct stat st {};
  if (::stat(req.context_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return NotFoundError("build context " + f.context +
                         " is not a directory (pass the directory holding your files, "
                         "e.g. `latchkey build .`)");
  }
  req.dockerfile_path = f.file.empty() ? req.context_dir + "/Dockerfile" : Absolute(f.file);
  Result<std::string> text = image::ReadFile(req.dockerfile_path);
  if (!text.ok()) {
    return NotFoundError("failed to read dockerfile: open " + req.dockerfile_path + ": " +
                         (errno ? std::strerror(errno) : text.status().message()));
  }
  req.dockerfile_text = std::move(text).value();
  req.frontend.target = f.target;
  for (const auto& a : f.build_args) {
    size_t eq = a.find('=');
    if (eq == std::string::npos) {
      // Docker: `--build-arg NAME` takes the value from the environment, if set.
      if (const char* v = std::getenv(a.c_str())) req.frontend.build_args[a] = v;
      continue;
    }
    if (eq == 0) return InvalidArgumentError("invalid --build-arg \"" + a + "\": want KEY=VALUE");
    req.frontend.build_args[a.substr(0, eq)] = a.substr(eq + 1);
  }
  for (const auto& c : f.build_contexts) {
    LK_ASSIGN_OR_RETURN(build::NamedContext nc, build::ParseNamedContext(c));
    nc.path = Absolute(nc.path);
    req.named_contexts.push_back(std::move(nc));
  }
  for (const auto& t : f.tags) {
    // Docker's text: invalid argument "X" for "-t, --tag" flag: <reference error>.
    auto parsed = image::ParseNormalizedReference(t);
    auto ref = image::ParseImageRef(t);
    if (!parsed.ok() || !ref.ok()) {
      std::string why = !parsed.ok() ? parsed.status().message() : ref.status().message();
      if (parsed.ok()) why = why.substr(why.find(": ") + 2);
      return InvalidArgumentError("invalid argument \"" + t + "\" for \"-t, --tag\" flag: " + why);
    }
    req.tags.push_back(ref->ToString());
  }
  for (const auto& o : f.outputs) {
    LK_ASSIGN_OR_RETURN(image::ExportSpec spec, image::ParseExportSpec(o));
    spec.dest = Absolute(spec.dest);
    req.outputs.push_back(std::move(spec));
  }
  for (const auto& l : f.labels) {
    LK_ASSIGN_OR_RETURN(auto kv, KeyValue("--label", l));
    req.labels[kv.first] = kv.second;
  }
  req.no_cache = f.no_cache;
  for (const auto& s : f.no_cache_filter) {
    std::string lower = s;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req.no_cache_stages.insert(lower);
  }
  if (f.network == "default" || f.network == "host") {
    req.network = executor::NetworkMode::kHost;
  } else if (f.network == "none") {
    req.network = executor::NetworkMode::kNone;
  } else {
    return InvalidArgumentError("invalid --network \"" + f.network +
                                "\": want default, none or host");
  }
  req.runtime = !f.runtime.empty()                ? f.runtime
                : !config.builder.runtime.empty() ? config.builder.runtime
                                                  : "runc";
  req.allowed_leaks.insert(f.allow_leaks.begin(), f.allow_leaks.end());
  LK_ASSIGN_OR_RETURN(req.ssh_agents, ParseSsh(f.ssh));
  // SOURCE_DATE_EPOCH: the build arg (BuildKit's way) or the environment.
  std::string sde;
  if (auto it = req.frontend.build_args.find("SOURCE_DATE_EPOCH");
      it != req.frontend.build_args.end()) {
    sde = it->second;
  } else if (const char* e = std::getenv("SOURCE_DATE_EPOCH")) {
    sde = e;
  }
  if (!sde.empty()) {
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(sde.c_str(), &end, 10);
    if (errno != 0 || *end != '\0' || v < 0) {
      return InvalidArgumentError("invalid SOURCE_DATE_EPOCH \"" + sde +
                                  "\": want seconds since the epoch");
    }
    req.source_date_epoch = v;
  }
  LK_ASSIGN_OR_RETURN(req.frontend.target_platform, build::ParsePlatforms(f.platforms));
  for (const auto& h : f.add_hosts) {
    LK_ASSIGN_OR_RETURN(executor::ExtraHost eh, build::ParseAddHost(h));
    req.extra_hosts.push_back(std::move(eh));
  }
  if (!f.shm_size.empty()) {
    auto n = build::ParseShmSize(f.shm_size);
    if (!n.ok()) return FlagError(f.shm_size, "--shm-size", n.status());
    req.shm_size_bytes = *n;
  }
  for (const auto& u : f.ulimits) {
    auto r = build::ParseUlimit(u);
    if (!r.ok()) return FlagError(u, "--ulimit", r.status());
    req.ulimits.push_back(*r);
  }
  req.state_dir = BuilderStateDir(config);
  return req;
}

// BuildKit's error block, redacted: the Dockerfile snippet around the failing line
// (solver/errdefs/source.go Print), then "ERROR: failed to solve: <message>".
std::string FailureText(const build::BuildFailure& failure, const build::BuildRequest* req,
                        const Status& st) {
  // (The failing vertex and its last output lines were printed by the progress writer.)
  std::ostringstream out;
  if (req != nullptr && failure.line > 0) {
    std::vector<std::string> lines;
    std::stringstream ss(req->dockerfile_text);
    for (std::string l; std::getline(ss, l);) lines.push_back(l);
    int start = failure.line;
    int end = failure.end_line >= start ? failure.end_line : start;
    int n = static_cast<int>(lines.size());
    if (start <= n) {
      if (end > n) end = n;
      int pad = end == start ? 4 : 2;
      int first = start;
      for (int p = 0; p < pad;) {
        if (start > 1) {
          --start;
          ++p;
        }
        if (end != n) {
          ++end;
          ++p;
        }
        ++p;
      }
      std::string name = std::filesystem::path(req->dockerfile_path).filename().string();
      out << name << ":" << first << "\n--------------------\n";
      for (int i = start; i <= end; ++i) {
        bool hit = i >= failure.line && i <= std::max(failure.line, failure.end_line);
        char num[16];
        std::snprintf(num, sizeof(num), " %3d | ", i);
        out << num << (hit ? ">>>" : "   ") << " " << base::TruncateForDisplay(lines[i - 1])
            << "\n";
      }
      out << "--------------------\n";
    }
  }
  out << "ERROR: failed to solve: " << st.message() << "\n";
  return SecretRegistry::Global().Redact(out.str());
}

// buildx's --metadata-file: the image exporter's response plus buildx.build.ref.
std::string MetadataJson(const build::BuildResult& r, const std::string& build_ref) {
  nlohmann::json j = {
      {"buildx.build.ref", build_ref},
      {"containerimage.config.digest", r.image.config_digest},
      {"containerimage.digest", r.image.manifest_digest},
      {"containerimage.descriptor",
       {{"mediaType", image::kMediaTypeManifest},
        {"digest", r.image.manifest_digest},
        {"size", r.image.manifest_size}}},
  };
  std::string names;
  for (const auto& t : r.tags) {
    auto ref = image::ParseImageRef(t);
    if (ref.ok()) names += (names.empty() ? "" : ",") + ref->FullString();
  }
  if (!names.empty()) j["image.name"] = names;
  return j.dump(2);
}

// buildx's printWarnings, after a build that succeeded (not in quiet or json mode).
std::string WarningSummary(const std::vector<std::string>& warnings, build::ProgressMode mode) {
  if (warnings.empty() || mode == build::ProgressMode::kQuiet ||
      mode == build::ProgressMode::kJson) {
    return "";
  }
  std::string out = "\n " + std::to_string(warnings.size()) +
                    (warnings.size() == 1 ? " warning found:\n" : " warnings found:\n");
  for (const auto& w : warnings) out += " - " + w + "\n";
  return out;
}

volatile sig_atomic_t g_signal = 0;

// Ctrl-C / SIGTERM: stop the build at the next safe point; the running step's container is
// killed and torn down (secrets wiped), and the session is closed as "cancelled".
void OnSignal(int sig) {
  if (g_signal == 0) g_signal = sig;
  executor::RequestCancel();
}

Status InstallSignalHandlers() {
  LK_RETURN_IF_ERROR(executor::InitCancellation());
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    if (::sigaction(sig, &sa, nullptr) != 0) {
      return InternalError(std::string("sigaction: ") + std::strerror(errno));
    }
  }
  return Status::OK();
}

int RunBuild(const CommandContext& ctx, const BuildFlags& f) {
  if (Status st = InitProcess(ctx.global); !st.ok()) return Fail(st);
  if (Status st = InstallSignalHandlers(); !st.ok()) return Fail(st);
  // Bad flags exit with kExitUsage, before anything runs.
  auto usage = [](const Status& st) {
    Fail(st);
    return st.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
  };
  auto mode = build::ParseProgressMode(f.quiet ? "quiet" : f.progress);
  if (!mode.ok()) return usage(mode.status());
  auto config = LoadProcessConfig(ctx.global);
  if (!config.ok()) return Fail(config.status());
  auto req = MakeRequest(f, *config);
  if (!req.ok()) {
    // Only a platform with no emulation is not a usage error (buildx: a build failure).
    if (req.status().code() == StatusCode::kFailedPrecondition) return Fail(req.status());
    return usage(req.status());
  }
  BrokerOptions broker_options;
  broker_options.cancelled = &executor::CancelFlag();  // Ctrl-C also ends a hung provider fetch
  auto broker = Broker::Start(*config, broker_options);
  if (!broker.ok()) return Fail(broker.status());
  // What builds that died left behind (mounts holding secrets, containers, temp dirs) goes
  // before anything else touches the state dir; live concurrent builds are left alone.
  if (Status st = RecoverBuilderState(*config, req->state_dir, req->runtime, &(*broker)->audit());
      !st.ok()) {
    return Fail(st);
  }
  std::error_code ec;
  std::string cwd = std::filesystem::current_path(ec).string();
  auto flags = ParseSecretFlags(f.secrets, (*broker)->FlagContext(ProcessEnvNames(), cwd));
  if (!flags.ok()) return usage(flags.status());
  auto environment = ProcessEnvironment();
  if (!environment.ok()) return Fail(environment.status());

  SessionAttributes attrs;
  attrs.build_id = NewSessionId();
  const std::string build_ref = "latchkey/local/" + attrs.build_id;
  attrs.uid = ::geteuid();
  if (const char* user = std::getenv("USER")) attrs.user = user;
  attrs.working_dir = cwd;
  attrs.dockerfile = req->dockerfile_path;
  attrs.context = req->context_dir;
  attrs.labels = req->labels;
  attrs.declared = *flags;
  attrs.environment = *environment;
  auto session = (*broker)->sessions().Open(std::move(attrs));
  if (!session.ok()) return Fail(session.status());

  auto progress = build::NewProgressWriter(*mode, STDERR_FILENO);
  build::BuildFailure failure;
  auto result = build::Build(*req, **session, (*broker)->audit(), *progress, &failure);
  std::string failure_text = result.ok() ? "" : FailureText(failure, &*req, result.status());
  if (*mode == build::ProgressMode::kJson) {
    // CI systems read one JSON event per line: the error block is a "print" event too.
    std::stringstream lines(failure_text);
    for (std::string l; std::getline(lines, l);) progress->Print(l);
    failure_text.clear();
  }
  progress->Finish();  // plain/tty: prints the failed step's last output lines first
  bool cancelled = !result.ok() && result.status().code() == StatusCode::kCancelled;
  Status closed = (*session)->Close(result.ok() ? "completed" : cancelled ? "cancelled" : "failed");
  if (!result.ok()) {
    std::fputs(failure_text.c_str(), stderr);
    return cancelled && g_signal != 0 ? 128 + g_signal : kExitFailure;
  }
  if (!closed.ok()) return Fail(closed);
  if (!f.iidfile.empty()) {
    Status st = image::WriteFileAtomic(Absolute(f.iidfile), result->image.config_digest, 0644);
    if (!st.ok()) return Fail(st);
  }
  if (!f.metadata_file.empty()) {
    Status st = image::WriteFileAtomic(Absolute(f.metadata_file),
                                       MetadataJson(*result, build_ref) + "\n", 0644);
    if (!st.ok()) return Fail(st);
  }
  if (f.quiet) std::printf("%s\n", result->image.config_digest.c_str());
  std::fputs(WarningSummary(result->warnings, *mode).c_str(), stderr);
  return kExitOk;
}

CommandRegistrar reg("build", [](CLI::App& app, CommandContext& ctx) {
  auto f = std::make_shared<BuildFlags>();
  auto* b = app.add_subcommand("build", "Build an image from a Dockerfile");
  b->add_option("context", f->context, "Build context directory")->required();
  b->add_option("-f,--file", f->file, "Dockerfile (default: CONTEXT/Dockerfile)");
  b->add_option("--target", f->target, "Build this stage (default: the last one)");
  b->add_option("--build-arg", f->build_args, "Build argument KEY=VALUE (or KEY: from the env)");
  b->add_option("--secret", f->secrets,
                "Secret for RUN --mount=type=secret: id=ID[,src=PATH|,env=VAR|,type=PROVIDER]");
  b->add_option("--ssh", f->ssh, "SSH agent for RUN --mount=type=ssh: default|ID[=SOCKET]");
  b->add_option("--build-context", f->build_contexts,
                "Named context NAME=DIR or NAME=oci-layout://PATH[:TAG]");
  b->add_option("-t,--tag", f->tags, "Store the image in the local store as NAME:TAG");
  b->add_option("-o,--output", f->outputs,
                "Output: type=oci,dest=FILE.tar | type=oci-layout,dest=DIR | "
                "type=local,dest=DIR");
  b->add_flag("--no-cache", f->no_cache, "Run every step, ignoring the build cache");
  b->add_option("--no-cache-filter", f->no_cache_filter, "Do not use the cache for this stage");
  b->add_option("--progress", f->progress, "Progress output: auto, plain, tty, json or quiet");
  b->add_option("--network", f->network, "Network for RUN steps: default, none or host");
  b->add_option("--runtime", f->runtime, "OCI runtime binary (default: runc)");
  b->add_option("--allow-secret-leak", f->allow_leaks,
                "Let this secret id's value stay in the image (the leak is still audited)");
  b->add_option("--label", f->labels, "Image label KEY=VALUE");
  b->add_option("--iidfile", f->iidfile, "Write the image ID (config digest) to this file");
  b->add_option("--platform", f->platforms,
                "Target platform (only this host's, e.g. linux/amd64: there is no emulation)");
  b->add_flag("-q,--quiet", f->quiet, "Print only the image ID on success (no progress)");
  b->add_option("--add-host", f->add_hosts, "Add HOST:IP to RUN steps' /etc/hosts");
  b->add_option("--metadata-file", f->metadata_file,
                "Write the build result metadata (buildx's keys) to this JSON file");
  b->add_option("--shm-size", f->shm_size, "Size of /dev/shm in RUN steps (e.g. 128m)");
  b->add_option("--ulimit", f->ulimits, "Resource limit for RUN steps, NAME=SOFT[:HARD]");
  b->callback([f, &ctx] { ctx.exit_code = RunBuild(ctx, *f); });
});

}  // namespace
}  // namespace latchkey::cli
