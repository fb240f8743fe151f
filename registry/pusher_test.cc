// The pusher against an in-memory registry that implements the push API (HEAD, mount, upload
// sessions with PATCH and PUT, manifest PUT) behind FakeTransport: HEAD-skip, mount,
// monolithic and chunked uploads, 413 → chunked, a digest the registry disagrees with, 401,
// an unknown repository, a registry that is down, a rejected manifest; and a pull that
// records where its blobs came from, so the next push mounts them.
#include "registry/pusher.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "builder/image/digest.h"
#include "builder/image/sendable_image.h"
#include "registry/blob_sources.h"
#include "registry/fake_transport_testutil.h"
#include "registry/puller.h"
#include "registry/upload_source.h"

namespace latchkey::registry {
namespace {

constexpr char kHost[] = "reg.test:5000";
constexpr char kCanary[] = "CANARY-push-pw-71c2";

std::string B64(const std::string& s) {
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

// "alice" with a password; records the scopes it was asked for.
class RecordingCredentials : public CredentialSource {
 public:
  explicit RecordingCredentials(std::string password) : password_(std::move(password)) {}
  Result<Credential> Get(std::string_view, std::string_view repository,
                         std::string_view scope) override {
    {
      std::lock_guard<std::mutex> lock(mu);
      asked.push_back(std::string(repository) + " " + std::string(scope));
    }
    Credential c;
    std::string_view u = "alice";
    LK_ASSIGN_OR_RETURN(
        c.username, SecretBuffer::CopyOf({reinterpret_cast<const uint8_t*>(u.data()), u.size()}));
    LK_ASSIGN_OR_RETURN(
        c.password, SecretBuffer::CopyOf(
                        {reinterpret_cast<const uint8_t*>(password_.data()), password_.size()}));
    c.source = "the test's source";
    return c;
  }
  std::string Describe() const override { return "the test's source"; }
  std::mutex mu;
  std::vector<std::string> asked;

 private:
  std::string password_;
};

// A registry that stores pushes: blobs per repository, upload sessions, manifests.
class PushRegistry {
 public:
  std::map<std::string, std::set<std::string>> repo_blobs;  // repo -> digests
  std::map<std::string, std::string> blobs;                 // digest -> data
  std::map<std::string, std::string> manifests;             // "repo:ref" -> body
  std::map<std::string, std::string> manifest_types;        // "repo:ref" -> Content-Type
  bool basic_auth = false;
  bool mount = true;
  bool refuse = false;
  std::set<std::string> unknown_repos;
  std::string wrong_blob_digest;      // answer blob PUTs with this Docker-Content-Digest
  std::string wrong_manifest_digest;  // answer manifest PUTs with this
  bool reject_manifest = false;
  int64_t max_body = -1;  // a PUT with a larger body is 413
  int64_t min_chunk = 0;  // announced as OCI-Chunk-Min-Length

  FakeResponse Handle(const HttpRequest& req, const FakeTransport::Seen& s) {
    std::lock_guard<std::mutex> lock(mu_);
    FakeResponse r;
    if (refuse) {
      r.refuse = true;
      return r;
    }
    if (basic_auth && s.authorization != "Basic " + B64(std::string("alice:") + kCanary)) {
      r.status = 401;
      r.headers.emplace("www-authenticate", R"(Basic realm="basic-realm")");
      r.body = R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})";
      return r;
    }
    const std::string prefix = std::string("https://") + kHost + "/v2/";
    std::string rest = req.url.substr(prefix.size());
    std::string query;
    if (size_t q = rest.find('?'); q != std::string::npos) {
      query = rest.substr(q + 1);
      rest = rest.substr(0, q);
    }
    auto param = [&](const std::string& k) -> std::string {
      for (size_t i = 0; i < query.size();) {
        size_t amp = query.find('&', i);
        if (amp == std::string::npos) amp = query.size();
        std::string kv = query.substr(i, amp - i);
        if (kv.rfind(k + "=", 0) == 0) {
          std::string v = kv.substr(k.size() + 1);
          for (size_t p; (p = v.find("%3A")) != std::string::npos;) v.replace(p, 3, ":");
          for (size_t p; (p = v.find("%2F")) != std::string::npos;) v.replace(p, 3, "/");
          return v;
        }
        i = amp + 1;
      }
      return "";
    };
    size_t mark = rest.find("/blobs/");
    if (mark == std::string::npos) mark = rest.find("/manifests/");
    if (mark == std::string::npos) {
      r.status = 404;
      return r;
    }
    const std::string repo = rest.substr(0, mark);
    if (unknown_repos.count(repo)) {
      r.status = 404;
      r.body =
          R"({"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]})";
      return r;
    }
    const std::string what = rest.substr(mark + 1);
    if (what.rfind("blobs/uploads/", 0) == 0) {
      std::string id = what.substr(14);
      if (s.method == "POST") {
        std::string m = param("mount");
        if (!m.empty() && mount && repo_blobs[param("from")].count(m)) {
          repo_blobs[repo].insert(m);
          r.status = 201;
          return r;
        }
        std::string nid = "u" + std::to_string(++next_id_);
        uploads_[nid] = "";
        r.status = 202;
        r.headers.emplace("location", "/v2/" + repo + "/blobs/uploads/" + nid + "?_state=x");
        if (min_chunk > 0) r.headers.emplace("oci-chunk-min-length", std::to_string(min_chunk));
        return r;
      }
      auto it = uploads_.find(id);
      if (it == uploads_.end()) {
        r.status = 404;
        return r;
      }
      if (s.method == "PATCH") {
        std::string range;
        for (const auto& [k, v] : s.headers)
          if (k == "Content-Range") range = v;
        if (range != std::to_string(it->second.size()) + "-" +
                         std::to_string(it->second.size() + s.body.size() - 1)) {
          r.status = 416;
          return r;
        }
        it->second += s.body;
        r.status = 202;
        r.headers.emplace("location", "/v2/" + repo + "/blobs/uploads/" + id + "?_state=y");
        return r;
      }
      if (s.method == "PUT") {
        if (max_body >= 0 && static_cast<int64_t>(s.body.size()) > max_body) {
          r.status = 413;
          return r;
        }
        std::string data = it->second + s.body;
        std::string d = param("digest");
        if (image::Sha256Digest(data) != d) {
          r.status = 400;
          r.body =
              R"({"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content"}]})";
          return r;
        }
        blobs[d] = data;
        repo_blobs[repo].insert(d);
        uploads_.erase(it);
        r.status = 201;
        r.headers.emplace("docker-content-digest",
                          wrong_blob_digest.empty() ? d : wrong_blob_digest);
        return r;
      }
    }
    if (what.rfind("blobs/", 0) == 0) {
      std::string d = what.substr(6);
      if (!repo_blobs[repo].count(d)) {
        r.status = 404;
        return r;
      }
      if (s.method == "GET") r.body = blobs[d];
      return r;
    }
    if (what.rfind("manifests/", 0) == 0) {
      std::string ref = what.substr(10);
      if (s.method == "PUT") {
        if (reject_manifest) {
          r.status = 400;
          r.body =
              R"({"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid","detail":{}}]})";
          return r;
        }
        std::string ct;
        for (const auto& [k, v] : s.headers)
          if (k == "Content-Type") ct = v;
        manifests[repo + ":" + ref] = s.body;
        manifests[repo + ":" + image::Sha256Digest(s.body)] = s.body;
        manifest_types[repo + ":" + ref] = ct;
        r.status = 201;
        r.headers.emplace("docker-content-digest", wrong_manifest_digest.empty()
                                                       ? image::Sha256Digest(s.body)
                                                       : wrong_manifest_digest);
        return r;
      }
      auto it = manifests.find(repo + ":" + ref);
      if (it == manifests.end()) {
        r.status = 404;
        r.body = R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})";
        return r;
      }
      r.body = it->second;
      r.headers.emplace("content-type", manifest_types[repo + ":" + ref]);
      return r;
    }
    r.status = 404;
    return r;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> uploads_;
  int next_id_ = 0;
};

class PushTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/lk-push-test.XXXXXX";
    ASSERT_NE(::mkdtemp(t), nullptr);
    dir_ = t;
    auto s = image::BlobStore::Open(dir_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_.emplace(std::move(*s));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // An image of `layers` in the store, as SendableImage gives it.
  image::OutputImage MakeImage(const std::vector<std::string>& layers) {
    std::string diff_ids, descs;
    for (const auto& d : layers) {
      auto b = store_->PutBytes(d);
      EXPECT_TRUE(b.ok());
      diff_ids +=
          std::string(diff_ids.empty() ? "" : ",") + "\"" + image::Sha256Digest(d + "-diff") + "\"";
      descs += std::string(descs.empty() ? "" : ",") +
               R"({"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
               b->digest + R"(","size":)" + std::to_string(d.size()) + "}";
    }
    std::string config =
        R"({"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[)" +
        diff_ids + "]}}";
    auto c = store_->PutBytes(config);
    std::string manifest =
        R"({"config":{"digest":")" + c->digest +
        R"(","mediaType":"application/vnd.oci.image.config.v1+json","size":)" +
        std::to_string(config.size()) + R"(},"layers":[)" + descs +
        R"(],"mediaType":"application/vnd.oci.image.manifest.v1+json","schemaVersion":2})";
    auto m = store_->PutBytes(manifest);
    auto img = image::LoadImage(*store_, m->digest);
    EXPECT_TRUE(img.ok()) << img.status().message();
    auto out = image::SendableImage(*store_, *img);
    EXPECT_TRUE(out.ok()) << out.status().message();
    return *out;
  }

  Result<PushResult> DoPush(const image::OutputImage& img, const std::string& repo,
                            CredentialSource* creds = nullptr, int64_t chunk = 128 << 20) {
    NoCredentials none;
    RegistryClient client(&transport_, creds ? creds : &none, nullptr);
    image::Reference ref;
    ref.domain = kHost;
    ref.path = repo;
    ref.tag = "1";
    PushOptions opts;
    opts.parallel = 2;
    opts.chunk_size = chunk;
    opts.progress = [&](const PushEvent& e) { events_.push_back(e); };
    return Push(client, *store_, img, ref, opts);
  }

  int Count(const std::string& method, const std::string& url_part = "") const {
    int n = 0;
    for (const auto& s : transport_.seen()) {
      if (s.method == method && s.url.find(url_part) != std::string::npos) ++n;
    }
    return n;
  }

  std::string dir_;
  std::optional<image::BlobStore> store_;
  PushRegistry reg_;
  FakeTransport transport_{
      [this](const HttpRequest& r, const FakeTransport::Seen& s) { return reg_.Handle(r, s); }};
  std::vector<PushEvent> events_;
};

