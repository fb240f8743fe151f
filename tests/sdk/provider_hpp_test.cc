// Tests of the header-only C++ provider helper (latchkey/provider.hpp) through the C ABI it
// generates, with the conformance suite's instrumented host.
#include "latchkey/provider.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_host.h"

namespace {

using latchkey::Result;
using latchkey::Status;
using latchkey::conformance::NowUnixMs;
using latchkey::conformance::TestHost;
using latchkey::sdk::Config;
using latchkey::sdk::Host;
using latchkey::sdk::Request;
using latchkey::sdk::Response;

const lk_config_key kKeys[] = {
    {"name", LK_CONFIG_STRING, LK_CONFIG_REQUIRED, "a name", nullptr},
    {"count", LK_CONFIG_INT, 0, "a count", "7"},
    {"on", LK_CONFIG_BOOL, 0, "a switch", nullptr},
    {"wait", LK_CONFIG_DURATION, 0, "a wait", nullptr},
    {"dir", LK_CONFIG_PATH, 0, "a dir", nullptr},
    {"token", LK_CONFIG_STRING, LK_CONFIG_SECRET, "a token", nullptr},
};

Result<Config> Parse(std::vector<lk_kv> kv) {
  return Config::Parse("t", kKeys, std::size(kKeys), kv.data(), kv.size());
}
lk_kv Kv(const char* k, const char* v) { return lk_kv{k, v, std::strlen(v)}; }

TEST(SdkConfig, AppliesDefaultsAndTypedGetters) {
  Result<Config> c = Parse({Kv("name", "n"), Kv("on", "true"), Kv("wait", "1500"),
                            Kv("dir", "/srv"), Kv("count", "-12")});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->GetString("name"), "n");
  EXPECT_EQ(c->GetInt("count"), -12);
  EXPECT_TRUE(c->GetBool("on"));
  EXPECT_EQ(c->GetDurationMs("wait"), 1500);
  EXPECT_EQ(c->GetPath("dir"), "/srv");
  EXPECT_TRUE(c->Has("dir"));
  EXPECT_FALSE(c->Has("token"));
  Result<Config> d = Parse({Kv("name", "n")});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->GetInt("count"), 7);  // the descriptor's default
  EXPECT_FALSE(d->Has("count"));
  EXPECT_FALSE(d->GetBool("on", false));
}

TEST(SdkConfig, RejectsWithExactMessages) {
  EXPECT_EQ(Parse({Kv("name", "n"), Kv("nmae", "x")}).status().ToString(),
            "INVALID_ARGUMENT: provider t: unknown config key \"nmae\" (known keys: name, "
            "count, on, wait, dir, token)");
  EXPECT_EQ(Parse({Kv("count", "1")}).status().ToString(),
            "INVALID_ARGUMENT: provider t: missing required config key \"name\"");
  EXPECT_EQ(Parse({Kv("name", "a"), Kv("name", "b")}).status().ToString(),
            "INVALID_ARGUMENT: provider t: config key \"name\" is given more than once");
  EXPECT_EQ(Parse({Kv("name", "n"), Kv("count", "12x")}).status().ToString(),
            "INVALID_ARGUMENT: provider t: config key \"count\" must be a decimal integer, got "
            "\"12x\"");
  EXPECT_EQ(Parse({Kv("name", "n"), Kv("on", "yes")}).status().ToString(),
            "INVALID_ARGUMENT: provider t: config key \"on\" must be \"true\" or \"false\", got "
            "\"yes\"");
  EXPECT_EQ(Parse({Kv("name", "n"), Kv("wait", "-1")}).status().ToString(),
            "INVALID_ARGUMENT: provider t: config key \"wait\" must be a duration in "
            "milliseconds (decimal), got \"-1\"");
  EXPECT_EQ(Parse({Kv("name", "n"), Kv("dir", "")}).status().ToString(),
            "INVALID_ARGUMENT: provider t: config key \"dir\" must be a non-empty path, got \"\"");
  EXPECT_EQ(Parse({Kv("name", "n"), Kv("count", "9223372036854775808")}).status().code(),
            latchkey::StatusCode::kInvalidArgument);  // INT64_MAX + 1
  EXPECT_EQ(Parse({Kv("name", "n"), Kv("count", "99999999999999999999")}).status().code(),
            latchkey::StatusCode::kInvalidArgument);
}

