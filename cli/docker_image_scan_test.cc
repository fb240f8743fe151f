#include "cli/docker_image_scan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "builder/image/test_util.h"

namespace latchkey::build {
void PrintTo(const LeakFinding& f, std::ostream* os) {
  *os << "{" << f.secret_id << ", " << f.encoding << ", " << f.path << ", " << f.part << "}";
}
}  // namespace latchkey::build

namespace latchkey::cli {
namespace {

using build::LeakFinding;
using build::LeakScanner;
using image::testing::D;
using image::testing::F;
using image::testing::H;
using image::testing::L;
using image::testing::ScratchDir;
using image::testing::TarEntry;
using Released = std::vector<std::pair<std::string, std::shared_ptr<const SecretBuffer>>>;

constexpr std::string_view kCanary = "canary-s3cr3t-v4lue";
constexpr std::string_view kCanaryBase64 = "Y2FuYXJ5LXMzY3IzdC12NGx1ZQ==";
constexpr std::string_view kConsequence = "the image was removed from Docker Engine";

std::shared_ptr<const SecretBuffer> Value(std::string_view v) {
  auto b = SecretBuffer::CopyOf({reinterpret_cast<const uint8_t*>(v.data()), v.size()});
  if (!b.ok()) std::abort();
  return std::make_shared<const SecretBuffer>(std::move(*b));
}

LeakScanner Scanner(const Released& released) {
  auto s = LeakScanner::Create(released, {});
  if (!s.ok()) std::abort();
  return std::move(*s);
}

LeakFinding Finding(std::string id, std::string enc, std::string path, std::string part) {
  return LeakFinding{std::move(id), std::move(enc), std::move(path), std::move(part)};
}

std::string TarBytes(const std::vector<TarEntry>& entries) {
  ScratchDir d;
  image::testing::WriteTar(d / "t.tar", entries);
  return image::testing::ReadText(d / "t.tar");
}

// A 64-hex name made of one digit, as Docker's layer directories and config names.
std::string Hex(char c) { return std::string(64, c); }

// The config of an image with these history entries ({created_by, empty_layer}) and env.
std::string Config(const std::vector<std::pair<std::string, bool>>& history,
                   const std::vector<std::string>& env = {"PATH=/bin"}) {
  // One diff_id per non-empty history entry, "sha256:" + 64 times its number.
  nlohmann::json diff_ids = nlohmann::json::array();
  for (const auto& [by, empty] : history) {
    if (!empty) diff_ids.push_back("sha256:" + Hex(static_cast<char>('1' + diff_ids.size())));
  }
  nlohmann::json h = nlohmann::json::array();
  for (const auto& [by, empty] : history) {
    nlohmann::json e = {{"created", "2026-01-01T00:00:00Z"}, {"created_by", by}};
    if (empty) e["empty_layer"] = true;
    h.push_back(e);
  }
  return nlohmann::json{{"architecture", "amd64"},
                        {"os", "linux"},
                        {"config", {{"Env", env}, {"Cmd", {"/bin/sh"}}}},
                        {"history", h},
                        {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}}
      .dump();
}

// Where manifest.json and the config go in the stream.
enum class Order {
  kDocker,        // sorted by name, as Docker 20.10 writes it: layers, config, manifest.json
  kMetadataFirst  // manifest.json, then the config, then the layers
};

// A `docker save` stream (Docker 20.10's legacy layout) of an image with these layers and
// config. Layer i (from 0) is in directory Hex('1' + i).
std::string DockerSave(const std::vector<std::vector<TarEntry>>& layers, const std::string& config,
                       Order order = Order::kDocker) {
  std::vector<TarEntry> layer_entries, meta;
  nlohmann::json paths = nlohmann::json::array();
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string dir = Hex(static_cast<char>('1' + i));
    layer_entries.push_back(D(dir + "/"));
    layer_entries.push_back(F(dir + "/VERSION", "1.0"));
    layer_entries.push_back(F(dir + "/json", "{\"id\":\"" + dir + "\"}"));
    layer_entries.push_back(F(dir + "/layer.tar", TarBytes(layers[i])));
    paths.push_back(dir + "/layer.tar");
  }
  const std::string config_name = Hex('f') + ".json";
  nlohmann::json manifest = nlohmann::json::array(
      {{{"Config", config_name}, {"RepoTags", {"app:dev"}}, {"Layers", paths}}});
  meta.push_back(F("manifest.json", manifest.dump()));
  meta.push_back(F(config_name, config));
  meta.push_back(F("repositories", "{\"app\":{\"dev\":\"" + Hex('9') + "\"}}"));
  std::vector<TarEntry> all;
  if (order == Order::kMetadataFirst) all = meta;
  all.insert(all.end(), layer_entries.begin(), layer_entries.end());
  if (order == Order::kDocker) {
    all.insert(all.end(), meta.begin(), meta.end());
    std::stable_sort(all.begin(), all.end(),
                     [](const TarEntry& a, const TarEntry& b) { return a.name < b.name; });
  }
  return TarBytes(all);
}

// Hands out `bytes` `chunk` bytes at a time; counts its calls.
struct StringReader {
  explicit StringReader(std::string b, size_t c = 1000) : bytes(std::move(b)), chunk(c) {}
  DockerTarRead Fn() {
    return [this](void* buf, size_t cap) -> Result<size_t> {
      ++calls;
      if (ended) ++calls_after_end;
      size_t n = std::min({cap, chunk, bytes.size() - pos});
      std::memcpy(buf, bytes.data() + pos, n);
      pos += n;
      ended = n == 0;
      return n;
    };
  }
  std::string bytes;
  size_t chunk;
  size_t pos = 0;
  int calls = 0;
  bool ended = false;
  int calls_after_end = 0;  // calls after one returned 0
};

Result<DockerImageLeaks> Scan(const std::string& stream, const SecretRegistry& redactor,
                              const Released& released = {{"x", Value(kCanary)}}) {
  LeakScanner scanner = Scanner(released);
  StringReader reader(stream);
  auto got = ScanDockerImage(scanner, reader.Fn(), "sha256:" + Hex('a'), redactor);
  if (got.ok()) {
    EXPECT_EQ(reader.pos, stream.size()) << "the stream was not read to its end";
    EXPECT_TRUE(reader.ended) << "the end of the stream was not seen";
    EXPECT_EQ(reader.calls_after_end, 0);
  }
  return got;
}

// The base layer, a RUN that leaks (layer 2), a clean COPY; the history also has an
// empty_layer entry.
const std::vector<std::pair<std::string, bool>> kHistory = {
    {"/bin/sh -c #(nop) ADD file:0123abcd in / ", false},
    {"/bin/sh -c #(nop)  CMD [\"/bin/sh\"]", true},
    {"RUN /bin/sh -c cp /run/secrets/x /leak # buildkit", false},
    {"COPY app /app # buildkit", false},
};

std::vector<std::vector<TarEntry>> LeakingLayers() {
  return {
      {D("bin/"), F("bin/sh", "#!busybox"), F("etc/passwd", "root:x:0:0")},
      {F("leak", "prefix " + std::string(kCanary) + " suffix"),
       F("etc/" + std::string(kCanary) + ".txt", "clean"),
       L("link", "/run/secrets/" + std::string(kCanary)), F("b64", std::string(kCanaryBase64))},
      {D("app/"), F("app/main", "clean program")},
  };
}

const std::vector<LeakFinding> kLayer2Findings = {
    Finding("x", "raw", "leak", "data"),
    Finding("x", "raw", "etc/****.txt", "name"),
    Finding("x", "raw", "link", "linkname"),
    Finding("x", "base64", "b64", "data"),
};

const std::string kLayer2Refusal =
    "secret \"x\" leaked into layer 2 of the Docker image (RUN cp /run/secrets/x /leak) at /leak, "
    "/etc/****.txt, /link and /b64; the image was removed from Docker Engine (if this is "
    "intended, pass --allow-secret-leak x)";

TEST(DockerImageScan, CleanImagePasses) {
  SecretRegistry reg;
  std::vector<std::vector<TarEntry>> layers = {{D("bin/"), F("bin/sh", "#!busybox")},
                                               {F("app", "clean")}};
  auto got = Scan(DockerSave(layers, Config({{"ADD rootfs / # buildkit", false},
                                             {"RUN /bin/sh -c make # buildkit", false}})),
                  reg);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(got->clean());
  ASSERT_EQ(got->layers.size(), 2u);
  EXPECT_EQ(got->layers[0].number, 1u);
  EXPECT_EQ(got->layers[0].path, Hex('1') + "/layer.tar");
  EXPECT_EQ(got->layers[0].instruction, "ADD rootfs /");
  EXPECT_EQ(got->layers[1].instruction, "RUN make");
  EXPECT_EQ(got->layers[0].diff_id, "sha256:" + Hex('1'));
  EXPECT_EQ(got->layers[1].diff_id, "sha256:" + Hex('2'));
  EXPECT_TRUE(got->metadata.empty());
  EXPECT_TRUE(JudgeDockerImageLeaks(*got, {}, std::string(kConsequence), nullptr).ok());
}

TEST(DockerImageScan, FindsTheCanaryInDataNamesLinksAndBase64) {
  SecretRegistry reg;
  auto got = Scan(DockerSave(LeakingLayers(), Config(kHistory)), reg);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->layers.size(), 3u);
  EXPECT_TRUE(got->layers[0].findings.empty());
  EXPECT_EQ(got->layers[1].findings, kLayer2Findings);
  EXPECT_TRUE(got->layers[2].findings.empty());
  EXPECT_TRUE(got->metadata.empty());
  EXPECT_EQ(got->layers[0].instruction, "ADD file:0123abcd in /");
  EXPECT_EQ(got->layers[1].instruction, "RUN cp /run/secrets/x /leak");
  EXPECT_EQ(got->layers[2].instruction, "COPY app /app");
  Status st = JudgeDockerImageLeaks(*got, {}, std::string(kConsequence), nullptr);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.message(), kLayer2Refusal);
}

