#include "broker/plugin_loader.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "broker/plugin_test_util.h"

namespace latchkey {
namespace {

namespace fs = std::filesystem;
using plugintest::FixturePath;
using plugintest::ProviderPath;
using plugintest::ScratchDir;

std::string Sha256OfFile(const std::string& path) {
  (void)EnsureSodium();
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
  return hex;
}

// A private copy (new inode) of a built plugin, mode 0755, owned by root.
std::string CopyPlugin(const ScratchDir& dir, const std::string& from, const std::string& name) {
  std::string to = dir.Join(name);
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
  fs::permissions(to, fs::perms(0755));
  return to;
}

std::string LoadError(const std::string& path, const PluginLoadOptions& options = {}) {
  auto lib = PluginLoader::Load(path, options);
  EXPECT_FALSE(lib.ok()) << path;
  return lib.ok() ? std::string("(loaded)") : lib.status().message();
}

TEST(PluginLoader, LoadsTheBundledFileProvider) {
  auto lib = PluginLoader::Load(ProviderPath("file"));
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  EXPECT_EQ((*lib)->name(), "file");
  EXPECT_EQ((*lib)->version(), "1.0.0");
  EXPECT_EQ((*lib)->path(), ProviderPath("file"));
  EXPECT_EQ((*lib)->sha256(), Sha256OfFile(ProviderPath("file")));
  EXPECT_EQ((*lib)->effective_minor(), 0);
  EXPECT_EQ((*lib)->api()->header.abi_major, LK_ABI_MAJOR);
}

TEST(PluginLoader, SameFileTwiceGivesTheSameLibrary) {
  ScratchDir dir;
  auto a = PluginLoader::Load(ProviderPath("env"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  // Through a symlink, as installs often have: resolved, then the same (dev, inode).
  fs::create_symlink(ProviderPath("env"), dir.Join("link.so"));
  auto b = PluginLoader::Load(dir.Join("link.so"));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(a->get(), b->get());
  EXPECT_EQ((*b)->resolved_path(), fs::canonical(ProviderPath("env")).string());
}

TEST(PluginLoader, CopyIsADifferentLibrary) {
  ScratchDir dir;
  std::string copy = CopyPlugin(dir, FixturePath("fixture-behave"), "copy.so");
  auto a = PluginLoader::Load(FixturePath("fixture-behave"));
  auto b = PluginLoader::Load(copy);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_NE(a->get(), b->get());
  EXPECT_NE((*a)->inode(), (*b)->inode());
  EXPECT_EQ((*a)->sha256(), (*b)->sha256());
}

// Regression: glibc matches dlopen names textually, so loading two different files through the
// same recycled descriptor number must not return the first library for the second.
TEST(PluginLoader, RecycledDescriptorNumberDoesNotAliasLibraries) {
  ScratchDir dir;
  std::string a = CopyPlugin(dir, FixturePath("fixture-behave"), "a.so");
  std::string b = CopyPlugin(dir, FixturePath("fixture-behave-short"), "b.so");
  auto la = PluginLoader::Load(a);
  auto lb = PluginLoader::Load(b);
  ASSERT_TRUE(la.ok()) << la.status().ToString();
  ASSERT_TRUE(lb.ok()) << lb.status().ToString();
  EXPECT_EQ((*la)->name(), "behave");
  EXPECT_EQ((*lb)->name(), "behave-short");
}

TEST(PluginLoader, MissingFile) {
  ScratchDir dir;
  std::string p = dir.Join("absent.so");
  auto lib = PluginLoader::Load(p);
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(lib.status().message(), "plugin " + p + ": cannot open: No such file or directory");
}

TEST(PluginLoader, DirectoryIsNotARegularFile) {
  ScratchDir dir;
  fs::create_directory(dir.Join("d.so"));
  EXPECT_EQ(LoadError(dir.Join("d.so")),
            "plugin " + dir.Join("d.so") + ": not a regular file (a directory)");
}

TEST(PluginLoader, FifoIsRefusedWithoutBlocking) {
  ScratchDir dir;
  std::string p = dir.Join("fifo.so");
  ASSERT_EQ(::mkfifo(p.c_str(), 0644), 0);
  EXPECT_EQ(LoadError(p), "plugin " + p + ": not a regular file (a FIFO)");
}

TEST(PluginLoader, WorldWritableIsRefused) {
  ScratchDir dir;
  std::string p = CopyPlugin(dir, FixturePath("fixture-behave"), "ww.so");
  ASSERT_EQ(::chmod(p.c_str(), 0666), 0);
  auto lib = PluginLoader::Load(p);
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(lib.status().message(), "plugin " + p +
                                        ": unsafe permissions 0666: group- or world-writable "
                                        "(fix: chmod go-w " +
                                        p + ")");
}

TEST(PluginLoader, GroupWritableIsRefused) {
  ScratchDir dir;
  std::string p = CopyPlugin(dir, FixturePath("fixture-behave"), "gw.so");
  ASSERT_EQ(::chmod(p.c_str(), 0775), 0);
  EXPECT_EQ(LoadError(p), "plugin " + p +
                              ": unsafe permissions 0775: group- or world-writable (fix: chmod "
                              "go-w " +
                              p + ")");
}

TEST(PluginLoader, OwnedBySomeoneElseIsRefused) {
  ScratchDir dir;
  std::string p = CopyPlugin(dir, FixturePath("fixture-behave"), "owned.so");
  if (::chown(p.c_str(), 1000, 1000) != 0) GTEST_SKIP() << "cannot chown (not root)";
  EXPECT_EQ(LoadError(p), "plugin " + p + ": owned by uid 1000, expected root or uid " +
                              std::to_string(::geteuid()) + " (fix: chown root " + p + ")");
}

// issue 11: every directory on the way to the plugin is checked before anything is opened.
TEST(PluginLoader, WorldWritableParentDirectoryIsRefused) {
  ScratchDir dir;
  std::string p = CopyPlugin(dir, FixturePath("fixture-behave"), "plugin.so");
  ASSERT_EQ(::chmod(dir.path().c_str(), 0777), 0);
  EXPECT_EQ(LoadError(p), "plugin " + p + ": directory " + dir.path() +
                              " is world-writable (mode 0777): anyone could swap the plugin "
                              "(fix: chmod o-w " +
                              dir.path() + ")");
}

TEST(PluginLoader, GroupWritableAncestorIsRefused) {
  ScratchDir dir;
  fs::create_directories(dir.Join("sub"));
  fs::permissions(dir.Join("sub"), fs::perms(0755));
  std::string p = CopyPlugin(dir, FixturePath("fixture-behave"), "sub/plugin.so");
  ASSERT_EQ(::chmod(dir.path().c_str(), 0775), 0);
  EXPECT_EQ(LoadError(p), "plugin " + p + ": directory " + dir.path() +
                              " is group-writable (mode 0775): its group could swap the plugin "
                              "(fix: chmod g-w " +
                              dir.path() + ")");
}

TEST(PluginLoader, StickyParentIsRefusedStickyAncestorIsNot) {
  ScratchDir dir;
  fs::create_directories(dir.Join("sub"));
  fs::permissions(dir.Join("sub"), fs::perms(0755));
  std::string direct = CopyPlugin(dir, FixturePath("fixture-behave"), "plugin.so");
  std::string below = CopyPlugin(dir, FixturePath("fixture-behave"), "sub/plugin.so");
  ASSERT_EQ(::chmod(dir.path().c_str(), 01777), 0);
  EXPECT_EQ(LoadError(direct),
            "plugin " + direct + ": directory " + dir.path() +
                " is world-writable (mode 1777): anyone could plant a file of the plugin's name "
                "there first (fix: keep plugins in a directory only root can write)");
  // Like /tmp/x/plugin.so with /tmp/x owned by root and 0755: nobody else can rename sub.
  auto lib = PluginLoader::Load(below);
  EXPECT_TRUE(lib.ok()) << lib.status().message();
}

TEST(PluginLoader, DirectoryOwnedBySomeoneElseIsRefused) {
  ScratchDir dir;
  fs::create_directories(dir.Join("sub"));
  fs::permissions(dir.Join("sub"), fs::perms(0755));
  std::string p = CopyPlugin(dir, FixturePath("fixture-behave"), "sub/plugin.so");
  if (::chown(dir.Join("sub").c_str(), 1000, 1000) != 0) GTEST_SKIP() << "cannot chown";
  EXPECT_EQ(LoadError(p),
            "plugin " + p + ": directory " + dir.Join("sub") +
                " is owned by uid 1000, expected root or uid " + std::to_string(::geteuid()) +
                ": its owner could swap the plugin (fix: chown root " + dir.Join("sub") + ")");
}

// A symlink in a world-writable directory could be pointed at any root-owned library: the
// directory holding the link is checked, not only the link's target.
TEST(PluginLoader, SymlinkInAWritableDirectoryIsRefused) {
  ScratchDir safe;
  ScratchDir open;
  std::string target = CopyPlugin(safe, FixturePath("fixture-behave"), "plugin.so");
  std::string link = open.Join("plugin.so");
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  ASSERT_EQ(::chmod(open.path().c_str(), 0777), 0);
  EXPECT_EQ(LoadError(link), "plugin " + link + ": directory " + open.path() +
                                 " is world-writable (mode 0777): anyone could swap the plugin "
                                 "(fix: chmod o-w " +
                                 open.path() + ")");
  // The same link in a safe directory loads the target.
  ASSERT_EQ(::chmod(open.path().c_str(), 0755), 0);
  auto lib = PluginLoader::Load(link);
  ASSERT_TRUE(lib.ok()) << lib.status().message();
  EXPECT_EQ(lib->get()->resolved_path(), target);
}

// A path swapped for a symlink between realpath and open is not followed: neither the file
// itself nor a directory on the way.
std::string g_swap_target;
void SwapForSymlink(const std::string& resolved) {
  std::string victim = resolved;
  if (g_swap_target.rfind("dir:", 0) == 0) victim = fs::path(resolved).parent_path().string();
  fs::rename(victim, victim + ".orig");
  fs::create_symlink(g_swap_target.rfind("dir:", 0) == 0 ? g_swap_target.substr(4) : g_swap_target,
                     victim);
}

TEST(PluginLoader, SymlinkSwappedInAfterRealpathIsNotFollowed) {
  ScratchDir dir;
  fs::create_directories(dir.Join("sub"));
  fs::create_directories(dir.Join("other"));
  fs::permissions(dir.Join("sub"), fs::perms(0755));
  fs::permissions(dir.Join("other"), fs::perms(0755));
  std::string p = CopyPlugin(dir, FixturePath("fixture-behave"), "sub/plugin.so");
  std::string other = CopyPlugin(dir, FixturePath("fixture-behave"), "other/plugin.so");

  g_swap_target = other;
  PluginLoader::TEST_after_realpath = SwapForSymlink;
  std::string file_error = LoadError(p);
  PluginLoader::TEST_after_realpath = nullptr;
  EXPECT_EQ(file_error, "plugin " + p + ": cannot open: Too many levels of symbolic links");

  fs::remove(p);
  fs::rename(p + ".orig", p);
  g_swap_target = "dir:" + dir.Join("other");
  PluginLoader::TEST_after_realpath = SwapForSymlink;
  std::string dir_error = LoadError(p);
  PluginLoader::TEST_after_realpath = nullptr;
  EXPECT_EQ(dir_error, "plugin " + p + ": cannot open: Not a directory");
}

TEST(PluginLoader, Sha256PinThatMatchesLoads) {
  PluginLoadOptions options;
  options.sha256_pin = Sha256OfFile(FixturePath("fixture-behave-short"));
  auto lib = PluginLoader::Load(FixturePath("fixture-behave-short"), options);
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  EXPECT_EQ((*lib)->name(), "behave-short");
}

TEST(PluginLoader, Sha256PinMismatchIsRefused) {
  ScratchDir dir;
  std::string p = CopyPlugin(dir, FixturePath("fixture-behave"), "pinned.so");
  PluginLoadOptions options;
  options.sha256_pin = std::string(64, '0');
  auto lib = PluginLoader::Load(p, options);
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(lib.status().message(), "plugin " + p + ": sha256 mismatch: config pins " +
                                        std::string(64, '0') + ", file has " + Sha256OfFile(p));
  // Once loaded without a pin, a wrong pin is still refused (checked against what is mapped).
  ASSERT_TRUE(PluginLoader::Load(p).ok());
  EXPECT_EQ(LoadError(p, options), "plugin " + p + ": sha256 mismatch: config pins " +
                                       std::string(64, '0') + ", file has " + Sha256OfFile(p));
}

// The host of a process-isolated plugin skips the hash when nothing pins the file; a pin
// still gets it, and a later pinned load of that library cannot be checked and is refused.
TEST(PluginLoader, UnpinnedLoadWithoutHashingHasNoDigest) {
  ScratchDir dir;
  std::string p = CopyPlugin(dir, FixturePath("fixture-behave"), "unhashed.so");
  PluginLoadOptions quick;
  quick.hash_unpinned = false;
  auto lib = PluginLoader::Load(p, quick);
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  EXPECT_EQ((*lib)->name(), "behave");
  EXPECT_EQ((*lib)->sha256(), "");
  PluginLoadOptions pinned;
  pinned.sha256_pin = Sha256OfFile(p);
  auto again = PluginLoader::Load(p, pinned);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(again.status().message(),
            "plugin " + p +
                ": cannot check the sha256 pin: the library was loaded earlier in this process "
                "without hashing it");
  EXPECT_TRUE(PluginLoader::Load(p, quick).ok());  // unpinned loads still share it
}

TEST(PluginLoader, PinnedLoadWithoutHashUnpinnedStillChecksThePin) {
  ScratchDir dir;
  std::string p = CopyPlugin(dir, FixturePath("fixture-behave"), "pinned-quick.so");
  PluginLoadOptions options;
  options.hash_unpinned = false;
  options.sha256_pin = std::string(64, '0');
  EXPECT_EQ(LoadError(p, options), "plugin " + p + ": sha256 mismatch: config pins " +
                                       std::string(64, '0') + ", file has " + Sha256OfFile(p));
  options.sha256_pin = Sha256OfFile(p);
  auto lib = PluginLoader::Load(p, options);
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  EXPECT_EQ((*lib)->sha256(), Sha256OfFile(p));
}

TEST(PluginLoader, MalformedPinIsRefused) {
  PluginLoadOptions options;
  options.sha256_pin = "ABCDEF";
  auto lib = PluginLoader::Load(ProviderPath("file"), options);
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(lib.status().message(), "plugin " + ProviderPath("file") +
                                        ": sha256 pin \"ABCDEF\" is not 64 lowercase hex digits");
}

// The file that was checked is the file that is loaded: replacing the path after the checks
// (here, from the hook that runs right before dlopen) does not change what gets loaded.
std::string g_swap_with;
std::string g_seen_fd_path;
void SwapPath(const std::string& original, const std::string& fd_path) {
  g_seen_fd_path = fd_path;
  fs::rename(g_swap_with, original);
}

TEST(PluginLoader, SwapBetweenCheckAndLoadLoadsTheCheckedFile) {
  ScratchDir dir;
  std::string p = CopyPlugin(dir, FixturePath("fixture-behave"), "swap.so");
  std::string pin = Sha256OfFile(p);
  g_swap_with = CopyPlugin(dir, FixturePath("fixture-behave-serialized"), "evil.so");
  PluginLoader::TEST_before_dlopen = &SwapPath;
  PluginLoadOptions options;
  options.sha256_pin = pin;
  auto lib = PluginLoader::Load(p, options);
  PluginLoader::TEST_before_dlopen = nullptr;
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  EXPECT_EQ(g_seen_fd_path.rfind("/proc/self/fd/", 0), 0u) << g_seen_fd_path;
  EXPECT_EQ((*lib)->name(), "behave");  // not "behave-serialized", which now sits at `p`
  EXPECT_EQ((*lib)->sha256(), pin);
  EXPECT_NE(Sha256OfFile(p), pin);
}

TEST(PluginLoader, NotAnElfFile) {
  ScratchDir dir;
  std::string p = dir.Write("text.so", std::string(200, 'x'));
  EXPECT_EQ(LoadError(p), "plugin " + p + ": dlopen failed: " + p + ": invalid ELF header");
}

TEST(PluginLoader, MissingEntrySymbol) {
  std::string p = FixturePath("fixture-no-entry");
  EXPECT_EQ(LoadError(p), "plugin " + p +
                              ": missing entry symbol lk_provider_entry (is this a latchkey "
                              "provider?)");
}

TEST(PluginLoader, OnlyAFutureEntrySymbol) {
  std::string p = FixturePath("fixture-v2-only");
  EXPECT_EQ(LoadError(p), "plugin " + p + ": built for ABI 2.x; this host supports 1.0 to 1." +
                              std::to_string(LK_ABI_MINOR));
}

TEST(PluginLoader, MajorMismatch) {
  std::string p = FixturePath("fixture-major2");
  auto lib = PluginLoader::Load(p);
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(lib.status().message(), "plugin " + p +
                                        ": built for ABI 2.x; this host supports 1.0 to 1." +
                                        std::to_string(LK_ABI_MINOR));
}

TEST(PluginLoader, TableSmallerThanTheV1Minimum) {
  static_assert(PluginLoader::kMinProviderTableSize == 80, "through fetch");
  std::string p = FixturePath("fixture-small-table");
  EXPECT_EQ(LoadError(p), "plugin " + p +
                              ": provider table is 16 bytes, smaller than the ABI 1.0 minimum "
                              "of 80 bytes");
}

TEST(PluginLoader, RequiredFunctionMissing) {
  std::string p = FixturePath("fixture-no-fetch");
  EXPECT_EQ(LoadError(p), "plugin " + p + ": provider table has no fetch function (required)");
}

TEST(PluginLoader, InvalidProviderName) {
  std::string p = FixturePath("fixture-bad-name");
  EXPECT_EQ(LoadError(p), "plugin " + p +
                              ": provider name \"Bad_Name\" is invalid: use 1 to 64 characters "
                              "from [a-z0-9-]");
}

}  // namespace
}  // namespace latchkey