TEST_F(PushTest, MonolithicUploadThenHeadSkipsEverything) {
  image::OutputImage img = MakeImage({"layer-one", "layer-two-bytes"});
  auto r = DoPush(img, "app");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->digest, img.digest);
  EXPECT_EQ(r->blobs_uploaded, 3);
  EXPECT_EQ(r->blobs_present, 0);
  EXPECT_EQ(Count("PATCH"), 0);
  EXPECT_EQ(Count("PUT", "/blobs/uploads/"), 3);
  for (const auto& b : img.blobs) EXPECT_TRUE(reg_.repo_blobs["app"].count(b.digest)) << b.digest;
  EXPECT_EQ(reg_.blobs[img.blobs[1].digest], "layer-one");
  EXPECT_EQ(reg_.manifests["app:1"], img.manifest);
  EXPECT_EQ(reg_.manifest_types["app:1"], "application/vnd.oci.image.manifest.v1+json");

  events_.clear();
  int posts = Count("POST");
  auto again = DoPush(img, "app");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->blobs_present, 3);
  EXPECT_EQ(again->blobs_uploaded, 0);
  EXPECT_EQ(Count("POST"), posts) << "a blob the repository has was uploaded again";
  ASSERT_FALSE(events_.empty());
  EXPECT_EQ(events_.back().kind, PushEvent::kManifest);
  EXPECT_EQ(events_.back().digest, img.digest);
}