TEST(DockerImageScan, OrderOfTheEntriesDoesNotMatter) {
  SecretRegistry reg;
  for (Order order : {Order::kDocker, Order::kMetadataFirst}) {
    auto got = Scan(DockerSave(LeakingLayers(), Config(kHistory), order), reg);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(got->layers.size(), 3u);
    EXPECT_EQ(got->layers[1].number, 2u);
    EXPECT_EQ(got->layers[1].findings, kLayer2Findings);
    EXPECT_EQ(JudgeDockerImageLeaks(*got, {}, std::string(kConsequence), nullptr).message(),
              kLayer2Refusal);
  }
}

TEST(DockerImageScan, TheFirstLeakingLayerInManifestOrderIsReported) {
  SecretRegistry reg;
  auto layers = LeakingLayers();
  layers[2].push_back(F("app/copy", std::string(kCanary)));
  auto got = Scan(DockerSave(layers, Config(kHistory)), reg);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->layers[2].findings,
            std::vector<LeakFinding>{Finding("x", "raw", "app/copy", "data")});
  EXPECT_EQ(JudgeDockerImageLeaks(*got, {}, std::string(kConsequence), nullptr).message(),
            kLayer2Refusal);
}

TEST(DockerImageScan, ConfigHistoryAndEnvLeaksUseTheEmbeddedWording) {
  SecretRegistry reg;
  ASSERT_TRUE(reg.Add(Value(kCanary)).ok());
  std::vector<std::vector<TarEntry>> layers = {{F("bin/sh", "#!busybox")}, {F("out", "clean")}};
  const std::string run = "RUN /bin/sh -c echo " + std::string(kCanary) + " >/dev/null # buildkit";
  auto got = Scan(DockerSave(layers, Config({{"ADD rootfs / # buildkit", false}, {run, false}},
                                            {"TOKEN=" + std::string(kCanary)})),
                  reg);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->metadata,
            std::vector<LeakFinding>{Finding("x", "raw", Hex('f') + ".json", "text")});
  // The instruction is redacted before it is kept.
  EXPECT_EQ(got->layers[1].instruction, "RUN echo **** >/dev/null");
  Status st = JudgeDockerImageLeaks(*got, {}, std::string(kConsequence), nullptr);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.message(),
            "secret \"x\" leaked into the image config (its history, labels or env); the image "
            "was removed from Docker Engine (if this is intended, pass --allow-secret-leak x)");
}

