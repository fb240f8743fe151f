#include "cli/build_report.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/go_text.h"
#include "builder/image/image_ref.h"
#include "builder/image/media_types.h"
#include "builder/image/reference.h"
#include "secure/redactor.h"

namespace latchkey::cli {
namespace {

// A package URL component escaped as Go's url.PathEscape does (what packageurl-go writes):
// "linux/amd64" is "linux%2Famd64"; ':' and '@' stay.
std::string PathEscape(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) ||
        std::string_view("-._~$&+:=@").find(static_cast<char>(c)) != std::string_view::npos) {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::string MaterialPackageUrl(const build::BuildMaterial& m) {
  auto ref = image::ParseNormalizedReference(m.ref);
  if (!ref.ok()) return "";
  const std::string name = ref->FamiliarName();
  std::string out = "pkg:docker/" + name;
  if (!ref->tag.empty()) {
    out += "@" + PathEscape(ref->tag);
  } else if (ref->digest.empty()) {
    out += "@latest";
  }
  std::string q;
  if (!ref->digest.empty()) q += "digest=" + PathEscape(ref->digest);
  if (!m.platform.empty())
    q += (q.empty() ? "" : "&") + std::string("platform=") + PathEscape(m.platform);
  if (!q.empty()) out += "?" + q;
  return out;
}

std::string DockerfileSnippet(const std::string& path, std::string_view text, int line,
                              int end_line) {
  if (line < 1) return "";
  std::vector<std::string> lines;
  std::stringstream ss{std::string(text)};
  for (std::string l; std::getline(ss, l);) lines.push_back(l);
  int start = line;
  int end = end_line >= start ? end_line : start;
  int n = static_cast<int>(lines.size());
  if (start > n) return "";
  if (end > n) end = n;
  // BuildKit's padding: each round adds a line above (while there is one) and below (while
  // not at the end), and counts one more, so a single line gets up to 4 around it in all.
  int pad = end == start ? 4 : 2;
  for (int p = 0; p < pad;) {
    if (start > 1) {
      --start;
      ++p;
    }
    if (end != n) {
      ++end;
      ++p;
    }
    ++p;
  }
  std::ostringstream out;
  out << std::filesystem::path(path).filename().string() << ":" << line
      << "\n--------------------\n";
  for (int i = start; i <= end; ++i) {
    bool hit = i >= line && i <= std::max(line, end_line);
    char num[16];
    std::snprintf(num, sizeof(num), " %3d | ", i);
    out << num << (hit ? ">>>" : "   ") << " " << base::TruncateForDisplay(lines[i - 1]) << "\n";
  }
  out << "--------------------\n";
  return out.str();
}

std::string FailureText(const build::BuildFailure& failure, const build::BuildRequest* request,
                        const Status& st) {
  // (The failing vertex and its last output lines were printed by the progress writer.)
  std::string out;
  if (request != nullptr) {
    out = DockerfileSnippet(request->dockerfile_path, request->dockerfile_text, failure.line,
                            failure.end_line);
  }
  out += "ERROR: failed to solve: " + st.message() + "\n";
  return SecretRegistry::Global().Redact(out);
}

std::string WarningSummary(const std::vector<std::string>& warnings, build::ProgressMode mode) {
  if (warnings.empty() || mode == build::ProgressMode::kQuiet ||
      mode == build::ProgressMode::kJson) {
    return "";
  }
  std::string out = "\n " + std::to_string(warnings.size()) +
                    (warnings.size() == 1 ? " warning found:\n" : " warnings found:\n");
  for (const auto& w : warnings) out += " - " + w + "\n";
  return out;
}

std::string MetadataJson(const build::BuildResult& r, const std::string& build_ref) {
  nlohmann::json j = {
      {"buildx.build.ref", build_ref},
      {"containerimage.config.digest", r.image.config_digest},
      {"containerimage.digest", r.image.manifest_digest},
      {"containerimage.descriptor",
       {{"mediaType", image::kMediaTypeManifest},
        {"digest", r.image.manifest_digest},
        {"size", r.image.manifest_size}}},
  };
  if (!r.pushed.digest.empty()) {
    // buildx: the digest of the manifest the registry accepted.
    j["containerimage.digest"] = r.pushed.digest;
    j["containerimage.descriptor"] = {
        {"mediaType", r.pushed.media_type}, {"digest", r.pushed.digest}, {"size", r.pushed.size}};
  }
  std::string names;
  for (const auto& t : r.tags) {
    auto ref = image::ParseImageRef(t);
    if (ref.ok()) names += (names.empty() ? "" : ",") + ref->FullString();
  }
  if (!names.empty()) j["image.name"] = names;
  // buildx's default (mode=min) provenance, of which latchkey writes the build type and the
  // materials: every store or registry image the build read, with the digest it resolved to.
  nlohmann::json materials = nlohmann::json::array();
  for (const auto& m : r.materials) {
    std::string uri = MaterialPackageUrl(m);
    if (uri.empty() || m.digest.rfind("sha256:", 0) != 0) continue;
    materials.push_back({{"uri", uri}, {"digest", {{"sha256", m.digest.substr(7)}}}});
  }
  j["buildx.build.provenance"] = {{"buildType", "https://mobyproject.org/buildkit@v1"},
                                  {"materials", materials}};
  return j.dump(2);
}

}  // namespace latchkey::cli
