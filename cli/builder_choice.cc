#include "cli/builder_choice.h"

#include <utility>

#include "base/split.h"
#include "builder/image/export_spec.h"
#include "cli/daemon_client.h"

namespace latchkey::cli {
namespace {

Status ValueError(const std::string& source, const std::string& value, const Status& problem) {
  return InvalidArgumentError(source + " \"" + value + "\": " + problem.message());
}

// Docker's default engine for a plain `docker`: $DOCKER_HOST, else the default socket. A
// tcp:// engine with $DOCKER_TLS_VERIFY set would be a TLS connection for Docker's client.
Status ResolveDockerDefault(const EnvLookup& env, BuilderChoice* c) {
  const char* host = env("DOCKER_HOST");
  if (host == nullptr || *host == '\0') {
    c->engine = kDefaultDockerHost;
    return Status::OK();
  }
  auto engine = ParseEngineAddress(host);
  if (!engine.ok()) {
    return InvalidArgumentError("DOCKER_HOST \"" + std::string(host) + "\" (used by " + c->setting +
                                "): " + engine.status().message());
  }
  c->engine = *engine;
  c->engine_origin = "DOCKER_HOST";
  const char* tls = env("DOCKER_TLS_VERIFY");
  if (tls != nullptr && *tls != '\0' && c->engine.rfind("tcp://", 0) == 0) {
    return InvalidArgumentError("DOCKER_TLS_VERIFY is set (used by " + c->setting +
                                " with DOCKER_HOST " + c->engine +
                                "): latchkey reaches Docker Engine without TLS; unset "
                                "DOCKER_TLS_VERIFY or use docker://unix:///path/docker.sock");
  }
  return Status::OK();
}

Status Unsupported(const std::string& flag, const BuilderChoice& c, const std::string& why) {
  return InvalidArgumentError(flag + " is not supported with " + c.setting + ": " + why);
}

}  // namespace

Result<BuilderChoice> ChooseBuilder(const std::optional<std::string>& flag, const Config& config,
                                    const EnvLookup& env) {
  BuilderChoice c;
  std::string value;
  if (flag.has_value()) {
    c.source = BuilderSource::kFlag;
    c.origin = "--builder";
    value = *flag;
  } else if (const char* e = env(kBuilderEnvVar); e != nullptr && *e != '\0') {
    c.source = BuilderSource::kEnv;
    c.origin = kBuilderEnvVar;
    value = e;
  } else if (!config.builder.use.empty()) {
    c.source = BuilderSource::kConfig;
    c.origin = "builder.use (" + config.builder.use_where.ToString() + ")";
    value = config.builder.use;
  } else {
    c.origin = "the default";
    c.setting = "embedded";
    return c;
  }
  auto parsed = ParseBuilderValue(value);
  if (!parsed.ok()) return ValueError(c.origin, value, parsed.status());
  c.kind = parsed->kind;
  const char* kind = BuilderKindName(c.kind);
  switch (c.source) {
    case BuilderSource::kFlag:
      c.setting = std::string("--builder ") + kind;
      break;
    case BuilderSource::kEnv:
      c.setting = std::string(kBuilderEnvVar) + "=" + kind;
      break;
    default:
      c.setting = std::string("builder.use: ") + kind;
      break;
  }
  if (c.kind == BuilderKind::kEmbedded) return c;
  if (!parsed->engine.empty()) {
    c.engine = parsed->engine;
    return c;
  }
  LK_RETURN_IF_ERROR(ResolveDockerDefault(env, &c));
  return c;
}

Status CheckDockerBuildFlags(const BuilderChoice& c, const BuildOptions& f,
                             const GlobalOptions& global, const EnvLookup& env) {
  if (c.kind != BuilderKind::kDocker) return Status::OK();
  const std::string not_latchkeyd = "the build runs on Docker Engine, not on latchkeyd; ";
  if (ExplicitDaemonHost(global, env) && (global.host_given || !global.host.empty())) {
    return Unsupported("--host", c, not_latchkeyd + "drop one of the two");
  }
  if (ExplicitDaemonHost(global, env)) {
    return Unsupported("LATCHKEY_HOST", c,
                       not_latchkeyd +
                           "unset LATCHKEY_HOST, or pass --builder embedded to "
                           "build on latchkeyd");
  }
  const std::string embedded = "build with --builder embedded";
  if (!f.build_contexts.empty()) {
    return Unsupported("--build-context", c,
                       "Docker Engine's build API takes one context; " + embedded);
  }
  for (const auto& o : f.outputs) {
    LK_ASSIGN_OR_RETURN(image::ExportSpec spec, image::ParseBuildOutputSpec(o));
    if (spec.type == image::ExportType::kImage && !spec.push && spec.name.name.empty()) {
      continue;  // the default: the image in the Engine's store
    }
    if (spec.type == image::ExportType::kImage && spec.push) {
      return Unsupported("-o \"" + o + "\"", c,
                         "the image stays in Docker Engine's image store; push it with `docker "
                         "push` after the build");
    }
    if (spec.type == image::ExportType::kImage) {
      return Unsupported("-o \"" + o + "\"", c, "name the image with -t");
    }
    return Unsupported("-o \"" + o + "\"", c,
                       "the image stays in Docker Engine's image store (name it with -t, export "
                       "it with `docker save`)");
  }
  if (f.push) {
    return Unsupported("--push", c,
                       "the image stays in Docker Engine's image store; push it with `docker "
                       "push` after the build");
  }
  if (!f.no_cache_filter.empty()) {
    return Unsupported("--no-cache-filter", c,
                       "Docker Engine's build API has no per-stage cache switch; use --no-cache");
  }
  if (!f.runtime.empty()) {
    return Unsupported("--runtime", c,
                       "Docker Engine runs RUN steps with its own runtime (dockerd "
                       "--default-runtime)");
  }
  size_t platforms = 0;
  std::string joined;
  for (const auto& p : f.platforms) {
    for (const auto& one : base::Split(p, ',')) {
      if (one.empty()) continue;
      ++platforms;
      joined += (joined.empty() ? "" : ",") + std::string(one);
    }
  }
  if (platforms > 1) {
    return Unsupported("--platform " + joined, c,
                       "Docker Engine builds one platform per build; build them one at a time");
  }
  return Status::OK();
}

}  // namespace latchkey::cli
