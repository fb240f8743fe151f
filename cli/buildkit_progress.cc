#include "cli/buildkit_progress.h"

#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <optional>
#include <utility>

#include "cli/buildkit_step.h"

namespace latchkey::cli {
namespace {

namespace bk = moby::buildkit::v1;

constexpr std::string_view kDecodeError =
    "decoding Docker Engine's build progress: the moby.buildkit.trace aux value is ";

std::string JsonTypeWithArticle(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::object:
      return "an object";
    case nlohmann::json::value_t::array:
      return "an array";
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::boolean:
      return "a boolean";
    default:
      return "a number";
  }
}

// Go's time.Duration.Seconds() of `to` - `from`.
double SecondsBetween(const google::protobuf::Timestamp& from,
                      const google::protobuf::Timestamp& to) {
  int64_t ns = (to.seconds() - from.seconds()) * 1000000000 + (to.nanos() - from.nanos());
  return static_cast<double>(ns / 1000000000) + static_cast<double>(ns % 1000000000) / 1e9;
}

// BuildKit's plain printer's line for a completed status (progressui/printer.go printVtx).
std::string StatusLine(const bk::VertexStatus& s) {
  std::string out = s.id().empty() ? s.name() : s.id();
  if (s.total() != 0) {
    out += " " + FormatBuildkitBytes(s.current()) + " / " + FormatBuildkitBytes(s.total());
  } else if (s.current() != 0) {
    out += " " + FormatBuildkitBytes(s.current());
  }
  if (s.has_started()) {
    double diff = SecondsBetween(s.started(), s.completed());
    if (diff > 0.01) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), " %.1fs", diff);
      out += buf;
    }
  }
  return out + " done";
}

bool IsCancellation(std::string_view error) {
  constexpr std::string_view kCanceled = "context canceled";
  return error.size() >= kCanceled.size() &&
         error.substr(error.size() - kCanceled.size()) == kCanceled;
}

size_t StreamIndex(executor::OutputStream s) { return s == executor::OutputStream::kStderr; }

}  // namespace

Result<bk::StatusResponse> DecodeBuildkitTrace(const nlohmann::json& aux) {
  if (!aux.is_string()) {
    return DataLossError(std::string(kDecodeError) + JsonTypeWithArticle(aux) +
                         ", not a base64 string");
  }
  const std::string& b64 = aux.get_ref<const std::string&>();
  std::string raw(b64.size() / 4 * 3 + 3, '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(raw.data()), raw.size(), b64.data(),
                        b64.size(), nullptr, &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != b64.data() + b64.size()) {
    return DataLossError(std::string(kDecodeError) + "not valid base64");
  }
  raw.resize(len);
  bk::StatusResponse out;
  if (!out.ParseFromString(raw)) {
    return DataLossError(std::string(kDecodeError) + "not a moby.buildkit.v1.StatusResponse (" +
                         std::to_string(len) + " bytes)");
  }
  return out;
}

std::string FormatBuildkitBytes(int64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  if (bytes > -1000 && bytes < 1000) return std::to_string(bytes) + "B";
  double v = static_cast<double>(bytes);
  double base = 1;
  size_t unit = 0;
  while (unit + 1 < std::size(kUnits) && (bytes >= 0 ? v >= base * 1000 : v <= -base * 1000)) {
    base *= 1000;
    ++unit;
  }
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.2f%s", v / base, kUnits[unit]);
  return buf;
}

struct BuildkitProgress::Vertex {
  struct Event {
    bool log = false;
    executor::OutputStream stream = executor::OutputStream::kStdout;
    std::string text;  // redacted
  };

  std::string digest;
  std::string name;  // redacted; "" until BuildKit sends it
  int number = 0;    // the writer's; 0 until started
  bool cached = false;
  bool completed = false;
  std::vector<Event> pending;  // shown when the vertex starts
  // Per stream (stdout, stderr), created at its first output.
  std::unique_ptr<executor::RedactingStream> streams[2];
  std::set<std::string> statuses_done;  // status IDs shown as done
};

