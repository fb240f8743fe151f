#include "broker/session.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/fault_env_testutil.h"
#include "broker/audit/audit_file.h"
#include "broker/audit/audit_keys.h"
#include "secure/redactor.h"

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

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lk-session-test-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(dir_);
    secret_path_ = (dir_ / "npmrc").string();
    std::ofstream(secret_path_) << "canary-npm-token-5150";
    registry_cred_path_ = (dir_ / "reg.json").string();
    std::ofstream(registry_cred_path_)
        << R"({"ServerURL":"reg.test:5000","Username":"alice","Secret":"canary-reg-pw-77"})";
    plan_ = std::make_shared<base::testing::FaultPlan>();
  }
  void TearDown() override {
    plan_->Release();  // a hung audit write (HungAuditWrite...) lets the writer thread finish
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
    ao.fs = std::make_shared<base::testing::FaultEnv>(plan_);
    ao.write_timeout = timeout;
    ao.on_error = [](const std::string&) {};
    auto log =
        audit::AuditLog::Open(ao, std::make_shared<const audit::AuditKeys>(std::move(*keys)));
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(*log);
    SessionManagerOptions o;
    o.fetch_timeout = fetch_timeout_;
    o.providers.push_back({"file", ProvidersDir() + "/latchkey-file.so", "", {}});
    o.providers.push_back({"env", ProvidersDir() + "/latchkey-env.so", "", {}});
    o.secrets["configured"] = {"file", secret_path_};
    o.registries["reg.test:5000"] = {"file", registry_cred_path_};
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

  // Counts the lines of the audit log holding every one of `parts`.
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

  static inline int counter_ = 0;
  std::chrono::milliseconds fetch_timeout_{30000};
  fs::path dir_;
  std::string secret_path_;
  std::string registry_cred_path_;
  std::shared_ptr<base::testing::FaultPlan> plan_;  // faults of the audit log's files
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

// latchkeyd: a source of provider "client" is fetched through SessionAttributes::
// client_secrets, after policy, with the audit record (provider client, the peer identity, the
// value's HMAC) written before the value is released.
TEST_F(SessionTest, ClientProviderFetchesThroughTheSessionAndAuditsThePeer) {
  Start();
  SessionAttributes a;
  a.uid = 1000;
  a.user = "alice";
  a.declared = {{"tok", SecretSource::Kind::kProvider, "/home/alice/tok", "client"}};
  // Without a session to ask, Open refuses the source.
  auto refused = manager_->Open(a);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(),
            "--secret id=tok: provider \"client\" needs a latchkeyd session");
  audit::PeerInfo peer;
  peer.transport = "unix";
  peer.uid = 1000;
  peer.gid = 1001;
  peer.pid = 4242;
  peer.user = "alice";
  a.peer = peer;
  int asked = 0;
  a.client_secrets = [&asked](const std::string& id,
                              std::chrono::steady_clock::time_point) -> Result<SecretBuffer> {
    ++asked;
    if (id != "tok") return NotFoundError("secret " + id + ": not found");
    std::string_view v = "client-canary-77";
    return SecretBuffer::CopyOf(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
  };
  auto s = manager_->Open(std::move(a));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto v = (*s)->Fetch("tok", {"0", 1, 2, "RUN --mount=type=secret,id=tok true"});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(AsString(*v), "client-canary-77");
  EXPECT_EQ(v->provider(), "client");
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(CountRecords({"\"event\":\"secret.fetch\"", "\"provider\":\"client\"",
                          "\"outcome\":\"granted\"", "\"rule\":\"declared-source\"",
                          "\"requester\":\"uid=1000(alice) gid=1001 pid=4242\"", "hmac-sha256:"}),
            1u);
  ASSERT_TRUE((*s)->Close().ok());
  EXPECT_EQ(ReadAll((dir_ / "audit.log").string()).find("client-canary-77"), std::string::npos);
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
  std::string env("TOKEN=env-canary-7788\0", 22);
  auto s = Open({{"token", SecretSource::Kind::kEnv, "TOKEN", ""}}, Environ(env));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      auto v = s->Fetch("token", {});
      if (v.ok() && AsString(*v) == "env-canary-7788") ++ok;
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
  std::string env("TOKEN=env-canary-7788\0", 22);
  auto s = Open({{"token", SecretSource::Kind::kEnv, "TOKEN", ""}}, Environ(env));
  ASSERT_TRUE(s->Fetch("token", {}).ok());
  auto again = s->Fetch("token", {});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->from_cache());
  EXPECT_EQ(AsString(*again), "env-canary-7788");
  EXPECT_EQ(again->rule(), "declared-source");
  EXPECT_EQ(again->reference(), "TOKEN");
  EXPECT_EQ(s->provider_calls(), 1u);
  // Every record, cached ones included, names the rule that decided and the reference served.
  EXPECT_EQ(CountRecords({"\"outcome\":\"granted\"", "\"rule\":\"declared-source\"",
                          "\"reference\":\"TOKEN\""}),
            2u)
      << ReadAll((dir_ / "audit.log").string());
  EXPECT_EQ(CountRecords({"\"reference\":\"\""}), 0u);
}

