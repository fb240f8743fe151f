#include "builder/solver/leak_scan.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "builder/image/blob_store.h"
#include "builder/image/layer_stream.h"
#include "builder/image/layer_writer.h"
#include "builder/image/test_util.h"
#include "builder/solver/changed_tree.h"
#include "secure/redactor.h"

namespace latchkey::build {

void PrintTo(const LeakFinding& f, std::ostream* os) {
  *os << "{" << f.secret_id << ", " << f.encoding << ", " << f.path << ", " << f.part << "}";
}

namespace {

using image::testing::D;
using image::testing::F;
using image::testing::H;
using image::testing::L;
using image::testing::ScratchDir;
using image::testing::TarEntry;
using image::testing::WriteTar;
using Released = std::vector<std::pair<std::string, std::shared_ptr<const SecretBuffer>>>;

std::shared_ptr<const SecretBuffer> Value(std::string_view v) {
  auto b = SecretBuffer::CopyOf({reinterpret_cast<const uint8_t*>(v.data()), v.size()});
  if (!b.ok()) std::abort();
  return std::make_shared<const SecretBuffer>(std::move(*b));
}

LeakScanner Scanner(const Released& released, const std::set<std::string>& allowed = {}) {
  auto s = LeakScanner::Create(released, allowed);
  if (!s.ok()) std::abort();
  return std::move(*s);
}

LeakFinding Finding(std::string id, std::string enc, std::string path, std::string part) {
  return LeakFinding{std::move(id), std::move(enc), std::move(path), std::move(part)};
}

// Its standard base64 contains '/' (so the URL-safe form differs), its length is not a multiple
// of 3 (so padded and unpadded differ) and it has reserved characters (so URL-encoding differs,
// in upper- and lower-case hex).
constexpr std::string_view kToken = "tok/en+k?y";

// Standard padded base64 (test-side, independent of the code under test).
std::string Base64(const std::string& in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  auto byte = [&](size_t j) -> uint32_t { return j < in.size() ? static_cast<uint8_t>(in[j]) : 0; };
  std::string out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    size_t chars = std::min<size_t>(in.size() - i, 3) + 1;
    for (size_t k = 0; k < 4; ++k) out += k < chars ? kAlphabet[(v >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

TEST(LeakScanText, FindsEveryEncoding) {
  LeakScanner s = Scanner({{"tok", Value(kToken)}});
  // raw, the base64 cores at the three alignments (standard and, where it differs, URL-safe),
  // hex, HEX, url upper + lower.
  EXPECT_EQ(s.pattern_count(), 9u);
  const std::vector<std::pair<std::string, std::string>> forms = {
      {"tok/en+k?y", "raw"},
      {"dG9rL2VuK2s/eQ==", "base64"},
      {"dG9rL2VuK2s/eQ", "base64"},
      {"dG9rL2VuK2s_eQ==", "base64url"},
      {"dG9rL2VuK2s_eQ", "base64url"},
      {"YXRvay9lbitrP3k=", "base64"},      // base64("a" + token)
      {"YWJ0b2svZW4raz95", "base64"},      // base64("ab" + token)
      {"dXNlcjp0b2svZW4raz95", "base64"},  // base64("user:" + token), as Docker's `auth`
      {"746f6b2f656e2b6b3f79", "hex"},
      {"746F6B2F656E2B6B3F79", "HEX"},
      {"tok%2Fen%2Bk%3Fy", "url"},
      {"tok%2fen%2bk%3fy", "url"},
  };
  for (const auto& [form, encoding] : forms) {
    std::string text = "export TOKEN=\"" + form + "\"\n";
    EXPECT_EQ(s.ScanText(text, "build output"),
              std::vector<LeakFinding>{Finding("tok", encoding, "build output", "text")})
        << form;
  }
  EXPECT_TRUE(
      s.ScanText("tok/en+k?Y dG9rL2VuK2s 746f6b2f656e2b6b3f7 tok%2Fen Rvay9lbitrP", "x").empty());
}

TEST(LeakScanText, FindsTheCredentialPartsOfAStructuredValue) {
  LeakScanner s = Scanner({{"npmrc", Value("registry=https://registry.example.com/\n"
                                           "//registry.example.com/:_authToken=npm_T0ken42\n")},
                           {"docker", Value("{\"auths\":{\"r.example\":{\"auth\":"
                                            "\"dXNlcjpkb2NrZXJwdzE=\"}}}")}});
  EXPECT_EQ(s.ScanText("token npm_T0ken42", "x"),
            std::vector<LeakFinding>{Finding("npmrc", "part raw", "x", "text")});
  EXPECT_EQ(s.ScanText("b64 bnBtX1QwXXXX bnBtX1Qwa2VuNDI=", "x"),
            std::vector<LeakFinding>{Finding("npmrc", "part base64", "x", "text")});
  // The `auth` value itself; its decoded password's base64 core ends first.
  EXPECT_EQ(s.ScanText("dXNlcjpkb2NrZXJwdzE=", "x"),
            std::vector<LeakFinding>{Finding("docker", "part base64", "x", "text")});
  EXPECT_EQ(s.ScanText("password dockerpw1", "x"),
            std::vector<LeakFinding>{Finding("docker", "part raw", "x", "text")});
  EXPECT_TRUE(s.ScanText("https://registry.example.com/ r.example", "x").empty());
}

TEST(LeakScanText, ReportsEachSecretOnceInOrderOfFirstOccurrence) {
  LeakScanner s = Scanner({{"a", Value("alpha-secret")}, {"b", Value("bravo-secret")}});
  std::string text = "x bravo-secret y alpha-secret bravo-secret 616c7068612d736563726574";
  EXPECT_EQ(s.ScanText(text, "history"),
            (std::vector<LeakFinding>{Finding("b", "raw", "history", "text"),
                                      Finding("a", "raw", "history", "text")}));
}

TEST(LeakScanText, SkipsShortEmptyAndNullValues) {
  LeakScanner none = Scanner({{"short", Value("abc")}, {"empty", Value("")}, {"null", nullptr}});
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.pattern_count(), 0u);
  EXPECT_TRUE(none.ScanText("abc abc", "x").empty());

  ASSERT_EQ(kMinLeakScanLength, 4u);
  LeakScanner four = Scanner({{"short", Value("abc")}, {"four", Value("wxyz")}});
  EXPECT_FALSE(four.empty());
  EXPECT_EQ(four.ScanText("abc wxyz", "x"),
            std::vector<LeakFinding>{Finding("four", "raw", "x", "text")});
}

TEST(LeakScanText, SkipsAllowedIds) {
  Released r = {{"a", Value("alpha-secret")}, {"b", Value("bravo-secret")}};
  LeakScanner s = Scanner(r, {"a"});
  EXPECT_EQ(s.ScanText("alpha-secret bravo-secret", "x"),
            std::vector<LeakFinding>{Finding("b", "raw", "x", "text")});
  EXPECT_TRUE(Scanner(r, {"a", "b"}).empty());
}

TEST(LeakScanText, SameIdTwiceScansBothValuesAndReportsOnce) {
  LeakScanner s = Scanner({{"a", Value("first-value")}, {"a", Value("second-value")}});
  EXPECT_EQ(s.ScanText("second-value first-value", "x"),
            std::vector<LeakFinding>{Finding("a", "raw", "x", "text")});
  EXPECT_EQ(s.ScanText("..first-value", "y"),
            std::vector<LeakFinding>{Finding("a", "raw", "y", "text")});
}

TEST(LeakScanLayer, FindsSecretsInNamesLinksXattrsAndData) {
  ScratchDir d;
  TarEntry noted = F("etc/noted", "nothing here");
  noted.xattrs["user.note"] = "dG9rL2VuK2s/eQ==";
  TarEntry keyed = F("etc/keyed", "");
  keyed.xattrs["user.tok/en+k?y"] = "1";
  std::vector<TarEntry> entries = {
      D("app/"),
      F("app/clean.txt", "hello"),
      F("app/config.json", "{\"token\": \"tok/en+k?y\", \"again\": \"tok/en+k?y\"}"),
      L("app/link", "/run/secrets/tok/en+k?y"),
      F("cache/tok/en+k?y.txt", "x 746F6B2F656E2B6B3F79"),
      H("app/hard", "cache/tok/en+k?y.txt"),
      noted,
      keyed,
  };
  WriteTar(d / "layer.tar.gz", entries, /*gzip=*/true);
  LeakScanner s = Scanner({{"tok", Value(kToken)}, {"other", Value("never-present")}});
  auto got = s.ScanLayerFile(d / "layer.tar.gz");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, (std::vector<LeakFinding>{
                      Finding("tok", "raw", "app/config.json", "data"),
                      Finding("tok", "raw", "app/link", "linkname"),
                      Finding("tok", "raw", "cache/****.txt", "name"),
                      Finding("tok", "HEX", "cache/****.txt", "data"),
                      Finding("tok", "raw", "app/hard", "linkname"),
                      Finding("tok", "base64", "etc/noted", "xattr user.note"),
                      Finding("tok", "raw", "etc/keyed", "xattr user.****"),
                  }));
  for (const auto& f : *got) {
    EXPECT_EQ(f.path.find(kToken), std::string::npos);
    EXPECT_EQ(f.part.find(kToken), std::string::npos);
  }
}

la_ssize_t ReadBlob(struct archive*, void* client, const void** buf) {
  return static_cast<latchkey::image::LayerStream*>(client)->Read(buf);
}

// The offsets at which libarchive hands out the data of the first regular file in `path`, read
// the way the scanner reads it.
std::vector<int64_t> DataBlockOffsets(const std::string& path) {
  std::vector<int64_t> offsets;
  auto reader = latchkey::image::LayerStream::OpenFile(path, /*hash=*/false);
  if (!reader.ok()) return offsets;
  struct archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  archive_read_open(a, reader->get(), nullptr, ReadBlob, nullptr);
  struct archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    if (archive_entry_filetype(e) != AE_IFREG) continue;
    const void* buf;
    size_t size;
    la_int64_t offset;
    while (archive_read_data_block(a, &buf, &size, &offset) == ARCHIVE_OK) {
      offsets.push_back(offset);
    }
    break;
  }
  archive_read_free(a);
  return offsets;
}

TEST(LeakScanLayer, FindsAMatchSpanningReadChunks) {
  ScratchDir d;
  LeakScanner s = Scanner({{"tok", Value(kToken)}});
  for (bool gzip : {false, true}) {
    std::string path = d / (gzip ? "layer.tar.gz" : "layer.tar");
    std::string data(300000, 'x');
    WriteTar(path, {F("big.bin", data)}, gzip);
    std::vector<int64_t> blocks = DataBlockOffsets(path);
    ASSERT_GE(blocks.size(), 2u);
    // Straddle the first block boundary libarchive produces, and (separately) offset 65535.
    for (int64_t at : {blocks[1] - 3, int64_t{65535}}) {
      std::string leaky = data;
      leaky.replace(static_cast<size_t>(at), kToken.size(), kToken);
      WriteTar(path, {F("big.bin", leaky)}, gzip);
      ASSERT_EQ(DataBlockOffsets(path), blocks);  // same boundaries as measured
      auto got = s.ScanLayerFile(path);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_EQ(*got, std::vector<LeakFinding>{Finding("tok", "raw", "big.bin", "data")})
          << "gzip " << gzip << " at " << at;
    }
    EXPECT_LT(blocks[1] - 3, blocks[1]);
    EXPECT_GT(blocks[1] - 3 + static_cast<int64_t>(kToken.size()), blocks[1]);
  }
}

TEST(LeakScanLayer, FindsSecretsInALayerFromWriteLayer) {
  ScratchDir d;
  image::testing::WriteText(d / "tree/app/.npmrc", "//registry/:_authToken=tok%2fen%2bk%3fy\n");
  image::testing::WriteText(d / "tree/app/clean", "fine\n");
  std::filesystem::create_directories(d / "tree/tok");
  ::symlink("../app/.npmrc", (d / "tree/tok/7dG9rL2VuK2s_eQ").c_str());
  auto store = image::BlobStore::Open(d / "store");
  ASSERT_TRUE(store.ok());
  image::LayerOptions o;
  o.source = image::LayerSource::kRootfs;
  auto layer = image::WriteLayer(d / "tree", o, *store);
  ASSERT_TRUE(layer.ok()) << layer.status().ToString();
  LeakScanner s = Scanner({{"tok", Value(kToken)}});
  auto got = s.ScanLayerFile(store->PathFor(layer->digest));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, (std::vector<LeakFinding>{Finding("tok", "url", "app/.npmrc", "data"),
                                            Finding("tok", "base64url", "tok/7****", "name")}));
}

// The one-pass scan (WriteLayer's observer) finds what a scan of the written blob finds, in the
// same order: names, symlink targets, xattrs, data of several chunks, whiteouts.
TEST(LeakScanLayer, ScanWhileWritingEqualsScanOfTheBlob) {
  ScratchDir d;
  image::testing::WriteText(d / "tree/app/.npmrc", "//registry/:_authToken=tok%2fen%2bk%3fy\n");
  std::string big(300000, 'x');
  big.replace(65530, kToken.size(), kToken);  // spans two 64 KiB reads
  image::testing::WriteText(d / "tree/app/big", big);
  std::filesystem::create_directories(d / "tree/tok");
  ::symlink("../app/.npmrc", (d / "tree/tok/7dG9rL2VuK2s_eQ").c_str());
  ::symlink("tok/en+k?y", (d / "tree/link").c_str());
  image::testing::WriteText(d / "tree/x", "clean");
  ASSERT_EQ(::setxattr((d / "tree/x").c_str(), "user.t", kToken.data(), kToken.size(), 0), 0);
  ASSERT_EQ(::mknod((d / "tree/gone").c_str(), S_IFCHR | 0600, 0), 0);  // a whiteout
  auto store = image::BlobStore::Open(d / "store");
  ASSERT_TRUE(store.ok());
  LeakScanner s = Scanner({{"tok", Value(kToken)}, {"other", Value("other-secret")}});
  std::unique_ptr<LayerLeakScan> scan = s.StartLayerScan();
  ASSERT_NE(scan, nullptr);
  image::LayerOptions o;
  o.compression = image::Compression::kUncompressed;
  o.observer = scan.get();
  auto layer = image::WriteLayer(d / "tree", o, *store);
  ASSERT_TRUE(layer.ok()) << layer.status().ToString();
  auto after = s.ScanLayerFile(store->PathFor(layer->digest));
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  std::vector<LeakFinding> during = scan->TakeFindings();
  EXPECT_EQ(during.size(), 5u);
  EXPECT_EQ(during, *after);
  EXPECT_EQ(LeakScanner().StartLayerScan(), nullptr);
}

TEST(LeakScanLayer, SkipsAllowedIdsAndReportsNothingForACleanLayer) {
  ScratchDir d;
  WriteTar(d / "l.tar", {F("a", "alpha-secret"), F("b", "bravo-secret")});
  Released r = {{"a", Value("alpha-secret")}, {"b", Value("bravo-secret")}};
  auto got = Scanner(r, {"a"}).ScanLayerFile(d / "l.tar");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, std::vector<LeakFinding>{Finding("b", "raw", "b", "data")});
  auto clean = Scanner({{"c", Value("charlie-secret")}}).ScanLayerFile(d / "l.tar");
  ASSERT_TRUE(clean.ok());
  EXPECT_TRUE(clean->empty());
}