TEST(DockerImageScan, ARedactedInstructionNamesTheLeakingLayer) {
  SecretRegistry reg;
  ASSERT_TRUE(reg.Add(Value(kCanary)).ok());
  const std::string run = "RUN /bin/sh -c echo " + std::string(kCanary) + " > /leak # buildkit";
  auto got = Scan(DockerSave({{F("leak", std::string(kCanary))}}, Config({{run, false}})), reg);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  Status st = JudgeDockerImageLeaks(*got, {}, std::string(kConsequence), nullptr);
  EXPECT_EQ(st.message(),
            "secret \"x\" leaked into layer 1 of the Docker image (RUN echo **** > /leak) at "
            "/leak; the image was removed from Docker Engine (if this is intended, pass "
            "--allow-secret-leak x)");
  EXPECT_EQ(st.message().find(kCanary), std::string::npos);
}

TEST(DockerImageScan, FindsValuesGosJsonEncoderEscaped) {
  SecretRegistry reg;
  // Go writes '&', '<' and '>' as \u0026, \u003c, \u003e; a newline as \n.
  constexpr std::string_view kValue = "p&ss<w>rd\nline2";
  std::string config = Config({{"ADD rootfs / # buildkit", false}}, {"PATH=/bin"});
  const std::string escaped = "p\\u0026ss\\u003cw\\u003erd\\nline2";
  config.insert(config.find("PATH=/bin"), "TOKEN=" + escaped + "\",\"");
  ASSERT_NE(config.find("TOKEN=p\\u0026ss"), std::string::npos) << config;
  auto got = Scan(DockerSave({{F("a", "clean")}}, config), reg, {{"pw", Value(kValue)}});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->metadata,
            std::vector<LeakFinding>{Finding("pw", "raw", Hex('f') + ".json", "text")});
}

