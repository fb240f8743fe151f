// The registry client and the puller against an in-memory registry (fake_transport_testutil.h):
// the challenge flow, token cache, redirects, resume, stall, digest mismatch, shared layers.
#include "registry/puller.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <map>

#include "builder/image/digest.h"
#include "registry/fake_transport_testutil.h"

namespace latchkey::registry {
namespace {

constexpr char kHost[] = "reg.test:5000";
constexpr char kCanary[] = "CANARY-pw-8f3e1";

// One user, "alice" / kCanary.
class FixedCredentials : public CredentialSource {
 public:
  explicit FixedCredentials(std::string password) : password_(std::move(password)) {}
  Result<Credential> Get(std::string_view, std::string_view, std::string_view) override {
    ++calls;
    Credential c;
    auto u = std::string_view("alice");
    LK_ASSIGN_OR_RETURN(
        c.username, SecretBuffer::CopyOf({reinterpret_cast<const uint8_t*>(u.data()), u.size()}));
    LK_ASSIGN_OR_RETURN(
        c.password, SecretBuffer::CopyOf(
                        {reinterpret_cast<const uint8_t*>(password_.data()), password_.size()}));
    c.source = "the test's source";
    return c;
  }
  std::string Describe() const override { return "the test's source"; }
  std::atomic<int> calls{0};

 private:
  std::string password_;
};

struct Blob {
  std::string data, digest;
};
Blob MakeBlob(std::string data) {
  Blob b;
  b.digest = image::Sha256Digest(data);
  b.data = std::move(data);
  return b;
}

// An image: config + layers, and its OCI manifest.
struct TestImage {
  std::vector<Blob> layers;
  Blob config, manifest;
};
TestImage MakeImage(std::vector<std::string> layer_data) {
  TestImage img;
  std::string diff_ids, descs;
  for (auto& d : layer_data) {
    img.layers.push_back(MakeBlob(d));
    diff_ids +=
        std::string(diff_ids.empty() ? "" : ",") + "\"" + image::Sha256Digest(d + "-diff") + "\"";
    descs += std::string(descs.empty() ? "" : ",") +
             R"({"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
             img.layers.back().digest + R"(","size":)" + std::to_string(d.size()) + "}";
  }
  img.config = MakeBlob(
      R"({"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[)" +
      diff_ids + "]}}");
  img.manifest = MakeBlob(
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
      img.config.digest + R"(","size":)" + std::to_string(img.config.data.size()) +
      R"(},"layers":[)" + descs + "]}");
  return img;
}

// A registry for repository "app": tags -> manifests, digests -> blobs. `auth`: "" (open),
// "basic" or "bearer" (token server at https://auth.test/token).
class FakeRegistry {
 public:
  std::map<std::string, Blob> manifests;  // tag or digest -> manifest
  std::map<std::string, std::string> blobs;
  std::string auth;
  std::string password = kCanary;
  std::function<void(const std::string& digest, FakeResponse*)> blob_hook;
  std::atomic<int> token_requests{0};
  bool anonymous_tokens = false;  // the token server gives pull tokens without credentials

  void Add(const std::string& tag, const TestImage& img) {
    manifests[tag] = img.manifest;
    manifests[img.manifest.digest] = img.manifest;
    blobs[img.config.digest] = img.config.data;
    for (const auto& l : img.layers) blobs[l.digest] = l.data;
  }

