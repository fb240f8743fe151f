#include "broker/audit/log_set.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "broker/audit/audit_file.h"
#include "broker/audit/paths.h"

namespace latchkey::audit {

namespace {

uint64_t FirstSeq(const std::string& content) {
  size_t nl = content.find('\n');
  std::string_view first(content.data(), nl == std::string::npos ? content.size() : nl);
  auto j = nlohmann::json::parse(first, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("seq") || !j["seq"].is_number_unsigned()) {
    return std::numeric_limits<uint64_t>::max();
  }
  return j["seq"].get<uint64_t>();
}

}  // namespace

Result<std::vector<LogFile>> LoadLogSet(const std::vector<std::string>& args) {
  if (args.empty()) return InvalidArgumentError("no audit log files given");
  std::vector<std::string> paths;
  std::set<std::string> seen;
  for (const std::string& arg : args) {
    struct stat st;
    if (::stat(arg.c_str(), &st) != 0) return NotFoundError("audit log " + arg + " not found");
    std::vector<std::string> expanded;
    if (::stat(RotatedPath(arg, 1).c_str(), &st) == 0) {
      expanded = ExistingRotatedSet(arg);
    } else {
      expanded = {arg};
    }
    for (auto& p : expanded) {
      if (seen.insert(p).second) paths.push_back(p);
    }
  }
  std::vector<LogFile> files;
  for (const std::string& p : paths) {
    auto content = ReadWholeFile(p);
    if (!content.ok()) return content.status();
    files.push_back({p, std::move(content).value()});
  }
  std::vector<std::pair<uint64_t, size_t>> order;
  for (size_t i = 0; i < files.size(); ++i) order.emplace_back(FirstSeq(files[i].content), i);
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<LogFile> sorted;
  for (const auto& [seq, i] : order) sorted.push_back(std::move(files[i]));
  return sorted;
}

std::vector<RawLine> SplitLines(const std::string& content) {
  std::vector<RawLine> lines;
  size_t start = 0, number = 0;
  while (start < content.size()) {
    size_t nl = content.find('\n', start);
    ++number;
    if (nl == std::string::npos) {
      lines.push_back({std::string_view(content).substr(start), number, false});
      break;
    }
    lines.push_back({std::string_view(content).substr(start, nl - start), number, true});
    start = nl + 1;
  }
  return lines;
}

}  // namespace latchkey::audit