TEST(SdkConfig, AcceptsTheWholeInt64Range) {
  Result<Config> c = Parse({Kv("name", "n"), Kv("count", "-9223372036854775808")});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->GetInt("count"), INT64_MIN);
  c = Parse({Kv("name", "n"), Kv("count", "9223372036854775807")});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->GetInt("count"), INT64_MAX);
}

// A provider exercising every trampoline path. Its behaviour is chosen by the reference.
class Probe {
 public:
  static constexpr const char* kName = "probe";
  static constexpr const char* kVersion = "2.3.4";
  static constexpr lk_config_key kConfig[] = {
      {"secret", LK_CONFIG_STRING, LK_CONFIG_SECRET, "kept in secure memory", nullptr}};
  static constexpr uint32_t kThreading = LK_THREADING_SERIALIZED;

  static Result<std::unique_ptr<Probe>> Create(const Config& config, Host& host) {
    if (config.Raw("secret") == "throw") throw std::runtime_error("create blew up");
    auto p = std::make_unique<Probe>();
    p->host_ = &host;
    if (config.Has("secret")) {
      LK_ASSIGN_OR_RETURN(p->kept_, config.GetSecret("secret", host));
    }
    return p;
  }
  Result<Response> Fetch(const Request& req) {
    if (req.ref == "throw") throw std::runtime_error("fetch blew up");
    if (req.ref == "bad_alloc") throw std::bad_alloc();
    if (req.ref == "unavailable") return latchkey::UnavailableError("backend down");
    Response r;
    if (req.ref == "kept") {
      // Allocated under the instance context: the SDK must copy it into the call context.
      LK_ASSIGN_OR_RETURN(r.value, host_->CopySecret(kept_.data(), kept_.size()));
    } else {
      LK_ASSIGN_OR_RETURN(r.value, req.host.CopySecret(req.ref.data(), req.ref.size()));
    }
    r.no_cache = true;
    r.expires_unix_ms = 42;
    r.version = std::string(100, 'v');
    return r;
  }

 private:
  Host* host_ = nullptr;
  latchkey::sdk::SecretBytes kept_;
};

using ProbeGlue = latchkey::sdk::internal::Glue<Probe>;

struct Harness {
  TestHost host;
  lk_host_ctx* ctx = host.NewInstanceContext();
  const lk_provider_api& api = ProbeGlue::kApi;
  lk_instance* inst = nullptr;
  lk_error err{};

  int32_t Create(std::vector<lk_kv> kv) {
    std::memset(&err, 0, sizeof err);
    err.header.struct_size = sizeof err;
    return api.create(host.api(), ctx, kv.data(), kv.size(), &inst, &err);
  }
  int32_t Fetch(const char* ref, lk_secret* out, int32_t forced = LK_OK) {
    lk_request req{};
    req.header.struct_size = sizeof req;
    req.ref = ref;
    req.secret_id = req.session_id = req.build_id = req.stage = "";
    req.ctx = host.NewCallContext(0, forced);
    std::memset(out, 0, sizeof *out);
    out->header.struct_size = sizeof *out;
    std::memset(&err, 0, sizeof err);
    err.header.struct_size = sizeof err;
    int32_t rc = api.fetch(inst, &req, out, &err);
    last_call = req.ctx;
    return rc;
  }
  lk_host_ctx* last_call = nullptr;
};

TEST(SdkTable, DescribesTheProvider) {
  const lk_provider_api& api = ProbeGlue::kApi;
  EXPECT_EQ(api.header.struct_size, sizeof(lk_provider_api));
  EXPECT_EQ(api.header.abi_major, LK_ABI_MAJOR);
  EXPECT_STREQ(api.name, "probe");
  EXPECT_STREQ(api.version, "2.3.4");
  EXPECT_EQ(api.threading, static_cast<uint32_t>(LK_THREADING_SERIALIZED));
  EXPECT_EQ(api.capabilities, 0u);  // no List, no Health
  EXPECT_EQ(api.list, nullptr);
  EXPECT_EQ(api.health, nullptr);
  EXPECT_EQ(api.config_key_count, 1u);
  const lk_provider_api* out = nullptr;
  EXPECT_EQ(ProbeGlue::Entry(LK_ABI_MAJOR + 1, 0, &out), LK_FAILED_PRECONDITION);
  EXPECT_EQ(out, &api);  // written even when refusing
  EXPECT_EQ(ProbeGlue::Entry(LK_ABI_MAJOR, 9, &out), LK_OK);
}