// Issue 11 item 5: docs/providers.md says files are re-read; a rotated file reaches the next
// step, and each record names the version that step got.
TEST_F(SessionTest, RotatedFileIsReadAgainForTheNextStepAndEachVersionIsAudited) {
  Start();
  auto s = Open({FileSource("npmrc")});
  auto first = s->Fetch("npmrc", {"0", 1, 3, "RUN a"});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto same = s->Fetch("npmrc", {"0", 5, 9, "RUN again"});  // read again, unchanged
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->version(), first->version());
  EXPECT_EQ(s->Released().size(), 1u);  // the same value is released once
  std::string rotated = (dir_ / "npmrc.new").string();
  std::ofstream(rotated) << "rotated-npm-token-6262";
  fs::rename(rotated, secret_path_);
  auto second = s->Fetch("npmrc", {"0", 2, 4, "RUN b"});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(AsString(*first), "canary-npm-token-5150");
  EXPECT_EQ(AsString(*second), "rotated-npm-token-6262");
  EXPECT_FALSE(first->version().empty());
  EXPECT_NE(first->version(), second->version());
  EXPECT_EQ(CountRecords({"\"version\":\"" + first->version() + "\"", "\"index\":1"}), 1u);
  EXPECT_EQ(CountRecords({"\"version\":\"" + second->version() + "\"", "\"index\":2"}), 1u);
  EXPECT_EQ(s->provider_calls(), 3u);
  EXPECT_EQ(s->Released().size(), 2u);  // both values stay known to the leak scan
}

