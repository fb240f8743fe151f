// `latchkey policy explain --secret ID [...]`: which policy rule would decide a request, why,
// and why each earlier rule did not match.
//
// `latchkey policy explain --registry HOST [--repository R] [--scope pull|push] [...]`: the
// same for the registry credential `registry:HOST` (kind registry), from the host's
// `registries:` entry, else the dockerconfig provider -- as a pull or push would ask for it.
//
// The request is described by flags. Where the secret comes from is one of:
//   --source file:PATH | env:VAR | store:REF  a source declared with --secret
//   --provider NAME [--ref REF]             a configured provider (REF is the path for "file")
//   neither                                 the `secrets.<ID>` binding in the configuration
// Exit codes: 0 a decision was printed (allow or deny; with --exit-code a deny exits 3),
// 1 the configuration or the provider name is invalid, 2 usage.
#include <climits>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "broker/config.h"
#include "broker/policy.h"
#include "broker/session.h"
#include "broker/source_path.h"
#include "broker/state_dir.h"
#include "cli/command_registry.h"

namespace latchkey::cli {
namespace {

constexpr int kExitDenied = 3;

struct ExplainFlags {
  std::string secret;
  std::string registry;
  std::string repository;
  std::string scope = "pull";
  std::string provider;
  std::string ref;
  std::vector<std::string> labels;
  std::string user;
  int64_t uid = -1;
  std::string client_cn;
  std::string dockerfile;
  std::string context;
  std::string source;
  bool exit_code = false;
};

std::string Absolute(const std::string& cwd, const std::string& path) {
  return CanonicalPath(JoinPath(cwd, path));
}

// The path a file source is decided on, exactly as the broker decides it (Session::Decide):
// the real path of the opened file, or the canonical spelling when it cannot be opened.
std::string FileSourcePolicyPath(const std::string& id, const std::string& abs) {
  auto opened = OpenedFile::Open(id, abs);
  return opened.ok() ? opened->resolved() : CanonicalPath(abs);
}

// A "file" provider reference as the broker resolves it: absolute as written, else under the
// provider's base_dir (the caller's directory when there is none, as before).
std::string FileRefPath(const Config& config, const std::string& cwd, const std::string& ref) {
  if (!ref.empty() && ref[0] == '/') return ref;
  if (const PluginConfig* p = config.FindPlugin("file")) {
    for (const auto& [key, value] : p->config) {
      if (key == "base_dir" && !value.empty() && value[0] == '/') return JoinPath(value, ref);
    }
  }
  return JoinPath(cwd, ref);
}

int RunExplain(const ExplainFlags& f, const GlobalOptions& global) {
  ConfigContext cctx = ConfigContextFromProcess();
  Result<Config> config = ResolveConfig(global.config_path, cctx);
  if (!config.ok()) {
    std::cerr << config.status().message() << "\n";
    return kExitFailure;
  }
  if (f.secret.empty() == f.registry.empty()) {
    std::cerr << "policy explain: give --secret ID or --registry HOST\n";
    return kExitUsage;
  }
  PolicyRequest req;
  req.secret_id = f.secret;
  req.user = f.user;
  if (f.uid >= 0) req.uid = static_cast<uint32_t>(f.uid);
  req.client_cn = f.client_cn;
  if (!f.dockerfile.empty()) req.dockerfile = Absolute(cctx.cwd, f.dockerfile);
  if (!f.context.empty()) req.context = Absolute(cctx.cwd, f.context);
  for (const std::string& l : f.labels) {
    size_t eq = l.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "--label " << l << ": expected KEY=VALUE\n";
      return kExitUsage;
    }
    req.labels[l.substr(0, eq)] = l.substr(eq + 1);
  }
  std::string origin;
  if (!f.registry.empty()) {
    if (!f.source.empty() || !f.provider.empty() || !f.ref.empty()) {
      std::cerr << "--registry describes a registry credential request; it cannot be combined "
                   "with --source, --provider or --ref\n";
      return kExitUsage;
    }
    if (f.scope != "pull" && f.scope != "push") {
      std::cerr << "--scope " << f.scope << ": expected pull or push\n";
      return kExitUsage;
    }
    req.kind = RequestKind::kRegistry;
    req.secret_id = kRegistrySecretPrefix + f.registry;
    req.host = f.registry;
    req.repository = f.repository;
    req.scope = f.scope;
    req.source = SecretSource::Kind::kProvider;
    const RegistryHostConfig* r = config->FindRegistry(f.registry);
    std::string ref;
    if (r != nullptr && !r->provider.empty()) {
      req.provider = r->provider;
      ref = r->ref;
      if (req.provider == "file" && !ref.empty()) {
        req.file_path = FileSourcePolicyPath(req.secret_id, FileRefPath(*config, cctx.cwd, ref));
      }
    } else if (config->FindPlugin(kDockerConfigProvider) != nullptr) {
      req.provider = kDockerConfigProvider;
      req.declared = true;
      ref = f.registry;
    } else {
      std::cerr << "registry " << f.registry << " has no registries: entry with a provider in "
                << (config->source.empty() ? std::string("the built-in configuration")
                                           : config->source)
                << ", and no " << kDockerConfigProvider
                << " provider is configured: a pull would go on without a credential\n";
      return kExitFailure;
    }
    PolicyExplanation e = config->policy.Explain(req);
    std::cout << "registry credential " << req.secret_id << " (" << req.scope
              << (req.repository.empty() ? "" : " " + req.repository) << ") from provider "
              << req.provider << ", ref " << ref << "\n";
    std::cout << e.decision.Describe() << "\n";
    for (const PolicyRuleSkip& s : e.skipped) std::cout << "  " << s.Describe() << "\n";
    if (f.exit_code && !e.decision.allowed) return kExitDenied;
    return kExitOk;
  }
  if (!f.source.empty()) {
    if (!f.provider.empty() || !f.ref.empty()) {
      std::cerr << "--source describes a declared source; it cannot be combined with "
                   "--provider or --ref\n";
      return kExitUsage;
    }
    if (f.source.rfind("file:", 0) == 0 && f.source.size() > 5) {
      req.source = SecretSource::Kind::kFile;
      req.provider = "file";
      std::string written = JoinPath(cctx.cwd, f.source.substr(5));
      req.file_path = FileSourcePolicyPath(f.secret, written);
      origin = "declared file " + written;
      if (req.file_path != written) origin += " (resolved: " + req.file_path + ")";
    } else if (f.source.rfind("env:", 0) == 0 && f.source.size() > 4) {
      req.source = SecretSource::Kind::kEnv;
      req.provider = "env";
      origin = "declared environment variable " + f.source.substr(4);
    } else if (f.source.rfind("store:", 0) == 0 && f.source.size() > 6) {
      req.source = SecretSource::Kind::kProvider;
      req.provider = kDeclarableProvider;
      req.declared = true;
      origin = "declared store secret " + f.source.substr(6);
    } else {
      std::cerr << "--source " << f.source << ": expected file:PATH, env:VAR or store:REF\n";
      return kExitUsage;
    }
  } else {
    std::string provider = f.provider;
    std::string ref = f.ref;
    if (provider.empty()) {
      const SecretBinding* b = config->FindSecret(f.secret);
      if (b == nullptr) {
        std::cerr << "secret " << f.secret << " has no binding under secrets: in "
                  << (config->source.empty() ? std::string("the built-in configuration")
                                             : config->source)
                  << "; say where it comes from with --source file:PATH, --source env:VAR or "
                     "--provider NAME\n";
        return kExitUsage;
      }
      provider = b->provider;
      if (ref.empty()) ref = b->ref;
      origin = "binding secrets." + f.secret + ": ";
    }
    if (config->FindPlugin(provider) == nullptr) {
      std::string names;
      for (const auto& p : config->plugins) names += (names.empty() ? "" : ", ") + p.name;
      std::cerr << "unknown provider \"" << provider << "\" (configured: " << names << ")\n";
      return kExitFailure;
    }
    req.source = SecretSource::Kind::kProvider;
    req.provider = provider;
    if (provider == "file" && !ref.empty()) {
      req.file_path = FileSourcePolicyPath(f.secret, FileRefPath(*config, cctx.cwd, ref));
    }
    origin += "provider " + provider;
    if (!ref.empty()) origin += ", ref " + ref;
  }

