// FormatDuration: milliseconds as configuration text ("1m30s", "500ms", "0s"), the form
// ParseDuration (config_yaml.h) reads back. On its own, without yaml-cpp, so that
// latchkey-provider-host (which prints deadlines in its error messages) links no YAML code.
//
// Thread-safety: a pure function.
#ifndef LATCHKEY_BROKER_DURATION_TEXT_H_
#define LATCHKEY_BROKER_DURATION_TEXT_H_

#include <chrono>
#include <string>

namespace latchkey {

// Formats milliseconds the way ParseDuration reads them back ("1m30s", "500ms", "0s").
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace latchkey

#endif  // LATCHKEY_BROKER_DURATION_TEXT_H_