// Issue 11 item 5: Close must not destroy a provider instance while a fetch is inside it.
TEST_F(SessionTest, CloseWaitsForAFetchInsideTheProvider) {
  Start();
  std::string fifo = (dir_ / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto s = Open({{"piped", SecretSource::Kind::kFile, fifo, ""}});
  std::thread fetcher([&] {
    auto v = s->Fetch("piped", {});
    EXPECT_TRUE(v.ok()) << v.status().ToString();
  });
  // The provider is now waiting for a writer on the FIFO.
  while (s->provider_calls() == 0) std::this_thread::yield();
  std::thread closer([&] { EXPECT_TRUE(s->Close().ok()); });
  // Give a Close that does not wait the time to tear the instance down under the fetch.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  int fd = ::open(fifo.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "late-value", 10), 10);
  ::close(fd);
  fetcher.join();
  closer.join();
  // The grant was recorded before the session closed.
  std::string log = ReadAll((dir_ / "audit.log").string());
  size_t granted = log.find("\"outcome\":\"granted\"");
  size_t closed = log.find("\"event\":\"session.close\"");
  ASSERT_NE(granted, std::string::npos) << log;
  ASSERT_NE(closed, std::string::npos) << log;
  EXPECT_LT(granted, closed) << log;
}

// Issue 11 item 5: a step that shared another step's failed fetch is recorded too.
TEST_F(SessionTest, AWaiterOnAFailedFetchIsAuditedToo) {
  fetch_timeout_ = std::chrono::milliseconds(500);
  Start();
  std::string fifo = (dir_ / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto s = Open({{"piped", SecretSource::Kind::kFile, fifo, ""}});
  Result<SecretView> a = Status(StatusCode::kUnknown, "not run");
  Result<SecretView> b = Status(StatusCode::kUnknown, "not run");
  std::thread first([&] { a = s->Fetch("piped", {"0", 1, 3, "RUN a"}); });
  while (s->provider_calls() == 0) std::this_thread::yield();
  std::thread second([&] { b = s->Fetch("piped", {"0", 2, 4, "RUN b"}); });
  first.join();
  second.join();
  ASSERT_FALSE(a.ok());
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status(), a.status());
  EXPECT_EQ(CountRecords({"\"secret\":\"piped\"", "\"outcome\":\"error\"", "\"index\":1"}), 1u);
  EXPECT_EQ(CountRecords({"\"secret\":\"piped\"", "\"outcome\":\"error\"", "\"index\":2"}), 1u)
      << ReadAll((dir_ / "audit.log").string());
}

// A rule that refuses files outside `dir`.
PolicyFn OnlyFilesUnder(const std::string& dir) {
  PolicyRule rule;
  rule.name = "only-secrets-dir";
  rule.reason = "files must come from the secrets directory";
  rule.path_not_under = {dir};
  auto policy = std::make_shared<Policy>(std::vector<PolicyRule>{rule});
  return [policy](const PolicyRequest& q) { return policy->Decide(q); };
}

// Issue 11 item 1: a symlink inside an allowed directory does not carry a file outside it past
// the rule; the record names the link and the real file.
TEST_F(SessionTest, PathRulesDecideOnTheRealPathOfTheOpenedFile) {
  fs::create_directories(dir_ / "secrets");
  fs::create_directories(dir_ / "outside");
  std::string shadow = (dir_ / "outside" / "shadow").string();
  std::ofstream(shadow) << "root:shadow-canary-0042";
  std::string link = (dir_ / "secrets" / "link").string();
  fs::create_symlink(shadow, link);
  Start(OnlyFilesUnder((dir_ / "secrets").string()));
  auto s = Open({{"x", SecretSource::Kind::kFile, link, ""}});
  auto v = s->Fetch("x", {});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status(), PermissionDeniedError("secret x: denied by policy rule "
                                              "\"only-secrets-dir\": files must come from the "
                                              "secrets directory"));
  EXPECT_EQ(CountRecords({"\"outcome\":\"denied\"", "\"reference\":\"" + link + "\"",
                          "\"resolved\":\"" + shadow + "\""}),
            1u)
      << ReadAll((dir_ / "audit.log").string());
  // The same for a spelling with "//" and "..".
  auto s2 = Open({{"x", SecretSource::Kind::kFile,
                   (dir_ / "secrets").string() + "//../outside/./shadow", ""}});
  EXPECT_EQ(s2->Fetch("x", {}).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s2->Authorize("x", {}).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s->Authorize("x", {}).status().code(), StatusCode::kPermissionDenied);
}

TEST_F(SessionTest, ALinkToAFileInsideTheRuleIsServedWithBothPathsRecorded) {
  fs::create_directories(dir_ / "secrets");
  std::string real = (dir_ / "secrets" / "token").string();
  std::ofstream(real) << "inside-canary-3131";
  std::string link = (dir_ / "secrets" / "alias").string();
  fs::create_symlink(real, link);
  Start(OnlyFilesUnder((dir_ / "secrets").string()));
  auto s = Open({{"x", SecretSource::Kind::kFile, link, ""}});
  auto v = s->Fetch("x", {});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(AsString(*v), "inside-canary-3131");
  EXPECT_EQ(v->reference(), link);
  EXPECT_EQ(v->resolved(), real);
  EXPECT_EQ(CountRecords({"\"outcome\":\"granted\"", "\"reference\":\"" + link + "\"",
                          "\"resolved\":\"" + real + "\""}),
            1u);
  // A missing file names the path as written, as the file provider does.
  auto missing = Open({{"y", SecretSource::Kind::kFile, (dir_ / "secrets" / "nope").string(), ""}});
  EXPECT_EQ(missing->Fetch("y", {}).status(),
            NotFoundError("provider file: secret y: file " + (dir_ / "secrets" / "nope").string() +
                          ": no such file or directory"));
  // A directory: the provider's message names the user's path, not /proc/self/fd.
  auto dir = Open({{"z", SecretSource::Kind::kFile, (dir_ / "secrets").string(), ""}});
  EXPECT_EQ(dir->Fetch("z", {}).status(),
            InvalidArgumentError("provider file: secret z: file " + (dir_ / "secrets").string() +
                                 ": is a directory, not a file"));
}

