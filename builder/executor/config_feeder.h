// ConfigFeeder: the bundle's config.json as a FIFO. runc reads its config once, from the path
// <bundle>/config.json; here that path is a named pipe (0600) and a thread writes the config
// into it -- env= secrets spliced in from SecretBuffers -- when runc opens it. So the config,
// and the env secrets in it, never exist as a file, not even on the step's tmpfs: a build
// killed at any point leaves no config.json to read.
//
// Thread-safety: Start and Finish from one thread (the step's); the writer thread is private.
#ifndef LATCHKEY_BUILDER_EXECUTOR_CONFIG_FEEDER_H_
#define LATCHKEY_BUILDER_EXECUTOR_CONFIG_FEEDER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "builder/executor/oci_config.h"
#include "latchkey/status.h"

namespace latchkey::executor {

class ConfigFeeder {
 public:
  ConfigFeeder() = default;
  ConfigFeeder(const ConfigFeeder&) = delete;
  ConfigFeeder& operator=(const ConfigFeeder&) = delete;
  // Finish().
  ~ConfigFeeder();

  // Makes the FIFO at `path` (must not exist) and starts the writer, which keeps references to
  // the secret values until it has written them. Errors name the path.
  Status Start(const std::string& path, nlohmann::json config, std::vector<SecretEnv> secret_env);

  // Ends the writer: when the runtime never read the config (it failed first), the config is
  // read here and discarded (the buffer is wiped). Returns the writer's error, if any (a
  // reader that stopped early is not one). Idempotent.
  Status Finish();

 private:
  std::string path_;
  std::thread writer_;
  std::atomic<bool> done_{false};
  std::shared_ptr<Status> result_;
};

}  // namespace latchkey::executor

#endif  // LATCHKEY_BUILDER_EXECUTOR_CONFIG_FEEDER_H_
