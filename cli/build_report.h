// What `latchkey build` prints and writes about a finished build, buildx's way: the error block
// under a failed build (BuildKit's Dockerfile snippet), the warnings summary, and the
// --metadata-file JSON.
//
// Thread-safety: pure functions (FailureText reads SecretRegistry::Global(), which is
// thread-safe).
#ifndef LATCHKEY_CLI_BUILD_REPORT_H_
#define LATCHKEY_CLI_BUILD_REPORT_H_

#include <string>
#include <string_view>
#include <vector>

#include "builder/solver/builder.h"
#include "builder/solver/progress.h"
#include "latchkey/status.h"

namespace latchkey::cli {

// BuildKit's source snippet (solver/errdefs/source.go Print) for lines `line`..`end_line`
// (1-based; an `end_line` before `line` means `line` alone) of the Dockerfile `text` at `path`:
//   Dockerfile:3
//   --------------------
//      1 |     FROM scratch
//      2 |     ARG X
//      3 | >>> RUN false
//   --------------------
// with up to 4 lines of context around one line and 2 around a range, each line cut with
// base::TruncateForDisplay. "" when `line` < 1 or past the end of `text`. Not redacted.
std::string DockerfileSnippet(const std::string& path, std::string_view text, int line,
                              int end_line);

// The block printed after a failed build: the snippet around failure.line (when known and
// `request` is non-null), then "ERROR: failed to solve: <message of st>\n"; every secret value
// registered in SecretRegistry::Global() masked.
std::string FailureText(const build::BuildFailure& failure, const build::BuildRequest* request,
                        const Status& st);

// buildx's printWarnings after a build that succeeded: "\n 1 warning found:\n - <w>\n" (or
// " N warnings found:"); "" when there are none or `mode` is quiet or json.
std::string WarningSummary(const std::vector<std::string>& warnings, build::ProgressMode mode);

// buildx's --metadata-file content: the image exporter's response (config digest, manifest
// digest and descriptor -- those of the pushed manifest when result.pushed is set --,
// image.name: every tag's full name, comma-separated), buildx.build.ref
// = `build_ref`, and buildx.build.provenance with buildType "https://mobyproject.org/buildkit@v1"
// and "materials": [{"uri": MaterialPackageUrl, "digest": {"sha256": HEX}}] for every image of
// result.materials; JSON indented by 2, without a trailing newline.
std::string MetadataJson(const build::BuildResult& result, const std::string& build_ref);

// BuildKit's package URL of a base image (util/purl RefToPURL): "pkg:docker/" + the familiar
// name + "@" + the tag (latest when the reference has neither tag nor digest), then the
// qualifiers digest=<digest> (a digest reference) and platform=<os%2Farch[%2Fvariant]>:
// "pkg:docker/alpine@3.19?platform=linux%2Famd64",
// "pkg:docker/127.0.0.1:5000/team/app@1?platform=linux%2Famd64". "" for a reference that does
// not parse.
std::string MaterialPackageUrl(const build::BuildMaterial& material);

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_BUILD_REPORT_H_