TEST_F(PushTest, ChunkedUploadSendsContentRanges) {
  image::OutputImage img = MakeImage({std::string(25, 'x') + "-tail"});  // 30 bytes
  auto r = DoPush(img, "app", nullptr, /*chunk=*/10);
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::vector<std::string> ranges;
  for (const auto& s : transport_.seen()) {
    if (s.method != "PATCH") continue;
    for (const auto& [k, v] : s.headers)
      if (k == "Content-Range") ranges.push_back(v);
  }
  // The 30-byte layer in 3 chunks; the config (larger than 10 bytes) chunked as well.
  ASSERT_GE(ranges.size(), 3u);
  EXPECT_NE(std::find(ranges.begin(), ranges.end(), "20-29"), ranges.end());
  EXPECT_EQ(reg_.blobs[img.blobs[1].digest], std::string(25, 'x') + "-tail");
  EXPECT_EQ(reg_.manifests["app:1"], img.manifest);
}

TEST_F(PushTest, ChunksAreAtLeastTheRegistrysMinimum) {
  image::OutputImage img = MakeImage({std::string(50, 'z')});
  reg_.min_chunk = 20;
  auto r = DoPush(img, "app", nullptr, /*chunk=*/10);
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::vector<std::string> ranges;
  for (const auto& s : transport_.seen()) {
    if (s.method != "PATCH" || s.url.find("/app/") == std::string::npos) continue;
    for (const auto& [k, v] : s.headers)
      if (k == "Content-Range" && s.body.find('z') != std::string::npos) ranges.push_back(v);
  }
  EXPECT_EQ(ranges, (std::vector<std::string>{"0-19", "20-39", "40-49"}));
  EXPECT_EQ(reg_.blobs[img.blobs[1].digest], std::string(50, 'z'));
}

TEST_F(PushTest, CorruptLocalBlobIsRefusedByTheRegistry) {
  image::OutputImage img = MakeImage({"good-layer-bytes"});
  {
    auto path = store_->Path(img.blobs[1].digest);
    ASSERT_TRUE(path.ok());
    std::filesystem::permissions(*path, std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::add);
    ASSERT_TRUE(base::WriteFileAtomic(*path, "evil-layer-bytes").ok());
  }
  auto r = DoPush(img, "app");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "registry reg.test:5000: 400 Bad Request: blob " +
                                      img.blobs[1].digest +
                                      ": provided digest did not match uploaded content");
  EXPECT_TRUE(reg_.manifests.empty());
}

TEST_F(PushTest, PayloadTooLargeFallsBackToChunks) {
  image::OutputImage img = MakeImage({std::string(4000, 'y')});
  reg_.max_body = 1000;
  auto r = DoPush(img, "app");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_GT(Count("PATCH"), 0);
  EXPECT_EQ(reg_.blobs[img.blobs[1].digest], std::string(4000, 'y'));
}

