// BuildkitProgress: shows the progress of a build that Docker Engine's BuildKit runs (`latchkey
// build --builder docker`) through latchkey's own build::ProgressWriter, so that --progress
// plain|tty|json look as they do for an embedded build of the same Dockerfile.
//
// Input: BuildKit's control API StatusResponse messages (api/moby/buildkit/v1/control.proto),
// which Docker Engine sends in the POST /build JSON stream as {"id":"moby.buildkit.trace",
// "aux":"<base64 of the marshalled message>"} (DecodeBuildkitTrace).
//
// Mapping, per vertex (identified by its digest; BuildKit sends a vertex again whenever it
// changes, and each update carries all its fields):
//   first update that is started, cached or completed, or its first status line or output
//         -> ProgressWriter::Start(name), once, with BuildKit's name as sent ("[1/2] RUN make",
//            "[internal] load build definition from Dockerfile", "[internal] load metadata for
//            docker.io/library/busybox:latest", "exporting to image"). Status lines and output
//            of a vertex not yet seen with its name wait for it; those of a vertex never named
//            are shown at Finish under its digest.
//   completed, error ""       -> Cached when it was sent cached, else Done
//   completed, error "<text>" -> Error(<text>)
//   VertexStatus completed    -> Note("<ID>[ <current>[ / <total>]][ <t>s] done"), once per
//            status ID, as BuildKit's plain printer prints it: sizes as BuildKit formats them
//            (FormatBuildkitBytes), the time when over 0.01 s, one decimal ("transferring
//            context: 2B done", the shape of an embedded build's "transferring dockerfile: 58B
//            done"). Status lines still in progress are not shown.
//   VertexLog                 -> Log (stream 2 stderr, anything else stdout)
//   VertexWarning             -> Note("WARN: <short>") (a completed vertex: Print), and the
//            text in warnings()
// One StatusResponse is shown vertex by vertex, as BuildKit's plain printer does: first the
// vertices it completes, in order of completion time, then the others in order of first
// mention; for each, its start, its status lines, its output, its warnings, then its end. So a
// message that carries a step's last output and its completion shows them in that order, and
// steps BuildKit reports together (a cached FROM and WORKDIR, and the RUN that starts next) get
// one block each. Updates of a vertex after it completed are ignored (BuildKit sends "[internal]
// load remote build context" completed twice), except warnings, which are printed as free lines.
// Elapsed times ("DONE 0.4s", "#5 0.123 <line>") are the writer's, measured as messages arrive.
//
// Redaction: vertex names, error and status texts pass through `registry`.Redact; output goes
// through one executor::RedactingStream per (vertex, stream) over `registry`, so that a value
// split across two VertexLog messages is still masked. The end of each StatusResponse is
// treated as a pause of the stream (RedactingStream::FlushIdle): what was received is shown,
// except a suffix that could begin a registered value, which waits for the next output (or
// the vertex's completion). The writer then redacts again with SecretRegistry::Global().
//
// Thread-safety: not thread-safe; one thread feeds an instance. `writer` and `registry` must
// outlive it.
#ifndef LATCHKEY_CLI_BUILDKIT_PROGRESS_H_
#define LATCHKEY_CLI_BUILDKIT_PROGRESS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/moby/buildkit/v1/control.pb.h"
#include "builder/executor/output_redactor.h"
#include "builder/executor/step.h"
#include "builder/solver/builder.h"
#include "builder/solver/progress.h"
#include "latchkey/status.h"
#include "secure/redactor.h"

