#include "broker/logging.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <cstring>
#include <sstream>

#include "secure/redactor.h"

namespace latchkey {
namespace {

std::shared_ptr<const SecretBuffer> Secret(const char* s) {
  auto buf = SecretBuffer::CopyOf({reinterpret_cast<const uint8_t*>(s), std::strlen(s)});
  EXPECT_TRUE(buf.ok());
  return std::make_shared<const SecretBuffer>(std::move(*buf));
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
