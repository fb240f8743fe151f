// BrokerSecretSession over a real broker Session, the file provider and a real audit log: each
// SecretSession call reaches the broker with the step the builder named, errors pass through
// unchanged, and leak findings land in the audit log as leak.finding records.
#include "cli/broker_secret_session.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "broker/audit/audit_keys.h"
#include "broker/policy.h"

namespace latchkey::cli {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class BrokerSecretSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lk-cli-secret-session-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    secret_path_ = (dir_ / "npmrc").string();
    std::ofstream(secret_path_) << "canary-cli-adapter-8841";
    auto keys = audit::GenerateKeys();
    ASSERT_TRUE(keys.ok()) << keys.status().ToString();
    audit::AuditOptions ao;
    ao.path = (dir_ / "audit.log").string();
    ao.on_error = [](const std::string&) {};
    auto log =
        audit::AuditLog::Open(ao, std::make_shared<const audit::AuditKeys>(std::move(*keys)));
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(*log);
    const char* build = std::getenv("LATCHKEY_BUILD_DIR");
    SessionManagerOptions o;
    o.providers.push_back(
        {"file",
         std::string(build ? build : "build") + "/lib/latchkey/providers/latchkey-file.so",
         "",
         {}});
    o.policy = [](const PolicyRequest& q) { return Policy().Decide(q); };
    o.audit = log_.get();
    auto m = SessionManager::Create(std::move(o));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    manager_ = std::move(*m);
    SessionAttributes a;
    a.build_id = "build-1";
    a.uid = 1000;
    a.user = "alice";
    a.dockerfile = "/src/Dockerfile";
    a.context = "/src";
    a.declared = {{"npmrc", SecretSource::Kind::kFile, secret_path_, ""}};
    auto s = manager_->Open(std::move(a));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    session_ = *s;
    adapter_ = std::make_unique<BrokerSecretSession>(*session_, *log_);
  }
  void TearDown() override {
    adapter_.reset();
    if (session_) (void)session_->Close();
    session_.reset();
    manager_.reset();
    log_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // The audit log's lines holding every one of `parts`.
  size_t CountRecords(std::initializer_list<std::string> parts) {
    std::istringstream log(ReadAll((dir_ / "audit.log").string()));
    size_t n = 0;
    for (std::string line; std::getline(log, line);) {
      bool all = true;
      for (const auto& p : parts) all = all && line.find(p) != std::string::npos;
      if (all) ++n;
    }
    return n;
  }

  const build::StepRef step_{"build", 2, 7, "RUN --mount=type=secret,id=npmrc npm ci"};
  const std::string step_json_ =
      R"("step":{"stage":"build","index":2,"line":7,"instruction":"RUN --mount=type=secret,id=npmrc npm ci"})";
  fs::path dir_;
  std::string secret_path_;
  std::unique_ptr<audit::AuditLog> log_;
  std::unique_ptr<SessionManager> manager_;
  std::shared_ptr<Session> session_;
  std::unique_ptr<BrokerSecretSession> adapter_;
};

TEST(ToStepContext, CopiesEveryField) {
  StepContext c = ToStepContext({"build", 3, 12, "RUN true"});
  EXPECT_EQ(c.stage, "build");
  EXPECT_EQ(c.index, 3u);
  EXPECT_EQ(c.line, 12u);
  EXPECT_EQ(c.instruction, "RUN true");
}

// A granted fetch hands out a sealed copy, is audited for the builder's step, and the value is
// then listed by Released().
TEST_F(BrokerSecretSessionTest, FetchIsAuditedForTheStepAndReleased) {
  auto v = adapter_->Fetch("npmrc", step_);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_NE(*v, nullptr);
  EXPECT_TRUE((*v)->Equals(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("canary-cli-adapter-8841"), 23)));
  EXPECT_EQ(CountRecords({R"("event":"secret.fetch")", R"("secret":"npmrc")",
                          R"("outcome":"granted")", step_json_}),
            1u);
  auto released = adapter_->Released();
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(released[0].first, "npmrc");
  EXPECT_TRUE(released[0].second->Equals((*v)->bytes()));
}

// The session's error text reaches the builder unchanged.
TEST_F(BrokerSecretSessionTest, FetchErrorPassesThroughUnchanged) {
  auto v = adapter_->Fetch("nope", step_);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(v.status().message(),
            "secret nope: not found (tried: no --secret flag declares id \"nope\"; the "
            "configuration's secrets map has no entry \"nope\")");
  EXPECT_TRUE(adapter_->Released().empty());
}

// An allowed reuse is recorded as cache.hit for the step; a refused one returns the session's
// refusal and records nothing.
TEST_F(BrokerSecretSessionTest, CacheHitIsAuthorizedByTheSession) {
  ASSERT_TRUE(adapter_->AuthorizeCacheHit({"npmrc"}, step_, "sha256:abc").ok());
  EXPECT_EQ(CountRecords({R"("event":"cache.hit")", R"("cache_key":"sha256:abc")",
                          R"("secret":"npmrc")", step_json_}),
            1u);
  Status refused = adapter_->AuthorizeCacheHit({"npmrc", "nope"}, step_, "sha256:def");
  EXPECT_EQ(refused.code(), StatusCode::kNotFound);
  EXPECT_EQ(refused.message(),
            "secret nope: not found (tried: no --secret flag declares id \"nope\"; the "
            "configuration's secrets map has no entry \"nope\")");
  EXPECT_EQ(CountRecords({R"("cache_key":"sha256:def")"}), 0u);
}

// A leak finding becomes a durable leak.finding record of this session.
TEST_F(BrokerSecretSessionTest, RecordLeakWritesALeakFindingRecord) {
  build::LeakRecord f;
  f.secret_id = "npmrc";
  f.layer = "sha256:0123";
  f.path = "app/.npmrc";
  f.step = step_;
  ASSERT_TRUE(adapter_->RecordLeak(f).ok());
  ASSERT_TRUE(adapter_->RecordLeak(f).ok());
  EXPECT_EQ(CountRecords({R"("event":"leak.finding")", "\"session\":\"" + session_->id() + "\"",
                          R"("secret":"npmrc")", R"("layer":"sha256:0123")",
                          R"("path":"app/.npmrc")", step_json_}),
            2u);
}

}  // namespace
}  // namespace latchkey::cli
