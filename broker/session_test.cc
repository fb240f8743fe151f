#include "broker/session.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "broker/audit/audit_file.h"
#include "broker/audit/audit_keys.h"
#include "broker/redactor.h"

namespace latchkey {
namespace {

namespace fs = std::filesystem;

std::string ProvidersDir() {
  const char* build = std::getenv("LATCHKEY_BUILD_DIR");
  return std::string(build ? build : "build") + "/lib/latchkey/providers";
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string AsString(const SecretView& v) {
  return std::string(reinterpret_cast<const char*>(v.bytes().data()), v.size());
}

std::shared_ptr<const SecretBuffer> Environ(const std::string& raw) {
  auto buf = SecretBuffer::CopyOf({reinterpret_cast<const uint8_t*>(raw.data()), raw.size()});
  EXPECT_TRUE(buf.ok());
  return std::make_shared<const SecretBuffer>(std::move(*buf));
}

// An AuditFs whose appends fail or hang on demand; everything else goes to the real one.
class FaultyFs final : public audit::AuditFs {
 public:
  enum class Mode { kOk, kNoSpace, kHang };
  std::atomic<Mode> mode{Mode::kOk};

  class File final : public audit::AuditFile {
   public:
    File(std::unique_ptr<audit::AuditFile> inner, FaultyFs* fs)
        : inner_(std::move(inner)), fs_(fs) {}
    Status Append(std::string_view bytes) override {
      switch (fs_->mode.load()) {
        case Mode::kNoSpace:
          return UnavailableError("writing audit.log: No space left on device");
        case Mode::kHang:
          std::this_thread::sleep_for(std::chrono::seconds(3));
          break;
        case Mode::kOk:
          break;
      }
      return inner_->Append(bytes);
    }
    Status Sync() override { return inner_->Sync(); }
    uint64_t Size() const override { return inner_->Size(); }
    Status Close() override { return inner_->Close(); }

   private:
    std::unique_ptr<audit::AuditFile> inner_;
    FaultyFs* fs_;
  };

  Result<std::unique_ptr<audit::AuditFile>> OpenAppend(const std::string& path) override {
    LK_ASSIGN_OR_RETURN(auto inner, real_->OpenAppend(path));
    return std::unique_ptr<audit::AuditFile>(new File(std::move(inner), this));
  }
  Status CreateDirs(const std::string& d) override { return real_->CreateDirs(d); }
  bool Exists(const std::string& p) override { return real_->Exists(p); }
  Status Rename(const std::string& a, const std::string& b) override { return real_->Rename(a, b); }
  Status Remove(const std::string& p) override { return real_->Remove(p); }
  Status Truncate(const std::string& p, uint64_t n) override { return real_->Truncate(p, n); }
  Result<audit::FileTail> ReadTail(const std::string& p, size_t n) override {
    return real_->ReadTail(p, n);
  }
  Status WriteFileAtomic(const std::string& p, std::string_view b, bool s) override {
    return real_->WriteFileAtomic(p, b, s);
  }

 private:
  std::shared_ptr<audit::AuditFs> real_ = audit::PosixAuditFs();
};

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lk-session-test-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(dir_);
    secret_path_ = (dir_ / "npmrc").string();
    std::ofstream(secret_path_) << "canary-npm-token-5150";
    faulty_ = std::make_shared<FaultyFs>();
  }
  void TearDown() override {
    sessions_.clear();
    manager_.reset();
    log_.reset();
    fs::remove_all(dir_);
  }

  void Start(PolicyFn policy = nullptr,
             std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto keys = audit::GenerateKeys();
    ASSERT_TRUE(keys.ok()) << keys.status().ToString();
    audit::AuditOptions ao;
    ao.path = (dir_ / "audit.log").string();
    ao.fs = faulty_;
    ao.write_timeout = timeout;
    ao.on_error = [](const std::string&) {};
    auto log =
        audit::AuditLog::Open(ao, std::make_shared<const audit::AuditKeys>(std::move(*keys)));
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(*log);
    SessionManagerOptions o;
    o.providers.push_back({"file", ProvidersDir() + "/latchkey-file.so", "", {}});
    o.providers.push_back({"env", ProvidersDir() + "/latchkey-env.so", "", {}});
    o.secrets["configured"] = {"file", secret_path_};
    o.policy = policy ? policy : [](const PolicyRequest& q) { return Policy().Decide(q); };
    o.audit = log_.get();
    auto m = SessionManager::Create(std::move(o));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    manager_ = std::move(*m);
  }

