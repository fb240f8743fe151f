// `latchkey login REGISTRY [-u USER] [--password-stdin]` and `latchkey logout REGISTRY`:
// Docker's login and logout on Docker's config.json ($DOCKER_CONFIG/config.json, else
// ~/.docker/config.json) and its credential helpers (cli/registry_login.h), or in latchkey's
// encrypted store when the host's `registries:` entry takes its credential from the store
// provider (cli/registry_login_store.h). The login is verified against the registry before it
// is stored. Exit codes: 0 done, 1 failed
// (`error: <message>`), 2 usage.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "cli/cli_setup.h"
#include "cli/command_registry.h"
#include "cli/registry_login.h"
#include "cli/registry_login_store.h"
#include "cli/store_setup.h"
#include "registry/curl_transport.h"
#include "secure/docker_config.h"
#include "store/secret_io.h"
#include "store/store_cli.h"

namespace latchkey::cli {
namespace {

struct LoginFlags {
  std::string server, username;
  bool password_stdin = false;
};

std::string DockerConfigPath() {
  std::map<std::string, std::string> env;
  for (const char* name : {"DOCKER_CONFIG", "HOME"}) {
    if (const char* v = std::getenv(name)) env[name] = v;
  }
  return docker_config::DefaultPath(env);
}

// The registry host REGISTRY names, or a usage error.
Result<std::string> HostOf(const std::string& server) {
  std::string host = docker_config::NormalizeHost(server);
  if (host.empty() || host.find_first_of(" \t\r\n@") != std::string::npos) {
    return InvalidArgumentError("invalid registry \"" + server +
                                "\": want HOST[:PORT], e.g. registry.example.com:5000");
  }
  return host;
}

// --password-stdin: all of standard input, one trailing "\n" and then "\r" removed (as
// Docker does).
Result<SecretBuffer> PasswordFromStdin() {
  LK_ASSIGN_OR_RETURN(SecretBuffer raw, store::ReadSecretFd(STDIN_FILENO));
  size_t n = raw.size();
  if (n > 0 && raw.data()[n - 1] == '\n') --n;
  if (n > 0 && raw.data()[n - 1] == '\r') --n;
  return SecretBuffer::CopyOf({raw.data(), n});
}

// One line from `fd`, read a byte at a time (no buffering past the newline: the password
// prompt reads the same terminal next), without the newline and trailing blanks.
std::string ReadLine(int fd) {
  std::string line;
  char c;
  for (;;) {
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n') break;
    line.push_back(c);
  }
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

int RunLogin(const CommandContext& ctx, LoginFlags f) {
  if (Status st = InitProcess(ctx.global); !st.ok()) return Fail(st);
  auto host = HostOf(f.server);
  if (!host.ok()) return FailFlags(host.status());
  if (f.password_stdin && f.username.empty()) {
    return FailFlags(InvalidArgumentError("must provide --username with --password-stdin"));
  }
  SecretBuffer password;
  if (f.password_stdin) {
    auto p = PasswordFromStdin();
    if (!p.ok()) return Fail(p.status());
    password = std::move(*p);
  } else {
    if (!::isatty(STDIN_FILENO)) {
      return Fail(FailedPreconditionError(
          "cannot perform an interactive login from a non TTY device; pass the password with "
          "--password-stdin"));
    }
    if (f.username.empty()) {
      std::cout << "Username: " << std::flush;
      f.username = ReadLine(STDIN_FILENO);
    }
    if (f.username.empty()) return Fail(InvalidArgumentError("username required"));
    auto p = store::PromptPassphrase("Password: ", false);
    if (!p.ok()) return Fail(p.status());
    password = std::move(*p);
  }
  if (password.empty()) return Fail(InvalidArgumentError("password required"));

  auto config = LoadProcessConfig(ctx.global);
  if (!config.ok()) return Fail(config.status());
  auto transport = registry::CurlTransport::Create();
  if (!transport.ok()) return Fail(transport.status());
  // Refused before the registry is asked when latchkey could not store it.
  auto dest = LoginDestinationFor(*config, *host);
  if (!dest.ok()) return Fail(dest.status());
  TypedCredential credential(f.username, std::move(password));
  if (Status st = VerifyLogin(**transport, *config, *host, credential); !st.ok()) return Fail(st);
  if (dest->kind == LoginDestination::kEncryptedStore) {
    store::StoreLocation loc;
    if (Status st = ResolveStoreLocation(ctx.global, &loc); !st.ok()) return Fail(st);
    auto s = store::OpenStoreForCommand(loc);
    if (!s.ok()) return Fail(s.status());
    auto stored = StoreLoginInStore(**s, dest->ref, *host, credential);
    if (!stored.ok()) return Fail(stored.status());
    std::cout << "Stored in the encrypted store " << loc.store_path << " as " << *stored << "\n";
  } else if (Status st = StoreLogin(DockerConfigPath(), *host, credential, std::cerr); !st.ok()) {
    return Fail(st);
  }
  std::cout << "Login Succeeded\n";
  return kExitOk;
}

int RunLogout(const CommandContext& ctx, const std::string& server) {
  if (Status st = InitProcess(ctx.global); !st.ok()) return Fail(st);
  auto host = HostOf(server);
  if (!host.ok()) return FailFlags(host.status());
  auto config = LoadProcessConfig(ctx.global);
  if (!config.ok()) return Fail(config.status());
  auto dest = LoginDestinationFor(*config, *host);
  if (!dest.ok()) return Fail(dest.status());
  if (dest->kind == LoginDestination::kEncryptedStore) {
    store::StoreLocation loc;
    if (Status st = ResolveStoreLocation(ctx.global, &loc); !st.ok()) return Fail(st);
    auto s = store::OpenStoreForCommand(loc);
    if (!s.ok()) return Fail(s.status());
    if (Status st = LogoutFromStore(**s, dest->ref, *host, std::cout); !st.ok()) return Fail(st);
    return kExitOk;
  }
  if (Status st = Logout(DockerConfigPath(), *host, std::cout, std::cerr); !st.ok()) {
    return Fail(st);
  }
  return kExitOk;
}

CommandRegistrar login_reg("login", [](CLI::App& app, CommandContext& ctx) {
  auto f = std::make_shared<LoginFlags>();
  auto* login = app.add_subcommand(
      "login", "Log in to a registry (verified, then stored as Docker stores it)");
  login->add_option("registry", f->server, "Registry HOST[:PORT]")->required();
  login->add_option("-u,--username", f->username, "Username");
  login->add_flag("--password-stdin", f->password_stdin, "Take the password from stdin");
  login->callback([f, &ctx] { ctx.exit_code = RunLogin(ctx, *f); });
});

CommandRegistrar logout_reg("logout", [](CLI::App& app, CommandContext& ctx) {
  auto server = std::make_shared<std::string>();
  auto* logout = app.add_subcommand("logout", "Log out from a registry");
  logout->add_option("registry", *server, "Registry HOST[:PORT]")->required();
  logout->callback([server, &ctx] { ctx.exit_code = RunLogout(ctx, *server); });
});

}  // namespace
}  // namespace latchkey::cli