// Issue 11 item 2: the Dockerfile path is matched in one spelling.
TEST_F(SessionTest, DockerfileRuleMatchesWhateverTheSpelling) {
  std::string dockerfile = (dir_ / "Dockerfile").string();
  std::ofstream(dockerfile) << "FROM scratch\n";
  PolicyRule rule;
  rule.name = "no-secrets-for-this-dockerfile";
  rule.reason = "untrusted";
  rule.dockerfiles = {*Glob::Compile(dockerfile)};
  auto policy = std::make_shared<Policy>(std::vector<PolicyRule>{rule});
  Start([policy](const PolicyRequest& q) { return policy->Decide(q); });
  for (const std::string& spelling :
       {dir_.string() + "//Dockerfile", dir_.string() + "//./Dockerfile",
        dir_.string() + "/sub/../Dockerfile"}) {
    SessionAttributes a;
    a.dockerfile = spelling;
    a.context = dir_.string() + "//.";
    a.declared = {FileSource("npmrc")};
    auto sess = manager_->Open(a);
    ASSERT_TRUE(sess.ok());
    EXPECT_EQ((*sess)->attributes().dockerfile, dockerfile);
    EXPECT_EQ((*sess)->attributes().context, dir_.string());
    auto v = (*sess)->Fetch("npmrc", {});
    EXPECT_EQ(v.status().code(), StatusCode::kPermissionDenied) << spelling;
    sessions_.push_back(*sess);
  }
}

