#include "broker/audit/paths.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace latchkey::audit {

namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

std::string DefaultStateDir() {
  if (::geteuid() == 0) return "/var/lib/latchkey";
  const char* xdg = std::getenv("XDG_STATE_HOME");
  if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/latchkey";
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] != '\0') return std::string(home) + "/.local/state/latchkey";
  return "/var/lib/latchkey";
}

std::string DefaultLogPath(const std::string& state_dir) { return state_dir + "/audit/audit.log"; }

std::string SigningKeyPath(const std::string& state_dir) {
  return state_dir + "/audit-signing.key";
}

std::string PublicKeyPath(const std::string& state_dir) { return state_dir + "/audit-signing.pub"; }

std::string HmacKeyPath(const std::string& state_dir) { return state_dir + "/audit-hmac.key"; }

std::string HeadPathFor(const std::string& log_path) {
  static const std::string kLog = ".log";
  if (log_path.size() > kLog.size() &&
      log_path.compare(log_path.size() - kLog.size(), kLog.size(), kLog) == 0) {
    return log_path.substr(0, log_path.size() - kLog.size()) + ".head";
  }
  return log_path + ".head";
}

std::string RotatedPath(const std::string& log_path, int n) {
  return log_path + "." + std::to_string(n);
}

std::vector<std::string> ExistingRotatedSet(const std::string& log_path) {
  std::vector<std::string> files;
  for (int n = 1; Exists(RotatedPath(log_path, n)); ++n) files.push_back(RotatedPath(log_path, n));
  std::reverse(files.begin(), files.end());
  if (Exists(log_path)) files.push_back(log_path);
  return files;
}

}  // namespace latchkey::audit