TEST_F(PushTest, KnownSourceOnTheSameRegistryIsMounted) {
  image::OutputImage img = MakeImage({"shared-base-layer", "app-layer"});
  const std::string base = img.blobs[1].digest;
  reg_.repo_blobs["team/base"].insert(base);
  reg_.blobs[base] = "shared-base-layer";
  ASSERT_TRUE(RecordBlobSource(*store_, base, {kHost, "team/base"}).ok());
  // A source on another registry is no use here.
  ASSERT_TRUE(RecordBlobSource(*store_, img.blobs[2].digest, {"other.test", "x"}).ok());
  auto r = DoPush(img, "app");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->blobs_mounted, 1);
  EXPECT_EQ(r->blobs_uploaded, 2);
  EXPECT_EQ(Count("POST", "mount=" + UrlEncode(base) + "&from=team%2Fbase"), 1);
  EXPECT_EQ(Count("POST", "mount="), 1);
  EXPECT_EQ(Count("PUT", "digest=" + UrlEncode(base)), 0) << "the mounted blob was uploaded";
  // After the push, the blobs' source is the repository pushed to.
  auto src = LookupBlobSource(*store_, img.blobs[2].digest);
  ASSERT_TRUE(src.has_value());
  EXPECT_EQ(src->host + "/" + src->repository, std::string(kHost) + "/app");
}

TEST_F(PushTest, RegistryThatDoesNotMountGetsAnUpload) {
  image::OutputImage img = MakeImage({"base-no-mount"});
  reg_.mount = false;
  reg_.repo_blobs["base"].insert(img.blobs[1].digest);
  ASSERT_TRUE(RecordBlobSource(*store_, img.blobs[1].digest, {kHost, "base"}).ok());
  auto r = DoPush(img, "app");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->blobs_mounted, 0);
  EXPECT_EQ(r->blobs_uploaded, 2);
  EXPECT_EQ(reg_.blobs[img.blobs[1].digest], "base-no-mount");
}

TEST_F(PushTest, PulledBlobsRecordTheirSourceAndThePushMountsThem) {
  image::OutputImage img = MakeImage({"pulled-layer"});
  ASSERT_TRUE(DoPush(img, "team/base").ok());
  // A fresh store pulls team/base:1, then pushes it as app:1.
  std::filesystem::remove_all(dir_);
  auto s = image::BlobStore::Open(dir_);
  ASSERT_TRUE(s.ok());
  store_.emplace(std::move(*s));
  NoCredentials none;
  RegistryClient client(&transport_, &none, nullptr);
  image::Reference ref;
  ref.domain = kHost;
  ref.path = "team/base";
  ref.tag = "1";
  auto pulled = Pull(client, *store_, ref, PullOptions());
  ASSERT_TRUE(pulled.ok()) << pulled.status().message();
  auto src = LookupBlobSource(*store_, img.blobs[1].digest);
  ASSERT_TRUE(src.has_value());
  EXPECT_EQ(src->repository, "team/base");
  auto out = image::SendableImage(*store_, pulled->image);
  ASSERT_TRUE(out.ok());
  auto r = DoPush(*out, "app");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->blobs_mounted, 2);  // config and layer
  EXPECT_EQ(r->blobs_uploaded, 0);
  EXPECT_EQ(r->digest, img.digest);
}

TEST_F(PushTest, RegistryStoresABlobUnderAnotherDigest) {
  image::OutputImage img = MakeImage({"layer"});
  reg_.wrong_blob_digest = "sha256:" + std::string(64, 'e');
  auto r = DoPush(img, "app");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_TRUE(
      r.status().message() == "registry reg.test:5000: blob " + img.blobs[0].digest +
                                  ": the registry stored it as sha256:" + std::string(64, 'e') ||
      r.status().message() == "registry reg.test:5000: blob " + img.blobs[1].digest +
                                  ": the registry stored it as sha256:" + std::string(64, 'e'))
      << r.status().message();
  EXPECT_TRUE(reg_.manifests.empty()) << "a manifest was pushed after a failed blob";
}

TEST_F(PushTest, RegistryAnswersTheManifestWithAnotherDigest) {
  image::OutputImage img = MakeImage({"layer"});
  reg_.wrong_manifest_digest = "sha256:" + std::string(64, 'f');
  auto r = DoPush(img, "app");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "manifest for reg.test:5000/app:1: digest mismatch (pushed " +
                                      img.digest +
                                      ", the registry says sha256:" + std::string(64, 'f') + ")");
}