  FakeResponse Handle(const HttpRequest& req, const FakeTransport::Seen& s) {
    FakeResponse r;
    const std::string basic = "Basic " + B64("alice:" + password);
    if (req.url.rfind("https://auth.test/token", 0) == 0) {
      ++token_requests;
      if (s.method == "POST") {
        // An identity (refresh) token: grant_type=refresh_token&...&refresh_token=<token>.
        if (s.body.find("grant_type=refresh_token") == std::string::npos ||
            s.body.find("&refresh_token=refresh-" + password) == std::string::npos ||
            s.had_authorization) {
          return Status401("");
        }
        r.body = R"({"access_token":"tok-123"})";
        return r;
      }
      if (!(anonymous_tokens && !s.had_authorization) && s.authorization != basic) {
        return Status401("");
      }
      r.body = R"({"token":"tok-123","expires_in":300})";
      return r;
    }
    const std::string prefix = std::string("https://") + kHost + "/v2/app/";
    if (req.url.rfind(prefix, 0) != 0) {
      r.status = 404;
      return r;
    }
    if (auth == "basic" && s.authorization != basic) {
      return Status401(R"(Basic realm="basic-realm")");
    }
    if (auth == "bearer" && s.authorization != "Bearer tok-123") {
      return Status401(
          R"(Bearer realm="https://auth.test/token",service="reg",scope="repository:app:pull")");
    }
    std::string rest = req.url.substr(prefix.size());
    if (rest.rfind("manifests/", 0) == 0) {
      auto it = manifests.find(rest.substr(10));
      if (it == manifests.end()) {
        r.status = 404;
        r.body = R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})";
        return r;
      }
      r.body = it->second.data;
      r.headers.emplace("content-type", "application/vnd.oci.image.manifest.v1+json");
      r.headers.emplace("docker-content-digest", it->second.digest);
      return r;
    }
    if (rest.rfind("blobs/", 0) == 0) {
      std::string d = rest.substr(6);
      auto it = blobs.find(d);
      if (it == blobs.end()) {
        r.status = 404;
        return r;
      }
      r.body = it->second;
      if (blob_hook) blob_hook(d, &r);
      return r;
    }
    r.status = 404;
    return r;
  }

  static FakeResponse Status401(const std::string& challenge) {
    FakeResponse r;
    r.status = 401;
    if (!challenge.empty()) r.headers.emplace("www-authenticate", challenge);
    r.body = R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})";
    return r;
  }
  static std::string B64(const std::string& s) {
    static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 2 < s.size(); i += 3) {
      uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8) | uint8_t(s[i + 2]);
      for (int k = 3; k >= 0; --k) out += t[(v >> (6 * k)) & 63];
    }
    if (i + 1 == s.size()) {
      uint32_t v = uint8_t(s[i]) << 16;
      out += t[(v >> 18) & 63];
      out += t[(v >> 12) & 63];
      out += "==";
    } else if (i + 2 == s.size()) {
      uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8);
      out += t[(v >> 18) & 63];
      out += t[(v >> 12) & 63];
      out += t[(v >> 6) & 63];
      out += '=';
    }
    return out;
  }
};

class PullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/lk-pull-test.XXXXXX";
    ASSERT_NE(::mkdtemp(t), nullptr);
    dir_ = t;
    auto s = image::BlobStore::Open(dir_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_.emplace(std::move(*s));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Result<PullResult> DoPull(const std::string& tag, CredentialSource* creds = nullptr,
                            base::CancelCheck cancel = {}) {
    NoCredentials none;
    RegistryClient client(&transport_, creds ? creds : &none, nullptr);
    client.SetCancel(std::move(cancel));
    image::Reference ref;
    ref.domain = kHost;
    ref.path = "app";
    ref.tag = tag;
    PullOptions opts;
    opts.parallel = 2;
    opts.progress = [&](const PullEvent& e) { events_.push_back(e); };
    return Pull(client, *store_, ref, opts);
  }
  // The ingest folder holds no partial blob.
  bool IngestEmpty() const {
    if (!std::filesystem::exists(dir_ + "/ingest")) return true;
    return std::filesystem::is_empty(dir_ + "/ingest");
  }

  std::string dir_;
  std::optional<image::BlobStore> store_;
  FakeRegistry reg_;
  FakeTransport transport_{
      [this](const HttpRequest& r, const FakeTransport::Seen& s) { return reg_.Handle(r, s); }};
  std::vector<PullEvent> events_;
};

TEST_F(PullTest, AnonymousPullAndSharedBaseDownloadsNothingTwice) {
  TestImage base = MakeImage({"base-layer-bytes"});
  TestImage app = MakeImage({"base-layer-bytes", "app-layer"});
  reg_.Add("base", base);
  reg_.Add("app", app);
  auto r = DoPull("base");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->image.manifest_digest, base.manifest.digest);
  EXPECT_EQ(r->blobs_downloaded, 2);
  EXPECT_EQ(r->bytes_downloaded,
            static_cast<int64_t>(base.config.data.size() + base.layers[0].data.size()));
  auto r2 = DoPull("app");
  ASSERT_TRUE(r2.ok()) << r2.status().message();
  EXPECT_EQ(r2->blobs_present, 1);
  EXPECT_EQ(r2->bytes_downloaded,
            static_cast<int64_t>(app.config.data.size() + app.layers[1].data.size()));
  int base_gets = 0;
  for (const auto& s : transport_.seen()) {
    if (s.url.find(base.layers[0].digest) != std::string::npos) ++base_gets;
  }
  EXPECT_EQ(base_gets, 1);
  EXPECT_TRUE(store_->Has(app.layers[1].digest));
  EXPECT_TRUE(store_->Has(app.manifest.digest));
}

