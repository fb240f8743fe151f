#include "registry/manifest.h"

#include <sys/utsname.h>

#include <cctype>

#include <nlohmann/json.hpp>

#include "builder/image/digest.h"

namespace latchkey::registry {
namespace {

using nlohmann::json;

constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
constexpr std::string_view kDockerList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string NormaliseArch(std::string a) {
  if (a == "x86_64" || a == "x86-64") return "amd64";
  if (a == "aarch64") return "arm64";
  return a;
}

std::string NormaliseVariant(const std::string& arch, std::string v) {
  if (arch == "arm64" && v == "8") return "v8";
  if (arch == "arm" && v.size() == 1 && std::isdigit(static_cast<unsigned char>(v[0]))) {
    return "v" + v;
  }
  return v;
}

bool IsForeign(std::string_view mt) {
  return mt.find("foreign") != std::string_view::npos ||
         mt.find("nondistributable") != std::string_view::npos;
}

Result<Descriptor> ParseDescriptor(const json& j, const std::string& what,
                                   const std::string& field) {
  if (!j.is_object()) return InvalidArgumentError(what + ": " + field + " is not an object");
  Descriptor d;
  auto digest = j.find("digest");
  if (digest == j.end() || !digest->is_string()) {
    return InvalidArgumentError(what + ": " + field + ".digest is missing or not a string");
  }
  d.digest = digest->get<std::string>();
  if (!image::IsValidDigest(d.digest)) {
    return InvalidArgumentError(what + ": " + field + ".digest \"" + d.digest +
                                "\" is not a sha256 digest");
  }
  auto size = j.find("size");
  if (size == j.end() || !size->is_number_integer() || size->get<int64_t>() < 0) {
    return InvalidArgumentError(what + ": " + field + ".size is missing or not a size");
  }
  d.size = size->get<int64_t>();
  if (auto mt = j.find("mediaType"); mt != j.end() && mt->is_string()) {
    d.media_type = mt->get<std::string>();
  }
  if (auto p = j.find("platform"); p != j.end() && p->is_object()) {
    d.has_platform = true;
    d.platform.os = Lower(p->value("os", std::string()));
    d.platform.architecture = NormaliseArch(Lower(p->value("architecture", std::string())));
    d.platform.variant =
        NormaliseVariant(d.platform.architecture, Lower(p->value("variant", std::string())));
  }
  return d;
}

}  // namespace

std::string Platform::String() const {
  return os + "/" + architecture + (variant.empty() ? "" : "/" + variant);
}

Result<Platform> ParsePlatform(std::string_view text) {
  auto bad = [&] {
    return InvalidArgumentError("invalid platform \"" + std::string(text) +
                                "\": want OS/ARCH[/VARIANT], e.g. linux/amd64");
  };
  std::vector<std::string> parts;
  std::string cur;
  for (char c : text) {
    if (c == '/') {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  parts.push_back(cur);
  if (parts.size() < 2 || parts.size() > 3) return bad();
  for (auto& p : parts) {
    if (p.empty()) return bad();
    for (char c : p) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return bad();
    }
    p = Lower(p);
  }
  Platform out;
  out.os = parts[0];
  out.architecture = NormaliseArch(parts[1]);
  if (parts.size() == 3) out.variant = NormaliseVariant(out.architecture, parts[2]);
  return out;
}

Platform HostPlatform() {
  Platform p;
  p.os = "linux";
  struct utsname u;
  std::string m = ::uname(&u) == 0 ? u.machine : "x86_64";
  if (m == "x86_64") {
    p.architecture = "amd64";
  } else if (m == "aarch64") {
    p.architecture = "arm64";
    p.variant = "v8";
  } else if (m == "i686" || m == "i386") {
    p.architecture = "386";
  } else if (m.rfind("armv7", 0) == 0) {
    p.architecture = "arm";
    p.variant = "v7";
  } else if (m.rfind("armv6", 0) == 0) {
    p.architecture = "arm";
    p.variant = "v6";
  } else {
    p.architecture = m;
  }
  return p;
}

Result<Manifest> ParseManifest(std::string_view body, std::string_view content_type,
                               const std::string& what) {
  if (static_cast<int64_t>(body.size()) > kMaxManifestBytes) {
    return InvalidArgumentError(what + " is larger than 4 MiB (" + std::to_string(body.size()) +
                                " bytes); refusing it");
  }
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgumentError(what + " is not valid JSON");
  Manifest m;
  std::string ct(content_type);
  if (size_t semi = ct.find(';'); semi != std::string::npos) ct = ct.substr(0, semi);
  while (!ct.empty() && ct.back() == ' ') ct.pop_back();
  m.media_type = j.value("mediaType", ct);
  if (j.value("schemaVersion", 0) == 1 ||
      m.media_type.rfind("application/vnd.docker.distribution.manifest.v1", 0) == 0) {
    return InvalidArgumentError(what +
                                " is a Docker schema 1 manifest, which latchkey does not pull "
                                "(push the image again with a current Docker or skopeo)");
  }
  if (m.media_type.empty() || m.media_type == "application/json") {
    m.media_type = j.contains("manifests") ? std::string(kOciIndex) : std::string(kOciManifest);
  }
  if (m.media_type == kOciIndex || m.media_type == kDockerList) {
    m.is_index = true;
    auto ms = j.find("manifests");
    if (ms == j.end() || !ms->is_array()) {
      return InvalidArgumentError(what + ": manifests is missing or not an array");
    }
    for (size_t i = 0; i < ms->size(); ++i) {
      LK_ASSIGN_OR_RETURN(Descriptor d,
                          ParseDescriptor((*ms)[i], what, "manifests[" + std::to_string(i) + "]"));
      m.manifests.push_back(std::move(d));
    }
    return m;
  }
  if (m.media_type != kOciManifest && m.media_type != kDockerManifest) {
    return InvalidArgumentError(what + " has media type \"" + m.media_type +
                                "\", which is neither an image manifest nor an index");
  }
  auto c = j.find("config");
  if (c == j.end()) return InvalidArgumentError(what + ": config is missing or not an object");
  LK_ASSIGN_OR_RETURN(m.config, ParseDescriptor(*c, what, "config"));
  auto ls = j.find("layers");
  if (ls == j.end() || !ls->is_array()) {
    return InvalidArgumentError(what + ": layers is missing or not an array");
  }
  if (ls->size() > kMaxLayers) {
    return InvalidArgumentError(what + " has " + std::to_string(ls->size()) +
                                " layers; more than " + std::to_string(kMaxLayers) + " is refused");
  }
  for (size_t i = 0; i < ls->size(); ++i) {
    LK_ASSIGN_OR_RETURN(Descriptor d,
                        ParseDescriptor((*ls)[i], what, "layers[" + std::to_string(i) + "]"));
    if (IsForeign(d.media_type)) {
      return InvalidArgumentError(what + ": layer " + d.digest + ": foreign layer (" +
                                  d.media_type + ") is not distributable and is not pulled");
    }
    m.layers.push_back(std::move(d));
  }
  return m;
}

Result<Descriptor> ChoosePlatform(const Manifest& index, const Platform& want) {
  for (const auto& d : index.manifests) {
    if (!d.has_platform) continue;
    const Platform& p = d.platform;
    if (p.os != want.os || p.architecture != want.architecture) continue;
    std::string pv = p.variant, wv = want.variant;
    if (want.architecture == "arm64") {
      if (pv.empty()) pv = "v8";
      if (wv.empty()) wv = "v8";
    }
    if (!wv.empty() && pv != wv && !(want.architecture == "amd64" && pv.empty())) continue;
    return d;
  }
  return NotFoundError("no matching manifest for " + want.String() +
                       " in the manifest list entries");
}

}  // namespace latchkey::registry
