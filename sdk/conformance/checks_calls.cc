// Checks that call into an instance: struct sizes, optional members, error paths, the served
// values, secret allocations and the canary scan.
#include <unistd.h>

#include <cstring>

#include "check_support.h"

namespace latchkey::conformance {

namespace {

// Creates an instance with the given config under a new instance context.
lk_instance* CreateOrNull(const CheckContext& c, lk_host_ctx* ctx, const lk_host_api* api,
                          std::string* why) {
  lk_instance* inst = nullptr;
  c.Step("calling create with the given config");
  CallStatus s = c.plugin->Create(api, ctx, c.options->config, &inst);
  if (!s.ok() || !s.problem.empty()) {
    *why = "create failed: " + (s.problem.empty() ? s.Describe() : s.problem);
    return nullptr;
  }
  return inst;
}

const std::vector<uint8_t>* ExpectedFor(const CheckContext& c, const std::string& ref) {
  for (size_t i = 0; i < c.options->refs.size(); ++i) {
    if (c.options->refs[i].ref == ref) return &c.expected[i];
  }
  return nullptr;
}

}  // namespace

CheckOutput CheckStructSize(const CheckContext& c) {
  const Plugin& p = *c.plugin;
  std::string why;
  // 1. A host table cut short before check_deadline, ending at a guard page.
  size_t host_size = offsetof(lk_host_api, check_deadline);
  auto* small_host = static_cast<lk_host_api*>(GuardedBytes(host_size));
  std::memcpy(static_cast<void*>(small_host), c.host->api(), host_size);
  small_host->header.struct_size = static_cast<uint32_t>(host_size);
  lk_host_ctx* ctx = c.host->NewInstanceContext();
  c.Step("calling create with a host_api whose struct_size (" + std::to_string(host_size) +
         ") ends before check_deadline");
  lk_instance* inst = nullptr;
  CallStatus s = p.Create(small_host, ctx, c.options->config, &inst);
  if (!s.problem.empty()) return Fail("create with a truncated host_api: " + s.problem);
  if (s.ok()) {
    for (const std::string& ref : c.FetchRefs()) {
      c.Step("calling fetch " + Quote(ref) +
             " on an instance given a host_api truncated before "
             "check_deadline (the plugin may not read past host->header.struct_size)");
      Plugin::FetchOptions o;
      o.deadline_unix_ms = NowUnixMs() + 60000;
      o.expected = ExpectedFor(c, ref);
      TestHost::CallEnd end;
      CallStatus f = p.Fetch(*c.host, inst, ref, o, &end);
      if (!f.problem.empty()) return Fail("fetch with a truncated host_api: " + f.problem);
      if (f.ok() && !end.data_problem.empty()) {
        return Fail("fetch with a truncated host_api: " + end.data_problem);
      }
    }
    c.Step("calling list and health with a truncated host_api");
    std::vector<std::string> refs;
    (void)p.List(inst, &refs);
    (void)p.Health(inst);
    c.Step("calling destroy with a truncated host_api");
    p.table().destroy(inst);
  }

  // 2. An lk_error with room for 16 message bytes, ending at a guard page.
  size_t err_size = offsetof(lk_error, message) + 16;
  auto* small_err = static_cast<lk_error*>(GuardedBytes(err_size));
  auto prepare_err = [&] {
    std::memset(static_cast<void*>(small_err), 0, err_size);
    small_err->header = lk_table_header{static_cast<uint32_t>(err_size), LK_ABI_MAJOR, 0};
    std::memset(small_err->message, 'x', 16);
  };
  lk_host_ctx* ctx2 = c.host->NewInstanceContext();
  inst = CreateOrNull(c, ctx2, c.host->api(), &why);
  if (inst == nullptr) return Fail(why);
  std::vector<std::pair<std::string, int32_t>> failing = {{c.MissingRef(), LK_OK},
                                                          {c.FetchRefs()[0], LK_CANCELLED}};
  for (const auto& [ref, forced] : failing) {
    prepare_err();
    c.Step("calling fetch " + Quote(ref) +
           " with an lk_error whose struct_size leaves 16 message bytes (the message must be "
           "truncated to fit)");
    Plugin::FetchOptions o;
    o.forced_deadline_code = forced;
    o.err = small_err;
    CallStatus f = p.Fetch(*c.host, inst, ref, o, nullptr);
    if (!f.problem.empty()) return Fail("fetch with a small lk_error: " + f.problem);
  }
  c.Step("calling destroy");
  p.table().destroy(inst);
  prepare_err();
  c.Step("calling create with an unknown key and an lk_error with 16 message bytes");
  ConfigList bad = WithKey(c.options->config, "lk-conformance-unknown-key", "1");
  std::vector<lk_kv> kv = ToKv(bad);
  lk_instance* bad_inst = nullptr;
  int32_t rc = p.table().create(c.host->api(), c.host->NewInstanceContext(), kv.data(), kv.size(),
                                &bad_inst, small_err);
  if (rc == LK_OK) {
    p.table().destroy(bad_inst);
  } else {
    CallStatus e = ReadError(rc, *small_err);
    if (!e.problem.empty()) return Fail("create with a small lk_error: " + e.problem);
  }

  // 3. An lk_secret cut short before expires_unix_ms (an older host's response).
  if (!c.options->refs.empty()) {
    size_t out_size = offsetof(lk_secret, expires_unix_ms);
    auto* small_out = static_cast<lk_secret*>(GuardedBytes(out_size));
    lk_host_ctx* ctx3 = c.host->NewInstanceContext();
    inst = CreateOrNull(c, ctx3, c.host->api(), &why);
    if (inst == nullptr) return Fail(why);
    const std::string& ref = c.options->refs[0].ref;
    std::memset(static_cast<void*>(small_out), 0, out_size);
    small_out->header = lk_table_header{static_cast<uint32_t>(out_size), LK_ABI_MAJOR, 0};
    c.Step("calling fetch " + Quote(ref) +
           " with an lk_secret whose struct_size ends before expires_unix_ms");
    Plugin::FetchOptions o;
    o.out = small_out;
    o.expected = &c.expected[0];
    TestHost::CallEnd end;
    CallStatus f = p.Fetch(*c.host, inst, ref, o, &end);
    if (!f.problem.empty()) return Fail("fetch with a small lk_secret: " + f.problem);
    if (!f.ok()) return Fail("fetch " + Quote(ref) + " with a small lk_secret: " + f.Describe());
    if (!end.data_problem.empty()) return Fail("fetch with a small lk_secret: " + end.data_problem);
    c.Step("calling destroy");
    p.table().destroy(inst);
  }
  return Pass();
}

CheckOutput CheckOptionalMembers(const CheckContext& c) {
  const Plugin& p = *c.plugin;
  std::string why;
  lk_instance* inst = CreateOrNull(c, c.host->NewInstanceContext(), c.host->api(), &why);
  if (inst == nullptr) return Fail(why);
  std::string note;
  c.Step(p.table().list != nullptr ? "calling list" : "calling the host's list wrapper (NULL)");
  std::vector<std::string> refs;
  CallStatus l = p.List(inst, &refs);
  if (!l.problem.empty()) return Fail("list: " + l.problem);
  if (p.table().list == nullptr && l.code != LK_UNIMPLEMENTED) {
    return Fail("a NULL list must read as UNIMPLEMENTED");
  }
  for (const std::string& r : refs) {
    if (r == "(NULL)") return Fail("list emitted a NULL reference");
  }
  note += p.table().list != nullptr ? "list: " + std::to_string(refs.size()) + " refs"
                                    : "list: UNIMPLEMENTED";
  c.Step(p.table().health != nullptr ? "calling health" : "calling the host's health wrapper");
  CallStatus h = p.Health(inst);
  if (!h.problem.empty()) return Fail("health: " + h.problem);
  note += p.table().health != nullptr ? ", health: " + std::string(h.ok() ? "OK" : h.Describe())
                                      : ", health: UNIMPLEMENTED";
  c.Step("calling fetch with an empty reference");
  CallStatus f = p.Fetch(*c.host, inst, "", {}, nullptr);
  if (!f.problem.empty()) return Fail("fetch \"\": " + f.problem);
  c.Step("calling destroy");
  p.table().destroy(inst);
  return Pass(note);
}

CheckOutput CheckErrorPaths(const CheckContext& c) {
  const Plugin& p = *c.plugin;
  std::string why;
  lk_host_ctx* ctx = c.host->NewInstanceContext();
  lk_instance* inst = CreateOrNull(c, ctx, c.host->api(), &why);
  if (inst == nullptr) return Fail(why);
  size_t baseline = c.host->Outstanding(ctx);
  struct Case {
    std::string ref;
    int32_t forced;
    std::string what;
  };
  std::string first = c.FetchRefs()[0];
  std::vector<Case> cases = {
      {c.MissingRef(), LK_OK, "fetch of a reference that names nothing"},
      {"", LK_OK, "fetch of the empty reference"},
      {"../../../../../lk-conformance/none", LK_OK, "fetch of a path-like missing reference"},
      {first, LK_CANCELLED, "fetch " + Quote(first) + " after the host cancelled the call"},
      {first, LK_DEADLINE_EXCEEDED, "fetch " + Quote(first) + " after its deadline"},
  };
  int errors = 0;
  for (const Case& k : cases) {
    c.Step("calling " + k.what);
    Plugin::FetchOptions o;
    o.forced_deadline_code = k.forced;
    if (k.forced == LK_DEADLINE_EXCEEDED) o.deadline_unix_ms = NowUnixMs() - 1000;
    CallStatus f = p.Fetch(*c.host, inst, k.ref, o, nullptr);
    if (!f.problem.empty()) return Fail(k.what + ": " + f.problem);
    if (!f.ok()) ++errors;
    size_t now = c.host->Outstanding(ctx);
    if (now > baseline) {
      return Fail(k.what + " left " + std::to_string(now - baseline) +
                  " more secret block(s) allocated under the instance context");
    }
  }
  std::vector<std::string> violations = c.host->TakeViolations();
  if (!violations.empty()) return Fail(JoinList(violations));
  c.Step("calling destroy");
  p.table().destroy(inst);
  return Pass(std::to_string(errors) + " of " + std::to_string(cases.size()) +
              " provoked fetches failed, all cleanly");
}

CheckOutput CheckFetchExpected(const CheckContext& c) {
  const Plugin& p = *c.plugin;
  std::string why;
  lk_instance* inst = CreateOrNull(c, c.host->NewInstanceContext(), c.host->api(), &why);
  if (inst == nullptr) return Fail(why);
  for (size_t i = 0; i < c.options->refs.size(); ++i) {
    const std::string& ref = c.options->refs[i].ref;
    c.Step("calling fetch " + Quote(ref));
    Plugin::FetchOptions o;
    o.expected = &c.expected[i];
    TestHost::CallEnd end;
    CallStatus f = p.Fetch(*c.host, inst, ref, o, &end);
    if (!f.problem.empty()) return Fail("fetch " + Quote(ref) + ": " + f.problem);
    if (!f.ok()) return Fail("fetch " + Quote(ref) + " failed: " + f.Describe());
    if (!end.data_problem.empty()) {
      return Fail("fetch " + Quote(ref) + ": " + end.data_problem + " (" +
                  c.options->refs[i].expect_file + ")");
    }
  }
  c.Step("calling destroy");
  p.table().destroy(inst);
  return Pass();
}

CheckOutput CheckSecretAllocations(const CheckContext& c) {
  const Plugin& p = *c.plugin;
  std::string why;
  lk_host_ctx* ctx = c.host->NewInstanceContext();
  lk_instance* inst = CreateOrNull(c, ctx, c.host->api(), &why);
  if (inst == nullptr) return Fail(why);
  size_t reclaimed = 0;
  for (int round = 0; round < 3; ++round) {
    for (const std::string& ref : c.FetchRefs()) {
      c.Step("calling fetch " + Quote(ref));
      TestHost::CallEnd end;
      Plugin::FetchOptions o;
      o.expected = ExpectedFor(c, ref);
      CallStatus f = p.Fetch(*c.host, inst, ref, o, &end);
      if (!f.problem.empty()) return Fail("fetch " + Quote(ref) + ": " + f.problem);
      if (f.ok() && !end.data_problem.empty()) {
        return Fail("fetch " + Quote(ref) + ": " + end.data_problem);
      }
      reclaimed += end.reclaimed;
    }
  }
  c.Step("calling destroy");
  p.table().destroy(inst);
  std::vector<std::string> violations = c.host->TakeViolations();
  if (!violations.empty()) return Fail(JoinList(violations));
  size_t left = c.host->ReleaseContext(ctx);
  if (left > 0) {
    return Fail("after destroy, " + std::to_string(left) +
                " secret block(s) allocated under the instance context were never freed "
                "(secret_free them, at the latest in destroy)");
  }
  if (c.host->alloc_count() != c.host->free_count()) {
    return Fail("secret_alloc was called " + std::to_string(c.host->alloc_count()) +
                " times but only " + std::to_string(c.host->free_count()) + " blocks were freed");
  }
  std::string note = std::to_string(c.host->alloc_count()) + " allocations, all freed";
  if (reclaimed > 0) {
    note += "; " + std::to_string(reclaimed) + " left under call contexts (freed by the host)";
  }
  return Pass(note);
}

namespace {

// Where a leaked canary was found, or "" when nowhere.
std::string FindCanary(const std::vector<std::pair<std::string, std::vector<CanaryForm>>>& canaries,
                       const std::string& haystack, const std::string& where) {
  for (const auto& [label, forms] : canaries) {
    for (const CanaryForm& f : forms) {
      if (!f.bytes.empty() && haystack.find(f.bytes) != std::string::npos) {
        return "the secret " + label + " appears (" + f.encoding + ") in " + where;
      }
    }
  }
  return "";
}

std::string ReadCaptured(int fd) {
  std::string out;
  char buf[4096];
  off_t off = 0;
  for (;;) {
    ssize_t n = pread(fd, buf, sizeof buf, off);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    off += n;
  }
  return out;
}

}  // namespace

CheckOutput CheckCanary(const CheckContext& c) {
  const Plugin& p = *c.plugin;
  std::vector<std::pair<std::string, std::vector<CanaryForm>>> canaries;
  for (size_t i = 0; i < c.options->refs.size(); ++i) {
    if (c.expected[i].size() >= 4) {
      canaries.emplace_back("served for " + Quote(c.options->refs[i].ref),
                            CanaryForms(c.expected[i]));
    }
  }
  const lk_provider_api& t = p.table();
  for (size_t i = 0; i < t.config_key_count; ++i) {
    if ((t.config_keys[i].flags & LK_CONFIG_SECRET) == 0) continue;
    for (const auto& [k, v] : c.options->config) {
      if (k == t.config_keys[i].key && v.size() >= 4) {
        canaries.emplace_back("from the SECRET config key " + Quote(k),
                              CanaryForms(std::vector<uint8_t>(v.begin(), v.end())));
      }
    }
  }
  if (canaries.empty()) {
    return Skip(
        "no canary of at least 4 bytes: pass --ref REF --expect-file FILE, or a SECRET "
        "config key with --config");
  }
  std::string why;
  lk_instance* inst = CreateOrNull(c, c.host->NewInstanceContext(), c.host->api(), &why);
  if (inst == nullptr) return Fail(why);
  std::vector<std::pair<std::string, std::string>> messages;  // (what, message)
  auto fetch = [&](const std::string& ref, int32_t forced, const std::string& what) {
    c.Step("calling " + what);
    Plugin::FetchOptions o;
    o.forced_deadline_code = forced;
    CallStatus f = p.Fetch(*c.host, inst, ref, o, nullptr);
    if (!f.ok()) messages.emplace_back(what, f.message);
  };
  for (const ExpectedRef& r : c.options->refs) {
    fetch(r.ref, LK_OK, "fetch " + Quote(r.ref));
    fetch(r.ref + "x", LK_OK, "fetch " + Quote(r.ref + "x"));
    fetch(r.ref + "/lk-conformance", LK_OK, "fetch " + Quote(r.ref + "/lk-conformance"));
    fetch(r.ref, LK_CANCELLED, "a cancelled fetch " + Quote(r.ref));
    fetch(r.ref, LK_DEADLINE_EXCEEDED, "a fetch " + Quote(r.ref) + " past its deadline");
  }
  fetch(c.MissingRef(), LK_OK, "fetch of a missing reference");
  fetch("", LK_OK, "fetch of the empty reference");
  c.Step("calling list and health");
  std::vector<std::string> refs;
  CallStatus l = p.List(inst, &refs);
  if (!l.ok()) messages.emplace_back("list", l.message);
  CallStatus h = p.Health(inst);
  if (!h.ok()) messages.emplace_back("health", h.message);
  c.Step("calling destroy");
  t.destroy(inst);
  c.Step("calling create with bad config");
  for (const ConfigList& bad : {WithKey(c.options->config, "lk-conformance-unknown-key", "1")}) {
    lk_instance* b = nullptr;
    CallStatus s = p.Create(c.host->api(), c.host->NewInstanceContext(), bad, &b);
    if (s.ok()) {
      t.destroy(b);
    } else {
      messages.emplace_back("create with an unknown key", s.message);
    }
  }
  for (const auto& [what, message] : messages) {
    std::string hit = FindCanary(canaries, message, "the error message of " + what);
    if (!hit.empty()) return Fail(hit);
  }
  for (const TestHost::LogLine& line : c.host->Logs()) {
    std::string hit = FindCanary(canaries, line.text, "a log line");
    if (!hit.empty()) return Fail(hit);
  }
  std::fflush(stdout);
  std::fflush(stderr);
  std::string hit = FindCanary(canaries, ReadCaptured(STDOUT_FILENO), "the plugin's stdout");
  if (hit.empty()) hit = FindCanary(canaries, ReadCaptured(STDERR_FILENO), "the plugin's stderr");
  if (!hit.empty()) return Fail(hit);
  return Pass(std::to_string(canaries.size()) + " canar" + (canaries.size() == 1 ? "y" : "ies") +
              ", " + std::to_string(messages.size()) + " error messages and " +
              std::to_string(c.host->Logs().size()) + " log lines scanned");
}

}  // namespace latchkey::conformance
