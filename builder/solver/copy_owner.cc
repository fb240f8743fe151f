#include "builder/solver/copy_owner.h"

#include <string>
#include <vector>

#include "base/in_root.h"
#include "base/split.h"

namespace latchkey::build {
namespace {

constexpr size_t kMaxDbFile = 16 << 20;

std::optional<uint32_t> ParseId(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(v);
}

// Finds the line of a passwd/group file whose first field is `name`; returns its fields.
std::optional<std::vector<std::string>> FindEntry(const std::string& db, std::string_view name) {
  for (std::string_view line : base::Split(db, '\n')) {
    std::vector<std::string> fields;
    size_t k = 0;
    for (;;) {
      size_t c = line.find(':', k);
      fields.emplace_back(line.substr(k, c == std::string_view::npos ? line.npos : c - k));
      if (c == std::string_view::npos) break;
      k = c + 1;
    }
    if (fields.size() >= 4 && fields[0] == name) return fields;
  }
  return std::nullopt;
}

Result<std::string> ReadDb(int root_fd, std::string_view path) {
  auto data = base::ReadFileInRoot(root_fd, path, kMaxDbFile);
  if (!data.ok() && data.status().code() == StatusCode::kNotFound) return std::string();
  return data;
}

const char kPrefix[] = "unable to convert uid/gid chown string to host mapping: ";

}  // namespace

Result<std::optional<CopyOwner>> ResolveChown(int root_fd, std::string_view spec) {
  if (spec.empty()) return std::optional<CopyOwner>();
  std::string_view user = spec, group;
  bool has_group = false;
  if (size_t c = spec.find(':'); c != std::string_view::npos) {
    user = spec.substr(0, c);
    group = spec.substr(c + 1);
    has_group = true;
  }
  CopyOwner owner;
  if (auto id = ParseId(user)) {
    owner.uid = *id;
    owner.gid = *id;
  } else if (!user.empty()) {
    LK_ASSIGN_OR_RETURN(std::string passwd, ReadDb(root_fd, "/etc/passwd"));
    auto entry = FindEntry(passwd, user);
    auto uid = entry ? ParseId((*entry)[2]) : std::nullopt;
    auto gid = entry ? ParseId((*entry)[3]) : std::nullopt;
    if (!uid || !gid) {
      std::string u(user);
      return InvalidArgumentError(kPrefix + ("can't find uid for user " + u) +
                                  ": no such user: " + u);
    }
    owner.uid = *uid;
    owner.gid = *gid;
  }
  if (has_group && !group.empty()) {
    if (auto id = ParseId(group)) {
      owner.gid = *id;
    } else {
      LK_ASSIGN_OR_RETURN(std::string groups, ReadDb(root_fd, "/etc/group"));
      auto entry = FindEntry(groups, group);
      auto gid = entry ? ParseId((*entry)[2]) : std::nullopt;
      if (!gid) {
        std::string g(group);
        return InvalidArgumentError(kPrefix + ("can't find gid for group " + g) +
                                    ": no such group: " + g);
      }
      owner.gid = *gid;
    }
  }
  return std::optional<CopyOwner>(owner);
}

Result<std::optional<mode_t>> ParseChmod(std::string_view value) {
  if (value.empty()) return std::optional<mode_t>();
  uint32_t mode = 0;
  bool ok = value.size() <= 5;
  for (char c : value) {
    if (c < '0' || c > '7') ok = false;
    if (ok) mode = mode * 8 + static_cast<uint32_t>(c - '0');
  }
  if (!ok || mode > 07777) {
    return InvalidArgumentError("invalid chmod parameter: " + std::string(value));
  }
  return std::optional<mode_t>(static_cast<mode_t>(mode));
}

}  // namespace latchkey::build