TEST_F(PullTest, BearerTokenIsFetchedOnceAndCachedPerScope) {
  TestImage img = MakeImage({"l1", "l2", "l3"});
  reg_.Add("1", img);
  reg_.auth = "bearer";
  FixedCredentials creds(kCanary);
  auto r = DoPull("1", &creds);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(reg_.token_requests.load(), 1);
  for (const auto& s : transport_.seen()) {
    if (s.url.rfind("https://auth.test/", 0) == 0) {
      EXPECT_EQ(s.url, "https://auth.test/token?service=reg&scope=repository%3Aapp%3Apull");
    }
  }
}

TEST_F(PullTest, AnonymousBearerToken) {
  reg_.Add("1", MakeImage({"l1"}));
  reg_.auth = "bearer";
  reg_.anonymous_tokens = true;
  auto r = DoPull("1");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(reg_.token_requests.load(), 1);
  for (const auto& s : transport_.seen()) {
    if (s.url.rfind("https://auth.test/", 0) == 0) {
      EXPECT_FALSE(s.had_authorization);
    }
  }
}

// An identity token is exchanged at the realm with a POST (OAuth2 refresh_token grant).
class IdentityTokenCredentials : public CredentialSource {
 public:
  Result<Credential> Get(std::string_view, std::string_view, std::string_view) override {
    Credential c;
    std::string t = std::string("refresh-") + kCanary;
    LK_ASSIGN_OR_RETURN(
        c.identity_token,
        SecretBuffer::CopyOf({reinterpret_cast<const uint8_t*>(t.data()), t.size()}));
    c.source = "the token source";
    return c;
  }
  std::string Describe() const override { return "the token source"; }
};

TEST_F(PullTest, IdentityTokenIsExchangedWithAPost) {
  reg_.Add("1", MakeImage({"l1"}));
  reg_.auth = "bearer";
  IdentityTokenCredentials creds;
  auto r = DoPull("1", &creds);
  ASSERT_TRUE(r.ok()) << r.status().message();
  bool posted = false;
  for (const auto& s : transport_.seen()) {
    if (s.method == "POST") {
      posted = true;
      EXPECT_EQ(s.url, "https://auth.test/token");
      EXPECT_EQ(s.body, std::string("grant_type=refresh_token&client_id=latchkey&service=reg&"
                                    "scope=repository%3Aapp%3Apull&refresh_token=refresh-") +
                            kCanary);
    }
  }
  EXPECT_TRUE(posted);
}

TEST_F(PullTest, TokenRealmMustBeHttps) {
  reg_.Add("1", MakeImage({"l1"}));
  FakeTransport t([&](const HttpRequest&, const FakeTransport::Seen&) {
    return FakeRegistry::Status401(R"(Bearer realm="http://auth.test/token",service="reg")");
  });
  FixedCredentials creds(kCanary);
  RegistryClient client(&t, &creds, nullptr);
  auto r = Pull(client, *store_, image::Reference{kHost, "app", "1", ""}, PullOptions());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "registry reg.test:5000: token realm http://auth.test/token is not HTTPS; refusing to "
            "send a credential there");
  EXPECT_EQ(creds.calls.load(), 0);
}

TEST_F(PullTest, WrongPasswordNamesHostAndSource) {
  reg_.Add("1", MakeImage({"l1"}));
  reg_.auth = "bearer";
  FixedCredentials creds("wrong");
  auto r = DoPull("1", &creds);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "registry reg.test:5000: 401 Unauthorized: the credential from the test's source was "
            "rejected");
  reg_.auth = "basic";
  r = DoPull("1", &creds);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "registry reg.test:5000: 401 Unauthorized: the credential from the test's source was "
            "rejected");
  EXPECT_EQ(r.status().message().find("wrong"), std::string::npos);
  r = DoPull("1");
  EXPECT_EQ(r.status().message(),
            "registry reg.test:5000: 401 Unauthorized: authentication required, and no credential "
            "for reg.test:5000 was found (looked in: no credential source)");
}