TEST_F(PushTest, UnauthorizedPush) {
  image::OutputImage img = MakeImage({"layer"});
  reg_.basic_auth = true;
  auto r = DoPush(img, "app");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(r.status().message(),
            "registry reg.test:5000: 401 Unauthorized: authentication required, and no credential "
            "for reg.test:5000 was found (looked in: no credential source)");
  RecordingCredentials wrong("wrong-password");
  r = DoPush(img, "app", &wrong);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "registry reg.test:5000: 401 Unauthorized: the credential from the test's source was "
            "rejected");
  RecordingCredentials right(kCanary);
  r = DoPush(img, "app", &right);
  ASSERT_TRUE(r.ok()) << r.status().message();
  // The credential was asked for with the push scope.
  ASSERT_FALSE(right.asked.empty());
  EXPECT_EQ(right.asked.front(), "app push");
  // The password went nowhere but the Authorization header.
  for (const auto& s : transport_.seen()) {
    EXPECT_EQ(s.url.find(kCanary), std::string::npos);
    EXPECT_EQ(s.body.find(kCanary), std::string::npos);
  }
}

TEST_F(PushTest, UnknownRepository) {
  image::OutputImage img = MakeImage({"layer"});
  reg_.unknown_repos.insert("nope");
  auto r = DoPush(img, "nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(),
            "repository reg.test:5000/nope not found: repository name not known to registry");
}

TEST_F(PushTest, RegistryDown) {
  image::OutputImage img = MakeImage({"layer"});
  reg_.refuse = true;
  auto r = DoPush(img, "app");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(), "cannot reach registry reg.test:5000: Connection refused");
}

TEST_F(PushTest, ManifestRejected) {
  image::OutputImage img = MakeImage({"layer"});
  reg_.reject_manifest = true;
  auto r = DoPush(img, "app");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(),
            "registry reg.test:5000: 400 Bad Request: manifest for reg.test:5000/app:1: manifest "
            "invalid");
}

TEST_F(PushTest, DigestReferenceMustBeTheImages) {
  image::OutputImage img = MakeImage({"layer"});
  NoCredentials none;
  RegistryClient client(&transport_, &none, nullptr);
  image::Reference ref;
  ref.domain = kHost;
  ref.path = "app";
  ref.digest = "sha256:" + std::string(64, '0');
  auto r = Push(client, *store_, img, ref, PushOptions());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "push reg.test:5000/app@sha256:" + std::string(64, '0') +
                                      ": the reference's digest sha256:" + std::string(64, '0') +
                                      " is not the image's " + img.digest);
  ref.digest = img.digest;
  r = Push(client, *store_, img, ref, PushOptions());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(reg_.manifests["app:" + img.digest], img.manifest);
}

TEST(UploadSource, FileRangeReadsItsRangeAndNamesAShortFile) {
  char t[] = "/tmp/lk-upload-src.XXXXXX";
  ASSERT_NE(::mkdtemp(t), nullptr);
  std::string path = std::string(t) + "/f";
  ASSERT_TRUE(base::WriteFileAtomic(path, "0123456789").ok());
  FileRangeSource src(path, 3, 4);
  ASSERT_TRUE(src.Rewind().ok());
  char buf[16];
  auto n = src.Read(buf, sizeof buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "3456");
  EXPECT_EQ(*src.Read(buf, sizeof buf), 0u);
  FileRangeSource past(path, 8, 4);
  ASSERT_TRUE(past.Rewind().ok());
  ASSERT_TRUE(past.Read(buf, sizeof buf).ok());  // "89"
  auto end = past.Read(buf, sizeof buf);
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(end.status().message(), path + ": the file ended early (at byte 10 of 12)");
  FileRangeSource missing(std::string(t) + "/nope", 0, 1);
  EXPECT_EQ(missing.Rewind().message(),
            "open " + std::string(t) + "/nope: No such file or directory");
  std::filesystem::remove_all(t);
}

}  // namespace
}  // namespace latchkey::registry