TEST(SdkTrampolines, MapExceptionsToCodes) {
  Harness h;
  EXPECT_EQ(h.Create({Kv("secret", "throw")}), LK_INTERNAL);
  EXPECT_STREQ(h.err.message, "provider probe: internal error: create blew up");
  EXPECT_EQ(h.inst, nullptr);
  ASSERT_EQ(h.Create({}), LK_OK);
  lk_secret out;
  EXPECT_EQ(h.Fetch("throw", &out), LK_INTERNAL);
  EXPECT_STREQ(h.err.message, "provider probe: internal error: fetch blew up");
  EXPECT_EQ(h.Fetch("bad_alloc", &out), LK_RESOURCE_EXHAUSTED);
  EXPECT_STREQ(h.err.message, "provider probe: out of memory");
  EXPECT_EQ(h.Fetch("unavailable", &out), LK_UNAVAILABLE);
  EXPECT_STREQ(h.err.message, "backend down");
  EXPECT_EQ(h.err.flags & LK_ERROR_RETRYABLE, LK_ERROR_RETRYABLE);
  EXPECT_EQ(out.data, nullptr);
  h.api.destroy(h.inst);
}

TEST(SdkTrampolines, FillsTheResponseFromCallMemory) {
  Harness h;
  ASSERT_EQ(h.Create({Kv("secret", "kept-value")}), LK_OK) << h.err.message;
  lk_secret out;
  ASSERT_EQ(h.Fetch("kept", &out), LK_OK) << h.err.message;
  ASSERT_EQ(out.len, 10u);
  EXPECT_EQ(std::memcmp(out.data, "kept-value", 10), 0);
  EXPECT_EQ(out.flags, LK_SECRET_NO_CACHE);
  EXPECT_EQ(out.expires_unix_ms, 42);
  EXPECT_EQ(std::string(out.version), std::string(63, 'v'));  // truncated, NUL-terminated
  TestHost::CallEnd end = h.host.EndCall(h.last_call, out.data, out.len, nullptr);
  EXPECT_EQ(end.data_problem, "");  // copied into the call context by the SDK
  h.api.destroy(h.inst);
  EXPECT_EQ(h.host.ReleaseContext(h.ctx), 0u);  // the kept secret was freed by destroy
  EXPECT_EQ(h.host.alloc_count(), h.host.free_count());
}

TEST(SdkTrampolines, StopsBeforeFetchWhenTheCallIsOver) {
  Harness h;
  ASSERT_EQ(h.Create({}), LK_OK);
  lk_secret out;
  EXPECT_EQ(h.Fetch("x", &out, LK_DEADLINE_EXCEEDED), LK_DEADLINE_EXCEEDED);
  EXPECT_STREQ(h.err.message, "provider probe: deadline exceeded");
  EXPECT_EQ(h.Fetch("x", &out, LK_CANCELLED), LK_CANCELLED);
  EXPECT_STREQ(h.err.message, "provider probe: the host cancelled the call");
  h.api.destroy(h.inst);
}

TEST(SdkHost, ChecksTheClockWhenTheHostTableIsShort) {
  TestHost t;
  lk_host_api small = *t.api();
  small.header.struct_size = offsetof(lk_host_api, check_deadline);
  small.check_deadline = nullptr;
  Host past(&small, t.NewCallContext(0), "p", NowUnixMs() - 10);
  EXPECT_EQ(past.CheckDeadline().ToString(), "DEADLINE_EXCEEDED: provider p: deadline exceeded");
  Host future(&small, t.NewCallContext(0), "p", NowUnixMs() + 600000);
  EXPECT_TRUE(future.CheckDeadline().ok());
  Result<latchkey::sdk::SecretBytes> b = future.AllocSecret(0);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->data(), nullptr);  // len 0 asks the host for nothing
  EXPECT_EQ(t.alloc_count(), 0u);
}

}  // namespace
