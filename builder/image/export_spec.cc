#include "builder/image/export_spec.h"

#include <cstdio>
#include <vector>

namespace latchkey::image {

namespace {

Result<ExportSpec> Parse(std::string_view spec, bool build) {
  auto bad = [&](const std::string& why) {
    return InvalidArgumentError("invalid -o \"" + std::string(spec) + "\": " + why);
  };
  ExportSpec out;
  bool have_type = false, have_push = false, push = false;
  size_t i = 0;
  while (i <= spec.size()) {
    size_t j = spec.find(',', i);
    if (j == std::string_view::npos) j = spec.size();
    std::string_view field = spec.substr(i, j - i);
    i = j + 1;
    if (field.empty()) continue;
    size_t eq = field.find('=');
    if (eq == std::string_view::npos) return bad("\"" + std::string(field) + "\" is not key=value");
    std::string key(field.substr(0, eq));
    std::string value(field.substr(eq + 1));
    if (key == "type") {
      have_type = true;
      if (value == "oci") {
        out.type = ExportType::kOciArchive;
      } else if (value == "oci-layout") {
        out.type = ExportType::kOciLayout;
      } else if (value == "local") {
        out.type = ExportType::kLocal;
      } else if (build && (value == "image" || value == "registry")) {
        out.type = ExportType::kImage;
        if (value == "registry") out.push = true;
      } else {
        return bad(
            "unknown type \"" + value + "\" (want " +
            (build ? "oci, oci-layout, local, image or registry" : "oci, oci-layout or local") +
            ")");
      }
    } else if (key == "dest") {
      out.dest = value;
    } else if (key == "name") {
      auto r = ParseImageRef(value);
      if (!r.ok()) return bad(r.status().message());
      out.name = *r;
    } else if (build && key == "push") {
      if (value != "true" && value != "false") {
        return bad("push=\"" + value + "\" is not a boolean (want true or false)");
      }
      push = value == "true";
      have_push = true;
    } else {
      return bad("unknown key \"" + key + "\" (want type, dest" +
                 (build ? ", name or push)" : " or name)"));
    }
  }
  if (have_push) {
    if (out.type != ExportType::kImage) return bad("push= is only for type=image or type=registry");
    out.push = push;
  }
  if (have_type && out.type == ExportType::kImage) return out;
  if (!have_type) {
    return bad(
        "missing type= (want type=oci,dest=FILE.tar, type=oci-layout,dest=DIR or "
        "type=local,dest=DIR)");
  }
  if (out.dest.empty()) return bad("missing dest=");
  return out;
}

}  // namespace

Result<ExportSpec> ParseExportSpec(std::string_view spec) { return Parse(spec, false); }
Result<ExportSpec> ParseBuildOutputSpec(std::string_view spec) { return Parse(spec, true); }

std::string HumanSize(int64_t bytes) {
  static const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 999.5 && u < 5) {
    v /= 1000.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g%s", v, kUnits[u]);
  return buf;
}

}  // namespace latchkey::image
