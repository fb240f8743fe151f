#include "broker/provider_instance.h"

#include <gtest/gtest.h>

#include <thread>

#include "broker/plugin_test_util.h"

namespace latchkey {
namespace {

using plugintest::FixturePath;
using plugintest::LogCapture;
using plugintest::TestString;

std::shared_ptr<PluginLibrary> Library(const std::string& fixture) {
  auto lib = PluginLoader::Load(FixturePath(fixture));
  EXPECT_TRUE(lib.ok()) << lib.status().ToString();
  return lib.ok() ? *lib : nullptr;
}

std::unique_ptr<ProviderInstance> Instance(const std::string& fixture = "fixture-behave",
                                           std::vector<ConfigValue> config = {
                                               ConfigValue::Text("name", "n1")}) {
  auto lib = Library(fixture);
  if (lib == nullptr) return nullptr;
  auto inst = ProviderInstance::Create(lib, config);
  EXPECT_TRUE(inst.ok()) << inst.status().ToString();
  return inst.ok() ? std::move(*inst) : nullptr;
}

FetchRequest Ref(const std::string& ref) {
  FetchRequest r;
  r.ref = ref;
  r.secret_id = "sid";
  return r;
}

std::string FetchString(ProviderInstance& inst, const std::string& ref) {
  auto r = inst.Fetch(Ref(ref));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? TestString(r->value) : "(error)";
}

TEST(ProviderInstance, FetchReturnsASealedValue) {
  auto inst = Instance();
  ASSERT_NE(inst, nullptr);
  auto r = inst->Fetch(Ref("value:hello"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(TestString(r->value), "hello");
  EXPECT_TRUE(r->value.sealed());
  EXPECT_FALSE(r->no_cache);
  EXPECT_FALSE(r->expires_unix_ms.has_value());
  EXPECT_EQ(r->version, "");
  EXPECT_EQ(inst->name(), "behave");
}

TEST(ProviderInstance, ShorterLenThanBlockIsCopied) {
  auto inst = Instance();
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(FetchString(*inst, "big-block:abc"), "abc");
}

TEST(ProviderInstance, EmptyValue) {
  auto inst = Instance();
  ASSERT_NE(inst, nullptr);
  auto r = inst->Fetch(Ref("empty"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->value.empty());
}

TEST(ProviderInstance, MetadataIsPassedThrough) {
  auto inst = Instance();
  ASSERT_NE(inst, nullptr);
  auto r = inst->Fetch(Ref("metadata"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(TestString(r->value), "meta");
  EXPECT_TRUE(r->no_cache);
  EXPECT_EQ(r->expires_unix_ms, 1234);
  EXPECT_EQ(r->version, "v7");
}

TEST(ProviderInstance, RequestContextReachesThePlugin) {
  auto inst = Instance();
  ASSERT_NE(inst, nullptr);
  FetchRequest req = Ref("context");
  req.requester_uid = 1001;
  req.step_index = 2;
  req.dockerfile_line = 17;
  req.session_id = "sess";
  req.build_id = "b1";
  req.stage = "builder";
  req.deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  auto r = inst->Fetch(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(TestString(r->value),
            "uid=1001 step=2 line=17 id=sid session=sess build=b1 stage=builder deadline=set");
}

TEST(ProviderInstance, ConfigIsValidatedDefaultedAndPassed) {
  auto inst = Instance("fixture-behave",
                       {ConfigValue::Text("name", "n1"), ConfigValue::Text("token", "tok-123")});
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(FetchString(*inst, "config:name"), "n1");
  EXPECT_EQ(FetchString(*inst, "config:count"), "3");  // default from the descriptor
  EXPECT_EQ(FetchString(*inst, "config:token"), "tok-123");
  auto absent = inst->Fetch(Ref("config:enabled"));
  EXPECT_EQ(absent.status().message(), "provider behave: config key enabled was not passed");
}

TEST(ProviderInstance, BadConfigNeverReachesCreate) {
  auto lib = Library("fixture-behave");
  ASSERT_NE(lib, nullptr);
  auto missing = ProviderInstance::Create(lib, {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(missing.status().message(), "provider behave: missing required config key \"name\"");

  auto unknown = ProviderInstance::Create(
      lib, {ConfigValue::Text("name", "n"), ConfigValue::Text("tokn", "x")});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(),
            "provider behave: unknown config key \"tokn\" (did you mean \"token\"?); valid keys: "
            "name, count, enabled, timeout, token, base");

  auto mistyped = ProviderInstance::Create(
      lib, {ConfigValue::Text("name", "n"), ConfigValue::Text("count", "three")});
  ASSERT_FALSE(mistyped.ok());
  EXPECT_EQ(mistyped.status().message(),
            "provider behave: config key \"count\" must be an integer (got \"three\")");
}

TEST(ProviderInstance, CreateErrorIsPrefixed) {
  auto lib = Library("fixture-behave");
  ASSERT_NE(lib, nullptr);
  auto r = ProviderInstance::Create(lib, {ConfigValue::Text("name", "fail-create")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(r.status().message(), "provider behave: create refused for fail-create");
}

TEST(ProviderInstance, PluginErrorsAreMappedAndPrefixed) {
  auto inst = Instance();
  ASSERT_NE(inst, nullptr);
  auto nf = inst->Fetch(Ref("error:5:secret x: not here"));
  EXPECT_EQ(nf.status(), NotFoundError("provider behave: secret x: not here"));
  auto unauth = inst->Fetch(Ref("error:16:token expired"));
  EXPECT_EQ(unauth.status(), UnauthenticatedError("provider behave: token expired"));
  auto vendor = inst->Fetch(Ref("error:65537:vendor trouble"));
  EXPECT_EQ(vendor.status(),
            InternalError("provider behave: vendor trouble (provider error code 65537)"));
  auto negative = inst->Fetch(Ref("error:-1:negative"));
  EXPECT_EQ(negative.status(), InternalError("provider behave: negative (provider error code -1)"));
  auto prefixed = inst->Fetch(Ref("error:3:provider behave: already prefixed"));
  EXPECT_EQ(prefixed.status(), InvalidArgumentError("provider behave: already prefixed"));
  auto silent = inst->Fetch(Ref("error:14:"));
  EXPECT_EQ(silent.status(),
            UnavailableError("provider behave: fetch failed with UNAVAILABLE and no message"));
}

TEST(ProviderInstance, UnterminatedErrorMessageIsCut) {
  auto inst = Instance();
  ASSERT_NE(inst, nullptr);
  auto r = inst->Fetch(Ref("unterminated"));
  EXPECT_EQ(r.status(),
            UnavailableError("provider behave: " + std::string(LK_ERROR_MESSAGE_MAX - 1, 'x')));
}

TEST(ProviderInstance, ForeignMemoryIsRejected) {
  auto inst = Instance();
  ASSERT_NE(inst, nullptr);
  auto r = inst->Fetch(Ref("foreign"));
  EXPECT_EQ(r.status(), InternalError("provider behave: returned memory the host did not "
                                      "allocate"));
  // A block of the instance context is not a block of this call either.
  auto i = inst->Fetch(Ref("instance-block"));
  EXPECT_EQ(i.status(), InternalError("provider behave: returned memory the host did not "
                                      "allocate"));
  EXPECT_EQ(inst->instance_block_count(), 3u);  // name, count and the block: still the plugin's
}

TEST(ProviderInstance, LengthBeyondTheBlockIsRejected) {
  auto inst = Instance();
  ASSERT_NE(inst, nullptr);
  LogCapture log("behave");
  EXPECT_EQ(inst->Fetch(Ref("len-too-big")).status(),
            InternalError("provider behave: returned a length of 5 bytes, beyond its 4-byte "
                          "block"));
  EXPECT_EQ(inst->Fetch(Ref("null-data")).status(),
            InternalError("provider behave: returned a length of 5 bytes without data"));
  EXPECT_EQ(log.text(), "");  // the rejected block is not reported as a leftover
}

TEST(ProviderInstance, LeftoverBlocksAreFreedAndReported) {
  LogCapture log("behave");
  auto inst = Instance();
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(FetchString(*inst, "leak:v"), "v");
  EXPECT_EQ(log.text(),
            "warning plugin bug: provider behave left 1 secure memory block(s) allocated during "
            "fetch; the host wiped and freed them\n");
}

TEST(ProviderInstance, DataOnErrorIsFreedAndReported) {
  LogCapture log("behave");
  auto inst = Instance();
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(inst->Fetch(Ref("error-with-data")).status(),
            NotFoundError("provider behave: nothing here"));
  EXPECT_EQ(log.text(),
            "warning plugin bug: provider behave returned data with a failed fetch; the host "
            "wiped and freed it\n");
}

TEST(ProviderInstance, FreeingForeignMemoryIsHarmless) {
  LogCapture log("behave");
  auto inst = Instance();
  ASSERT_NE(inst, nullptr);
  auto r = inst->Fetch(Ref("free-foreign"));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(log.text(),
            "error plugin bug: provider behave called secret_free on memory this context did "
            "not allocate; ignored\n");
}

TEST(ProviderInstance, PluginLogGoesToItsLogger) {
  LogCapture log("behave");
  auto inst = Instance();
  ASSERT_NE(inst, nullptr);
  ASSERT_TRUE(inst->Fetch(Ref("log:rotating key\nnow")).ok());
  EXPECT_EQ(log.text(), "warning rotating key\\nnow\n");
}

TEST(ProviderInstance, DeadlineAndCancellation) {
  auto inst = Instance();
  ASSERT_NE(inst, nullptr);
  FetchRequest req = Ref("deadline");
  req.deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  auto r = inst->Fetch(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(TestString(r->value), "in time");
  // Already past or already cancelled: the plugin is not called at all.
  req.deadline = std::chrono::steady_clock::now() - std::chrono::milliseconds(1);
  req.timeout = std::chrono::seconds(30);
  EXPECT_EQ(inst->Fetch(req).status(),
            DeadlineExceededError(
                "provider \"behave\" did not answer within 30s while fetching \"sid\""));
  std::atomic<bool> cancelled{true};
  req.deadline.reset();
  req.cancelled = &cancelled;
  EXPECT_EQ(inst->Fetch(req).status(),
            CancelledError("provider \"behave\" was cancelled while fetching \"sid\""));
  EXPECT_FALSE(inst->poisoned());
}

TEST(ProviderInstance, TheDeadlineCanBeSeenByThePlugin) {
  auto inst = Instance();
  ASSERT_NE(inst, nullptr);
  FetchRequest req = Ref("context");
  req.timeout = std::chrono::minutes(1);
  auto r = inst->Fetch(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NE(TestString(r->value).find("deadline=set"), std::string::npos);
}

TEST(ProviderInstance, AHungFetchFailsAtTheConfiguredTimeoutAndPoisonsTheInstance) {
  auto inst = Instance();
  ASSERT_NE(inst, nullptr);
  FetchRequest req = Ref("hang");
  req.secret_id = "npmrc";
  req.timeout = std::chrono::milliseconds(200);
  EXPECT_EQ(inst->Fetch(req).status(),
            DeadlineExceededError(
                "provider \"behave\" did not answer within 200ms while fetching \"npmrc\""));
  EXPECT_TRUE(inst->poisoned());
  // Never called again, not even for a reference that would answer.
  EXPECT_EQ(inst->Fetch(Ref("value:x")).status(),
            UnavailableError("provider \"behave\" is not called again in this session: an "
                             "earlier fetch did not answer"));
  inst.reset();  // must not call destroy under the hung call (nor crash)
}

TEST(ProviderInstance, ACancelledFetchReturnsWhileThePluginStillRuns) {
  auto inst = Instance();
  ASSERT_NE(inst, nullptr);
  std::atomic<bool> cancelled{false};
  FetchRequest req = Ref("hang");
  req.timeout = std::chrono::hours(1);
  req.cancelled = &cancelled;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cancelled.store(true);
  });
  Status st = inst->Fetch(req).status();
  canceller.join();
  EXPECT_EQ(st, CancelledError("provider \"behave\" was cancelled while fetching \"sid\""));
  EXPECT_TRUE(inst->poisoned());
}

TEST(ProviderInstance, AnAbandonedCallThatReturnsLaterIsReleased) {
  auto inst = Instance();
  ASSERT_NE(inst, nullptr);
  FetchRequest req = Ref("sleep:900");
  req.timeout = std::chrono::milliseconds(50);
  EXPECT_EQ(inst->Fetch(req).status().code(), StatusCode::kDeadlineExceeded);
  inst.reset();
  // The worker finishes after its caller and the instance are gone; it must only touch what
  // it shares (nothing to assert beyond not crashing, which the sanitizer build checks).
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
}

TEST(ProviderInstance, ListAndHealth) {
  auto inst = Instance();
  ASSERT_NE(inst, nullptr);
  auto refs = inst->List();
  ASSERT_TRUE(refs.ok()) << refs.status().ToString();
  EXPECT_EQ(*refs, (std::vector<std::string>{"alpha", "beta"}));
  EXPECT_TRUE(inst->Health().ok());
  auto sick = Instance("fixture-behave", {ConfigValue::Text("name", "unhealthy")});
  ASSERT_NE(sick, nullptr);
  EXPECT_EQ(sick->Health(), UnavailableError("provider behave: backend down"));
}

TEST(ProviderInstance, OptionalFunctionsBeyondStructSizeAreUnimplemented) {
  // The short table still holds list/health pointers, but past its struct_size.
  auto inst = Instance("fixture-behave-short");
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(inst->List().status(),
            UnimplementedError("provider behave-short: list is not implemented"));
  EXPECT_EQ(inst->Health(), UnimplementedError("provider behave-short: health is not implemented"));
  EXPECT_EQ(FetchString(*inst, "value:ok"), "ok");
}

// Two fetches that each wait (up to a bound) for the other to be in flight at the same time.
std::vector<std::string> TwoConcurrentRendezvous(ProviderInstance& inst, int wait_ms) {
  std::vector<std::string> out(2);
  std::string ref = "rendezvous:" + std::to_string(wait_ms);
  std::thread a([&] { out[0] = FetchString(inst, ref); });
  std::thread b([&] { out[1] = FetchString(inst, ref); });
  a.join();
  b.join();
  return out;
}

TEST(ProviderInstance, ConcurrentPluginRunsCallsAtOnce) {
  auto inst = Instance("fixture-behave");
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(TwoConcurrentRendezvous(*inst, 10000), (std::vector<std::string>{"max=2", "max=2"}));
}

TEST(ProviderInstance, SerializedPluginNeverRunsCallsAtOnce) {
  auto inst = Instance("fixture-behave-serialized");
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(TwoConcurrentRendezvous(*inst, 200), (std::vector<std::string>{"max=1", "max=1"}));
}

TEST(StatusCodeFromPlugin, MapsKnownCodesOneToOneAndTheRestToInternal) {
  EXPECT_EQ(StatusCodeFromPlugin(LK_NOT_FOUND), StatusCode::kNotFound);
  EXPECT_EQ(StatusCodeFromPlugin(LK_UNKNOWN), StatusCode::kUnknown);
  EXPECT_EQ(StatusCodeFromPlugin(LK_UNAUTHENTICATED), StatusCode::kUnauthenticated);
  EXPECT_EQ(StatusCodeFromPlugin(17), StatusCode::kInternal);
  EXPECT_EQ(StatusCodeFromPlugin(0x10000), StatusCode::kInternal);
  EXPECT_EQ(StatusCodeFromPlugin(-3), StatusCode::kInternal);
}

}  // namespace
}  // namespace latchkey