TEST(DockerImageScan, ASymlinkedLayerHasTheFindingsOfItsTarget) {
  // Docker writes a layer whose content repeats an earlier one as a symlink to its layer.tar.
  SecretRegistry reg;
  std::vector<TarEntry> entries = {
      D(Hex('1') + "/"),
      F(Hex('1') + "/layer.tar", TarBytes({F("leak", std::string(kCanary))})),
      D(Hex('2') + "/"),
      F(Hex('2') + "/layer.tar", TarBytes({F("clean", "clean")})),
      D(Hex('3') + "/"),
      L(Hex('3') + "/layer.tar", "../" + Hex('1') + "/layer.tar"),
      H(Hex('4') + "/layer.tar", Hex('2') + "/layer.tar"),
      F(Hex('f') + ".json", Config({{"COPY a / # buildkit", false},
                                    {"COPY b / # buildkit", false},
                                    {"COPY a /x # buildkit", false},
                                    {"COPY b /y # buildkit", false}})),
      F("manifest.json", "[{\"Config\":\"" + Hex('f') + ".json\",\"Layers\":[\"" + Hex('1') +
                             "/layer.tar\",\"" + Hex('2') + "/layer.tar\",\"" + Hex('3') +
                             "/layer.tar\",\"" + Hex('4') + "/layer.tar\"]}]"),
  };
  auto got = Scan(TarBytes(entries), reg);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->layers.size(), 4u);
  const std::vector<LeakFinding> leak = {Finding("x", "raw", "leak", "data")};
  EXPECT_EQ(got->layers[0].findings, leak);
  EXPECT_TRUE(got->layers[1].findings.empty());
  EXPECT_EQ(got->layers[2].findings, leak);
  EXPECT_EQ(got->layers[2].path, Hex('3') + "/layer.tar");
  EXPECT_EQ(got->layers[2].instruction, "COPY a /x");
  EXPECT_TRUE(got->layers[3].findings.empty());
}

