// What the session services that answer with secret bytes (SecretsService, AuthService) share:
//   WipingReactor  a unary reactor that wipes the response's secret fields once gRPC is done
//                  with the message (the generated API forces the bytes into std::strings);
//   LookupThreads  runs each lookup on a thread of its own (a provider fetch may block a gRPC
//                  thread for seconds) and, on destruction, waits for those still running.
//
// Thread-safety: WipingReactor as any reactor; LookupThreads::Run from any thread.
#ifndef LATCHKEY_SESSION_REPLY_WIPING_H_
#define LATCHKEY_SESSION_REPLY_WIPING_H_

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace latchkey::session {

class WipingReactor final : public grpc::ServerUnaryReactor {
 public:
  // `fields` point into the response, which outlives the reactor (gRPC owns both).
  explicit WipingReactor(std::vector<std::string*> fields) : fields_(std::move(fields)) {}
  void OnDone() override;

 private:
  std::vector<std::string*> fields_;
};

class LookupThreads {
 public:
  LookupThreads() = default;
  ~LookupThreads();
  LookupThreads(const LookupThreads&) = delete;
  LookupThreads& operator=(const LookupThreads&) = delete;

  // Runs `work` on a new detached thread.
  void Run(std::function<void()> work);

 private:
  std::mutex mu_;
  std::condition_variable idle_;
  int running_ = 0;  // guarded by mu_
};

}  // namespace latchkey::session

#endif  // LATCHKEY_SESSION_REPLY_WIPING_H_
