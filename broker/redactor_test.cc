#include "broker/redactor.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <cstring>
#include <sstream>

#include "broker/logging.h"

namespace latchkey {
namespace {

std::shared_ptr<const SecretBuffer> Secret(const char* s) {
  auto buf = SecretBuffer::CopyOf({reinterpret_cast<const uint8_t*>(s), std::strlen(s)});
  EXPECT_TRUE(buf.ok());
  return std::make_shared<const SecretBuffer>(std::move(*buf));
}

TEST(Redactor, MasksRawBase64AndHexForms) {
  SecretRegistry reg;
  ASSERT_TRUE(reg.Add(Secret("canary-7d1e")).ok());
  // base64("canary-7d1e") = Y2FuYXJ5LTdkMWU=, hex = 63616e6172792d37643165
  EXPECT_EQ(reg.Redact("token=canary-7d1e end"), "token=**** end");
  EXPECT_EQ(reg.Redact("b64 Y2FuYXJ5LTdkMWU= and Y2FuYXJ5LTdkMWU"), "b64 **** and ****");
  EXPECT_EQ(reg.Redact("hex 63616e6172792d37643165 HEX 63616E6172792D37643165"),
            "hex **** HEX ****");
  EXPECT_EQ(reg.Redact("nothing here"), "nothing here");
  EXPECT_TRUE(reg.Contains("xxcanary-7d1exx"));
  EXPECT_FALSE(reg.Contains("canary-7d1"));
}

TEST(Redactor, MasksBase64AtEveryAlignment) {
  SecretRegistry reg;
  ASSERT_TRUE(reg.Add(Secret("s3cr3t-v4lue?")).ok());
  // base64 of the value after 0, 1, 2 and 5 other bytes (the last how Docker's config.json
  // `auth` is made), standard and URL-safe; only the prefix's own characters may stay.
  EXPECT_EQ(reg.Redact("czNjcjN0LXY0bHVlPw=="), "****");                              // value
  EXPECT_EQ(reg.Redact("OnMzY3IzdC12NGx1ZT8="), "O****");                             // ":" value
  EXPECT_EQ(reg.Redact("YTpzM2NyM3QtdjRsdWU/"), "YT****");                            // "a:" value
  EXPECT_EQ(reg.Redact("YTpzM2NyM3QtdjRsdWU_"), "YT****");                            // URL-safe
  EXPECT_EQ(reg.Redact("auth dXNlcjpzM2NyM3QtdjRsdWU/ end"), "auth dXNlcj**** end");  // "user:"
  EXPECT_EQ(reg.Redact("dXNlcjpzM2NyM3QtdjRsdWU/eA=="), "dXNlcj****eA==");  // "user:" value "x"
}

TEST(Redactor, MasksTheCredentialPartsOfAStructuredValue) {
  SecretRegistry reg;
  ASSERT_TRUE(reg.Add(Secret("registry=https://registry.example.com/\n"
                             "//registry.example.com/:_authToken=npm_tok3n42\n"))
                  .ok());
  ASSERT_TRUE(reg.Add(Secret("[default]\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG\n")).ok());
  EXPECT_EQ(reg.Redact("token is npm_tok3n42."), "token is ****.");
  EXPECT_EQ(reg.Redact("b64 bnBtX3RvazNuNDI="), "b64 ****");
  EXPECT_EQ(reg.Redact("key wJalrXUtnFEMI/K7MDENG"), "key ****");
  // The non-secret URL of the .npmrc is not a part.
  EXPECT_EQ(reg.Redact("https://registry.example.com/"), "https://registry.example.com/");
}

TEST(Redactor, OverlappingMatchesLeaveNoFragment) {
  SecretRegistry reg;
  ASSERT_TRUE(reg.Add(Secret("abcabc")).ok());
  EXPECT_EQ(reg.Redact("xabcabcabcx"), "x****x");
}

TEST(Redactor, RemoveStopsMasking) {
  SecretRegistry reg;
  auto h = reg.Add(Secret("s3cr3t-value"));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(reg.Redact("s3cr3t-value"), "****");
  reg.Remove(*h);
  EXPECT_EQ(reg.size(), 0u);
  EXPECT_EQ(reg.Redact("s3cr3t-value"), "s3cr3t-value");
}

TEST(Redactor, EmptySecretNeverMatches) {
  SecretRegistry reg;
  ASSERT_TRUE(reg.Add(Secret("")).ok());
  EXPECT_EQ(reg.Redact("abc"), "abc");
}

TEST(Logging, EverySinkPathRedactsCanaries) {
  SecretRegistry reg;
  ASSERT_TRUE(reg.Add(Secret("canary-log-42")).ok());
  for (const char* format : {"text", "json"}) {
    std::ostringstream out;
    LogOptions options;
    options.format = format;
    options.level = "debug";
    options.sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    options.registry = &reg;
    ASSERT_TRUE(InitLogging(options).ok());
    auto log = GetLogger(std::string("redaction-test-") + format);
    log->debug("value {} in debug", "canary-log-42");
    log->info("base64 {}", "Y2FuYXJ5LWxvZy00Mg==");
    log->warn("hex {}", "63616e6172792d6c6f672d3432");
    log->error("raw again canary-log-42!");
    spdlog::info("default logger canary-log-42");
    log->flush();
    std::string text = out.str();
    EXPECT_EQ(text.find("canary-log-42"), std::string::npos) << text;
    EXPECT_EQ(text.find("Y2FuYXJ5LWxvZy00Mg"), std::string::npos) << text;
    EXPECT_EQ(text.find("63616e6172792d6c6f672d3432"), std::string::npos) << text;
    EXPECT_NE(text.find("value **** in debug"), std::string::npos) << text;
    if (std::string(format) == "json") {
      EXPECT_NE(text.find("\"msg\":\"raw again ****!\""), std::string::npos) << text;
    }
  }
  // Leave the process with a plain stderr setup for other tests.
  ASSERT_TRUE(InitLogging(LogOptions{}).ok());
}

TEST(Logging, RejectsUnknownFormatAndLevel) {
  LogOptions bad_format;
  bad_format.format = "xml";
  EXPECT_EQ(InitLogging(bad_format).message(), "unknown log format \"xml\" (want text or json)");
  LogOptions bad_level;
  bad_level.level = "loud";
  EXPECT_EQ(InitLogging(bad_level).message(),
            "unknown log level \"loud\" (want debug, info, warn or error)");
}

}  // namespace
}  // namespace latchkey