// Issue 11 item 3: a cached step's secrets are re-authorised (not fetched) and the hit audited.
TEST_F(SessionTest, AuthorizeDecidesWithoutFetchingAndCacheHitsAreAudited) {
  Start();
  auto s = Open({FileSource("npmrc")});
  auto auth = s->Authorize("npmrc", {});
  ASSERT_TRUE(auth.ok()) << auth.status().ToString();
  EXPECT_EQ(auth->rule, "declared-source");
  EXPECT_EQ(auth->reference, secret_path_);
  EXPECT_EQ(s->provider_calls(), 0u);
  EXPECT_EQ(s->Authorize("configured", {}).status(),
            PermissionDeniedError("secret configured: denied by policy rule "
                                  "\"default-deny-provider\": no policy rule allows secret "
                                  "\"configured\" from provider file; add a rule with allow: "
                                  "true under policy.rules"));
  EXPECT_EQ(s->Authorize("absent", {}).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(s->AuthorizeCacheHit({"npmrc"}, {"0", 2, 7, "RUN x"}, "sha256:abc").ok());
  EXPECT_FALSE(s->AuthorizeCacheHit({"npmrc", "configured"}, {"0", 3, 8, "RUN y"}, "k").ok());
  EXPECT_EQ(CountRecords({"\"event\":\"cache.hit\"", "\"cache_key\":\"sha256:abc\"",
                          "\"secret\":\"npmrc\"", "\"rule\":\"declared-source\""}),
            1u)
      << ReadAll((dir_ / "audit.log").string());
  EXPECT_EQ(CountRecords({"\"event\":\"cache.hit\""}), 1u);
  EXPECT_EQ(s->provider_calls(), 0u);
  EXPECT_EQ(CountRecords({"\"event\":\"secret.fetch\""}), 0u);
}

TEST_F(SessionTest, SshForwardIsRecordedWithTheSessionAndStep) {
  Start();
  auto s = Open({FileSource("npmrc")});
  audit::SshForwardRecord use;
  use.ssh = "default";
  use.outcome = audit::SshOutcome::kGranted;
  use.agent = "/run/agent.sock";
  use.required = true;
  ASSERT_TRUE(s->RecordSshForward(use, {"build", 2, 7, "RUN --mount=type=ssh git pull"}).ok());
  EXPECT_EQ(CountRecords({"\"event\":\"ssh.forward\"", "\"session\":\"" + s->id() + "\"",
                          "\"ssh\":\"default\"", "\"outcome\":\"granted\"",
                          "\"agent\":\"/run/agent.sock\"", "\"required\":true",
                          "\"step\":{\"stage\":\"build\",\"index\":2,\"line\":7,"
                          "\"instruction\":\"RUN --mount=type=ssh git pull\"}",
                          "\"requester\":\"uid="}),
            1u)
      << ReadAll((dir_ / "audit.log").string());
  ASSERT_TRUE(s->Close().ok());
  EXPECT_EQ(s->RecordSshForward(use, {}),
            FailedPreconditionError("session " + s->id() + " is closed"));
  EXPECT_EQ(CountRecords({"\"event\":\"ssh.forward\""}), 1u);
}

TEST_F(SessionTest, SshForwardFailsClosedWhenTheAuditLogCannotWrite) {
  Start();
  auto s = Open({FileSource("npmrc")});
  {
    std::lock_guard<std::mutex> lk(plan_->mu);
    plan_->write_errno = ENOSPC;
  }
  audit::SshForwardRecord use;
  use.ssh = "default";
  use.outcome = audit::SshOutcome::kGranted;
  EXPECT_EQ(s->RecordSshForward(use, {}),
            UnavailableError("audit log unavailable: writing " + (dir_ / "audit.log").string() +
                             ": No space left on device"));
}

TEST_F(SessionTest, AuditFailureReleasesNoValue) {
  Start();
  auto s = Open({FileSource("npmrc")});
  {
    std::lock_guard<std::mutex> lk(plan_->mu);
    plan_->write_errno = ENOSPC;
  }
  auto v = s->Fetch("npmrc", {});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(v.status().message(), "audit log unavailable: writing " +
                                      (dir_ / "audit.log").string() + ": No space left on device");
  EXPECT_TRUE(s->Released().empty());
}

TEST_F(SessionTest, HungAuditWriteTimesOutInsteadOfHanging) {
  Start(nullptr, std::chrono::milliseconds(300));
  auto s = Open({FileSource("npmrc")});
  {
    std::lock_guard<std::mutex> lk(plan_->mu);
    plan_->hang_write = true;
  }
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

namespace latchkey {
namespace {

Glob G(const std::string& p) { return Glob::Compile(p).value(); }

// Pulls for everyone; pushes only for builds labelled release=true.
Policy RegistryPolicy() {
  PolicyRule pull;
  pull.name = "registry-pull";
  pull.allow = true;
  pull.reason = "every build may pull";
  pull.kind = RequestKind::kRegistry;
  pull.scopes = {"pull"};
  PolicyRule push;
  push.name = "registry-push-release";
  push.allow = true;
  push.reason = "releases push";
  push.kind = RequestKind::kRegistry;
  push.hosts = {G("reg.test:*")};
  push.scopes = {"push"};
  push.labels = {{"release", G("true")}};
  return Policy({pull, push});
}

TEST_F(SessionTest, RegistryCredentialIsDecidedPerScopeAndAuditedWithItsAccess) {
  Policy policy = RegistryPolicy();
  Start([&](const PolicyRequest& q) { return policy.Decide(q); });
  auto s = Open({});
  StepContext step;
  step.instruction = "pull reg.test:5000/team/app:1";
  auto v = s->FetchRegistry({"reg.test:5000", "team/app", "pull"}, step);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->id(), "registry:reg.test:5000");
  EXPECT_EQ(v->provider(), "file");
  EXPECT_EQ(v->rule(), "registry-pull");
  EXPECT_NE(AsString(*v).find("canary-reg-pw-77"), std::string::npos);
  // The value is redacted like any released secret.
  EXPECT_EQ(SecretRegistry::Global().Redact("pw=canary-reg-pw-77").find("canary-reg-pw-77"),
            std::string::npos);
  // A push needs the release label: refused, although the value was just released for a pull.
  auto push = s->FetchRegistry({"reg.test:5000", "team/app", "pull,push"}, step);
  ASSERT_FALSE(push.ok());
  EXPECT_EQ(push.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(push.status().message(),
            "secret registry:reg.test:5000 (push team/app): denied by policy rule "
            "\"default-deny-provider\": no policy rule allows the registry credential for "
            "reg.test:5000 (scope push) from provider file; add a rule with kind: registry and "
            "allow: true under policy.rules");
  EXPECT_EQ(CountRecords({"\"secret\":\"registry:reg.test:5000\"", "\"outcome\":\"granted\"",
                          "\"rule\":\"registry-pull\"",
                          "\"registry\":{\"host\":\"reg.test:5000\",\"repository\":\"team/app\","
                          "\"scope\":\"pull\"}",
                          "\"value_hmac\":\"hmac-sha256:", "pull reg.test:5000/team/app:1"}),
            1u);
  EXPECT_EQ(CountRecords({"\"outcome\":\"denied\"", "\"scope\":\"push\""}), 1u);
  ASSERT_TRUE(s->Close().ok());
  EXPECT_EQ(ReadAll((dir_ / "audit.log").string()).find("canary-reg-pw-77"), std::string::npos);
}

TEST_F(SessionTest, ReleaseBuildsMayPush) {
  Policy policy = RegistryPolicy();
  Start([&](const PolicyRequest& q) { return policy.Decide(q); });
  SessionAttributes a;
  a.labels["release"] = "true";
  auto s = manager_->Open(std::move(a));
  ASSERT_TRUE(s.ok());
  auto v = (*s)->FetchRegistry({"reg.test:5000", "team/app", "push"}, {});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->rule(), "registry-push-release");
  ASSERT_TRUE((*s)->Close().ok());
}

// A RUN step cannot reach a registry credential by asking for its id.
TEST_F(SessionTest, RegistryCredentialsAreNotBuildSecrets) {
  Policy policy = RegistryPolicy();
  Start([&](const PolicyRequest& q) { return policy.Decide(q); });
  auto s = Open({});
  ASSERT_TRUE(s->FetchRegistry({"reg.test:5000", "team/app", "pull"}, {}).ok());
  auto v = s->Fetch("registry:reg.test:5000", {});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kNotFound);
}

TEST_F(SessionTest, RegistryWithoutEntryOrDockerConfigProviderIsNotFound) {
  Start();
  auto s = Open({});
  auto v = s->FetchRegistry({"other.test", "team/app", "pull"}, {});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(v.status().message(),
            "secret registry:other.test: not found (tried: the configuration's registries map "
            "has no entry \"other.test\"; no dockerconfig provider is configured)");
  auto bad = s->FetchRegistry({"reg.test:5000", "team/app", "delete"}, {});
  EXPECT_EQ(bad.status().message(),
            "registry credential for reg.test:5000: scope \"delete\" is not pull, push or "
            "pull,push");
}

// latchkeyd: a session whose client serves registry logins (SessionAttributes::client_registry)
// asks the client first, as provider "client": the built-in docker-login rule allows the user's
// own login, the record names the provider, the host and the peer, and the value is kept for the
// session (a second request does not ask again) and never written to the audit log.
class ClientRegistryTest : public SessionTest {
 protected:
  std::shared_ptr<Session> OpenWithClient(Result<std::string> answer) {
    SessionAttributes a;
    a.uid = 1000;
    a.user = "alice";
    audit::PeerInfo peer;
    peer.transport = "unix";
    peer.uid = 1000;
    peer.gid = 1001;
    peer.pid = 4242;
    peer.user = "alice";
    a.peer = peer;
    a.client_registry = [this, answer](
                            const std::string& host,
                            std::chrono::steady_clock::time_point) mutable -> Result<SecretBuffer> {
      asked_.push_back(host);
      if (!answer.ok()) return answer.status();
      return SecretBuffer::CopyOf(std::span<const uint8_t>(
          reinterpret_cast<const uint8_t*>(answer->data()), answer->size()));
    };
    auto s = manager_->Open(std::move(a));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    sessions_.push_back(*s);
    return *s;
  }
  std::vector<std::string> asked_;
};

const char kClientLogin[] =
    R"({"ServerURL":"reg.test:5000","Username":"bob","Secret":"client-reg-canary-31"})";

TEST_F(ClientRegistryTest, TheClientsLoginIsAskedFirstAsProviderClient) {
  Start();
  auto s = OpenWithClient(std::string(kClientLogin));
  StepContext step;
  step.instruction = "pull reg.test:5000/team/app:1";
  auto v = s->FetchRegistry({"reg.test:5000", "team/app", "pull"}, step);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->provider(), "client");
  EXPECT_EQ(v->reference(), "reg.test:5000");
  EXPECT_EQ(v->rule(), "docker-login");
  EXPECT_NE(AsString(*v).find("client-reg-canary-31"), std::string::npos);
  EXPECT_EQ(asked_, std::vector<std::string>{"reg.test:5000"});
  auto again = s->FetchRegistry({"reg.test:5000", "team/app", "pull"}, step);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->from_cache());
  EXPECT_EQ(asked_.size(), 1u);
  EXPECT_EQ(CountRecords({"\"secret\":\"registry:reg.test:5000\"", "\"provider\":\"client\"",
                          "\"outcome\":\"granted\"", "\"rule\":\"docker-login\"",
                          "\"requester\":\"uid=1000(alice) gid=1001 pid=4242\"",
                          "\"value_hmac\":\"hmac-sha256:"}),
            2u);
  ASSERT_TRUE(s->Close().ok());
  EXPECT_EQ(ReadAll((dir_ / "audit.log").string()).find("client-reg-canary-31"), std::string::npos);
  // The built-in rule's reason, as `latchkey policy explain` shows it.
  PolicyRequest q;
  q.kind = RequestKind::kRegistry;
  q.secret_id = "registry:reg.test:5000";
  q.host = "reg.test:5000";
  q.repository = "team/app";
  q.scope = "pull";
  q.provider = "client";
  q.declared = true;
  EXPECT_EQ(Policy().Decide(q).reason,
            "registry credential for reg.test:5000 (scope pull) from provider client: the "
            "user's own login, served by the latchkeyd client over its session; allowed for "
            "this session only");
}

