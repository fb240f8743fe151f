#include "plugins/env/env_provider.h"

#include <unistd.h>

#include <cstring>
#include <string>
#include <utility>

extern char** environ;

namespace latchkey::env_provider {

namespace {

// Copies the process environment into one host block: NAME=VALUE\0... Entries without '='
// are not variables and are left out.
Result<sdk::SecretBytes> SnapshotEnviron(const sdk::Host& host) {
  size_t total = 0;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (std::strchr(*e, '=') != nullptr) total += std::strlen(*e) + 1;
  }
  LK_ASSIGN_OR_RETURN(sdk::SecretBytes block, host.AllocSecret(total));
  size_t at = 0;
  for (char** e = environ; e != nullptr && *e != nullptr && at < total; ++e) {
    if (std::strchr(*e, '=') == nullptr) continue;
    size_t n = std::strlen(*e) + 1;
    if (n > total - at) break;  // the environment changed under us; keep what fits
    std::memcpy(block.data() + at, *e, n);
    at += n;
  }
  return block;
}

}  // namespace

Result<std::unique_ptr<EnvProvider>> EnvProvider::Create(const sdk::Config& config,
                                                         sdk::Host& host) {
  sdk::SecretBytes snapshot;
  if (config.Has("environment")) {
    LK_ASSIGN_OR_RETURN(snapshot, config.GetSecret("environment", host));
  } else {
    LK_ASSIGN_OR_RETURN(snapshot, SnapshotEnviron(host));
  }
  std::unique_ptr<EnvProvider> self(new EnvProvider(std::move(snapshot)));
  LK_RETURN_IF_ERROR(self->Index());
  return self;
}

Status EnvProvider::Index() {
  const char* base = reinterpret_cast<const char*>(snapshot_.data());
  size_t size = snapshot_.size();
  size_t entry = 0;
  size_t pos = 0;
  while (pos < size) {
    const void* nul = std::memchr(base + pos, '\0', size - pos);
    size_t end = nul == nullptr ? size : static_cast<size_t>(static_cast<const char*>(nul) - base);
    if (end > pos) {  // empty entries (a trailing NUL, "\0\0") are skipped
      ++entry;
      std::string_view line(base + pos, end - pos);
      size_t eq = line.find('=');
      if (eq == std::string_view::npos) {
        return InvalidArgumentError(
            "provider env: config key \"environment\": entry " + std::to_string(entry) +
            " has no \"=\" (expected NAME=VALUE entries separated by NUL bytes)");
      }
      if (eq == 0) {
        return InvalidArgumentError("provider env: config key \"environment\": entry " +
                                    std::to_string(entry) + " has an empty name");
      }
      vars_.emplace(line.substr(0, eq), Span{pos + eq + 1, line.size() - eq - 1});
    }
    pos = end + 1;
  }
  return Status::OK();
}

Result<sdk::Response> EnvProvider::Fetch(const sdk::Request& req) {
  std::string id(req.secret_id.empty() ? req.ref : req.secret_id);
  if (req.ref.empty()) {
    return InvalidArgumentError("secret " + id +
                                ": the env provider needs a variable name as the reference");
  }
  auto it = vars_.find(req.ref);
  if (it == vars_.end()) {
    return NotFoundError("secret " + id + ": environment variable " + std::string(req.ref) +
                         " is not set");
  }
  if (it->second.len > kMaxSecretSize) {
    return InvalidArgumentError("secret " + id + " too big. max size 500KiB");
  }
  sdk::Response response;
  LK_ASSIGN_OR_RETURN(response.value,
                      req.host.CopySecret(snapshot_.data() + it->second.offset, it->second.len));
  return response;
}

Status EnvProvider::List(const sdk::ListSink& sink) {
  for (const auto& [name, span] : vars_) sink.Emit(std::string(name));
  return Status::OK();
}

}  // namespace latchkey::env_provider

LATCHKEY_DEFINE_PROVIDER(latchkey::env_provider::EnvProvider)
