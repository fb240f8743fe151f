// Checks about the process the plugin lives in: concurrency, leaks over many instances,
// hygiene (signals, environment, cwd, umask, locale) and deadlines.
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "check_support.h"
#include "process_state.h"

namespace latchkey::conformance {

namespace {

lk_instance* CreateOrNull(const CheckContext& c, lk_host_ctx* ctx, std::string* why) {
  lk_instance* inst = nullptr;
  c.Step("calling create with the given config");
  CallStatus s = c.plugin->Create(c.host->api(), ctx, c.options->config, &inst);
  if (!s.ok() || !s.problem.empty()) {
    *why = "create failed: " + (s.problem.empty() ? s.Describe() : s.problem);
    return nullptr;
  }
  return inst;
}

}  // namespace

CheckOutput CheckConcurrentFetch(const CheckContext& c) {
  const Plugin& p = *c.plugin;
  std::string why;
  lk_instance* inst = CreateOrNull(c, c.host->NewInstanceContext(), &why);
  if (inst == nullptr) return Fail(why);
  bool serialized = p.table().threading == LK_THREADING_SERIALIZED;
  const int threads = c.options->threads < 1 ? 1 : c.options->threads;
  const int per_thread = 50;
  std::mutex serialize;  // held around each call when the plugin declares SERIALIZED
  std::mutex mu;
  std::string first_problem;
  int bad = 0;
  std::atomic<bool> go{false};
  c.Step(std::to_string(threads) + " threads calling fetch " + std::to_string(per_thread) +
         " times each on one instance");
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < per_thread; ++i) {
        size_t r = static_cast<size_t>(t + i) % c.options->refs.size();
        Plugin::FetchOptions o;
        o.expected = &c.expected[r];
        TestHost::CallEnd end;
        CallStatus f;
        if (serialized) {
          std::lock_guard<std::mutex> lock(serialize);
          f = p.Fetch(*c.host, inst, c.options->refs[r].ref, o, &end);
        } else {
          f = p.Fetch(*c.host, inst, c.options->refs[r].ref, o, &end);
        }
        std::string problem = !f.problem.empty() ? f.problem
                              : !f.ok()          ? "failed: " + f.Describe()
                                                 : end.data_problem;
        if (!problem.empty()) {
          std::lock_guard<std::mutex> lock(mu);
          if (bad++ == 0) {
            first_problem = "thread " + std::to_string(t) + ", fetch " +
                            Quote(c.options->refs[r].ref) + ": " + problem;
          }
        }
      }
    });
  }
  go.store(true);
  for (auto& t : pool) t.join();
  c.Step("calling destroy");
  p.table().destroy(inst);
  if (bad > 0) {
    return Fail(std::to_string(bad) + " of " + std::to_string(threads * per_thread) +
                " concurrent fetches went wrong" +
                (serialized ? "" : " (the plugin declares LK_THREADING_CONCURRENT)") +
                "; first: " + first_problem);
  }
  std::string note =
      std::to_string(threads) + " threads x " + std::to_string(per_thread) + " fetches";
  if (serialized) note += ", serialized: the plugin declares LK_THREADING_SERIALIZED";
  return Pass(note);
}

CheckOutput CheckCreateDestroyCycles(const CheckContext& c) {
  const Plugin& p = *c.plugin;
  auto cycle = [&](std::string* why) {
    lk_host_ctx* ctx = c.host->NewInstanceContext();
    lk_instance* inst = CreateOrNull(c, ctx, why);
    if (inst == nullptr) return false;
    p.table().destroy(inst);
    size_t left = c.host->ReleaseContext(ctx);
    if (left > 0) {
      *why = "destroy left " + std::to_string(left) +
             " secret block(s) allocated under the instance context";
      return false;
    }
    return true;
  };
  std::string why;
  c.Step("a warm-up create/destroy cycle");
  if (!cycle(&why)) return Fail(why);
  int fds0 = CountOpenFds(), threads0 = CountThreads();
  const int total = c.options->cycles;
  c.Step(std::to_string(total) + " create/destroy cycles");
  for (int i = 1; i <= total; ++i) {
    if (!cycle(&why)) return Fail("cycle " + std::to_string(i) + ": " + why);
    if (i % 100 == 0 || i == total) {
      int fds = CountOpenFds(), threads = CountThreads();
      if (fds > fds0) {
        return Fail("open file descriptors grew from " + std::to_string(fds0) + " to " +
                    std::to_string(fds) + " over " + std::to_string(i) +
                    " create/destroy cycles (destroy must close what create opened)");
      }
      if (threads > threads0) {
        return Fail("threads grew from " + std::to_string(threads0) + " to " +
                    std::to_string(threads) + " over " + std::to_string(i) +
                    " create/destroy cycles (destroy must join every thread it started)");
      }
    }
  }
  return Pass(std::to_string(total) + " cycles, " + std::to_string(fds0) + " fds and " +
              std::to_string(threads0) + " threads throughout");
}