// No login on the client (NOT_FOUND): recorded as not_found for provider client, then the
// daemon's own source serves the request.
TEST_F(ClientRegistryTest, NoClientLoginFallsBackToTheDaemonsSource) {
  Policy policy = RegistryPolicy();
  Start([&](const PolicyRequest& q) { return policy.Decide(q); });
  auto s = OpenWithClient(NotFoundError("the latchkeyd client has no login for reg.test:5000"));
  auto v = s->FetchRegistry({"reg.test:5000", "team/app", "pull"}, {});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->provider(), "file");
  EXPECT_NE(AsString(*v).find("canary-reg-pw-77"), std::string::npos);
  EXPECT_EQ(asked_.size(), 1u);
  EXPECT_EQ(CountRecords({"\"provider\":\"client\"", "\"outcome\":\"not_found\"",
                          "the latchkeyd client has no login for reg.test:5000"}),
            1u);
  EXPECT_EQ(CountRecords({"\"provider\":\"file\"", "\"outcome\":\"granted\""}), 1u);
  // Neither source: the daemon's not-found text.
  auto none = s->FetchRegistry({"other.test", "team/app", "pull"}, {});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(none.status().message(),
            "secret registry:other.test: not found (tried: the configuration's registries map "
            "has no entry \"other.test\"; no dockerconfig provider is configured)");
}