TEST(DockerImageScan, ReadsTheOciLayoutOfNewerEngines) {
  // Docker 25+: blobs/sha256/<hex>, found to be layers by their first block.
  SecretRegistry reg;
  const std::string layer = "blobs/sha256/" + Hex('1'), empty = "blobs/sha256/" + Hex('2'),
                    config = "blobs/sha256/" + Hex('f');
  std::vector<TarEntry> entries = {
      D("blobs/"),
      D("blobs/sha256/"),
      F(layer, TarBytes({F("leak", std::string(kCanary))})),
      F(empty, std::string(1024, '\0')),  // an empty layer: two end-of-archive blocks
      F(config,
        Config({{"RUN /bin/sh -c cp x /leak # buildkit", false}, {"RUN /bin/sh -c true", false}})),
      F("index.json", "{\"schemaVersion\":2,\"manifests\":[]}"),
      F("manifest.json",
        "[{\"Config\":\"" + config + "\",\"Layers\":[\"" + layer + "\",\"" + empty + "\"]}]"),
      F("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"),
  };
  auto got = Scan(TarBytes(entries), reg);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->layers.size(), 2u);
  EXPECT_EQ(got->layers[0].findings, std::vector<LeakFinding>{Finding("x", "raw", "leak", "data")});
  EXPECT_EQ(got->layers[0].instruction, "RUN cp x /leak");
  EXPECT_TRUE(got->layers[1].findings.empty());
  EXPECT_EQ(got->layers[1].instruction, "RUN true");
}

TEST(DockerImageScan, InstructionsAreShortenedAndUnknownWithoutAMatchingHistory) {
  SecretRegistry reg;
  const std::string long_run = "RUN |2 A=1 B=2 /bin/sh -c " + std::string(70, 'y') + " # buildkit";
  std::vector<std::vector<TarEntry>> layers = {{F("a", "1")}, {F("b", "2")}, {F("c", "3")}};
  auto got = Scan(DockerSave(layers, Config({{long_run, false},
                                             {"/bin/sh -c set -e;\\\n make\nmore", false},
                                             {"/bin/sh -c #(nop) COPY dir:ab in /app ", false}})),
                  reg);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->layers[0].instruction, "RUN " + std::string(56, 'y') + "...");
  EXPECT_EQ(got->layers[1].instruction, "RUN set -e;\\");
  EXPECT_EQ(got->layers[2].instruction, "COPY dir:ab in /app");

  // Two layers, three non-empty history entries: the history does not say.
  auto unknown = Scan(DockerSave({{F("leak", std::string(kCanary))}, {F("b", "2")}},
                                 Config({{"A", false}, {"B", false}, {"C", false}})),
                      reg);
  ASSERT_TRUE(unknown.ok()) << unknown.status().ToString();
  EXPECT_EQ(unknown->layers[0].instruction, "");
  EXPECT_EQ(unknown->layers[0].diff_id, "");  // three diff_ids for two layers
  EXPECT_EQ(DockerLayerName(unknown->layers[0]), "layer 1 of the Docker image");
  EXPECT_EQ(JudgeDockerImageLeaks(*unknown, {}, std::string(kConsequence), nullptr).message(),
            "secret \"x\" leaked into layer 1 of the Docker image at /leak; the image was removed "
            "from Docker Engine (if this is intended, pass --allow-secret-leak x)");

  // A config that is not JSON: scanned as text, no instructions.
  auto not_json = Scan(DockerSave({{F("b", "2")}}, "{not json " + std::string(kCanary)), reg);
  ASSERT_TRUE(not_json.ok()) << not_json.status().ToString();
  EXPECT_EQ(not_json->layers[0].instruction, "");
  EXPECT_EQ(not_json->metadata,
            std::vector<LeakFinding>{Finding("x", "raw", Hex('f') + ".json", "text")});
}