BuildkitProgress::BuildkitProgress(build::ProgressWriter& writer, const SecretRegistry& registry)
    : writer_(writer), registry_(registry) {}

BuildkitProgress::~BuildkitProgress() = default;

BuildkitProgress::Vertex& BuildkitProgress::Find(const std::string& digest) {
  auto [it, added] = vertices_.try_emplace(digest);
  if (added) {
    it->second = std::make_unique<Vertex>();
    it->second->digest = digest;
    order_.push_back(it->second.get());
  }
  return *it->second;
}

void BuildkitProgress::StartVertex(Vertex& v) {
  v.number = writer_.Start(v.name.empty() ? v.digest : v.name);
  for (Vertex::Event& e : v.pending) {
    if (e.log) {
      writer_.Log(v.number, e.stream, e.text);
    } else {
      writer_.Note(v.number, e.text);
    }
  }
  v.pending.clear();
}

void BuildkitProgress::ShowNote(Vertex& v, std::string text) {
  if (v.number == 0 && !v.name.empty()) StartVertex(v);
  if (v.number == 0) {
    v.pending.push_back({false, executor::OutputStream::kStdout, std::move(text)});
    return;
  }
  writer_.Note(v.number, text);
}

void BuildkitProgress::ShowLog(Vertex& v, executor::OutputStream stream, std::string_view text) {
  if (v.number == 0 && !v.name.empty()) StartVertex(v);
  if (v.number == 0) {
    v.pending.push_back({true, stream, std::string(text)});
    return;
  }
  writer_.Log(v.number, stream, text);
}

void BuildkitProgress::FinishStreams(Vertex& v) {
  for (auto& s : v.streams) {
    if (s) s->Finish();
    s.reset();
  }
}

void BuildkitProgress::Update(Vertex& v, const bk::Vertex& update) {
  if (!update.name().empty()) v.name = registry_.Redact(update.name());
  if (update.cached()) v.cached = true;
}

void BuildkitProgress::Complete(Vertex& v, const bk::Vertex& update) {
  if (v.number == 0) StartVertex(v);
  FinishStreams(v);
  v.completed = true;
  const std::string& shown = v.name.empty() ? v.digest : v.name;
  std::optional<BuildkitStepName> step = ParseBuildkitStepName(shown);
  bool counts = step && step->instruction != "FROM";
  if (!update.error().empty()) {
    std::string error = registry_.Redact(update.error());
    writer_.Error(v.number, error);
    bool cancelled = IsCancellation(update.error());
    if (failed_vertex_.empty() || (failed_cancelled_ && !cancelled)) {
      failed_vertex_ = shown;
      failed_error_ = std::move(error);
      failed_cancelled_ = cancelled;
    }
  } else if (v.cached) {
    writer_.Cached(v.number);
    if (counts) ++steps_cached_;
  } else {
    writer_.Done(v.number);
    if (counts) ++steps_run_;
  }
}