  std::shared_ptr<Session> Open(std::vector<SecretSource> declared,
                                std::shared_ptr<const SecretBuffer> env = nullptr) {
    SessionAttributes a;
    a.build_id = "build-1";
    a.uid = 1000;
    a.user = "alice";
    a.dockerfile = "/src/Dockerfile";
    a.context = "/src";
    a.declared = std::move(declared);
    a.environment = std::move(env);
    auto s = manager_->Open(std::move(a));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    sessions_.push_back(*s);
    return *s;
  }

  SecretSource FileSource(const std::string& id) {
    return {id, SecretSource::Kind::kFile, secret_path_, ""};
  }

  static inline int counter_ = 0;
  fs::path dir_;
  std::string secret_path_;
  std::shared_ptr<FaultyFs> faulty_;
  std::unique_ptr<audit::AuditLog> log_;
  std::unique_ptr<SessionManager> manager_;
  std::vector<std::shared_ptr<Session>> sessions_;
};

TEST_F(SessionTest, DeclaredFileSourceIsGrantedAndAudited) {
  Start();
  auto s = Open({FileSource("npmrc")});
  auto v = s->Fetch("npmrc", {"0", 2, 7, "RUN --mount=type=secret,id=npmrc npm ci"});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(AsString(*v), "canary-npm-token-5150");
  EXPECT_EQ(v->provider(), "file");
  ASSERT_TRUE(s->Close().ok());
  std::string log = ReadAll((dir_ / "audit.log").string());
  EXPECT_NE(log.find("\"event\":\"session.open\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"outcome\":\"granted\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"rule\":\"declared-source\""), std::string::npos) << log;
  EXPECT_NE(log.find("hmac-sha256:"), std::string::npos) << log;
  EXPECT_NE(log.find("\"event\":\"session.close\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"event\":\"audit.checkpoint\""), std::string::npos) << log;
  EXPECT_EQ(log.find("canary-npm-token-5150"), std::string::npos) << log;
}

TEST_F(SessionTest, UnknownIdIsNotFoundNamingTheSourcesTried) {
  Start();
  auto s = Open({});
  auto v = s->Fetch("mysecret", {});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(v.status().message(),
            "secret mysecret: not found (tried: no --secret flag declares id \"mysecret\"; the "
            "configuration's secrets map has no entry \"mysecret\")");
  std::string log = ReadAll((dir_ / "audit.log").string());
  EXPECT_NE(log.find("\"outcome\":\"not_found\""), std::string::npos) << log;
}

TEST_F(SessionTest, ConfiguredProviderIsDeniedUnlessPolicyAllows) {
  Start();
  auto s = Open({});
  auto v = s->Fetch("configured", {});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(v.status().message(),
            "secret configured: denied by policy rule \"default-deny-provider\": no policy rule "
            "allows secret \"configured\" from provider file; add a rule with allow: true under "
            "policy.rules");
  std::string log = ReadAll((dir_ / "audit.log").string());
  EXPECT_NE(log.find("\"outcome\":\"denied\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"rule\":\"default-deny-provider\""), std::string::npos) << log;
}

TEST_F(SessionTest, PolicySeesTheRequestAttributes) {
  PolicyRequest seen;
  Start([&](const PolicyRequest& q) {
    seen = q;
    PolicyDecision d;
    d.allowed = true;
    d.rule = "ci";
    d.reason = "ok";
    return d;
  });
  auto s = Open({});
  auto v = s->Fetch("configured", {});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(seen.secret_id, "configured");
  EXPECT_EQ(seen.provider, "file");
  EXPECT_EQ(seen.source, SecretSource::Kind::kProvider);
  EXPECT_EQ(seen.file_path, secret_path_);
  EXPECT_EQ(seen.uid, 1000u);
  EXPECT_EQ(seen.user, "alice");
  EXPECT_EQ(seen.dockerfile, "/src/Dockerfile");
}

TEST_F(SessionTest, ConcurrentFetchesReachTheProviderOnce) {
  Start();
  auto s = Open({FileSource("npmrc")});
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      auto v = s->Fetch("npmrc", {});
      if (v.ok() && AsString(*v) == "canary-npm-token-5150") ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 16);
  EXPECT_EQ(s->provider_calls(), 1u);
  EXPECT_EQ(s->fetch_count(), 16u);
}