CheckOutput CheckHygiene(const CheckContext& c) {
  const Plugin& p = *c.plugin;
  ProcessState state = ProcessState::Capture();
  std::string failure;
  // Runs `fn` and compares the process state before and after it.
  auto guarded = [&](const std::string& what, auto fn) {
    if (!failure.empty()) return;
    c.Step(what);
    fn();
    ProcessState after = ProcessState::Capture();
    std::vector<std::string> diff = Diff(state, after);
    if (!diff.empty()) failure = "during " + what + ": " + JoinList(diff, 5);
    state = after;
  };
  guarded("calling lk_provider_entry", [&] {
    const lk_provider_api* t = nullptr;
    p.entry()(LK_ABI_MAJOR, LK_ABI_MINOR, &t);
  });
  lk_instance* inst = nullptr;
  std::string why;
  guarded("calling create", [&] { inst = CreateOrNull(c, c.host->NewInstanceContext(), &why); });
  if (!failure.empty()) return Fail(failure);
  if (inst == nullptr) return Fail(why);
  for (const std::string& ref : c.FetchRefs()) {
    guarded("calling fetch " + Quote(ref), [&] { (void)p.Fetch(*c.host, inst, ref, {}, nullptr); });
  }
  guarded("calling fetch of a missing reference",
          [&] { (void)p.Fetch(*c.host, inst, c.MissingRef(), {}, nullptr); });
  guarded("calling list", [&] {
    std::vector<std::string> refs;
    (void)p.List(inst, &refs);
  });
  guarded("calling health", [&] { (void)p.Health(inst); });
  guarded("calling destroy", [&] { p.table().destroy(inst); });
  guarded("calling create with an unknown key", [&] {
    lk_instance* b = nullptr;
    CallStatus s = p.Create(c.host->api(), c.host->NewInstanceContext(),
                            WithKey(c.options->config, "lk-conformance-unknown-key", "1"), &b);
    if (s.ok()) p.table().destroy(b);
  });
  if (!failure.empty()) return Fail(failure);
  return Pass();
}

CheckOutput CheckDeadline(const CheckContext& c) {
  const Plugin& p = *c.plugin;
  std::string why;
  lk_instance* inst = CreateOrNull(c, c.host->NewInstanceContext(), &why);
  if (inst == nullptr) return Fail(why);
  const int64_t slack = c.options->deadline_slack_ms;
  std::string ref = c.FetchRefs()[0];
  bool missing = c.options->refs.empty();
  struct Case {
    std::string what;
    int64_t deadline_offset_ms;  // relative to now; 0 = no deadline
    int32_t forced;
  };
  const int64_t kFuture = 300;
  std::vector<Case> cases = {
      {"a fetch whose deadline passed 1 s ago", -1000, LK_DEADLINE_EXCEEDED},
      {"a fetch the host has cancelled", 0, LK_CANCELLED},
      {"a fetch with a deadline " + std::to_string(kFuture) + " ms away", kFuture, LK_OK},
  };
  for (const Case& k : cases) {
    c.Step("calling " + k.what + " (" + Quote(ref) + ")");
    Plugin::FetchOptions o;
    o.forced_deadline_code = k.forced;
    if (k.deadline_offset_ms != 0) o.deadline_unix_ms = NowUnixMs() + k.deadline_offset_ms;
    auto start = std::chrono::steady_clock::now();
    CallStatus f = p.Fetch(*c.host, inst, ref, o, nullptr);
    int64_t took = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - start)
                       .count();
    int64_t limit = (k.deadline_offset_ms > 0 ? k.deadline_offset_ms : 0) + slack;
    if (took > limit) {
      return Fail(k.what + " returned after " + std::to_string(took) + " ms; the limit is " +
                  std::to_string(limit) + " ms (deadline + " + std::to_string(slack) +
                  " ms slack): poll host->check_deadline during long work");
    }
    if (k.forced != LK_OK && f.code != LK_OK && f.code != LK_DEADLINE_EXCEEDED &&
        f.code != LK_CANCELLED && !(missing && f.code == LK_NOT_FOUND)) {
      return Fail(k.what + " returned " + f.Describe() +
                  "; expected DEADLINE_EXCEEDED, CANCELLED, or a quick success");
    }
  }
  c.Step("calling destroy");
  p.table().destroy(inst);
  return Pass("slack " + std::to_string(slack) + " ms");
}

}  // namespace latchkey::conformance
