#include "builder/image/export_spec.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace latchkey::image {

namespace {

constexpr const char* kCompressionOnly =
    "compression applies to the oci and oci-layout types and to pushed images (push=true) only";

Result<ExportSpec> Parse(std::string_view spec, bool build) {
  auto bad = [&](const std::string& why) {
    return InvalidArgumentError("invalid -o \"" + std::string(spec) + "\": " + why);
  };
  ExportSpec out;
  bool have_type = false, have_push = false, push = false;
  bool have_compression = false;
  std::string level_text;
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
    } else if (key == "compression") {
      Result<Compression> c = ParseCompression(value);
      if (!c.ok()) return bad(c.status().message());
      out.compression.compression = *c;
      have_compression = true;
    } else if (key == "compression-level") {
      char* end = nullptr;
      errno = 0;
      long v = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || errno != 0 || v < -1000 || v > 1000) {
        return bad("non-int value " + value + " specified for compression-level");
      }
      out.compression.level = static_cast<int>(v);
      level_text = value;
      have_compression = true;
    } else if (key == "force-compression") {
      // Go's strconv.ParseBool.
      if (value == "1" || value == "t" || value == "T" || value == "true" || value == "TRUE" ||
          value == "True") {
        out.compression.force = true;
      } else if (value == "0" || value == "f" || value == "F" || value == "false" ||
                 value == "FALSE" || value == "False") {
        out.compression.force = false;
      } else {
        return bad("non-bool value " + value + " specified for force-compression");
      }
      have_compression = true;
    } else {
      return bad("unknown key \"" + key + "\" (want type, dest, name, " + (build ? "push, " : "") +
                 "compression, compression-level or force-compression)");
    }
  }
  if (have_push) {
    if (out.type != ExportType::kImage) return bad("push= is only for type=image or type=registry");
    out.push = push;
  }
  if (have_type && out.type == ExportType::kImage) {
    // The store keeps layers uncompressed: compression only shapes what a push sends.
    if (have_compression && !out.push) return bad(kCompressionOnly);
    if (!level_text.empty()) {
      Status st = CheckCompressionLevel(out.compression.compression, out.compression.level);
      if (!st.ok()) return bad(st.message());
    }
    return out;
  }
  if (!have_type) {
    return bad(
        "missing type= (want type=oci,dest=FILE.tar, type=oci-layout,dest=DIR or "
        "type=local,dest=DIR)");
  }
  if (out.dest.empty()) return bad("missing dest=");
  if (have_compression && out.type == ExportType::kLocal) return bad(kCompressionOnly);
  if (!level_text.empty()) {
    Status st = CheckCompressionLevel(out.compression.compression, out.compression.level);
    if (!st.ok()) return bad(st.message());
  }
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