void BuildkitProgress::Feed(const bk::StatusResponse& status) {
  if (finished_) return;
  // What this message holds for each vertex it names.
  struct Parts {
    Vertex* vertex = nullptr;
    const bk::Vertex* update = nullptr;  // its last update in the message
    bool start = false;                  // an update is started, cached or completed
    std::vector<const bk::VertexStatus*> statuses;
    std::vector<const bk::VertexLog*> logs;
    std::vector<const bk::VertexWarning*> warnings;
  };
  std::vector<Parts> parts;  // in order of first mention
  std::map<Vertex*, size_t> index;
  auto parts_of = [&](const std::string& digest) -> Parts& {
    Vertex& v = Find(digest);
    auto [it, added] = index.try_emplace(&v, parts.size());
    if (added) {
      parts.emplace_back();
      parts.back().vertex = &v;
    }
    return parts[it->second];
  };
  for (const bk::Vertex& update : status.vertexes()) {
    Parts& p = parts_of(update.digest());
    if (!p.vertex->completed) Update(*p.vertex, update);
    p.update = &update;
    p.start = p.start || update.has_started() || update.has_completed() || update.cached();
  }
  for (const bk::VertexStatus& s : status.statuses()) parts_of(s.vertex()).statuses.push_back(&s);
  for (const bk::VertexLog& l : status.logs()) parts_of(l.vertex()).logs.push_back(&l);
  for (const bk::VertexWarning& w : status.warnings()) {
    parts_of(w.vertex()).warnings.push_back(&w);
  }
  // As BuildKit's printer: the vertices this message completes first, by completion time, then
  // the others.
  auto completes = [](const Parts& p) { return p.update != nullptr && p.update->has_completed(); };
  std::stable_sort(parts.begin(), parts.end(), [&](const Parts& a, const Parts& b) {
    if (completes(a) != completes(b)) return completes(a);
    if (!completes(a)) return false;
    const auto& ta = a.update->completed();
    const auto& tb = b.update->completed();
    return ta.seconds() != tb.seconds() ? ta.seconds() < tb.seconds() : ta.nanos() < tb.nanos();
  });

  for (Parts& p : parts) {
    Vertex& v = *p.vertex;
    if (v.completed) {
      // Updates after completion are ignored; a warning is still shown.
      for (const bk::VertexWarning* w : p.warnings) {
        warnings_.push_back(registry_.Redact(w->short_()));
        writer_.Print("WARN: " + warnings_.back());
      }
      continue;
    }
    if (p.start && v.number == 0 && !v.name.empty()) StartVertex(v);
    for (const bk::VertexStatus* s : p.statuses) {
      if (!s->has_completed()) continue;
      std::string id = s->id().empty() ? s->name() : s->id();
      if (!v.statuses_done.insert(id).second) continue;
      ShowNote(v, registry_.Redact(StatusLine(*s)));
    }
    bool fed[2] = {false, false};
    for (const bk::VertexLog* log : p.logs) {
      executor::OutputStream stream =
          log->stream() == 2 ? executor::OutputStream::kStderr : executor::OutputStream::kStdout;
      std::unique_ptr<executor::RedactingStream>& s = v.streams[StreamIndex(stream)];
      if (!s) {
        Vertex* vp = &v;
        s = std::make_unique<executor::RedactingStream>(
            registry_, 3 * kMaxSecretBytes + 4,
            [this, vp, stream](std::string_view text) { ShowLog(*vp, stream, text); });
      }
      s->Feed(log->msg());
      fed[StreamIndex(stream)] = true;
    }
    // The end of a message is a pause: show what arrived but a possible beginning of a secret.
    for (size_t i = 0; i < 2; ++i) {
      if (fed[i] && v.streams[i]->withholding()) v.streams[i]->FlushIdle();
    }
    for (const bk::VertexWarning* w : p.warnings) {
      warnings_.push_back(registry_.Redact(w->short_()));
      ShowNote(v, "WARN: " + warnings_.back());
    }
    if (completes(p)) Complete(v, *p.update);
  }
}

Status BuildkitProgress::FeedTrace(const nlohmann::json& aux) {
  LK_ASSIGN_OR_RETURN(bk::StatusResponse status, DecodeBuildkitTrace(aux));
  Feed(status);
  return Status::OK();
}

void BuildkitProgress::Finish() {
  if (finished_) return;
  finished_ = true;
  for (Vertex* v : order_) {
    if (v->completed) continue;
    FinishStreams(*v);
    if (v->number == 0 && !v->pending.empty()) StartVertex(*v);
  }
}

build::BuildFailure BuildkitProgress::Failure(std::string_view dockerfile_text) const {
  if (failed_vertex_.empty()) return {};
  return LocateBuildkitStep(failed_vertex_, dockerfile_text);
}

}  // namespace latchkey::cli
