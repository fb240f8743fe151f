#include "broker/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>

namespace latchkey {
namespace {

class RedactingSink final : public spdlog::sinks::sink {
 public:
  RedactingSink(spdlog::sink_ptr inner, const SecretRegistry* registry)
      : inner_(std::move(inner)), registry_(registry) {}

  void log(const spdlog::details::log_msg& msg) override {
    std::string_view payload(msg.payload.data(), msg.payload.size());
    const SecretRegistry& reg = registry_ ? *registry_ : SecretRegistry::Global();
    std::string redacted = reg.Redact(payload);
    spdlog::details::log_msg copy(msg);
    copy.payload = spdlog::string_view_t(redacted.data(), redacted.size());
    inner_->log(copy);
  }
  void flush() override { inner_->flush(); }
  void set_pattern(const std::string& pattern) override { inner_->set_pattern(pattern); }
  void set_formatter(std::unique_ptr<spdlog::formatter> f) override {
    inner_->set_formatter(std::move(f));
  }

 private:
  spdlog::sink_ptr inner_;
  const SecretRegistry* registry_;
};

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    auto t = msg.time;
    auto secs = time_point_cast<seconds>(t);
    auto ms = duration_cast<milliseconds>(t - secs).count();
    std::time_t tt = system_clock::to_time_t(secs);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char stamp[80];
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    nlohmann::ordered_json j;
    j["time"] = stamp;
    auto level = spdlog::level::to_string_view(msg.level);
    j["level"] = std::string(level.data(), level.size());
    j["logger"] = std::string(msg.logger_name.data(), msg.logger_name.size());
    j["msg"] = std::string(msg.payload.data(), msg.payload.size());
    std::string line =
        j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

struct LoggingState {
  std::mutex mu;
  spdlog::sink_ptr sink;
  spdlog::level::level_enum level = spdlog::level::info;
};

LoggingState& State() {
  static auto* state = new LoggingState();  // never destroyed
  return *state;
}

spdlog::sink_ptr DefaultSinkLocked(LoggingState& s) {
  if (!s.sink) {
    auto inner = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    inner->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %n: %v");
    s.sink = MakeRedactingSink(inner, nullptr);
  }
  return s.sink;
}

}  // namespace

spdlog::sink_ptr MakeRedactingSink(spdlog::sink_ptr inner, const SecretRegistry* registry) {
  return std::make_shared<RedactingSink>(std::move(inner), registry);
}

std::unique_ptr<spdlog::formatter> MakeJsonFormatter() { return std::make_unique<JsonFormatter>(); }

Status InitLogging(const LogOptions& options) {
  if (options.format != "text" && options.format != "json") {
    return InvalidArgumentError("unknown log format \"" + options.format +
                                "\" (want text or json)");
  }
  spdlog::level::level_enum level;
  if (options.level == "debug") {
    level = spdlog::level::debug;
  } else if (options.level == "info") {
    level = spdlog::level::info;
  } else if (options.level == "warn") {
    level = spdlog::level::warn;
  } else if (options.level == "error") {
    level = spdlog::level::err;
  } else {
    return InvalidArgumentError("unknown log level \"" + options.level +
                                "\" (want debug, info, warn or error)");
  }
  spdlog::sink_ptr inner = options.sink;
  if (!inner) inner = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  if (options.format == "json") {
    inner->set_formatter(MakeJsonFormatter());
  } else {
    inner->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %n: %v");
  }
  auto& s = State();
  std::lock_guard lock(s.mu);
  s.sink = MakeRedactingSink(inner, options.registry);
  s.level = level;
  // Re-point loggers created before this call.
  spdlog::apply_all([&](std::shared_ptr<spdlog::logger> l) {
    l->sinks().clear();
    l->sinks().push_back(s.sink);
    l->set_level(level);
  });
  auto def = std::make_shared<spdlog::logger>("latchkey", s.sink);
  def->set_level(level);
  spdlog::set_default_logger(def);
  return Status::OK();
}

std::shared_ptr<spdlog::logger> GetLogger(const std::string& name) {
  auto& s = State();
  std::lock_guard lock(s.mu);
  if (auto existing = spdlog::get(name)) return existing;
  auto logger = std::make_shared<spdlog::logger>(name, DefaultSinkLocked(s));
  logger->set_level(s.level);
  spdlog::register_logger(logger);
  return logger;
}

}  // namespace latchkey