// A rule that denies provider client fails the request with the denial; the client is not
// asked and the daemon's own source is not tried.
TEST_F(ClientRegistryTest, PolicyDenyingTheClientFailsTheRequest) {
  PolicyRule deny;
  deny.name = "no-client-logins";
  deny.allow = false;
  deny.reason = "this daemon pulls with its own credentials only";
  deny.kind = RequestKind::kRegistry;
  deny.providers = {"client"};
  Policy policy({deny});
  Start([&](const PolicyRequest& q) { return policy.Decide(q); });
  auto s = OpenWithClient(std::string(kClientLogin));
  auto v = s->FetchRegistry({"reg.test:5000", "team/app", "pull"}, {});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(v.status().message(),
            "secret registry:reg.test:5000 (pull team/app): denied by policy rule "
            "\"no-client-logins\": this daemon pulls with its own credentials only");
  EXPECT_TRUE(asked_.empty());
  EXPECT_EQ(CountRecords({"\"provider\":\"client\"", "\"outcome\":\"denied\"",
                          "\"rule\":\"no-client-logins\""}),
            1u);
  EXPECT_EQ(CountRecords({"\"provider\":\"file\""}), 0u);
}

// The client's refusal (any error but NOT_FOUND) fails the request with its text, audited.
TEST_F(ClientRegistryTest, TheClientsRefusalFailsTheRequest) {
  Policy policy = RegistryPolicy();
  Start([&](const PolicyRequest& q) { return policy.Decide(q); });
  auto s = OpenWithClient(PermissionDeniedError(
      "session s1: Credentials reg.test:5000: docker-credential-pass: gpg: decryption failed"));
  auto v = s->FetchRegistry({"reg.test:5000", "team/app", "pull"}, {});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(v.status().message(),
            "session s1: Credentials reg.test:5000: docker-credential-pass: gpg: decryption "
            "failed");
  EXPECT_EQ(CountRecords({"\"provider\":\"client\"", "\"outcome\":\"error\""}), 1u);
  EXPECT_EQ(CountRecords({"\"provider\":\"file\""}), 0u);
}

