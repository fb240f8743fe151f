#include "builder/executor/executor.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "base/in_root.h"
#include "base/owner_lock.h"
#include "base/path.h"
#include "builder/executor/cache_dirs.h"
#include "builder/executor/cancel.h"
#include "builder/executor/config_feeder.h"
#include "builder/executor/mount_stubs.h"
#include "builder/executor/oci_config.h"
#include "builder/executor/overlay_volatile.h"
#include "builder/executor/runc_runtime.h"
#include "builder/executor/ssh_forwarder.h"
#include "builder/executor/sys_util.h"
#include "builder/executor/user_lookup.h"
#include "secure/redactor.h"

namespace latchkey::executor {
namespace {

// BuildKit's generated /etc/hosts (executor/oci/hosts.go).
constexpr const char* kHostsFile =
    "127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n";
constexpr size_t kBundleTmpfsBytes = 8u << 20;

// Everything a step sets up, torn down by Teardown in reverse order.
struct StepState {
  std::string id;
  // <state>/secrets/<id>.lock, held while the step runs: state recovery leaves the bundle and
  // scratch dirs of a live step alone (image/owner_lock.h).
  base::OwnerLock owner;
  Runtime* runtime = nullptr;
  Mounter* mounter = nullptr;
  VolatileSupport* overlay_volatile = nullptr;
  ContainerRef container;
  bool started = false;  // the runtime started the container
  std::string bundle;    // the per-step tmpfs
  bool bundle_mounted = false;
  std::string rootfs;
  bool rootfs_mounted = false;
  base::UniqueFd root_fd;
  std::string scratch;                     // <state>/scratch/<id>
  std::vector<std::string> secret_mounts;  // tmpfs mountpoints inside the bundle
  std::vector<std::string> bind_overlays;  // rw bind overlay mountpoints in scratch
  std::vector<std::unique_ptr<SshForwarder>> forwarders;
  std::vector<CacheLease> caches;
  std::optional<MountStubs> stubs;
  std::vector<std::string> lower_dirs;
  std::string upper_dir;
  std::string work_dir;
  std::unique_ptr<ConfigFeeder> config;  // <bundle>/config.json, a FIFO
};

void Keep(Status& first, const Status& s) {
  if (first.ok() && !s.ok()) first = s;
}

Status Teardown(StepState& st) {
  Status first;
  if (st.config) Keep(first, st.config->Finish());
  for (auto& f : st.forwarders) f->Stop();
  std::vector<std::string> restored;
  if (st.stubs && st.root_fd.valid()) {
    Keep(first, st.stubs->Remove(st.root_fd.get()));
    restored = st.stubs->restored_ancestors();
  }
  st.root_fd.reset();
  for (auto it = st.secret_mounts.rbegin(); it != st.secret_mounts.rend(); ++it) {
    WipeTree(*it);
    Keep(first, st.mounter->Unmount(*it));
  }
  for (auto it = st.bind_overlays.rbegin(); it != st.bind_overlays.rend(); ++it) {
    Keep(first, st.mounter->Unmount(*it));
  }
  if (!st.scratch.empty()) Keep(first, RemoveAll(st.scratch));
  // A runtime killed on cancel (or by a dead builder: state recovery) leaves its state and
  // cgroups; its container died with it (runtime_process.h).
  if (st.started) st.runtime->Delete(st.container);
  if (st.rootfs_mounted) {
    Status s = st.mounter->Unmount(st.rootfs);
    Keep(first, s);
    if (s.ok()) Keep(first, PruneCopiedUpDirs(st.upper_dir, st.lower_dirs, restored));
    if (s.ok()) Keep(first, ClearVolatileMark(st.work_dir));
  }
  if (st.bundle_mounted) {
    WipeTree(st.bundle);
    Keep(first, st.mounter->Unmount(st.bundle));
  }
  if (!st.bundle.empty()) ::rmdir(st.bundle.c_str());
  st.caches.clear();
  st.owner.Release();  // after the bundle and scratch dirs are gone
  return first;
}

// The message of the last level=error line of the runtime's JSON log (runc --log-format json),
// or "" when there is none.
std::string LastRuntimeError(const std::string& log) {
  std::string last;
  size_t pos = 0;
  while (pos < log.size()) {
    size_t nl = log.find('\n', pos);
    if (nl == std::string::npos) nl = log.size();
    auto j = nlohmann::json::parse(log.substr(pos, nl - pos), nullptr, false);
    if (j.is_object() && j.value("level", "") == "error") last = j.value("msg", "");
    pos = nl + 1;
  }
  return last;
}

Status CheckOverlayPath(const std::string& p, const char* what) {
  if (p.empty()) return InvalidArgumentError(std::string("invalid step: empty ") + what);
  if (p.find_first_of(":,\\") != std::string::npos) {
    return InvalidArgumentError(std::string("invalid step: ") + what + " " + p +
                                " contains ':', ',' or '\\', which overlayfs options cannot hold");
  }
  return Status::OK();
}

bool UnderProcOrSys(const std::string& p) {
  for (const char* top : {"/proc", "/sys"}) {
    std::string t = top;
    if (p == t || p.compare(0, t.size() + 1, t + "/") == 0) return true;
  }
  return false;
}

// Resolves a user mount target inside the root and refuses / , /proc and /sys.
Result<std::string> ResolveDestination(StepState& st, const std::string& root_host,
                                       const char* type, const std::string& target) {
  std::string lexical = base::RootedPath(target);
  const std::string managed = "/proc and /sys are managed by the runtime";
  if (UnderProcOrSys(lexical)) {
    return InvalidArgumentError(std::string(type) + " target " + lexical +
                                " is not allowed: " + managed);
  }
  LK_ASSIGN_OR_RETURN(std::string resolved,
                      base::ResolveInRoot(st.root_fd.get(), root_host, lexical));
  if (UnderProcOrSys(resolved) || resolved == "/") {
    return InvalidArgumentError(std::string(type) + " target " + lexical +
                                " is not allowed: it resolves to " + resolved +
                                " inside the root filesystem; " + managed);
  }
  return resolved;
}

Status SetUpSecretFile(StepState& st, size_t index, const SecretMount& m, const SecretBuffer& value,
                       const std::string& dest, std::vector<OciMount>& mounts) {
  const uint32_t mode = m.mode;
  bool exec = (mode & 0111) != 0;
  std::string dir = st.bundle + "/secret" + std::to_string(index);
  if (::mkdir(dir.c_str(), 0700) != 0) return ErrnoStatus("mkdir", dir, errno);
  size_t pages = value.size() / 4096 + 2;
  std::string opts = std::string("mode=0700,size=") + std::to_string(pages * 4096);
  unsigned long flags = MS_NODEV | MS_NOSUID | (exec ? 0 : MS_NOEXEC);
  LK_RETURN_IF_ERROR(st.mounter->Mount("tmpfs", dir, flags, opts));
  st.secret_mounts.push_back(dir);
  std::string file = dir + "/" + RandomHex(16);
  base::UniqueFd fd(
      ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoStatus("create", "secret file for " + m.id, errno);
  LK_RETURN_IF_ERROR(WriteAll(fd.get(), value.data(), value.size(), "secret file for " + m.id));
  if (::fchown(fd.get(), m.uid, m.gid) != 0) return ErrnoStatus("chown", "secret file", errno);
  if (::fchmod(fd.get(), mode & 07777) != 0) return ErrnoStatus("chmod", "secret file", errno);
  std::vector<std::string> options = {"rbind", "ro", "nosuid", "nodev"};
  if (!exec) options.push_back("noexec");
  mounts.push_back({dest, "bind", file, options});
  return Status::OK();
}

Result<std::string> BindSource(const BindMount& m, const MountSources& sources) {
  std::string root;
  std::string where;
  if (m.from.empty()) {
    if (sources.context_dir.empty()) {
      return FailedPreconditionError("bind mount needs the build context, but none is available");
    }
    root = sources.context_dir;
    where = "the build context";
  } else {
    auto it = sources.from_dirs.find(m.from);
    if (it == sources.from_dirs.end()) {
      return FailedPreconditionError("bind mount from \"" + m.from +
                                     "\" is not available to the executor");
    }
    root = it->second;
    where = "\"" + m.from + "\"";
  }
  base::UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) return ErrnoStatus("open", root, errno);
  auto src = base::OpenInRoot(root_fd.get(), m.source.empty() ? "/" : m.source, O_PATH);
  if (!src.ok()) {
    if (src.status().code() == StatusCode::kNotFound) {
      return NotFoundError("bind mount source \"" + m.source + "\" does not exist in " + where);
    }
    return src.status();
  }
  return base::FdPath(src->get());
}

Status SetUpBind(StepState& st, size_t index, const BindMount& m, const MountSources& sources,
                 const std::string& dest, std::vector<OciMount>& mounts) {
  LK_ASSIGN_OR_RETURN(std::string host, BindSource(m, sources));
  if (m.readonly) {
    mounts.push_back({dest, "bind", host, {"rbind", "ro"}});
    return Status::OK();
  }
  // rw: writes land in a throwaway copy-on-write layer that is discarded after the step.
  std::string base = st.scratch + "/bind" + std::to_string(index);
  LK_RETURN_IF_ERROR(MakeDirs(base, 0700));
  struct stat sst;
  if (::stat(host.c_str(), &sst) != 0) return ErrnoStatus("stat", host, errno);
  if (!S_ISDIR(sst.st_mode)) {
    std::string copy = base + "/file";
    LK_ASSIGN_OR_RETURN(std::string data, base::ReadFile(host));
    LK_RETURN_IF_ERROR(WriteNewFile(copy, data, sst.st_mode & 07777));
    mounts.push_back({dest, "bind", copy, {"rbind", "rw"}});
    return Status::OK();
  }
  LK_RETURN_IF_ERROR(CheckOverlayPath(host, "bind source"));
  for (const char* d : {"/upper", "/work", "/merged"}) LK_RETURN_IF_ERROR(MakeDirs(base + d, 0755));
  LK_RETURN_IF_ERROR(MountWritableOverlay(
      *st.mounter, base + "/merged", 0,
      "lowerdir=" + host + ",upperdir=" + base + "/upper,workdir=" + base + "/work",
      *st.overlay_volatile));
  st.bind_overlays.push_back(base + "/merged");
  mounts.push_back({dest, "bind", base + "/merged", {"rbind", "rw"}});
  return Status::OK();
}

Result<StepResult> RunStepInner(const ExecutorOptions& options, const StepSpec& spec,
                                SecretProvider& secrets, const MountSources& sources,
                                OutputSink& sink, StepState& st) {
  if (spec.args.empty()) return InvalidArgumentError("invalid step: no command (args is empty)");
  if (spec.lower_dirs.empty()) return InvalidArgumentError("invalid step: no lower directories");
  if (options.state_dir.empty()) return InvalidArgumentError("invalid step: no state directory");
  for (const auto& l : spec.lower_dirs) LK_RETURN_IF_ERROR(CheckOverlayPath(l, "lower dir"));
  LK_RETURN_IF_ERROR(CheckOverlayPath(spec.upper_dir, "upper dir"));
  LK_RETURN_IF_ERROR(CheckOverlayPath(spec.work_dir, "work dir"));
  st.lower_dirs = spec.lower_dirs;
  st.upper_dir = spec.upper_dir;
  st.work_dir = spec.work_dir;

  const std::string secrets_root = options.state_dir + "/secrets";
  LK_RETURN_IF_ERROR(MakeDirs(secrets_root, 0700));
  if (::chmod(options.state_dir.c_str(), 0700) != 0 || ::chmod(secrets_root.c_str(), 0700) != 0) {
    return ErrnoStatus("chmod", secrets_root, errno);
  }
  st.id = RandomHex(8);
  LK_ASSIGN_OR_RETURN(st.owner, base::OwnerLock::Create(secrets_root + "/" + st.id + ".lock"));
  st.bundle = secrets_root + "/" + st.id;
  if (::mkdir(st.bundle.c_str(), 0700) != 0) return ErrnoStatus("mkdir", st.bundle, errno);
  LK_RETURN_IF_ERROR(st.mounter->Mount("tmpfs", st.bundle, MS_NODEV | MS_NOSUID | MS_NOEXEC,
                                       "mode=0700,size=" + std::to_string(kBundleTmpfsBytes)));
  st.bundle_mounted = true;
  st.scratch = options.state_dir + "/scratch/" + st.id;
  LK_RETURN_IF_ERROR(MakeDirs(st.scratch, 0700));

  st.rootfs = st.bundle + "/rootfs";
  if (::mkdir(st.rootfs.c_str(), 0755) != 0) return ErrnoStatus("mkdir", st.rootfs, errno);
  std::string lowers;
  for (const auto& l : spec.lower_dirs) lowers += (lowers.empty() ? "" : ":") + l;
  std::string ovl = "lowerdir=" + lowers + ",upperdir=" + spec.upper_dir +
                    ",workdir=" + spec.work_dir + ",redirect_dir=off,metacopy=off,index=off";
  if (ovl.size() >= 4000) {  // ",volatile" still fits the page
    return InvalidArgumentError("invalid step: " + std::to_string(spec.lower_dirs.size()) +
                                " lower directories make an overlay option string of " +
                                std::to_string(ovl.size()) +
                                " bytes; the kernel takes at most 4095 (use shorter paths)");
  }
  LK_RETURN_IF_ERROR(MountWritableOverlay(*st.mounter, st.rootfs, 0, ovl, *st.overlay_volatile));
  st.rootfs_mounted = true;
  st.root_fd = base::UniqueFd(::open(st.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!st.root_fd.valid()) return ErrnoStatus("open", st.rootfs, errno);
  LK_ASSIGN_OR_RETURN(std::string root_host, base::FdPath(st.root_fd.get()));

  LK_ASSIGN_OR_RETURN(ExecUser user, ResolveUserInRoot(st.root_fd.get(), spec.user));
  std::string cwd = base::RootedPath(spec.workdir.empty() ? "/" : spec.workdir);
  LK_RETURN_IF_ERROR(base::MakeDirsInRoot(st.root_fd.get(), cwd, 0755, 0, 0));

  std::vector<OciMount> mounts;
  std::vector<SecretEnv> secret_env;
  std::vector<std::string> env = spec.env;
  StepResult result;
  size_t max_secret = 0;
  std::shared_ptr<AgentDialer> dialer;  // of the ssh mounts, made at the first one
  bool ssh_sock_set = std::any_of(env.begin(), env.end(), [](const std::string& e) {
    return e.rfind("SSH_AUTH_SOCK=", 0) == 0;
  });
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    const StepMount& mount = spec.mounts[i];
    const std::string& target = MountTarget(mount);
    std::string dest;
    if (!target.empty()) {
      LK_ASSIGN_OR_RETURN(dest, ResolveDestination(st, root_host, MountTypeName(mount), target));
    }
    if (const auto* m = std::get_if<SecretMount>(&mount)) {
      auto fetched = secrets.Fetch(m->id);
      std::shared_ptr<const SecretBuffer> value;
      // A fetch cut short by the build's cancellation (a hung provider, say) is a cancelled
      // step, not a failed one.
      if (!fetched.ok() && CancelRequested()) return CancelledError("build cancelled");
      if (!fetched.ok()) {
        // NOT_FOUND means "no such secret"; anything else is a real failure.
        if (fetched.status().code() != StatusCode::kNotFound || m->required) {
          return fetched.status();
        }
      } else if (fetched->has_value()) {
        value = **fetched;
      }
      if (!value && fetched.ok() && m->required) {
        return NotFoundError("secret " + m->id + ": not found");
      }
      if (value) max_secret = std::max(max_secret, value->size());
      if (!m->env.empty()) {
        if (value) LK_RETURN_IF_ERROR(CheckEnvSecretValue(m->id, m->env, *value));
        secret_env.push_back({m->env, value});
        result.secret_env_names.push_back(m->env);
      }
      if (!dest.empty() && value) {
        LK_RETURN_IF_ERROR(SetUpSecretFile(st, i, *m, *value, dest, mounts));
      }
    } else if (const auto* m = std::get_if<SshMount>(&mount)) {
      if (dialer == nullptr) {
        dialer = sources.ssh_dialer != nullptr
                     ? sources.ssh_dialer
                     : std::make_shared<LocalAgentDialer>(sources.ssh_agents);
      }
      Status checked = dialer->Check(m->id);
      // A session cut by the build's cancellation is a cancelled step, not a failed one.
      if (!checked.ok() && CancelRequested()) return CancelledError("build cancelled");
      // The use of the agent is on record before the step can reach it (fail closed).
      SshUse use;
      use.id = m->id;
      use.required = m->required;
      use.agent = dialer->Location(m->id);
      use.outcome = checked.ok()                              ? SshOutcome::kGranted
                    : checked.code() == StatusCode::kNotFound ? SshOutcome::kNotFound
                                                              : SshOutcome::kUnusable;
      use.error = std::string(checked.message());
      LK_RETURN_IF_ERROR(secrets.RecordSshUse(use));
      if (!checked.ok()) {
        if (checked.code() != StatusCode::kNotFound) return checked;
        if (m->required) {
          return FailedPreconditionError("no SSH key \"" + m->id + "\" forwarded from the client");
        }
        continue;
      }
      LK_ASSIGN_OR_RETURN(
          auto fwd, SshForwarder::Start(m->id, dialer, st.scratch + "/ssh" + std::to_string(i),
                                        m->uid, m->gid, m->mode));
      mounts.push_back({dest, "bind", fwd->socket_path(), {"rbind", "nosuid", "nodev", "noexec"}});
      st.forwarders.push_back(std::move(fwd));
      if (!ssh_sock_set) {
        env.push_back("SSH_AUTH_SOCK=" + target);
        ssh_sock_set = true;
      }
    } else if (const auto* m = std::get_if<CacheMount>(&mount)) {
      if (!m->from.empty()) {
        return InvalidArgumentError("cache mount from=\"" + m->from +
                                    "\" is not supported: drop from= (the cache starts empty)");
      }
      LK_ASSIGN_OR_RETURN(CacheLease lease, AcquireCacheDir(options.state_dir + "/cache", *m));
      std::vector<std::string> o = {"rbind"};
      if (m->readonly) o.push_back("ro");
      mounts.push_back({dest, "bind", lease.path, o});
      st.caches.push_back(std::move(lease));
    } else if (const auto* m = std::get_if<TmpfsMount>(&mount)) {
      std::vector<std::string> o = {"nosuid"};
      if (m->size_bytes > 0) o.push_back("size=" + std::to_string(m->size_bytes));
      mounts.push_back({dest, "tmpfs", "tmpfs", o});
    } else if (const auto* m = std::get_if<BindMount>(&mount)) {
      LK_RETURN_IF_ERROR(SetUpBind(st, i, *m, sources, dest, mounts));
    }
  }
  // Parents before children, stable otherwise (the order runc mounts them in).
  std::stable_sort(mounts.begin(), mounts.end(), [](const OciMount& a, const OciMount& b) {
    return base::RootedComponents(a.destination).size() <
           base::RootedComponents(b.destination).size();
  });

  // /etc/hosts and /etc/resolv.conf, as BuildKit provides them.
  std::string hosts = st.bundle + "/hosts";
  std::string hosts_text = kHostsFile;
  for (const auto& h : spec.extra_hosts) hosts_text += h.ip + "\t" + h.host + "\n";
  LK_RETURN_IF_ERROR(WriteNewFile(hosts, hosts_text, 0644));
  std::string resolv = st.bundle + "/resolv.conf";
  auto host_resolv = base::ReadFile("/etc/resolv.conf");
  LK_RETURN_IF_ERROR(WriteNewFile(resolv, host_resolv.ok() ? *host_resolv : "", 0644));
  std::vector<OciMount> all = DefaultMounts(spec.shm_size_bytes);
  for (auto [dst, src] :
       {std::pair<std::string, std::string>{"/etc/resolv.conf", resolv}, {"/etc/hosts", hosts}}) {
    LK_ASSIGN_OR_RETURN(std::string d, base::ResolveInRoot(st.root_fd.get(), root_host, dst));
    all.push_back({d, "bind", src, {"rbind", "ro", "nosuid", "nodev", "noexec"}});
  }
  for (auto& m : mounts) all.push_back(std::move(m));

  std::vector<std::string> targets;
  for (const auto& m : all) targets.push_back(m.destination);
  LK_ASSIGN_OR_RETURN(MountStubs stubs, MountStubs::Record(st.root_fd.get(), targets));
  st.stubs = std::move(stubs);

  OciConfigInput in;
  in.args = spec.args;
  in.env = env;
  in.cwd = cwd;
  in.user = user;
  in.hostname = spec.hostname;
  in.network = spec.network;
  in.rootfs_path = st.rootfs;
  in.mounts = std::move(all);
  in.rlimits = spec.rlimits;
  nlohmann::json config = BuildOciConfig(in, secret_env);
  // config.json is a FIFO fed by a thread as runc reads it: the env secrets never sit in a file.
  st.config = std::make_unique<ConfigFeeder>();
  LK_RETURN_IF_ERROR(
      st.config->Start(st.bundle + "/config.json", std::move(config), std::move(secret_env)));
  secret_env.clear();  // the feeder holds the values until runc has read them

  st.container = {"latchkey-" + st.id, st.bundle, st.bundle + "/runc", st.bundle + "/runc.log"};
  // Covers every encoded form of the step's secrets, the longest being URL encoding (3x).
  size_t max_pattern = std::max<size_t>(64, 3 * max_secret + 4);
  LK_ASSIGN_OR_RETURN(std::unique_ptr<RunningContainer> container, st.runtime->Start(st.container));
  st.started = true;
  LK_ASSIGN_OR_RETURN(int code, StreamUntilExit(*container, sink, max_pattern));
  container.reset();
  LK_RETURN_IF_ERROR(st.config->Finish());
  if (CancelRequested()) return CancelledError("build cancelled");
  if (code != 0) {
    // The runtime logs its own failures (bad config, exec not found); a process that ran and
    // exited non-zero leaves none.
    auto text = base::ReadFile(st.container.log_path);
    std::string last = text.ok() ? LastRuntimeError(*text) : "";
    if (!last.empty()) {
      // runc 1.1 already starts its message with "runc run failed: "; say it once.
      const std::string prefix = "runc run failed: ";
      if (last.compare(0, prefix.size(), prefix) == 0) last.erase(0, prefix.size());
      return UnknownError(prefix + SecretRegistry::Global().Redact(last));
    }
  }
  result.exit_code = code;
  return result;
}

}  // namespace

Result<StepResult> RunStep(const ExecutorOptions& options, const StepSpec& spec,
                           SecretProvider& secrets, const MountSources& sources, OutputSink& sink) {
  if (CancelRequested()) return CancelledError("build cancelled");
  std::optional<RuncRuntime> runc;
  StepState st;
  if (options.container_runtime != nullptr) {
    st.runtime = options.container_runtime;
  } else {
    st.runtime = &runc.emplace(options.runtime);
  }
  st.mounter = options.mounter != nullptr ? options.mounter : &SystemMounter();
  st.overlay_volatile =
      options.overlay_volatile != nullptr ? options.overlay_volatile : &ProcessVolatileSupport();
  Result<StepResult> r = RunStepInner(options, spec, secrets, sources, sink, st);
  Status td = Teardown(st);
  if (r.ok() && !td.ok()) return td.WithPrefix("cleaning up after the step");
  return r;
}

}  // namespace latchkey::executor