TEST(LeakScanLayer, TreatsSparseHolesAsZeroBytes) {
  ScratchDir d;
  const std::string path = d / "sparse.tar";
  // A 1 MiB file that is a hole except for "AB" at 512 KiB: the secret "\0\0\0\0AB" starts in
  // the hole.
  struct archive* a = archive_write_new();
  archive_write_set_format_pax(a);
  archive_write_open_filename(a, path.c_str());
  struct archive_entry* e = archive_entry_new();
  archive_entry_copy_pathname(e, "holey");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, 1 << 20);
  archive_entry_sparse_add_entry(e, 512 * 1024, 2);
  ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
  // libarchive takes the whole file's bytes and drops those that fall in holes.
  std::string content(512 * 1024, '\0');
  content += "AB";
  ASSERT_EQ(archive_write_data(a, content.data(), content.size()),
            static_cast<la_ssize_t>(content.size()));
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);

  LeakScanner s = Scanner({{"z", Value(std::string_view("\0\0\0\0AB", 6))}});
  auto got = s.ScanLayerFile(path);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, std::vector<LeakFinding>{Finding("z", "raw", "holey", "data")});
}

TEST(LeakScanLayer, FindsALargeBinarySecretWithTheSparseAutomaton) {
  std::mt19937 rng(3);
  std::string value(64 * 1024, '\0');
  for (auto& c : value) c = static_cast<char>(rng());
  const std::string encoded = Base64(value);
  LeakScanner s = Scanner({{"cert", Value(value)}, {"tok", Value(kToken)}});
  EXPECT_FALSE(s.uses_dense_table());
  EXPECT_TRUE(Scanner({{"tok", Value(kToken)}}).uses_dense_table());
  ScratchDir d;
  WriteTar(d / "l.tar.gz",
           {F("raw.bin", "head" + value + "tail"), F("b64.txt", "-----\n" + encoded + "\n"),
            F("clean", value.substr(0, value.size() - 1)), F("t", "tok/en+k?y")},
           /*gzip=*/true);
  auto got = s.ScanLayerFile(d / "l.tar.gz");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, (std::vector<LeakFinding>{Finding("cert", "raw", "raw.bin", "data"),
                                            Finding("cert", "base64", "b64.txt", "data"),
                                            Finding("tok", "raw", "t", "data")}));
}

