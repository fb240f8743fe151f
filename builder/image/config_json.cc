#include "builder/image/config_json.h"

namespace latchkey::image {

using frontend::ImageConfig;
using nlohmann::json;

std::string CanonicalJson(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

json StringSet(const std::set<std::string>& s) {
  json o = json::object();
  for (const auto& k : s) o[k] = json::object();
  return o;
}

}  // namespace

json ConfigToJsonValue(const ImageConfig& c) {
  json rc = json::object();
  if (!c.user.empty()) rc["User"] = c.user;
  if (!c.exposed_ports.empty()) rc["ExposedPorts"] = StringSet(c.exposed_ports);
  if (!c.env.empty()) rc["Env"] = c.env;
  if (c.entrypoint) rc["Entrypoint"] = *c.entrypoint;
  if (c.cmd) rc["Cmd"] = *c.cmd;
  if (!c.volumes.empty()) rc["Volumes"] = StringSet(c.volumes);
  if (!c.working_dir.empty()) rc["WorkingDir"] = c.working_dir;
  if (!c.labels.empty()) rc["Labels"] = c.labels;
  if (!c.stop_signal.empty()) rc["StopSignal"] = c.stop_signal;
  if (c.shell) rc["Shell"] = *c.shell;
  if (c.healthcheck) {
    const auto& h = *c.healthcheck;
    json hj = json::object();
    hj["Test"] = h.test;
    if (h.interval_ns) hj["Interval"] = h.interval_ns;
    if (h.timeout_ns) hj["Timeout"] = h.timeout_ns;
    if (h.start_period_ns) hj["StartPeriod"] = h.start_period_ns;
    if (h.start_interval_ns) hj["StartInterval"] = h.start_interval_ns;
    if (h.retries) hj["Retries"] = h.retries;
    rc["Healthcheck"] = hj;
  }
  if (!c.on_build.empty()) rc["OnBuild"] = c.on_build;

  json j = json::object();
  j["architecture"] = c.architecture;
  j["os"] = c.os;
  if (!c.variant.empty()) j["variant"] = c.variant;
  if (!c.created.empty()) j["created"] = c.created;
  if (!c.author.empty()) j["author"] = c.author;
  j["config"] = rc;
  j["rootfs"] = {{"type", "layers"}, {"diff_ids", c.diff_ids}};
  if (!c.history.empty()) {
    json hist = json::array();
    for (const auto& h : c.history) {
      json e = json::object();
      if (!h.created.empty()) e["created"] = h.created;
      if (!h.created_by.empty()) e["created_by"] = h.created_by;
      if (!h.comment.empty()) e["comment"] = h.comment;
      if (h.empty_layer) e["empty_layer"] = true;
      hist.push_back(e);
    }
    j["history"] = hist;
  }
  return j;
}

std::string ConfigToJson(const ImageConfig& config) {
  return CanonicalJson(ConfigToJsonValue(config));
}

Result<json> ParseJson(std::string_view text, std::string_view what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return InvalidArgumentError(std::string(what) + ": invalid JSON");
  }
  return j;
}

namespace {

class Reader {
 public:
  Status String(const json& o, const char* key, const std::string& path, std::string* out) {
    auto it = o.find(key);
    if (it == o.end() || it->is_null()) return Status::OK();
    if (!it->is_string()) return TypeError(path + key, "a string");
    *out = it->get<std::string>();
    return Status::OK();
  }
  Status Strings(const json& o, const char* key, const std::string& path,
                 std::optional<std::vector<std::string>>* out) {
    auto it = o.find(key);
    if (it == o.end() || it->is_null()) return Status::OK();
    if (!it->is_array()) return TypeError(path + key, "an array of strings");
    std::vector<std::string> v;
    for (const auto& s : *it) {
      if (!s.is_string()) return TypeError(path + key, "an array of strings");
      v.push_back(s.get<std::string>());
    }
    *out = std::move(v);
    return Status::OK();
  }
  Status Set(const json& o, const char* key, const std::string& path, std::set<std::string>* out) {
    auto it = o.find(key);
    if (it == o.end() || it->is_null()) return Status::OK();
    if (!it->is_object()) return TypeError(path + key, "an object");
    for (auto kv = it->begin(); kv != it->end(); ++kv) out->insert(kv.key());
    return Status::OK();
  }
  Status Int(const json& o, const char* key, const std::string& path, int64_t* out) {
    auto it = o.find(key);
    if (it == o.end() || it->is_null()) return Status::OK();
    if (!it->is_number_integer()) return TypeError(path + key, "an integer");
    *out = it->get<int64_t>();
    return Status::OK();
  }
  static Status TypeError(const std::string& field, const char* want) {
    return InvalidArgumentError("image config: field \"" + field + "\" must be " + want);
  }
};

}  // namespace