TEST(DockerImageScan, CheckReportsAllowedSecretsAsWarningsOnly) {
  const uint64_t handle = *SecretRegistry::Global().Add(Value(kCanary));
  Released released = {{"x", Value(kCanary)}, {"y", Value("other-secret-value")}};
  auto layers = LeakingLayers();
  layers[2].push_back(F("app/y", "other-secret-value"));
  StringReader reader(DockerSave(layers, Config(kHistory)));
  std::vector<std::string> warnings;
  DockerImageLeaks leaks;
  Status st = CheckDockerImageLeaks(released, {"x"}, reader.Fn(), "sha256:" + Hex('a'),
                                    std::string(kConsequence), {&warnings, &leaks});
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.message(),
            "secret \"y\" leaked into layer 3 of the Docker image (COPY app /app) at /app/y; the "
            "image was removed from Docker Engine (if this is intended, pass "
            "--allow-secret-leak y)");
  EXPECT_EQ(warnings, std::vector<std::string>{
                          "WARNING: secret \"x\" leaked into layer 2 of the Docker image (RUN cp "
                          "/run/secrets/x /leak) at /leak; allowed by --allow-secret-leak"});
  ASSERT_EQ(leaks.layers.size(), 3u);
  EXPECT_EQ(leaks.layers[1].findings, kLayer2Findings);  // kept for the audit log

  StringReader again(reader.bytes);
  warnings.clear();
  EXPECT_TRUE(CheckDockerImageLeaks(released, {"x", "y"}, again.Fn(), "sha256:" + Hex('a'),
                                    std::string(kConsequence), {&warnings, nullptr})
                  .ok());
  EXPECT_EQ(warnings.size(), 2u);
  SecretRegistry::Global().Remove(handle);
}

TEST(DockerImageScan, CheckDoesNotReadWhenThereIsNothingToLookFor) {
  StringReader reader("not even a tar");
  EXPECT_TRUE(CheckDockerImageLeaks({{"short", Value("abc")}, {"null", nullptr}}, {}, reader.Fn(),
                                    "sha256:" + Hex('a'), std::string(kConsequence))
                  .ok());
  EXPECT_EQ(reader.calls, 0);
}

TEST(DockerImageScan, AllowedConfigLeakIsAWarning) {
  std::vector<std::string> warnings;
  StringReader reader(DockerSave(
      {{F("a", "1")}}, Config({{"ADD a / # buildkit", false}}, {"TOKEN=" + std::string(kCanary)})));
  EXPECT_TRUE(CheckDockerImageLeaks({{"x", Value(kCanary)}}, {"x"}, reader.Fn(), "sha256:abc",
                                    std::string(kConsequence), {&warnings, nullptr})
                  .ok());
  EXPECT_EQ(warnings, std::vector<std::string>{
                          "WARNING: secret \"x\" leaked into the image config (its history, "
                          "labels or env); allowed by --allow-secret-leak"});
}

// Broken streams.

Status ScanError(const std::string& stream) {
  SecretRegistry reg;
  LeakScanner scanner = Scanner({{"x", Value(kCanary)}});
  StringReader reader(stream);
  auto got = ScanDockerImage(scanner, reader.Fn(), "sha256:abc", reg);
  return got.ok() ? Status::OK() : got.status();
}

constexpr std::string_view kPrefix = "leak scan of Docker image sha256:abc: ";

TEST(DockerImageScanErrors, NotATar) {
  Status st = ScanError(std::string(2048, 'x'));
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  EXPECT_EQ(st.message(), std::string(kPrefix) +
                              "the image export is not a tar archive: Unrecognized archive format");
  EXPECT_EQ(
      ScanError("").message(),
      std::string(kPrefix) + "the image export is not a tar archive: Unrecognized archive format");
}