TEST(LeakScanLayer, ScansA50MegabyteLayerWithNoHit) {
  ScratchDir d;
  // Near-misses everywhere: every secret's prefix repeats, so the automaton keeps matching
  // partway and falling back.
  std::string chunk;
  while (chunk.size() < (1 << 20)) chunk += "tok/en+k?Y alpha-secre dG9rL2VuK2s/ 746f6b2f656e ";
  std::string data;
  while (data.size() < 50u * 1000 * 1000) data += chunk;
  WriteTar(d / "big.tar.gz", {F("a", data), F("b", data.substr(0, 1000))}, /*gzip=*/true);
  LeakScanner s = Scanner({{"tok", Value(kToken)}, {"a", Value("alpha-secret")}});
  auto got = s.ScanLayerFile(d / "big.tar.gz");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(got->empty());
}

TEST(LeakScanLayer, CorruptGzipIsDataLoss) {
  ScratchDir d;
  std::string data;
  for (int i = 0; i < 200000; ++i) data += std::to_string(i * 7919 % 10007);
  WriteTar(d / "good.tar.gz", {F("a", data)}, /*gzip=*/true);
  std::string blob = image::testing::ReadText(d / "good.tar.gz");
  std::string bad = blob;
  for (size_t i = blob.size() / 2; i < blob.size() / 2 + 64; ++i)
    bad[i] = static_cast<char>(~bad[i]);
  image::testing::WriteText(d / "bad.tar.gz", bad);
  LeakScanner s = Scanner({{"tok", Value(kToken)}});
  EXPECT_EQ(s.ScanLayerFile(d / "bad.tar.gz").status().ToString(),
            "DATA_LOSS: leak scan: " + (d / "bad.tar.gz") +
                ": gzip data is corrupt: incorrect data check");

  image::testing::WriteText(d / "cut.tar.gz", blob.substr(0, blob.size() / 2));
  EXPECT_EQ(s.ScanLayerFile(d / "cut.tar.gz").status().ToString(),
            "DATA_LOSS: leak scan: " + (d / "cut.tar.gz") + ": gzip data is truncated");

  image::testing::WriteText(d / "trailing.tar.gz", blob + "junk after the gzip member");
  EXPECT_EQ(s.ScanLayerFile(d / "trailing.tar.gz").status().ToString(),
            "DATA_LOSS: leak scan: " + (d / "trailing.tar.gz") +
                ": gzip data is corrupt: incorrect header check");

  image::testing::WriteText(d / "junk", std::string(4096, 'j'));
  EXPECT_EQ(s.ScanLayerFile(d / "junk").status().ToString(),
            "DATA_LOSS: leak scan: " + (d / "junk") + ": Unrecognized archive format");
}

