#include "cli/daemon_build_runner.h"

#include <utility>
#include <vector>

#include "base/file.h"
#include "broker/logging.h"
#include "builder/image/export_spec.h"
#include "cli/build_job.h"
#include "daemon/peer.h"

namespace latchkey::cli {
BuildOptions OptionsOf(const daemon::DaemonBuild& build) {
  const latchkey::v1::BuildRequest& r = *build.request;
  BuildOptions f;
  f.context = build.context_dir;
  f.file = build.dockerfile_path;
  f.target = r.target();
  for (const auto& [k, v] : r.build_args()) f.build_args.push_back(k + "=" + v);
  f.tags.assign(r.tags().begin(), r.tags().end());
  f.outputs.assign(r.outputs().begin(), r.outputs().end());
  f.push = r.push();
  f.no_cache = r.no_cache();
  f.no_cache_filter.assign(r.no_cache_filter().begin(), r.no_cache_filter().end());
  if (!r.network().empty()) f.network = r.network();
  f.pull = r.pull();
  f.allow_leaks.assign(r.allow_secret_leaks().begin(), r.allow_secret_leaks().end());
  for (const auto& [k, v] : r.labels()) f.labels.push_back(k + "=" + v);
  if (!r.platform().empty()) f.platforms.push_back(r.platform());
  f.add_hosts.assign(r.add_hosts().begin(), r.add_hosts().end());
  f.shm_size = r.shm_size();
  f.ulimits.assign(r.ulimits().begin(), r.ulimits().end());
  return f;
}

Status RouteClientOutputs(const daemon::DaemonBuild& build, build::BuildRequest* req) {
  const latchkey::v1::BuildRequest& r = *build.request;
  for (size_t i = 0; i < req->outputs.size() && i < static_cast<size_t>(r.outputs_size()); ++i) {
    image::ExportSpec& out = req->outputs[i];
    if (out.type == image::ExportType::kImage) continue;  // the daemon's store or a registry
    if (build.job_dir.empty() || !build.send_output) {
      return FailedPreconditionError("-o " + r.outputs(static_cast<int>(i)) +
                                     ": this latchkeyd cannot send outputs to its client");
    }
    out.shown_dest = i < static_cast<size_t>(r.output_dests_size())
                         ? r.output_dests(static_cast<int>(i))
                         : std::string();
    if (out.shown_dest.empty()) {
      return InvalidArgumentError("-o " + r.outputs(static_cast<int>(i)) +
                                  ": the request names no client destination (output_dests)");
    }
    out.dest = build.job_dir + "/output-" + std::to_string(i) +
               (out.type == image::ExportType::kOciArchive ? ".tar" : "");
  }
  if (build.send_output) {
    req->deliver_output = [send = build.send_output](size_t index, const image::ExportSpec& out,
                                                     int) -> Status {
      if (out.type == image::ExportType::kImage) return Status::OK();
      Status st = send(index, out.dest);
      (void)base::RemoveAll(out.dest);  // sent: the daemon keeps no copy
      return st;
    };
  }
  return Status::OK();
}

Status AddBuildContexts(const daemon::DaemonBuild& build, build::BuildRequest* req) {
  for (const auto& bc : build.request->build_contexts()) {
    auto it = build.build_context_dirs.find(bc.name());
    if (it == build.build_context_dirs.end()) {
      return FailedPreconditionError("build context \"" + bc.name() +
                                     "\" was not transferred to latchkeyd");
    }
    build::NamedContext nc;
    nc.name = bc.name();
    nc.kind = bc.oci_layout() ? build::NamedContext::Kind::kOciLayout
                              : build::NamedContext::Kind::kDirectory;
    nc.path = it->second;
    nc.tag = bc.tag();
    req->named_contexts.push_back(std::move(nc));
  }
  return Status::OK();
}

Result<std::unique_ptr<DaemonBuildRunner>> DaemonBuildRunner::Start(std::string builder_state_dir) {
  return std::unique_ptr<DaemonBuildRunner>(new DaemonBuildRunner(std::move(builder_state_dir)));
}

Status DaemonBuildRunner::Run(const daemon::DaemonBuild& build, build::ProgressWriter& progress,
                              latchkey::v1::BuildResult* result) {
  const latchkey::v1::BuildRequest& r = *build.request;
  if (build.broker == nullptr) {
    return FailedPreconditionError("latchkeyd runs builds only with its broker");
  }
  daemon::BrokerHost& host = *build.broker;
  // The generation current now: its configuration for the whole build.
  std::shared_ptr<const Config> config = host.config();
  BuildOptions f = OptionsOf(build);
  std::string sde = r.source_date_epoch();
  auto env = [&sde](const char* name) -> const char* {
    return std::string_view(name) == "SOURCE_DATE_EPOCH" && !sde.empty() ? sde.c_str() : nullptr;
  };
  LK_ASSIGN_OR_RETURN(build::BuildRequest req, MakeBuildRequest(f, *config, env));
  req.state_dir = state_dir_;
  req.ssh_dialer = build.ssh_agents;
  LK_RETURN_IF_ERROR(RouteClientOutputs(build, &req));
  LK_RETURN_IF_ERROR(AddBuildContexts(build, &req));

  SessionAttributes attrs;
  if (build.peer) daemon::SetPeerAttributes(daemon::UnixPeerInfo(*build.peer), &attrs);
  for (const auto& s : r.secrets()) {
    SecretSource src;
    src.id = s.id();
    src.kind = SecretSource::Kind::kProvider;
    src.path_or_var_or_ref = s.ref();
    src.provider = s.kind() == "file" || s.kind() == "env" ? kClientProvider : s.kind();
    attrs.declared.push_back(std::move(src));
  }
  attrs.client_secrets = build.client_secrets;
  attrs.client_registry = build.client_registry;

  JobBroker broker{&host.audit(), [&host](SessionAttributes a) { return host.Open(std::move(a)); }};
  BuildJobOutcome job = RunBuildJob(broker, *config, req, std::move(attrs), progress);
  if (!job.started) return job.result.status();
  if (!job.gc_warning.empty()) GetLogger("latchkeyd")->warn("builder.gc: {}", job.gc_warning);
  result->set_build_ref(job.build_ref);
  if (!job.result.ok()) {
    result->set_code(static_cast<int32_t>(job.result.status().code()));
    result->set_message(job.result.status().message());
    result->set_failed_vertex(job.failure.vertex);
    result->set_failed_line(job.failure.line);
    result->set_failed_end_line(job.failure.end_line);
    return Status::OK();
  }
  if (!job.closed.ok()) {
    result->set_code(static_cast<int32_t>(job.closed.code()));
    result->set_message(job.closed.message());
    return Status::OK();
  }
  const build::BuildResult& b = *job.result;
  result->set_image_id(b.image.config_digest);
  result->set_manifest_digest(b.image.manifest_digest);
  result->set_manifest_size(static_cast<int64_t>(b.image.manifest_size));
  for (const auto& t : b.tags) result->add_tags(t);
  for (const auto& w : b.warnings) result->add_warnings(w);
  for (const auto& m : b.materials) {
    auto* pm = result->add_materials();
    pm->set_ref(m.ref);
    pm->set_digest(m.digest);
    pm->set_platform(m.platform);
    pm->set_pulled(m.pulled);
  }
  result->set_steps_run(b.steps_run);
  result->set_steps_cached(b.steps_cached);
  return Status::OK();
}

}  // namespace latchkey::cli