TEST(DockerImageScanErrors, Truncated) {
  std::string whole = DockerSave(LeakingLayers(), Config(kHistory));
  // Cut inside the first layer's data.
  size_t at = whole.find("#!busybox");
  ASSERT_NE(at, std::string::npos);
  Status st = ScanError(whole.substr(0, at + 3));
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  EXPECT_EQ(st.message(),
            std::string(kPrefix) + "the image export is corrupt: Truncated tar archive");
  // Cut between two entries: manifest.json is missing.
  at = whole.find("manifest.json");
  ASSERT_NE(at, std::string::npos);
  st = ScanError(whole.substr(0, at - (at % 512)));
  EXPECT_EQ(st.message(), std::string(kPrefix) +
                              "the image export has no manifest.json (is it a docker save "
                              "archive?)");
}

TEST(DockerImageScanErrors, ManifestMissingNotJsonOrNotAManifest) {
  const std::string layer = TarBytes({F("a", "1")});
  auto stream = [&](const std::string& manifest) {
    std::vector<TarEntry> e = {F(Hex('1') + "/layer.tar", layer),
                               F(Hex('f') + ".json", Config({{"ADD a /", false}}))};
    if (!manifest.empty()) e.push_back(F("manifest.json", manifest));
    return TarBytes(e);
  };
  const std::string good_image =
      "{\"Config\":\"" + Hex('f') + ".json\",\"Layers\":[\"" + Hex('1') + "/layer.tar\"]}";
  ASSERT_TRUE(ScanError(stream("[" + good_image + "]")).ok());

  EXPECT_EQ(ScanError(stream("")).message(),
            std::string(kPrefix) +
                "the image export has no manifest.json (is it a docker save archive?)");
  EXPECT_EQ(ScanError(stream("[{\"Config\": nope}]")).message(),
            std::string(kPrefix) + "manifest.json is not valid JSON (at byte 14)");
  EXPECT_EQ(ScanError(stream("[]")).message(),
            std::string(kPrefix) + "manifest.json lists 0 images, expected one");
  EXPECT_EQ(ScanError(stream("[" + good_image + "," + good_image + "]")).message(),
            std::string(kPrefix) + "manifest.json lists 2 images, expected one");
  const std::string shape =
      std::string(kPrefix) +
      "manifest.json is not a docker save manifest (expected [{\"Config\": ..., \"Layers\": "
      "[...]}])";
  EXPECT_EQ(ScanError(stream("{}")).message(), shape);
  EXPECT_EQ(ScanError(stream("[{\"Layers\":[]}]")).message(), shape);
  EXPECT_EQ(ScanError(stream("[{\"Config\":\"c.json\",\"Layers\":[1]}]")).message(), shape);
}

TEST(DockerImageScanErrors, ListedLayerOrConfigAbsent) {
  const std::string config = Hex('f') + ".json";
  auto stream = [&](const std::vector<std::string>& layers) {
    nlohmann::json m = nlohmann::json::array({{{"Config", config}, {"Layers", layers}}});
    return TarBytes({F(Hex('1') + "/layer.tar", TarBytes({F("a", "1")})),
                     F(Hex('1') + "/json", "{}"), F(config, Config({{"ADD a /", false}})),
                     F("manifest.json", m.dump())});
  };
  EXPECT_EQ(ScanError(stream({Hex('1') + "/layer.tar", Hex('2') + "/layer.tar"})).message(),
            std::string(kPrefix) + "layer 2 (" + Hex('2') +
                "/layer.tar) listed in manifest.json is not in the image export");
  EXPECT_EQ(ScanError(stream({Hex('1') + "/json"})).message(),
            std::string(kPrefix) + "layer 1 (" + Hex('1') +
                "/json) listed in manifest.json is not a tar archive");
  Status st =
      ScanError(TarBytes({F(Hex('1') + "/layer.tar", TarBytes({F("a", "1")})),
                          F("manifest.json", "[{\"Config\":\"" + config + "\",\"Layers\":[\"" +
                                                 Hex('1') + "/layer.tar\"]}]")}));
  EXPECT_EQ(st.message(), std::string(kPrefix) + "the image config " + config +
                              " listed in manifest.json is not in the image export");
}

