// hello: the smallest useful latchkey provider. It serves one reference, "greeting", whose
// bytes come from the config key `greeting`; any other reference is NOT_FOUND.
//
//   providers:
//     hello: {plugin: hello, config: {greeting: "hi there"}}
//   RUN --mount=type=secret,id=g,src=hello:greeting cat /run/secrets/g
#include <memory>
#include <string>

#include "latchkey/provider.hpp"

namespace {

using latchkey::Result;
using latchkey::Status;
using latchkey::sdk::Config;
using latchkey::sdk::Host;
using latchkey::sdk::ListSink;
using latchkey::sdk::Request;
using latchkey::sdk::Response;
using latchkey::sdk::SecretBytes;

class HelloProvider {
 public:
  static constexpr const char* kName = "hello";
  static constexpr const char* kVersion = "1.0.0";
  static constexpr lk_config_key kConfig[] = {
      {"greeting", LK_CONFIG_STRING, LK_CONFIG_REQUIRED | LK_CONFIG_SECRET,
       "the bytes served for the reference \"greeting\"", nullptr},
  };

  // Keeps the greeting in host secure memory for the instance's lifetime.
  static Result<std::unique_ptr<HelloProvider>> Create(const Config& config, Host& host) {
    LK_ASSIGN_OR_RETURN(SecretBytes greeting, config.GetSecret("greeting", host));
    return std::unique_ptr<HelloProvider>(new HelloProvider(std::move(greeting)));
  }

  // Thread-safe: reads only immutable state.
  Result<Response> Fetch(const Request& req) {
    if (req.ref != "greeting") {
      return latchkey::NotFoundError("provider hello: no reference \"" + std::string(req.ref) +
                                     "\" (this provider serves only \"greeting\")");
    }
    Response resp;
    LK_ASSIGN_OR_RETURN(resp.value, req.host.CopySecret(greeting_.data(), greeting_.size()));
    return resp;
  }

  Status List(const ListSink& sink) {
    sink.Emit("greeting");
    return Status();
  }

  Status Health() { return Status(); }

 private:
  explicit HelloProvider(SecretBytes greeting) : greeting_(std::move(greeting)) {}

  const SecretBytes greeting_;
};

}  // namespace

LATCHKEY_DEFINE_PROVIDER(HelloProvider)