namespace latchkey::cli {

// The message id of BuildKit progress in Docker Engine's build stream.
inline constexpr std::string_view kBuildkitTraceId = "moby.buildkit.trace";

// Decodes the `aux` value of a moby.buildkit.trace message: a JSON string holding the standard
// base64 (with padding) of a marshalled StatusResponse. Fails with DATA_LOSS:
//   decoding Docker Engine's build progress: the moby.buildkit.trace aux value is <a JSON
//       type: an object, an array, a number, a boolean, null>, not a base64 string
//   decoding Docker Engine's build progress: the moby.buildkit.trace aux value is not valid
//       base64
//   decoding Docker Engine's build progress: the moby.buildkit.trace aux value is not a
//       moby.buildkit.v1.StatusResponse (<N> bytes)
Result<moby::buildkit::v1::StatusResponse> DecodeBuildkitTrace(const nlohmann::json& aux);

// BuildKit's size format (tonistiigi/units Bytes with "%.2f"): bytes below 1000 as an integer
// ("58B"), else two decimals in decimal units ("1.23kB", "45.10MB").
std::string FormatBuildkitBytes(int64_t bytes);

class BuildkitProgress {
 public:
  // The longest secret value BuildKit's session accepts (GetSecretResponse data, 500 KiB);
  // output streams hold back up to 3 times that (its URL-encoded form) within a message.
  static constexpr size_t kMaxSecretBytes = 500 * 1024;

  explicit BuildkitProgress(build::ProgressWriter& writer,
                            const SecretRegistry& registry = SecretRegistry::Global());
  BuildkitProgress(const BuildkitProgress&) = delete;
  BuildkitProgress& operator=(const BuildkitProgress&) = delete;
  ~BuildkitProgress();

  // Shows one progress update, as described in the file comment.
  void Feed(const moby::buildkit::v1::StatusResponse& status);
  // DecodeBuildkitTrace(aux), then Feed. On a decoding error nothing is shown and the error is
  // returned; feeding may continue.
  Status FeedTrace(const nlohmann::json& aux);
  // The stream ended: shows the output each vertex still holds back, and vertices never named
  // (under their digest). Does not complete vertices and does not call writer.Finish() (the
  // caller prints its error block first). Idempotent; Feed after Finish is ignored.
  void Finish();

  // The first vertex that failed (one failed with an error other than BuildKit's
  // "context canceled" when there is one): its name and error, redacted; "" when none failed.
  const std::string& failed_vertex() const { return failed_vertex_; }
  const std::string& failed_error() const { return failed_error_; }
  // Where the first failed vertex is in the Dockerfile `dockerfile_text`
  // (LocateBuildkitStep, cli/buildkit_step.h); all empty when no vertex failed.
  build::BuildFailure Failure(std::string_view dockerfile_text) const;

  // Warnings BuildKit sent (VertexWarning.short, redacted), in order.
  const std::vector<std::string>& warnings() const { return warnings_; }
  // Step vertices ("[k/n] ..." except FROM) that completed from the cache / ran: an embedded
  // build's BuildResult::steps_cached / steps_run.
  int steps_cached() const { return steps_cached_; }
  int steps_run() const { return steps_run_; }

 private:
  struct Vertex;
  Vertex& Find(const std::string& digest);
  void Update(Vertex& v, const moby::buildkit::v1::Vertex& update);
  void Complete(Vertex& v, const moby::buildkit::v1::Vertex& update);
  void StartVertex(Vertex& v);
  void ShowNote(Vertex& v, std::string text);
  void ShowLog(Vertex& v, executor::OutputStream stream, std::string_view text);
  void FinishStreams(Vertex& v);

  build::ProgressWriter& writer_;
  const SecretRegistry& registry_;
  std::map<std::string, std::unique_ptr<Vertex>> vertices_;  // by digest
  std::vector<Vertex*> order_;                               // in order first seen
  bool finished_ = false;
  std::string failed_vertex_;
  std::string failed_error_;
  bool failed_cancelled_ = false;  // failed_error_ is a "context canceled"
  std::vector<std::string> warnings_;
  int steps_cached_ = 0;
  int steps_run_ = 0;
};

}  // namespace latchkey::cli

#endif  // LATCHKEY_CLI_BUILDKIT_PROGRESS_H_