Result<ImageConfig> ConfigFromJson(std::string_view text) {
  LK_ASSIGN_OR_RETURN(json j, ParseJson(text, "image config"));
  if (!j.is_object()) return InvalidArgumentError("image config: not a JSON object");
  ImageConfig c;
  c.os.clear();
  c.architecture.clear();
  Reader r;
  LK_RETURN_IF_ERROR(r.String(j, "architecture", "", &c.architecture));
  LK_RETURN_IF_ERROR(r.String(j, "os", "", &c.os));
  LK_RETURN_IF_ERROR(r.String(j, "variant", "", &c.variant));
  LK_RETURN_IF_ERROR(r.String(j, "created", "", &c.created));
  LK_RETURN_IF_ERROR(r.String(j, "author", "", &c.author));
  if (auto it = j.find("config"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return Reader::TypeError("config", "an object");
    const json& rc = *it;
    const std::string p = "config.";
    std::optional<std::vector<std::string>> env, onbuild;
    LK_RETURN_IF_ERROR(r.String(rc, "User", p, &c.user));
    LK_RETURN_IF_ERROR(r.Set(rc, "ExposedPorts", p, &c.exposed_ports));
    LK_RETURN_IF_ERROR(r.Strings(rc, "Env", p, &env));
    LK_RETURN_IF_ERROR(r.Strings(rc, "Entrypoint", p, &c.entrypoint));
    LK_RETURN_IF_ERROR(r.Strings(rc, "Cmd", p, &c.cmd));
    LK_RETURN_IF_ERROR(r.Set(rc, "Volumes", p, &c.volumes));
    LK_RETURN_IF_ERROR(r.String(rc, "WorkingDir", p, &c.working_dir));
    LK_RETURN_IF_ERROR(r.String(rc, "StopSignal", p, &c.stop_signal));
    LK_RETURN_IF_ERROR(r.Strings(rc, "Shell", p, &c.shell));
    LK_RETURN_IF_ERROR(r.Strings(rc, "OnBuild", p, &onbuild));
    if (env) c.env = std::move(*env);
    if (onbuild) c.on_build = std::move(*onbuild);
    if (auto lit = rc.find("Labels"); lit != rc.end() && !lit->is_null()) {
      if (!lit->is_object()) return Reader::TypeError("config.Labels", "an object of strings");
      for (auto kv = lit->begin(); kv != lit->end(); ++kv) {
        if (!kv->is_string()) return Reader::TypeError("config.Labels", "an object of strings");
        c.labels[kv.key()] = kv->get<std::string>();
      }
    }
    if (auto hit = rc.find("Healthcheck"); hit != rc.end() && !hit->is_null()) {
      if (!hit->is_object()) return Reader::TypeError("config.Healthcheck", "an object");
      frontend::HealthConfig h;
      std::optional<std::vector<std::string>> test;
      const std::string hp = "config.Healthcheck.";
      LK_RETURN_IF_ERROR(r.Strings(*hit, "Test", hp, &test));
      if (test) h.test = std::move(*test);
      int64_t retries = 0;
      LK_RETURN_IF_ERROR(r.Int(*hit, "Interval", hp, &h.interval_ns));
      LK_RETURN_IF_ERROR(r.Int(*hit, "Timeout", hp, &h.timeout_ns));
      LK_RETURN_IF_ERROR(r.Int(*hit, "StartPeriod", hp, &h.start_period_ns));
      LK_RETURN_IF_ERROR(r.Int(*hit, "StartInterval", hp, &h.start_interval_ns));
      LK_RETURN_IF_ERROR(r.Int(*hit, "Retries", hp, &retries));
      h.retries = static_cast<int32_t>(retries);
      c.healthcheck = std::move(h);
    }
  }
  if (auto it = j.find("rootfs"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return Reader::TypeError("rootfs", "an object");
    std::optional<std::vector<std::string>> ids;
    LK_RETURN_IF_ERROR(r.Strings(*it, "diff_ids", "rootfs.", &ids));
    if (ids) c.diff_ids = std::move(*ids);
  }
  if (auto it = j.find("history"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return Reader::TypeError("history", "an array");
    for (const auto& e : *it) {
      if (!e.is_object()) return Reader::TypeError("history", "an array of objects");
      frontend::HistoryEntry h;
      LK_RETURN_IF_ERROR(r.String(e, "created", "history.", &h.created));
      LK_RETURN_IF_ERROR(r.String(e, "created_by", "history.", &h.created_by));
      LK_RETURN_IF_ERROR(r.String(e, "comment", "history.", &h.comment));
      if (auto el = e.find("empty_layer"); el != e.end() && el->is_boolean()) {
        h.empty_layer = el->get<bool>();
      }
      c.history.push_back(std::move(h));
    }
  }
  return c;
}

}  // namespace latchkey::image