TEST_F(PullTest, BasicAuthRetriedOnceAndCanaryOnlyInAuthorization) {
  reg_.Add("1", MakeImage({"l1"}));
  reg_.auth = "basic";
  FixedCredentials creds(kCanary);
  auto r = DoPull("1", &creds);
  ASSERT_TRUE(r.ok()) << r.status().message();
  for (const auto& s : transport_.seen()) {
    EXPECT_EQ(s.url.find(kCanary), std::string::npos);
  }
}

TEST_F(PullTest, UnknownTag) {
  reg_.Add("1", MakeImage({"l1"}));
  auto r = DoPull("nosuch");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(),
            "manifest for reg.test:5000/app:nosuch not found: manifest unknown");
}

TEST_F(PullTest, RedirectToAnotherHostStripsAuthorization) {
  TestImage img = MakeImage({"layer-in-storage"});
  reg_.Add("1", img);
  reg_.auth = "basic";
  const std::string moved = img.layers[0].digest;
  reg_.blob_hook = [&](const std::string& d, FakeResponse* r) {
    if (d != moved) return;
    r->status = 307;
    r->headers.emplace("location", "https://storage.test/bucket/x?sig=abc");
    r->body.clear();
  };
  FakeTransport t([&](const HttpRequest& req, const FakeTransport::Seen& s) {
    if (req.url.rfind("https://storage.test/", 0) == 0) {
      FakeResponse f;
      f.body = img.layers[0].data;
      return f;
    }
    return reg_.Handle(req, s);
  });
  FixedCredentials creds(kCanary);
  RegistryClient client(&t, &creds, nullptr);
  image::Reference ref{kHost, "app", "1", ""};
  auto r = Pull(client, *store_, ref, PullOptions());
  ASSERT_TRUE(r.ok()) << r.status().message();
  bool saw_storage = false;
  for (const auto& s : t.seen()) {
    if (s.url.rfind("https://storage.test/", 0) == 0) {
      saw_storage = true;
      EXPECT_FALSE(s.had_authorization) << "Authorization followed the redirect";
    } else if (s.url.find(moved) != std::string::npos && s.had_authorization) {
      EXPECT_EQ(s.authorization.rfind("Basic ", 0), 0u);
    }
  }
  EXPECT_TRUE(saw_storage);
  EXPECT_TRUE(store_->Has(moved));
}

