#include "registry/authenticator.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "registry/fake_transport_testutil.h"
#include "registry/registry_client.h"

namespace latchkey::registry {
namespace {

constexpr char kHost[] = "reg.test:5000";

SecretBuffer Buf(std::string_view s) {
  return SecretBuffer::CopyOf({reinterpret_cast<const uint8_t*>(s.data()), s.size()}).value();
}

// Records the scopes it is asked for; answers alice/pw, or an identity token.
class RecordingCredentials : public CredentialSource {
 public:
  explicit RecordingCredentials(bool identity = false) : identity_(identity) {}
  Result<Credential> Get(std::string_view, std::string_view repository,
                         std::string_view scope) override {
    asked.push_back(std::string(repository) + " " + std::string(scope));
    Credential c;
    if (identity_) {
      c.identity_token = Buf("refresh-tok");
    } else {
      c.username = Buf("alice");
      c.password = Buf("pw");
    }
    c.source = "provider file (/c.json)";
    return c;
  }
  std::string Describe() const override { return "the test's source"; }
  std::vector<std::string> asked;

 private:
  bool identity_;
};

std::vector<Challenge> BearerChallenge(const std::string& scope) {
  return ParseWwwAuthenticate("Bearer realm=\"https://auth.test/token\",service=\"reg\",scope=\"" +
                              scope + "\"")
      .value();
}

std::string Text(const AuthValue& v) {
  return v.header ? std::string(reinterpret_cast<const char*>(v.header->data()), v.header->size())
                  : std::string();
}

HostOptionsFn NoOptions() {
  return [](const std::string&) { return HostOptions(); };
}

TEST(CredentialScope, PushWhenTheScopeIncludesPush) {
  EXPECT_EQ(CredentialScope("repository:team/app:pull"), "pull");
  EXPECT_EQ(CredentialScope("repository:team/app:pull,push"), "push");
  EXPECT_EQ(CredentialScope("repository:team/app:push"), "push");
  EXPECT_EQ(CredentialScope("repository:team/app:*"), "push");
  EXPECT_EQ(CredentialScope("pull"), "pull");
  EXPECT_EQ(CredentialScope("push"), "push");
}

// A pull token serves pulls; a push asks again, for pull,push, with a push credential; the new
// token then serves both.
TEST(Authenticator, ScopeUpgradeFromPullToPullPush) {
  int n = 0;
  FakeTransport t([&](const HttpRequest& req, const FakeTransport::Seen&) {
    FakeResponse r;
    r.body = "{\"token\":\"tok-" + std::to_string(++n) + "\"}";
    EXPECT_EQ(req.url.rfind("https://auth.test/token?", 0), 0u) << req.url;
    return r;
  });
  RecordingCredentials creds;
  Authenticator auth(&t, &creds, NoOptions());
  const std::string pull = "repository:team/app:pull";
  const std::string push = "repository:team/app:pull,push";
  auto v = auth.Authenticate(kHost, "team/app", pull, BearerChallenge(pull));
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(Text(*v), "Bearer tok-1");
  EXPECT_EQ(Text(auth.Cached(kHost, pull)), "Bearer tok-1");
  EXPECT_EQ(Text(auth.Cached(kHost, push)), "");  // a pull token is no push token

  auto w = auth.Authenticate(kHost, "team/app", push, BearerChallenge(push));
  ASSERT_TRUE(w.ok()) << w.status().message();
  EXPECT_EQ(Text(*w), "Bearer tok-2");
  EXPECT_EQ(Text(auth.Cached(kHost, push)), "Bearer tok-2");
  ASSERT_EQ(t.seen().size(), 2u);
  EXPECT_NE(t.seen()[1].url.find("scope=repository%3Ateam%2Fapp%3Apull%2Cpush"), std::string::npos)
      << t.seen()[1].url;
  EXPECT_EQ(creds.asked, (std::vector<std::string>{"team/app pull", "team/app push"}));

  auth.Forget(kHost, pull);
  // Without its own pull token, a pull uses the push token.
  EXPECT_EQ(Text(auth.Cached(kHost, pull)), "Bearer tok-2");
}

// The registry asks for a wider scope than the request's: the token is asked for with the
// challenge's scope, and the credential for the action it implies.
TEST(Authenticator, ChallengeScopeDecidesTheCredentialScope) {
  FakeTransport t([&](const HttpRequest&, const FakeTransport::Seen&) {
    FakeResponse r;
    r.body = "{\"access_token\":\"tok\"}";
    return r;
  });
  RecordingCredentials creds;
  Authenticator auth(&t, &creds, NoOptions());
  auto v = auth.Authenticate(kHost, "team/app", "repository:team/app:pull",
                             BearerChallenge("repository:team/app:pull,push"));
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(Text(*v), "Bearer tok");
  EXPECT_EQ(creds.asked, (std::vector<std::string>{"team/app push"}));
}

// OAuth2: a refused refresh token is 400 invalid_grant (RFC 6749), and means the credential
// was rejected.
TEST(Authenticator, RefusedRefreshTokenIsRejected) {
  FakeTransport t([&](const HttpRequest& req, const FakeTransport::Seen&) {
    EXPECT_EQ(req.method, "POST");
    FakeResponse r;
    r.status = 400;
    r.body = "{\"error\":\"invalid_grant\"}";
    return r;
  });
  RecordingCredentials creds(/*identity=*/true);
  Authenticator auth(&t, &creds, NoOptions());
  auto v = auth.Authenticate(kHost, "team/app", "repository:team/app:pull",
                             BearerChallenge("repository:team/app:pull"));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(v.status().message(),
            "registry reg.test:5000: 401 Unauthorized: the credential from provider file "
            "(/c.json) was rejected");
}

// A GET with Basic credentials answered 400 is the token server's failure, not a rejection.
TEST(Authenticator, BadRequestToAGetIsTheServersFailure) {
  FakeTransport t([&](const HttpRequest&, const FakeTransport::Seen&) {
    FakeResponse r;
    r.status = 400;
    return r;
  });
  RecordingCredentials creds;
  Authenticator auth(&t, &creds, NoOptions());
  auto v = auth.Authenticate(kHost, "team/app", "repository:team/app:pull",
                             BearerChallenge("repository:team/app:pull"));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(), "registry reg.test:5000: token server auth.test answered 400");
}

// The realm's TLS settings (CA, client certificate) come from its host's options.
TEST(Authenticator, RealmGetsItsHostsTlsOptions) {
  HttpRequest seen;
  FakeTransport t([&](const HttpRequest& req, const FakeTransport::Seen&) {
    seen = req;
    FakeResponse r;
    r.body = "{\"token\":\"t\"}";
    return r;
  });
  RecordingCredentials creds;
  Authenticator auth(&t, &creds, [](const std::string& host) {
    HostOptions o;
    if (host == "auth.test") {
      o.ca_file = "/certs.d/auth.test/ca.crt";
      o.client_cert = "/certs.d/auth.test/client.cert";
      o.client_key = "/certs.d/auth.test/client.key";
    }
    return o;
  });
  ASSERT_TRUE(auth.Authenticate(kHost, "team/app", "repository:team/app:pull",
                                BearerChallenge("repository:team/app:pull"))
                  .ok());
  EXPECT_EQ(seen.ca_file, "/certs.d/auth.test/ca.crt");
  EXPECT_EQ(seen.client_cert, "/certs.d/auth.test/client.cert");
  EXPECT_EQ(seen.client_key, "/certs.d/auth.test/client.key");
}

TEST(RegistryClientFailure, UnknownCaNamesTheCertsDirectory) {
  TransportResult r;
  r.failure = TransportFailure::kTls;
  r.status = UnavailableError("SSL certificate problem: unable to get local issuer certificate");
  EXPECT_EQ(RegistryClient::Failure("reg.test:5000", "manifest for x", r,
                                    "/etc/latchkey/certs.d/reg.test:5000")
                .message(),
            "registry reg.test:5000: TLS certificate verification failed (SSL certificate "
            "problem: unable to get local issuer certificate); if reg.test:5000 uses a private "
            "CA, put its certificate in /etc/latchkey/certs.d/reg.test:5000/ca.crt, or set "
            "registries: {\"reg.test:5000\": {ca_file: /path/to/ca.crt}} in the latchkey "
            "configuration");
}

TEST(RegistryClientFailure, ClientCertificateRefusedNamesWhereItGoes) {
  TransportResult r;
  r.failure = TransportFailure::kClientCert;
  r.status = FailedPreconditionError("OpenSSL SSL_read: sslv3 alert bad certificate");
  EXPECT_EQ(RegistryClient::Failure("reg.test:5000", "manifest for x", r,
                                    "/etc/latchkey/certs.d/reg.test:5000")
                .message(),
            "registry reg.test:5000 refused the TLS client certificate, or wanted one and got "
            "none; put the certificate in /etc/latchkey/certs.d/reg.test:5000/client.cert and its "
            "key in /etc/latchkey/certs.d/reg.test:5000/client.key, or set registries: "
            "{\"reg.test:5000\": {client_cert: /path/to/client.cert, client_key: "
            "/path/to/client.key}} in the latchkey configuration");
}

// The credential source's refusal names the host itself: it is passed on unchanged.
TEST(RegistryClientFailure, CredentialSourceErrorsArePassedOn) {
  TransportResult r;
  r.failure = TransportFailure::kOther;
  r.status = PermissionDeniedError(
      "secret registry:reg.test:5000 (pull team/app): denied by policy rule \"r\": no");
  Status st = RegistryClient::Failure("reg.test:5000", "manifest for x", r);
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(st.message(),
            "secret registry:reg.test:5000 (pull team/app): denied by policy rule \"r\": no");
}

}  // namespace
}  // namespace latchkey::registry
