#include "builder/executor/user_lookup.h"

#include <charconv>

#include "base/in_root.h"

namespace latchkey::executor {
namespace {

constexpr size_t kMaxUserFileBytes = 16 << 20;

std::optional<uint32_t> ParseId(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > 0x7fffffffu) return std::nullopt;
  return static_cast<uint32_t>(v);
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t i = 0;
  for (;;) {
    size_t j = s.find(sep, i);
    if (j == std::string_view::npos) {
      out.push_back(s.substr(i));
      return out;
    }
    out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
}

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
};
struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

// The ':'-separated fields of each line of a passwd or group file, as libcontainer parses
// them: trailing '\r' and ' ' are dropped, blank lines and lines starting with '#' skipped.
std::vector<std::vector<std::string_view>> DbLines(std::string_view text) {
  std::vector<std::vector<std::string_view>> out;
  for (std::string_view line : Split(text, '\n')) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    out.push_back(Split(line, ':'));
  }
  return out;
}

// Field `i` of a DbLines line as an id; nullopt when missing or not a valid id.
std::optional<uint32_t> IdField(const std::vector<std::string_view>& fields, size_t i) {
  return i < fields.size() ? ParseId(fields[i]) : std::nullopt;
}

// Entries of DbLines: missing trailing fields are empty; unparsable ids make the line unusable.
std::vector<PasswdEntry> ParsePasswd(std::string_view text) {
  std::vector<PasswdEntry> out;
  for (const auto& f : DbLines(text)) {
    PasswdEntry e;
    e.name = std::string(f[0]);
    auto uid = IdField(f, 2);
    auto gid = IdField(f, 3);
    if (!uid || !gid) continue;
    e.uid = *uid;
    e.gid = *gid;
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<GroupEntry> ParseGroup(std::string_view text) {
  std::vector<GroupEntry> out;
  for (const auto& f : DbLines(text)) {
    GroupEntry e;
    e.name = std::string(f[0]);
    auto gid = IdField(f, 2);
    if (!gid) continue;
    e.gid = *gid;
    if (f.size() > 3 && !f[3].empty()) {
      for (auto m : Split(f[3], ',')) e.members.emplace_back(m);
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

Result<ExecUser> ResolveUser(std::string_view spec, const std::optional<std::string>& passwd,
                             const std::optional<std::string>& group) {
  bool is_default = spec.empty();
  if (is_default) spec = "0";
  std::string_view user_arg = spec;
  std::string_view group_arg;
  if (auto colon = spec.find(':'); colon != std::string_view::npos) {
    user_arg = spec.substr(0, colon);
    group_arg = spec.substr(colon + 1);
    // BuildKit's fast path: both numeric, no file lookup at all.
    auto u = ParseId(user_arg);
    auto g = ParseId(group_arg);
    if (u && g) return ExecUser{*u, *g, {}};
  }
  ExecUser out;
  std::string matched_name;
  auto uid_num = ParseId(user_arg);
  bool found = false;
  for (const auto& e : ParsePasswd(passwd.value_or(""))) {
    if (e.name == user_arg || (uid_num && e.uid == *uid_num)) {
      out.uid = e.uid;
      out.gid = e.gid;
      matched_name = e.name;
      found = true;
      break;
    }
  }
  if (!found) {
    if (!uid_num) {
      if (is_default) return ExecUser{};
      return NotFoundError("unable to find user " + std::string(user_arg) +
                           ": no matching entries in passwd file");
    }
    out.uid = *uid_num;
  }
  if (!group_arg.empty() || !matched_name.empty()) {
    auto gid_num = ParseId(group_arg);
    std::vector<GroupEntry> groups;
    for (const auto& g : ParseGroup(group.value_or(""))) {
      bool match;
      if (group_arg.empty()) {
        match = false;
        for (const auto& m : g.members) match = match || m == matched_name;
      } else if (!gid_num) {
        match = g.name == group_arg;
      } else {
        match = g.gid == *gid_num;
      }
      if (match) groups.push_back(g);
    }
    if (!group_arg.empty()) {
      if (!groups.empty() && !gid_num) {
        out.gid = groups[0].gid;
      } else if (!gid_num) {
        return NotFoundError("unable to find group " + std::string(group_arg) +
                             ": no matching entries in group file");
      } else {
        out.gid = *gid_num;
      }
    } else {
      for (const auto& g : groups) out.additional_gids.push_back(g.gid);
    }
  }
  return out;
}

Result<ExecUser> ResolveUserInRoot(int root_fd, std::string_view spec) {
  auto read = [&](const char* path) -> Result<std::optional<std::string>> {
    auto r = base::ReadFileInRoot(root_fd, path, kMaxUserFileBytes);
    if (r.ok()) return std::optional<std::string>(std::move(r).value());
    if (r.status().code() == StatusCode::kNotFound) return std::optional<std::string>();
    return r.status();
  };
  if (!spec.empty()) {
    auto colon = spec.find(':');
    if (colon != std::string_view::npos && ParseId(spec.substr(0, colon)) &&
        ParseId(spec.substr(colon + 1))) {
      return ResolveUser(spec, std::nullopt, std::nullopt);
    }
  }
  LK_ASSIGN_OR_RETURN(auto passwd, read("/etc/passwd"));
  LK_ASSIGN_OR_RETURN(auto group, read("/etc/group"));
  return ResolveUser(spec, passwd, group);
}

}  // namespace latchkey::executor