TEST_F(PullTest, DroppedConnectionResumesWithRange) {
  std::string big(100000, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  TestImage img = MakeImage({big});
  reg_.Add("1", img);
  std::atomic<int> drops{0};
  reg_.blob_hook = [&](const std::string& d, FakeResponse* r) {
    if (d == img.layers[0].digest && drops.fetch_add(1) == 0) r->drop_after = 40000;
  };
  auto r = DoPull("1");
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::vector<int64_t> ranges;
  for (const auto& s : transport_.seen()) {
    if (s.url.find(img.layers[0].digest) != std::string::npos) ranges.push_back(s.range_start);
  }
  EXPECT_EQ(ranges, (std::vector<int64_t>{-1, 40000}));
  EXPECT_TRUE(store_->Verify(img.layers[0].digest).ok());
  bool resumed = false;
  for (const auto& e : events_) resumed |= e.kind == PullEvent::kResumed && e.bytes == 40000;
  EXPECT_TRUE(resumed);
}

TEST_F(PullTest, ResumeAnsweredWith200StartsOver) {
  TestImage img = MakeImage({std::string(5000, 'q')});
  reg_.Add("1", img);
  std::atomic<int> n{0};
  reg_.blob_hook = [&](const std::string& d, FakeResponse* r) {
    if (d != img.layers[0].digest) return;
    r->honour_range = false;
    if (n.fetch_add(1) == 0) r->drop_after = 1000;
  };
  auto r = DoPull("1");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(store_->Verify(img.layers[0].digest).ok());
}

TEST_F(PullTest, StallFailsAndDiscardsThePartialBlob) {
  TestImage img = MakeImage({std::string(4096, 's')});
  reg_.Add("1", img);
  reg_.blob_hook = [&](const std::string& d, FakeResponse* r) {
    if (d == img.layers[0].digest) r->stall = true;
  };
  auto r = DoPull("1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(r.status().message(), "registry reg.test:5000: blob " + img.layers[0].digest +
                                      ": no data for 30s (the registry stalled)");
  EXPECT_FALSE(store_->Has(img.layers[0].digest));
  EXPECT_FALSE(store_->Has(img.manifest.digest));
  EXPECT_TRUE(IngestEmpty());
}

// Ctrl-C while a layer downloads: the pull ends with the cancel check's own Status (not a
// registry error), resumes nothing, stores neither that layer nor the manifest, and leaves no
// partial blob; what was complete stays for the next pull.
TEST_F(PullTest, CancelStopsTheDownloadAndKeepsNoPartialBlob) {
  TestImage img = MakeImage({std::string(4096, 'c')});
  reg_.Add("1", img);
  std::atomic<bool> cancelled{false};
  reg_.blob_hook = [&](const std::string& d, FakeResponse* r) {
    if (d == img.layers[0].digest) {
      r->wait_for_cancel = true;
      cancelled = true;  // Ctrl-C arrives while this layer is under way
    }
  };
  auto r = DoPull("1", nullptr, [&]() -> Status {
    return cancelled ? CancelledError("pull of reg.test:5000/app:1 cancelled") : Status::OK();
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
  EXPECT_EQ(r.status().message(), "pull of reg.test:5000/app:1 cancelled");
  EXPECT_FALSE(store_->Has(img.layers[0].digest));
  EXPECT_FALSE(store_->Has(img.manifest.digest));
  EXPECT_TRUE(IngestEmpty());
  for (const auto& e : events_) EXPECT_NE(e.kind, PullEvent::kResumed);
  // The next pull (not cancelled) completes.
  reg_.blob_hook = nullptr;
  auto again = DoPull("1");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE(store_->Verify(img.layers[0].digest).ok());
}

TEST_F(PullTest, CorruptBlobIsDiscarded) {
  TestImage img = MakeImage({"good-layer-content"});
  reg_.Add("1", img);
  reg_.blob_hook = [&](const std::string& d, FakeResponse* r) {
    if (d == img.layers[0].digest) r->body[0] = 'X';  // same size, other bytes
  };
  auto r = DoPull("1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(r.status().message(), "blob " + img.layers[0].digest + ": digest mismatch (got " +
                                      image::Sha256Digest("Xood-layer-content") + ")");
  EXPECT_FALSE(store_->Has(img.layers[0].digest));
  EXPECT_FALSE(store_->Has(img.manifest.digest));
  EXPECT_TRUE(IngestEmpty());
  // A longer body than the manifest says is refused as it streams.
  reg_.blob_hook = [&](const std::string& d, FakeResponse* r) {
    if (d == img.layers[0].digest) r->body += "more";
  };
  r = DoPull("1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "blob " + img.layers[0].digest +
                                      ": size mismatch (more than the 18 bytes the manifest says)");
}

TEST_F(PullTest, RegistryDown) {
  FakeTransport down([](const HttpRequest&, const FakeTransport::Seen&) {
    FakeResponse f;
    f.refuse = true;
    return f;
  });
  NoCredentials none;
  RegistryClient client(&down, &none, nullptr);
  auto r = Pull(client, *store_, image::Reference{kHost, "app", "1", ""}, PullOptions());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "cannot reach registry reg.test:5000: Connection refused");
}

TEST_F(PullTest, ManifestDigestChecked) {
  TestImage img = MakeImage({"l"});
  reg_.Add("1", img);
  reg_.manifests["1"].digest = image::Sha256Digest("other");
  auto r = DoPull("1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "manifest for reg.test:5000/app:1: digest mismatch (got " +
                                      img.manifest.digest + ", the registry says " +
                                      image::Sha256Digest("other") + ")");
}

TEST(Urls, LocationAndHost) {
  EXPECT_EQ(UrlHostPort("https://User@Reg.Test:5000/v2/"), "reg.test:5000");
  EXPECT_EQ(ResolveLocation("https://a:1/v2/x/blobs/d", "/other?x=1"), "https://a:1/other?x=1");
  EXPECT_EQ(ResolveLocation("https://a:1/v2/x/blobs/d", "https://b/c"), "https://b/c");
  EXPECT_EQ(ResolveLocation("https://a:1/v2/x/blobs/d", "//b/c"), "https://b/c");
  EXPECT_EQ(ResolveLocation("https://a:1/v2/x/blobs/d", "e"), "https://a:1/v2/x/blobs/e");
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1:5000"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_TRUE(IsLoopbackHost("[::1]:80"));
  EXPECT_FALSE(IsLoopbackHost("reg.test:5000"));
}

}  // namespace
}  // namespace latchkey::registry
