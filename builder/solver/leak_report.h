// The leak guard's refusal message: every finding, grouped by secret, in one compact sentence.
//
//   secret "x" leaked into layer 3 (step 3, Dockerfile:3) at /x; the layer was discarded (if
//   this is intended, pass --allow-secret-leak x)
//   secrets "x" and "y" leaked into layer 3 (step 3, Dockerfile:3): "x" at /a, /b; "y" at /c;
//   the layer was discarded (if this is intended, pass --allow-secret-leak x
//   --allow-secret-leak y)
//   secrets "x" and "y" leaked: "x" into the image config (its history, labels or env) and the
//   build output; "y" into the build output; nothing was exported (...)
//
// At most kMaxLeakPlaces places are listed per secret ("/a, /b, /c, /d, /e and 3 more").
// Secrets and places keep the order of their first finding; repeated places are listed once.
//
// Thread-safety: pure function.
#ifndef LATCHKEY_BUILDER_SOLVER_LEAK_REPORT_H_
#define LATCHKEY_BUILDER_SOLVER_LEAK_REPORT_H_

#include <cstddef>
#include <string>
#include <vector>

namespace latchkey::build {

inline constexpr size_t kMaxLeakPlaces = 5;

struct LeakPlace {
  std::string secret_id;
  std::string place;  // "/x" inside a container, or "the build output" with no container
};

// `container` ("layer 3 (step 3, Dockerfile:3)", "cache mount /cache (step 2, Dockerfile:2)")
// puts the places after " at "; empty, the places are what the secret leaked " into ".
// `consequence`: "the layer was discarded", "nothing was exported", ... Precondition: `places`
// is not empty.
std::string FormatLeakError(const std::vector<LeakPlace>& places, const std::string& container,
                            const std::string& consequence);

}  // namespace latchkey::build

#endif  // LATCHKEY_BUILDER_SOLVER_LEAK_REPORT_H_
