// The operational log: spdlog to stderr, human-readable or JSON, with the redactor in front of
// every sink so that no active secret value (raw, base64 or hex) is ever written.
//
// Thread-safety: InitLogging is called once from main before threads start; GetLogger and the
// loggers it returns are thread-safe.
#ifndef LATCHKEY_BROKER_LOGGING_H_
#define LATCHKEY_BROKER_LOGGING_H_

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "latchkey/status.h"
#include "secure/redactor.h"

namespace latchkey {

struct LogOptions {
  std::string format = "text";  // "text" or "json"
  std::string level = "info";   // "debug", "info", "warn", "error"
  // Where lines go; nullptr means stderr. Tests pass an ostream sink to capture output.
  spdlog::sink_ptr sink;
  // Whose values are masked; nullptr means SecretRegistry::Global().
  const SecretRegistry* registry = nullptr;
};

// Installs the redacting sink as the default for every latchkey logger. INVALID_ARGUMENT for
// an unknown format or level ("unknown log format \"xml\" (want text or json)").
Status InitLogging(const LogOptions& options);

// The logger named `name` ("broker", "plugin.file", ...), created on first use with the sink
// InitLogging installed (or a redacting stderr sink if InitLogging was never called).
std::shared_ptr<spdlog::logger> GetLogger(const std::string& name);

// A sink that redacts every message through `registry` before handing it to `inner`.
spdlog::sink_ptr MakeRedactingSink(spdlog::sink_ptr inner, const SecretRegistry* registry);

// A formatter that writes one JSON object per line:
// {"time":"2026-11-27T14:40:02.123Z","level":"info","logger":"broker","msg":"..."}
std::unique_ptr<spdlog::formatter> MakeJsonFormatter();

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_LOGGING_H_