  PolicyExplanation e = config->policy.Explain(req);
  std::cout << "secret \"" << f.secret << "\" from " << origin << "\n";
  std::cout << e.decision.Describe() << "\n";
  for (const PolicyRuleSkip& s : e.skipped) std::cout << "  " << s.Describe() << "\n";
  if (f.exit_code && !e.decision.allowed) return kExitDenied;
  return kExitOk;
}

CommandRegistrar reg("policy", [](CLI::App& app, CommandContext& ctx) {
  CLI::App* policy = AddCommandGroup(app, "policy", "Inspect the secret policy");
  CLI::App* explain = policy->add_subcommand(
      "explain", "Show which policy rule would decide a secret request, and why");
  auto f = std::make_shared<ExplainFlags>();
  explain->add_option("--secret", f->secret, "Secret id");
  explain->add_option("--registry", f->registry,
                      "Registry host: explain the registry credential registry:HOST");
  explain->add_option("--repository", f->repository, "Repository on --registry (team/app)");
  explain->add_option("--scope", f->scope, "pull (default) or push, with --registry");
  explain->add_option("--provider", f->provider, "Configured provider that serves the secret");
  explain->add_option("--ref", f->ref, "Provider reference (the path for the file provider)");
  explain->add_option("--source", f->source,
                      "Declared source: file:PATH, env:VAR or store:REF (as with build --secret)");
  explain->add_option("--label", f->labels, "Build label KEY=VALUE (repeatable)");
  explain->add_option("--user", f->user, "Requesting user name");
  explain->add_option("--uid", f->uid, "Requesting uid")->check(CLI::Range(0LL, 4294967294LL));
  explain->add_option("--client-cn", f->client_cn,
                      "Client certificate subject CN (a latchkeyd TCP client)");
  explain->add_option("--dockerfile", f->dockerfile, "Dockerfile path");
  explain->add_option("--context", f->context, "Build context path");
  explain->add_flag("--exit-code", f->exit_code, "Exit 3 when the decision is deny");
  explain->callback([&ctx, f] { ctx.exit_code = RunExplain(*f, ctx.global); });
});

}  // namespace
}  // namespace latchkey::cli