TEST(DockerImageScanErrors, ALayerThatIsNotATar) {
  Status st = ScanError(TarBytes({F(Hex('1') + "/layer.tar", std::string(600, 'z'))}));
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  EXPECT_EQ(st.message(), std::string(kPrefix) + "layer " + Hex('1') +
                              "/layer.tar is not a valid tar archive: Unrecognized archive format");
  // A layer cut short inside an otherwise whole export.
  std::string layer = TarBytes({F("a", std::string(5000, 'a'))});
  st = ScanError(TarBytes({F(Hex('1') + "/layer.tar", layer.substr(0, 2048))}));
  EXPECT_EQ(st.message(), std::string(kPrefix) + "layer " + Hex('1') +
                              "/layer.tar is not a valid tar archive: Truncated tar archive");
}

TEST(DockerImageScanErrors, MetadataTooLarge) {
  Status st = ScanError(TarBytes({F("big.json", std::string(kMaxDockerMetadataSize + 1, '{'))}));
  EXPECT_EQ(st.message(), std::string(kPrefix) +
                              "big.json is 16777217 bytes, more than an image metadata file may "
                              "be (16 MiB)");
}

TEST(DockerImageScanErrors, TheReadersErrorIsReturnedAsItIs) {
  SecretRegistry reg;
  LeakScanner scanner = Scanner({{"x", Value(kCanary)}});
  const std::string whole = DockerSave(LeakingLayers(), Config(kHistory));
  // Fails at the first read, after a few, and while a layer is being read.
  for (size_t fail_at : {size_t{0}, size_t{3}, size_t{12}}) {
    size_t pos = 0, calls = 0;
    DockerTarRead read = [&](void* buf, size_t cap) -> Result<size_t> {
      if (calls++ == fail_at) return UnavailableError("reading the image from Docker Engine: EOF");
      size_t n = std::min<size_t>({cap, 1000, whole.size() - pos});
      std::memcpy(buf, whole.data() + pos, n);
      pos += n;
      return n;
    };
    auto got = ScanDockerImage(scanner, read, "sha256:abc", reg);
    ASSERT_FALSE(got.ok()) << fail_at;
    EXPECT_EQ(got.status().code(), StatusCode::kUnavailable) << fail_at;
    EXPECT_EQ(got.status().message(), "reading the image from Docker Engine: EOF") << fail_at;
  }
}

TEST(DockerImageScan, NoSecretInFindingsMessagesOrWarnings) {
  SecretRegistry reg;
  ASSERT_TRUE(reg.Add(Value(kCanary)).ok());
  auto layers = LeakingLayers();
  auto got =
      Scan(DockerSave(layers,
                      Config({{"ADD a / # buildkit", false},
                              {"RUN /bin/sh -c cat " + std::string(kCanary) + " # buildkit", false},
                              {"COPY . / # buildkit", false}},
                             {"T=" + std::string(kCanary)})),
           reg);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  std::vector<std::string> warnings;
  Status st = JudgeDockerImageLeaks(*got, {}, std::string(kConsequence), &warnings);
  std::vector<std::string> texts = {st.message()};
  Status allowed = JudgeDockerImageLeaks(*got, {"x"}, std::string(kConsequence), &warnings);
  EXPECT_TRUE(allowed.ok());
  texts.insert(texts.end(), warnings.begin(), warnings.end());
  for (const auto& l : got->layers) {
    texts.push_back(l.instruction);
    for (const auto& f : l.findings) texts.insert(texts.end(), {f.path, f.part, f.encoding});
  }
  for (const auto& f : got->metadata) texts.insert(texts.end(), {f.path, f.part, f.encoding});
  for (const auto& t : texts) {
    EXPECT_EQ(t.find(kCanary), std::string::npos) << t;
    EXPECT_EQ(t.find(kCanaryBase64), std::string::npos) << t;
  }
  EXPECT_EQ(got->layers[1].instruction, "RUN cat ****");
}

}  // namespace
}  // namespace latchkey::cli
