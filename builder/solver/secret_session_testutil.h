// FakeSecretSession: an in-memory SecretSession (secret_session.h) for the builder's unit
// tests. Values, fetch failures and cache-hit refusals are set by the test; every call is
// recorded so the test can assert what the builder asked for and what it recorded.
//
// Thread-safety: every method takes the fake's lock, as the real session is thread-safe; the
// public fields are for the test to set before the build and read after it.
#ifndef LATCHKEY_BUILDER_SOLVER_SECRET_SESSION_TESTUTIL_H_
#define LATCHKEY_BUILDER_SOLVER_SECRET_SESSION_TESTUTIL_H_

#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "builder/solver/secret_session.h"
#include "latchkey/status.h"
#include "secure/secret_buffer.h"

namespace latchkey::build::testing {

// A sealed SecretBuffer holding `text` (aborts when secure memory runs out).
inline std::shared_ptr<const SecretBuffer> SecretOf(std::string_view text) {
  auto b = SecretBuffer::CopyOf(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  if (!b.ok()) std::abort();
  b->Seal();
  return std::make_shared<const SecretBuffer>(std::move(b).value());
}

class FakeSecretSession : public SecretSession {
 public:
  struct CacheHitCall {
    std::vector<std::string> secret_ids;
    StepRef step;
    std::string cache_key;
  };

  // Test set-up (before the build).
  // id -> value Fetch hands out (and then lists in Released()).
  std::map<std::string, std::shared_ptr<const SecretBuffer>> values;
  // id -> the error Fetch returns for it (checked before `values`).
  std::map<std::string, Status> fetch_errors;
  // What AuthorizeCacheHit answers (OK: reuse allowed).
  Status cache_hit_answer;
  // RecordLeak's answer (OK: recorded).
  Status record_leak_answer;
  // RecordSshForward's answer (OK: recorded).
  Status record_ssh_answer;

  // Marks `value` as released under `id` without a fetch (a value an earlier step was given).
  void Release(const std::string& id, std::shared_ptr<const SecretBuffer> value) {
    std::lock_guard lock(mu_);
    released_.emplace_back(id, std::move(value));
  }

  // Recorded calls (read after the build).
  std::vector<std::pair<std::string, StepRef>> fetches() const {
    std::lock_guard lock(mu_);
    return fetches_;
  }
  std::vector<CacheHitCall> cache_hits() const {
    std::lock_guard lock(mu_);
    return cache_hits_;
  }
  std::vector<LeakRecord> leaks() const {
    std::lock_guard lock(mu_);
    return leaks_;
  }
  std::vector<std::pair<executor::SshUse, StepRef>> ssh_forwards() const {
    std::lock_guard lock(mu_);
    return ssh_forwards_;
  }

  // SecretSession. An id with neither a value nor an error is NOT_FOUND with the broker's text
  // for an undeclared id.
  Result<std::shared_ptr<const SecretBuffer>> Fetch(const std::string& id,
                                                    const StepRef& step) override {
    std::lock_guard lock(mu_);
    fetches_.emplace_back(id, step);
    if (auto e = fetch_errors.find(id); e != fetch_errors.end()) return e->second;
    auto v = values.find(id);
    if (v == values.end()) {
      return NotFoundError("secret " + id + ": not found (tried: no --secret flag declares id \"" +
                           id + "\"; the configuration's secrets map has no entry \"" + id + "\")");
    }
    bool known = false;
    for (const auto& [rid, rv] : released_) known = known || (rid == id && rv == v->second);
    if (!known) released_.emplace_back(id, v->second);
    return v->second;
  }
  Status AuthorizeCacheHit(const std::vector<std::string>& secret_ids, const StepRef& step,
                           const std::string& cache_key) override {
    std::lock_guard lock(mu_);
    cache_hits_.push_back({secret_ids, step, cache_key});
    return cache_hit_answer;
  }
  std::vector<std::pair<std::string, std::shared_ptr<const SecretBuffer>>> Released()
      const override {
    std::lock_guard lock(mu_);
    return released_;
  }
  Status RecordLeak(const LeakRecord& finding) override {
    std::lock_guard lock(mu_);
    if (!record_leak_answer.ok()) return record_leak_answer;
    leaks_.push_back(finding);
    return Status::OK();
  }
  Status RecordSshForward(const executor::SshUse& use, const StepRef& step) override {
    std::lock_guard lock(mu_);
    if (!record_ssh_answer.ok()) return record_ssh_answer;
    ssh_forwards_.emplace_back(use, step);
    return Status::OK();
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, std::shared_ptr<const SecretBuffer>>> released_;
  std::vector<std::pair<std::string, StepRef>> fetches_;
  std::vector<CacheHitCall> cache_hits_;
  std::vector<LeakRecord> leaks_;
  std::vector<std::pair<executor::SshUse, StepRef>> ssh_forwards_;
};

}  // namespace latchkey::build::testing

#endif  // LATCHKEY_BUILDER_SOLVER_SECRET_SESSION_TESTUTIL_H_
