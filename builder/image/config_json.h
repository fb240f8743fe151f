// ImageConfig <-> OCI image config JSON (application/vnd.oci.image.config.v1+json).
//
// The JSON is Docker's/BuildKit's shape: top-level "architecture", "os", "variant", "created",
// "author", "config" {User, ExposedPorts, Env, Entrypoint, Cmd, Volumes, WorkingDir, Labels,
// StopSignal, and the Docker extensions Shell, Healthcheck, OnBuild}, "rootfs" {"type":
// "layers", "diff_ids"}, "history". Empty optional fields are omitted; an Entrypoint or Cmd
// that is set but empty is written as [] (it differs from unset).
//
// Output is canonical (keys sorted, no whitespace), so equal configs give equal digests.
// Thread-safety: pure functions.
#ifndef LATCHKEY_BUILDER_IMAGE_CONFIG_JSON_H_
#define LATCHKEY_BUILDER_IMAGE_CONFIG_JSON_H_

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "builder/frontend/image_config.h"
#include "latchkey/status.h"

namespace latchkey::image {

// Serialises `j` with sorted keys and no whitespace; invalid UTF-8 is replaced by U+FFFD.
std::string CanonicalJson(const nlohmann::json& j);

nlohmann::json ConfigToJsonValue(const frontend::ImageConfig& config);
std::string ConfigToJson(const frontend::ImageConfig& config);

// Parses a config blob. Unknown fields are ignored. A field of the wrong type is
// INVALID_ARGUMENT naming it: `image config: field "config.Env" must be an array of strings`.
Result<frontend::ImageConfig> ConfigFromJson(std::string_view json);

// Parses any JSON document, INVALID_ARGUMENT "<what>: invalid JSON: ..." on a syntax error.
Result<nlohmann::json> ParseJson(std::string_view text, std::string_view what);

}  // namespace latchkey::image

#endif  // LATCHKEY_BUILDER_IMAGE_CONFIG_JSON_H_