// A process-isolated provider that crashes fails the one fetch that needed it: the error names
// the signal, provider.crashed is audited, the session's other providers keep working, and the
// next fetch of the same provider starts a fresh host.
TEST_F(SessionTest, ACrashingProcessProviderFailsOnlyItsFetch) {
  std::string build =
      std::getenv("LATCHKEY_BUILD_DIR") ? std::getenv("LATCHKEY_BUILD_DIR") : "build";
  auto keys = audit::GenerateKeys();
  ASSERT_TRUE(keys.ok());
  audit::AuditOptions ao;
  ao.path = (dir_ / "audit.log").string();
  auto log = audit::AuditLog::Open(ao, std::make_shared<const audit::AuditKeys>(std::move(*keys)));
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  log_ = std::move(*log);
  SessionManagerOptions o;
  o.providers.push_back({"file", ProvidersDir() + "/latchkey-file.so", "", {}});
  ProviderSpec vault{"vault",
                     build + "/lib/latchkey/test-fixtures/fixture-behave.so",
                     "",
                     {ConfigValue::Text("name", "n1")}};
  vault.isolation = Isolation::kProcess;
  o.providers.push_back(std::move(vault));
  o.provider_host = build + "/bin/latchkey-provider-host";
  o.secrets["crashing"] = {"vault", "crash"};
  o.secrets["fine"] = {"vault", "value:fine-value"};
  o.policy = [](const PolicyRequest&) {
    PolicyDecision d;
    d.allowed = true;
    d.rule = "allow-all";
    return d;
  };
  o.audit = log_.get();
  auto m = SessionManager::Create(std::move(o));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  manager_ = std::move(*m);
  auto s = Open({FileSource("npmrc")});

  auto crashed = s->Fetch("crashing", {"0", 1, 3, "RUN --mount=type=secret,id=crashing true"});
  ASSERT_FALSE(crashed.ok());
  EXPECT_EQ(crashed.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(crashed.status().message(),
            "provider \"vault\" crashed (signal 11, SIGSEGV) while fetching \"crashing\"; it will "
            "be restarted");
  auto file = s->Fetch("npmrc", {"0", 2, 4, "RUN --mount=type=secret,id=npmrc true"});
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(AsString(*file), "canary-npm-token-5150");
  auto fine = s->Fetch("fine", {"0", 3, 5, "RUN --mount=type=secret,id=fine true"});
  ASSERT_TRUE(fine.ok()) << fine.status().ToString();
  EXPECT_EQ(AsString(*fine), "fine-value");
  ASSERT_TRUE(s->Close().ok());
  EXPECT_EQ(CountRecords({"\"event\":\"provider.crashed\"", "\"provider\":\"vault\"",
                          "\"secret\":\"crashing\"", "\"signal\":11", "\"signal_name\":\"SIGSEGV\"",
                          "\"crashes\":1", "\"backoff\":false"}),
            1u);
  EXPECT_EQ(CountRecords({"\"event\":\"secret.fetch\"", "\"secret\":\"crashing\"",
                          "\"outcome\":\"error\"", "crashed (signal 11, SIGSEGV)"}),
            1u);
}

}  // namespace
}  // namespace latchkey