TEST_F(SessionTest, SessionsNeverSeeEachOthersSecrets) {
  Start();
  std::string env_a("TOKEN=alpha-value-1\0", 20);
  std::string env_b("TOKEN=bravo-value-2\0", 20);
  auto a = Open({{"token", SecretSource::Kind::kEnv, "TOKEN", ""}}, Environ(env_a));
  auto b = Open({{"token", SecretSource::Kind::kEnv, "TOKEN", ""}}, Environ(env_b));
  auto va = a->Fetch("token", {});
  auto vb = b->Fetch("token", {});
  ASSERT_TRUE(va.ok()) << va.status().ToString();
  ASSERT_TRUE(vb.ok()) << vb.status().ToString();
  EXPECT_EQ(AsString(*va), "alpha-value-1");
  EXPECT_EQ(AsString(*vb), "bravo-value-2");
  // b declared nothing called npmrc; a's declaration does not leak into b.
  auto a2 = Open({FileSource("npmrc")});
  ASSERT_TRUE(a2->Fetch("npmrc", {}).ok());
  EXPECT_EQ(b->Fetch("npmrc", {}).status().code(), StatusCode::kNotFound);
}

TEST_F(SessionTest, ExpiredSessionRefusesFetches) {
  Start();
  SessionAttributes attrs;
  attrs.declared = {FileSource("npmrc")};
  attrs.created = std::chrono::system_clock::now() - std::chrono::hours(2);
  attrs.max_lifetime = std::chrono::hours(1);
  auto s = manager_->Open(attrs);
  ASSERT_TRUE(s.ok());
  auto v = (*s)->Fetch("npmrc", {});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(), "session " + (*s)->id() + " expired");
}

TEST_F(SessionTest, CloseWipesValuesAndStopsFetches) {
  Start();
  auto s = Open({FileSource("npmrc")});
  size_t registered_before = SecretRegistry::Global().size();
  auto v = s->Fetch("npmrc", {});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(SecretRegistry::Global().size(), registered_before + 1);
  EXPECT_EQ(SecretRegistry::Global().Redact("x canary-npm-token-5150 y"), "x **** y");
  ASSERT_TRUE(s->Close().ok());
  EXPECT_EQ(SecretRegistry::Global().size(), registered_before);
  EXPECT_TRUE(s->Released().empty());
  auto after = s->Fetch("npmrc", {});
  EXPECT_EQ(after.status().message(), "session " + s->id() + " is closed");
  EXPECT_TRUE(s->Close().ok());  // idempotent
}

TEST_F(SessionTest, CachedValueIsServedWithoutCallingTheProviderAgain) {
  Start();
  auto s = Open({FileSource("npmrc")});
  ASSERT_TRUE(s->Fetch("npmrc", {}).ok());
  std::ofstream(secret_path_) << "changed";
  auto again = s->Fetch("npmrc", {});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->from_cache());
  EXPECT_EQ(AsString(*again), "canary-npm-token-5150");
  EXPECT_EQ(again->rule(), "declared-source");
  EXPECT_EQ(s->provider_calls(), 1u);
  // Every record, cached ones included, names the rule that decided.
  std::string log = ReadAll((dir_ / "audit.log").string());
  size_t grants = 0;
  for (size_t pos = 0; (pos = log.find("\"outcome\":\"granted\"", pos)) != std::string::npos;
       ++pos) {
    ++grants;
  }
  EXPECT_EQ(grants, 2u) << log;
  EXPECT_EQ(log.find("\"rule\":\"cached\""), std::string::npos) << log;
}

TEST_F(SessionTest, AuditFailureReleasesNoValue) {
  Start();
  auto s = Open({FileSource("npmrc")});
  faulty_->mode = FaultyFs::Mode::kNoSpace;
  auto v = s->Fetch("npmrc", {});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(v.status().message(),
            "audit log unavailable: writing audit.log: No space left on device");
  EXPECT_TRUE(s->Released().empty());
}

TEST_F(SessionTest, HungAuditWriteTimesOutInsteadOfHanging) {
  Start(nullptr, std::chrono::milliseconds(300));
  auto s = Open({FileSource("npmrc")});
  faulty_->mode = FaultyFs::Mode::kHang;
  auto v = s->Fetch("npmrc", {});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(), "audit log unavailable: write timed out after 300 ms");
  EXPECT_TRUE(s->Released().empty());
}

TEST_F(SessionTest, BadSessionIdAndUnknownDeclaredProviderAreRefused) {
  Start();
  SessionAttributes bad;
  bad.id = "XYZ";
  EXPECT_EQ(manager_->Open(bad).status().message(),
            "session id \"XYZ\" is not 32 lowercase hex digits");
  SessionAttributes unknown;
  unknown.declared = {{"npmrc", SecretSource::Kind::kProvider, "ci-npmrc@2", "store"}};
  EXPECT_EQ(manager_->Open(unknown).status().message(),
            "--secret id=npmrc: provider \"store\" is not configured");
}

}  // namespace
}  // namespace latchkey
