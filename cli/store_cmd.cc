// `latchkey store init|rekey|status`: the encrypted secret store itself
// (store/store.h; docs/store-format.md). Exit codes: 0 ok, 1 failed, 2 usage.
//
//   store init    creates the store, locked by a new unlock key (written to
//                 --unlock-key-file, mode 0600, and printed once) or by a passphrase
//                 (--passphrase to be prompted, or --passphrase-fd N).
//   store rekey   replaces the key-encryption key (--new-unlock-key-file PATH,
//                 --new-passphrase, --new-passphrase-fd N) or the data key (--data-key).
//   store status  shows the store's key metadata and counts (never a key).
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "broker/config_env.h"
#include "broker/state_dir.h"
#include "cli/command_registry.h"
#include "cli/store_setup.h"
#include "secure/hardening.h"
#include "store/store.h"
#include "store/store_cli.h"

extern char** environ;

namespace latchkey::cli {
namespace {

using store::StoreLocation;

struct StoreFlags {
  const GlobalOptions* global = nullptr;  // --config: where the store is (`store:`)
  StoreLocation loc;
  bool passphrase = false;  // init: prompt for a passphrase
  std::string new_unlock_key_file;
  int new_passphrase_fd = -1;
  bool new_passphrase = false;
  bool data_key = false;
  std::string format = "table";
};

// Prints a new unlock key once, in the style of `docker swarm init --autolock`.
void PrintUnlockKey(const SecretBuffer& text, const std::string& file) {
  std::cout << "To unlock the store elsewhere, provide the following key (it is shown only\n"
               "once; it is also in "
            << file << ", mode 0600):\n\n    ";
  std::cout.flush();
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputs("\n\nKeep it in a password manager: without it the secrets cannot be read.\n", stdout);
  std::fflush(stdout);
}

int RunInit(StoreFlags& f) {
  Status st = ResolveStoreLocation(*f.global, &f.loc);
  if (!st.ok()) return Fail(st);
  auto key = store::NewKeySource(f.loc.passphrase_fd, f.passphrase, f.loc.unlock_key_file);
  if (!key.ok()) return Fail(key.status());
  SecretBuffer text;
  auto s = store::Store::Init(f.loc.store_path, *key, &text);
  if (!s.ok()) return Fail(s.status());
  std::cout << "Initialised store " << f.loc.store_path << " (locked by "
            << (key->kind() == store::KeyKind::kPassphrase
                    ? "a passphrase"
                    : "the unlock key file " + f.loc.unlock_key_file)
            << ").\n";
  if (key->kind() == store::KeyKind::kUnlockKey) PrintUnlockKey(text, f.loc.unlock_key_file);
  return kExitOk;
}

int RunRekey(StoreFlags& f) {
  int chosen = (f.new_unlock_key_file.empty() ? 0 : 1) + (f.new_passphrase_fd >= 0 ? 1 : 0) +
               (f.new_passphrase ? 1 : 0) + (f.data_key ? 1 : 0);
  if (chosen != 1) {
    return Usage(
        "store rekey needs exactly one of --new-unlock-key-file PATH, --new-passphrase, "
        "--new-passphrase-fd N, --data-key");
  }
  Status st = ResolveStoreLocation(*f.global, &f.loc);
  if (!st.ok()) return Fail(st);
  auto s = store::OpenStoreForCommand(f.loc);
  if (!s.ok()) return Fail(s.status());
  if (f.data_key) {
    st = (*s)->RekeyData();
    if (!st.ok()) return Fail(st);
    auto status = (*s)->GetStatus();
    if (!status.ok()) return Fail(status.status());
    std::cout << "Re-encrypted " << status->versions << " secret versions of store "
              << f.loc.store_path << " under data key " << status->data_key_id << ".\n";
    return kExitOk;
  }
  auto key = store::NewKeySource(f.new_passphrase_fd, f.new_passphrase, f.new_unlock_key_file);
  if (!key.ok()) return Fail(key.status());
  SecretBuffer text;
  st = (*s)->RekeyKek(*key, &text);
  if (!st.ok()) return Fail(st);
  std::cout << "Store " << f.loc.store_path << " is now locked by "
            << (key->kind() == store::KeyKind::kPassphrase
                    ? std::string("a passphrase")
                    : "the unlock key file " + f.new_unlock_key_file)
            << "; the previous key no longer unlocks it.\n";
  if (key->kind() == store::KeyKind::kUnlockKey) PrintUnlockKey(text, f.new_unlock_key_file);
  return kExitOk;
}

int RunStatus(StoreFlags& f) {
  Status st = ResolveStoreLocation(*f.global, &f.loc);
  if (!st.ok()) return Fail(st);
  auto s = store::OpenStoreForCommand(f.loc);
  if (!s.ok()) return Fail(s.status());
  auto status = (*s)->GetStatus();
  if (!status.ok()) return Fail(status.status());
  const store::StoreStatus& ss = *status;
  nlohmann::json j = {{"path", ss.path},
                      {"store_id", ss.store_id},
                      {"schema_version", ss.schema_version},
                      {"key", store::KeyKindName(ss.key_kind)},
                      {"data_key_id", ss.data_key_id},
                      {"created_at", store::FormatTime(ss.created_at_ms)},
                      {"secrets", ss.secrets},
                      {"versions", ss.versions}};
  if (ss.key_kind == store::KeyKind::kPassphrase) {
    j["argon2id"] = {{"opslimit", ss.pwhash.opslimit}, {"memlimit", ss.pwhash.memlimit}};
  }
  if (f.format == "json") {
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "Store:          " << ss.path << "\n"
            << "Store ID:       " << ss.store_id << "\n"
            << "Schema version: " << ss.schema_version << "\n"
            << "Locked by:      " << store::KeyKindName(ss.key_kind);
  if (ss.key_kind == store::KeyKind::kPassphrase) {
    std::cout << " (Argon2id, opslimit " << ss.pwhash.opslimit << ", memlimit "
              << ss.pwhash.memlimit << " bytes)";
  }
  std::cout << "\n"
            << "Data key ID:    " << ss.data_key_id << "\n"
            << "Created:        " << store::FormatTime(ss.created_at_ms) << "\n"
            << "Secrets:        " << ss.secrets << " (" << ss.versions << " versions)\n"
            << "Health:         ok (key check value verified)\n";
  return kExitOk;
}

void Register(CLI::App& app, CommandContext& ctx) {
  auto f = std::make_shared<StoreFlags>();
  f->global = &ctx.global;
  auto* store = AddCommandGroup(app, "store", "Create, rekey and inspect the encrypted store");

  auto* init = store->add_subcommand(
      "init", "Create the store, locked by a new unlock key (printed once) or a passphrase");
  AddStoreOptions(init, &f->loc);
  init->add_flag("--passphrase", f->passphrase,
                 "Lock the store with a passphrase prompted on the terminal")
      ->excludes("--passphrase-fd")
      ->excludes("--unlock-key-file");
  OnRunHardened(init, ctx, [f] { return RunInit(*f); });

  auto* rekey = store->add_subcommand(
      "rekey", "Replace the key-encryption key or the data key (re-encrypting every secret)");
  AddStoreOptions(rekey, &f->loc);
  rekey->add_option("--new-unlock-key-file", f->new_unlock_key_file,
                    "Lock with a new unlock key written to PATH (printed once)");
  rekey->add_flag("--new-passphrase", f->new_passphrase,
                  "Lock with a new passphrase prompted on the terminal");
  rekey
      ->add_option("--new-passphrase-fd", f->new_passphrase_fd,
                   "Lock with a new passphrase read from this file descriptor")
      ->check(CLI::NonNegativeNumber);
  rekey->add_flag("--data-key", f->data_key,
                  "Replace the data key and re-encrypt every version in one transaction");
  OnRunHardened(rekey, ctx, [f] { return RunRekey(*f); });

  auto* status = store->add_subcommand("status", "Show the store's metadata (never a key)");
  AddStoreOptions(status, &f->loc);
  AddFormatOption(status, &f->format);
  OnRunHardened(status, ctx, [f] { return RunStatus(*f); });
}

CommandRegistrar reg("store", Register);

}  // namespace
}  // namespace latchkey::cli
