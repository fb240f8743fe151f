// GetSecret round trip through a daemon session, side by side with the same call without the
// tunnel (issue 13).
//
//   tunnel: daemon side (SessionManager::GetSecret) -> HTTP/2 over the session's socketpair ->
//           pump -> Control.Session stream over latchkeyd's unix socket -> the client's pump ->
//           socketpair -> the client's tunnel server (SecretsService) -> back the same way;
//           the value lands in a SecretBuffer.
//   direct: a plain unary GetSecret to the same SecretsService served on a unix socket (the
//           "hello gRPC" call this machine does in ~80-95 µs), the value copied into a
//           SecretBuffer the same way.
// Both run in one process over real unix sockets; each iteration is timed on its own and the
// p50/p99 are reported (counters p50_us, p99_us), with the process's CPU time (all threads:
// cpu_us) and context switches per call (vcsw: voluntary, i.e. thread wake-ups; ivcsw:
// involuntary, i.e. preemption by the load around) from getrusage.
//
//   build-release/bench/getsecret_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "bench/timed_loop.h"
#include "daemon/daemon_testutil.h"
#include "session/secrets_service.h"
#include "session/session_client.h"

namespace latchkey {
namespace {

using bench::TimedLoop;

using daemon::TestDaemon;

// TimedLoop plus the CPU time and context switches per iteration of the whole process (every
// thread).
template <typename Fn>
void CountedLoop(benchmark::State& state, Fn call) {
  rusage before{};
  ::getrusage(RUSAGE_SELF, &before);
  TimedLoop(state, call);
  rusage after{};
  ::getrusage(RUSAGE_SELF, &after);
  double n = static_cast<double>(std::max<benchmark::IterationCount>(state.iterations(), 1));
  state.counters["vcsw"] = static_cast<double>(after.ru_nvcsw - before.ru_nvcsw) / n;
  state.counters["ivcsw"] = static_cast<double>(after.ru_nivcsw - before.ru_nivcsw) / n;
  auto us = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e6 + t.tv_usec; };
  state.counters["cpu_us"] =
      (us(after.ru_utime) + us(after.ru_stime) - us(before.ru_utime) - us(before.ru_stime)) / n;
}

std::shared_ptr<const SecretBuffer> Value(size_t n) {
  std::vector<uint8_t> v(n, 's');
  auto b = SecretBuffer::CopyOf(v);
  if (!b.ok()) std::abort();
  return std::make_shared<const SecretBuffer>(std::move(*b));
}

void BM_GetSecretThroughSession(benchmark::State& state) {
  TestDaemon d;
  session::SecretsService secrets;
  if (!secrets.Add("tok", Value(static_cast<size_t>(state.range(0)))).ok()) std::abort();
  auto client = session::SessionClient::Open(d.Connect(), {"bench", "", ""},
                                             {{&secrets, "moby.buildkit.secrets.v1.Secrets"}});
  if (!client.ok() || !d.sessions().WaitFor("bench", TestDaemon::In(10))) {
    state.SkipWithError("session did not open");
    return;
  }
  CountedLoop(state, [&] { return d.sessions().GetSecret("bench", "tok", TestDaemon::In(10)); });
  (*client)->Close();
}
BENCHMARK(BM_GetSecretThroughSession)->Arg(64)->Arg(4096)->Arg(512000)->UseRealTime();

void BM_GetSecretDirect(benchmark::State& state) {
  auto dir = base::MakeTempDir("/tmp", "getsecret-bench-");
  if (!dir.ok()) std::abort();
  session::SecretsService secrets;
  if (!secrets.Add("tok", Value(static_cast<size_t>(state.range(0)))).ok()) std::abort();
  grpc::ServerBuilder b;
  b.AddListeningPort("unix://" + *dir + "/s.sock", grpc::InsecureServerCredentials());
  b.RegisterService(&secrets);
  auto server = b.BuildAndStart();
  auto stub = moby::buildkit::secrets::v1::Secrets::NewStub(
      grpc::CreateChannel("unix://" + *dir + "/s.sock", grpc::InsecureChannelCredentials()));
  CountedLoop(state, [&]() -> Result<SecretBuffer> {
    moby::buildkit::secrets::v1::GetSecretRequest req;
    req.set_id("tok");
    moby::buildkit::secrets::v1::GetSecretResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(TestDaemon::In(10));
    grpc::Status st = stub->GetSecret(&ctx, req, &resp);
    if (!st.ok()) return UnavailableError(st.error_message());
    return SecretBuffer::CopyOf(std::span<const uint8_t>(
        reinterpret_cast<const uint8_t*>(resp.data().data()), resp.data().size()));
  });
  server->Shutdown();
  (void)base::RemoveAll(*dir);
}
BENCHMARK(BM_GetSecretDirect)->Arg(64)->Arg(4096)->Arg(512000)->UseRealTime();

}  // namespace
}  // namespace latchkey

BENCHMARK_MAIN();
