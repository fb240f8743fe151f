#include "base/path.h"

#include "base/split.h"

namespace latchkey::base {

std::string CleanPath(std::string_view p) {
  if (p.empty()) return ".";
  const bool rooted = p.front() == '/';
  std::vector<std::string_view> parts;
  for (std::string_view part : Split(p, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!rooted) {
        parts.push_back(part);
      }
      continue;
    }
    parts.push_back(part);
  }
  std::string out = rooted ? "/" : "";
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k > 0) out += '/';
    out += parts[k];
  }
  if (out.empty()) return ".";
  return out;
}

std::string JoinPath(std::initializer_list<std::string_view> elems) {
  std::string joined;
  for (std::string_view e : elems) {
    if (e.empty()) continue;
    if (!joined.empty()) joined += '/';
    joined += e;
  }
  return joined.empty() ? "" : CleanPath(joined);
}

std::string ResolvePath(std::string_view base, std::string_view path) {
  if (!path.empty() && path[0] == '/') return CleanPath(path);
  std::string joined(base);
  joined += '/';
  joined += path;
  return CleanPath(joined);
}

std::string RootedPath(std::string_view path) {
  std::string p = "/";
  p += path;
  return CleanPath(p);
}

std::vector<std::string> RootedComponents(std::string_view path) {
  std::string clean = RootedPath(path);
  std::vector<std::string> out;
  for (std::string_view part : Split(std::string_view(clean).substr(1), '/')) {
    out.emplace_back(part);
  }
  return out;
}

std::string DirName(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string BaseName(std::string_view p) {
  if (p.empty()) return ".";
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  if (p == "/") return "/";
  size_t slash = p.rfind('/');
  if (slash != std::string_view::npos) p.remove_prefix(slash + 1);
  return std::string(p);
}

}  // namespace latchkey::base