// One gzip member holding `data`.
std::string Gzip(const std::string& data) {
  z_stream zs = {};
  deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, data.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

TEST(LeakScanLayer, ReadsConcatenatedGzipMembersAndEmptyBlobs) {
  ScratchDir d;
  // A tar split across two gzip members (as `cat a.gz b.gz` makes): the second holds the leak.
  WriteTar(d / "whole.tar", {F("a", std::string(5000, 'a')), F("b", "x tok/en+k?y")});
  std::string tar = image::testing::ReadText(d / "whole.tar");
  image::testing::WriteText(d / "multi.tar.gz", Gzip(tar.substr(0, 2048)) + Gzip(tar.substr(2048)));
  LeakScanner s = Scanner({{"tok", Value(kToken)}});
  auto got = s.ScanLayerFile(d / "multi.tar.gz");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, std::vector<LeakFinding>{Finding("tok", "raw", "b", "data")});

  image::testing::WriteText(d / "empty", "");
  auto empty = s.ScanLayerFile(d / "empty");
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_TRUE(empty->empty());
}

TEST(LeakScanLayer, ConcurrentScansShareOneScanner) {
  ScratchDir d;
  WriteTar(d / "l.tar.gz",
           {F("x", std::string(200000, 'x') + "tok/en+k?y"), F("y", "alpha-secret")},
           /*gzip=*/true);
  const LeakScanner s = Scanner({{"tok", Value(kToken)}, {"a", Value("alpha-secret")}});
  const std::vector<LeakFinding> want = {Finding("tok", "raw", "x", "data"),
                                         Finding("a", "raw", "y", "data")};
  std::vector<std::vector<LeakFinding>> results(4);
  std::vector<std::thread> threads;
  for (auto& r : results) {
    threads.emplace_back([&s, &d, &r] {
      for (int i = 0; i < 5; ++i) {
        auto got = s.ScanLayerFile(d / "l.tar.gz");
        if (got.ok()) r = *got;
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_EQ(r, want);
}

TEST(LeakScanChangedTree, FindsSecretsInWhatChangedOnly) {
  ScratchDir d;
  std::filesystem::create_directories(d / "cache");
  std::ofstream(d / "cache/before") << "tok/en+k?y";  // there before the step: not its doing
  // Well past the file's ctime: file timestamps may run a tick or two ahead of the coarse clock
  // a reader sees (multigrain timestamps), and a step starts tens of milliseconds after `since`.
  ::usleep(50 * 1000);
  struct timespec since = ChangedTreeClock();
  std::ofstream(d / "cache/leak") << "x dXNlcjp0b2svZW4raz95 y";  // base64("user:" + token)
  std::ofstream(d / "cache/tok%2Fen%2Bk%3Fy") << "clean";
  ASSERT_EQ(::symlink("/tok/en+k?y", (d / "cache/l").c_str()), 0);
  LeakScanner s = Scanner({{"tok", Value(kToken)}});
  auto got = s.ScanChangedTree(d / "cache", since);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  std::sort(got->begin(), got->end(),
            [](const LeakFinding& a, const LeakFinding& b) { return a.path < b.path; });
  EXPECT_EQ(*got, (std::vector<LeakFinding>{Finding("tok", "url", "****", "name"),
                                            Finding("tok", "raw", "l", "linkname"),
                                            Finding("tok", "base64", "leak", "data")}));
}

TEST(LeakScanLayer, MissingBlobIsNotFound) {
  LeakScanner s = Scanner({{"tok", Value(kToken)}});
  EXPECT_EQ(s.ScanLayerFile("/nonexistent/blob").status().ToString(),
            "NOT_FOUND: leak scan: open /nonexistent/blob: No such file or directory");
  // With nothing to look for, nothing is read.
  auto none = LeakScanner().ScanLayerFile("/nonexistent/blob");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// The leak guard and the redactor search the same patterns with the same matcher
// (secure/secret_matcher.h): whatever the guard reports in build output, the log masks, so the
// guard finds nothing in redacted text.
TEST(LeakScanText, TheRedactorMasksEveryFormTheScannerFinds) {
  const std::string npmrc = "//registry.example.com/:_authToken=npm_T0ken42\n";
  LeakScanner s = Scanner({{"tok", Value(kToken)}, {"npmrc", Value(npmrc)}});
  SecretRegistry reg;
  ASSERT_TRUE(reg.Add(Value(kToken)).ok());
  ASSERT_TRUE(reg.Add(Value(npmrc)).ok());
  for (const std::string form :
       {"tok/en+k?y", "dG9rL2VuK2s/eQ==", "dG9rL2VuK2s_eQ", "YXRvay9lbitrP3k=", "YWJ0b2svZW4raz95",
        "dXNlcjp0b2svZW4raz95", "746f6b2f656e2b6b3f79", "746F6B2F656E2B6B3F79", "tok%2Fen%2Bk%3Fy",
        "tok%2fen%2bk%3fy", "npm_T0ken42", "bnBtX1Qwa2VuNDI=", "6E706D5F54306B656E3432"}) {
    const std::string text = "value: " + form + " .";
    EXPECT_EQ(s.ScanText(text, "out").size(), 1u) << form;
    const std::string redacted = reg.Redact(text);
    EXPECT_NE(redacted.find("****"), std::string::npos) << form;
    EXPECT_TRUE(s.ScanText(redacted, "out").empty()) << redacted;
  }
}

TEST(LeakScanLayer, MasksANameAsTheRedactorDoes) {
  ScratchDir d;
  // The core of base64("a" + token) between two characters that are not base64: they hide no
  // bit of the value and stay; '=' padding after a core is masked with it.
  WriteTar(d / "l.tar", {F("a.Rvay9lbitrP3.txt", "clean"), F("dG9rL2VuK2s_eQ==x", "clean")});
  auto got = Scanner({{"tok", Value(kToken)}}).ScanLayerFile(d / "l.tar");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, (std::vector<LeakFinding>{Finding("tok", "base64", "a.****.txt", "name"),
                                            Finding("tok", "base64url", "****x", "name")}));
}

}  // namespace
}  // namespace latchkey::build
