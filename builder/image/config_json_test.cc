#include "builder/image/config_json.h"

#include <gtest/gtest.h>

namespace latchkey::image {
namespace {

using frontend::ImageConfig;

ImageConfig Full() {
  ImageConfig c = ImageConfig::Scratch();
  c.variant = "v8";
  c.user = "app:app";
  c.exposed_ports = {"80/tcp", "53/udp"};
  c.env.push_back("A=b c");
  c.entrypoint = std::vector<std::string>{"/entry"};
  c.cmd = std::vector<std::string>{"serve", "--port=80"};
  c.volumes = {"/data"};
  c.working_dir = "/srv";
  c.labels = {{"org.example", "yes"}};
  c.stop_signal = "SIGTERM";
  c.shell = std::vector<std::string>{"/bin/bash", "-c"};
  frontend::HealthConfig h;
  h.test = {"CMD-SHELL", "curl -f localhost"};
  h.interval_ns = 30000000000;
  h.timeout_ns = 5000000000;
  h.retries = 3;
  c.healthcheck = h;
  c.on_build = {"RUN echo child"};
  c.created = "2024-01-02T03:04:05Z";
  c.author = "me";
  c.diff_ids = {"sha256:" + std::string(64, 'a')};
  c.history = {{"2024-01-02T03:04:05Z", "RUN make", "", false},
               {"2024-01-02T03:04:05Z", "ENV A=b c", "", true}};
  return c;
}

TEST(ConfigJson, RoundTripsEveryField) {
  ImageConfig c = Full();
  auto back = ConfigFromJson(ConfigToJson(c));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, c);
}

TEST(ConfigJson, DockerShape) {
  auto j = nlohmann::json::parse(ConfigToJson(Full()));
  EXPECT_EQ(j["config"]["Shell"], nlohmann::json({"/bin/bash", "-c"}));
  EXPECT_EQ(j["config"]["Healthcheck"]["Interval"], 30000000000);
  EXPECT_EQ(j["config"]["OnBuild"][0], "RUN echo child");
  EXPECT_EQ(j["config"]["ExposedPorts"]["80/tcp"], nlohmann::json::object());
  EXPECT_EQ(j["rootfs"]["type"], "layers");
  EXPECT_EQ(j["history"][1]["empty_layer"], true);
  EXPECT_FALSE(j["history"][0].contains("empty_layer"));
}

TEST(ConfigJson, CanonicalSortedCompact) {
  ImageConfig c;
  c.cmd = std::vector<std::string>{};
  EXPECT_EQ(ConfigToJson(c),
            "{\"architecture\":\"amd64\",\"config\":{\"Cmd\":[]},\"os\":\"linux\","
            "\"rootfs\":{\"diff_ids\":[],\"type\":\"layers\"}}");
}

TEST(ConfigJson, EmptyVersusUnsetEntrypoint) {
  ImageConfig c;
  c.entrypoint = std::vector<std::string>{};
  auto back = ConfigFromJson(ConfigToJson(c));
  ASSERT_TRUE(back.ok());
  ASSERT_TRUE(back->entrypoint.has_value());
  EXPECT_TRUE(back->entrypoint->empty());
  auto null_ep = ConfigFromJson(R"({"os":"linux","config":{"Entrypoint":null}})");
  ASSERT_TRUE(null_ep.ok());
  EXPECT_FALSE(null_ep->entrypoint.has_value());
}

TEST(ConfigJson, WrongTypesNameTheField) {
  EXPECT_EQ(ConfigFromJson(R"({"config":{"Env":"PATH=/bin"}})").status().message(),
            "image config: field \"config.Env\" must be an array of strings");
  EXPECT_EQ(ConfigFromJson(R"({"config":{"Healthcheck":{"Retries":"3"}}})").status().message(),
            "image config: field \"config.Healthcheck.Retries\" must be an integer");
  EXPECT_EQ(ConfigFromJson("{").status().message(), "image config: invalid JSON");
  EXPECT_EQ(ConfigFromJson("[]").status().message(), "image config: not a JSON object");
}

}  // namespace
}  // namespace latchkey::image
