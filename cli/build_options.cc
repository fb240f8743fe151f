#include "cli/build_options.h"

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <utility>

#include "builder/image/export_spec.h"
#include "builder/image/fs_util.h"
#include "builder/image/image_ref.h"
#include "builder/image/reference.h"
#include "builder/solver/build_flags.h"
#include "cli/cli_setup.h"

namespace latchkey::cli {
namespace {

// Docker's flag error: invalid argument "<value>" for "<flag>" flag: <message>.
Status FlagError(const std::string& value, const std::string& flag, const Status& st) {
  return Status(st.code(),
                "invalid argument \"" + value + "\" for \"" + flag + "\" flag: " + st.message());
}

Result<std::pair<std::string, std::string>> KeyValue(const std::string& flag,
                                                     const std::string& v) {
  size_t eq = v.find('=');
  if (eq == 0 || eq == std::string::npos) {
    return InvalidArgumentError("invalid " + flag + " \"" + v + "\": want KEY=VALUE");
  }
  return std::make_pair(v.substr(0, eq), v.substr(eq + 1));
}

// Docker: `--build-arg NAME` takes the value from the environment, if set.
Status AddBuildArgs(const std::vector<std::string>& values, const EnvLookup& env,
                    std::map<std::string, std::string>* args) {
  for (const auto& a : values) {
    size_t eq = a.find('=');
    if (eq == std::string::npos) {
      if (const char* v = env(a.c_str())) (*args)[a] = v;
      continue;
    }
    if (eq == 0) return InvalidArgumentError("invalid --build-arg \"" + a + "\": want KEY=VALUE");
    (*args)[a.substr(0, eq)] = a.substr(eq + 1);
  }
  return Status::OK();
}

// Docker's text: invalid argument "X" for "-t, --tag" flag: <reference error>.
Result<std::string> ParseTag(const std::string& t) {
  auto parsed = image::ParseNormalizedReference(t);
  auto ref = image::ParseImageRef(t);
  if (!parsed.ok() || !ref.ok()) {
    std::string why = !parsed.ok() ? parsed.status().message() : ref.status().message();
    if (parsed.ok()) why = why.substr(why.find(": ") + 2);
    return InvalidArgumentError("invalid argument \"" + t + "\" for \"-t, --tag\" flag: " + why);
  }
  return ref->ToString();
}

Result<executor::NetworkMode> ParseNetwork(const std::string& network) {
  if (network == "default" || network == "host") return executor::NetworkMode::kHost;
  if (network == "none") return executor::NetworkMode::kNone;
  return InvalidArgumentError("invalid --network \"" + network + "\": want default, none or host");
}

// SOURCE_DATE_EPOCH: the build arg (BuildKit's way) or the environment; nullopt when neither.
Result<std::optional<int64_t>> SourceDateEpoch(const std::map<std::string, std::string>& args,
                                               const EnvLookup& env) {
  std::string sde;
  if (auto it = args.find("SOURCE_DATE_EPOCH"); it != args.end()) {
    sde = it->second;
  } else if (const char* e = env("SOURCE_DATE_EPOCH")) {
    sde = e;
  }
  if (sde.empty()) return std::optional<int64_t>();
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(sde.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v < 0) {
    return InvalidArgumentError("invalid SOURCE_DATE_EPOCH \"" + sde +
                                "\": want seconds since the epoch");
  }
  return std::optional<int64_t>(v);
}

// The run-step flags buildx takes: --add-host, --shm-size, --ulimit.
Status AddRunOptions(const BuildOptions& f, build::BuildRequest* req) {
  for (const auto& h : f.add_hosts) {
    LK_ASSIGN_OR_RETURN(executor::ExtraHost eh, build::ParseAddHost(h));
    req->extra_hosts.push_back(std::move(eh));
  }
  if (!f.shm_size.empty()) {
    auto n = build::ParseShmSize(f.shm_size);
    if (!n.ok()) return FlagError(f.shm_size, "--shm-size", n.status());
    req->shm_size_bytes = *n;
  }
  for (const auto& u : f.ulimits) {
    auto r = build::ParseUlimit(u);
    if (!r.ok()) return FlagError(u, "--ulimit", r.status());
    req->ulimits.push_back(*r);
  }
  return Status::OK();
}

}  // namespace

std::string AbsolutePath(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

void AddBuildOptions(CLI::App* b, BuildOptions* f) {
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
  b->add_option(
      "-o,--output", f->outputs,
      "Output: type=oci,dest=FILE.tar | type=oci-layout,dest=DIR | "
      "type=local,dest=DIR | type=image,name=REG/REPO:TAG[,push=true] | "
      "type=registry[,name=REG/REPO:TAG]; the oci types take "
      "[,compression=gzip|zstd|uncompressed][,compression-level=N][,force-compression=true]");
  b->add_flag("--push", f->push,
              "Push the image to its registry: every -t name (-o type=registry)");
  b->add_flag("--no-cache", f->no_cache, "Run every step, ignoring the build cache");
  b->add_flag("--pull", f->pull,
              "Resolve every image tag against its registry again (default: use the local copy)");
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
  b->add_option_function<std::string>(
      "--builder", [f](const std::string& v) { f->builder = v; },
      "Who runs the build: embedded (default), docker (Docker Engine at $DOCKER_HOST, else "
      "unix:///var/run/docker.sock), docker://unix:///PATH.sock or docker://tcp://HOST:PORT "
      "(also $LATCHKEY_BUILDER, config builder.use)");
}

Result<build::ProgressMode> BuildProgressMode(const BuildOptions& options) {
  return build::ParseProgressMode(options.quiet ? "quiet" : options.progress);
}

Result<std::map<std::string, std::string>> ParseSshFlags(const std::vector<std::string>& values,
                                                         const EnvLookup& env) {
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
      const char* sock = env("SSH_AUTH_SOCK");
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
    out[id] = AbsolutePath(path);
  }
  return out;
}

Result<build::BuildRequest> MakeBuildRequest(const BuildOptions& f, const Config& config,
                                             const EnvLookup& env) {
  build::BuildRequest req;
  req.context_dir = AbsolutePath(f.context);
  struct stat st {};
  if (::stat(req.context_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return NotFoundError("build context " + f.context +
                         " is not a directory (pass the directory holding your files, "
                         "e.g. `latchkey build .`)");
  }
  req.dockerfile_path = f.file.empty() ? req.context_dir + "/Dockerfile" : AbsolutePath(f.file);
  Result<std::string> text = image::ReadFile(req.dockerfile_path);
  if (!text.ok()) {
    return NotFoundError("failed to read dockerfile: open " + req.dockerfile_path + ": " +
                         (errno ? std::strerror(errno) : text.status().message()));
  }
  req.dockerfile_text = std::move(text).value();
  req.frontend.target = f.target;
  LK_RETURN_IF_ERROR(AddBuildArgs(f.build_args, env, &req.frontend.build_args));
  for (const auto& c : f.build_contexts) {
    LK_ASSIGN_OR_RETURN(build::NamedContext nc, build::ParseNamedContext(c));
    nc.path = AbsolutePath(nc.path);
    req.named_contexts.push_back(std::move(nc));
  }
  for (const auto& t : f.tags) {
    LK_ASSIGN_OR_RETURN(std::string tag, ParseTag(t));
    req.tags.push_back(std::move(tag));
  }
  for (const auto& o : f.outputs) {
    LK_ASSIGN_OR_RETURN(image::ExportSpec spec, image::ParseBuildOutputSpec(o));
    if (spec.dest == image::kStdoutDest) {
      // dest=-: the archive on stdout (BuildKit's), only for the archive type.
      if (spec.type != image::ExportType::kOciArchive) {
        return InvalidArgumentError("invalid -o \"" + o +
                                    "\": dest=- (stdout) is only for type=oci");
      }
      if (f.quiet) {
        return InvalidArgumentError("-q cannot be used with -o \"" + o +
                                    "\": both write to stdout");
      }
    } else if (spec.type != image::ExportType::kImage) {
      spec.dest = AbsolutePath(spec.dest);
    }
    req.outputs.push_back(std::move(spec));
  }
  if (f.push) {
    image::ExportSpec spec;
    spec.type = image::ExportType::kImage;
    spec.push = true;
    req.outputs.push_back(std::move(spec));
  }
  for (const auto& out : req.outputs) {
    if (out.type == image::ExportType::kImage && out.push && out.name.name.empty() &&
        req.tags.empty()) {
      return InvalidArgumentError("tag is needed when pushing to registry");
    }
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
  LK_ASSIGN_OR_RETURN(req.network, ParseNetwork(f.network));
  req.runtime = !f.runtime.empty()                ? f.runtime
                : !config.builder.runtime.empty() ? config.builder.runtime
                                                  : "runc";
  req.allowed_leaks.insert(f.allow_leaks.begin(), f.allow_leaks.end());
  req.pull = f.pull;
  LK_ASSIGN_OR_RETURN(req.ssh_agents, ParseSshFlags(f.ssh, env));
  LK_ASSIGN_OR_RETURN(req.source_date_epoch, SourceDateEpoch(req.frontend.build_args, env));
  LK_ASSIGN_OR_RETURN(req.frontend.target_platform, build::ParsePlatforms(f.platforms));
  LK_RETURN_IF_ERROR(AddRunOptions(f, &req));
  req.state_dir = BuilderStateDir(config);
  return req;
}

}  // namespace latchkey::cli
