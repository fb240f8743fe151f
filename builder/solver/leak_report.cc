#include "builder/solver/leak_report.h"

#include <algorithm>

namespace latchkey::build {
namespace {

// "a", "a and b", "a, b and c".
std::string JoinAnd(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " and " : ", ";
    out += items[i];
  }
  return out;
}

}  // namespace

std::string FormatLeakError(const std::vector<LeakPlace>& places, const std::string& container,
                            const std::string& consequence) {
  std::vector<std::string> ids;
  std::vector<std::vector<std::string>> by_id;
  for (const auto& p : places) {
    auto it = std::find(ids.begin(), ids.end(), p.secret_id);
    size_t i = static_cast<size_t>(it - ids.begin());
    if (it == ids.end()) {
      ids.push_back(p.secret_id);
      by_id.emplace_back();
    }
    auto& list = by_id[i];
    if (std::find(list.begin(), list.end(), p.place) == list.end()) list.push_back(p.place);
  }
  const std::string connector = container.empty() ? " into " : " at ";
  auto list_places = [&](const std::vector<std::string>& list) {
    if (list.size() <= kMaxLeakPlaces) return JoinAnd(list);
    std::string out;
    for (size_t i = 0; i < kMaxLeakPlaces; ++i) out += (i > 0 ? ", " : "") + list[i];
    return out + " and " + std::to_string(list.size() - kMaxLeakPlaces) + " more";
  };
  std::vector<std::string> quoted;
  std::string hint;
  for (const auto& id : ids) {
    quoted.push_back("\"" + id + "\"");
    hint += " --allow-secret-leak " + id;
  }
  std::string msg;
  if (ids.size() == 1) {
    msg = "secret " + quoted[0] + " leaked" + (container.empty() ? "" : " into " + container) +
          connector + list_places(by_id[0]);
  } else {
    msg = "secrets " + JoinAnd(quoted) + " leaked" +
          (container.empty() ? "" : " into " + container) + ":";
    for (size_t i = 0; i < ids.size(); ++i) {
      msg += (i > 0 ? "; " : " ") + quoted[i] + connector + list_places(by_id[i]);
    }
  }
  return msg + "; " + consequence + " (if this is intended, pass" + hint + ")";
}

}  // namespace latchkey::build
