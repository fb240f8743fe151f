// `latchkey secret create|ls|inspect|rotate|rm`: secrets in the encrypted store
// (store/store.h; docs/store-format.md). Listing and inspecting never print data.
// Exit codes: 0 ok, 1 the operation failed (`error: <message>` on stderr), 2 usage.
//
// Common options on every subcommand: --store PATH (default <state_dir>/store/secrets.db),
// --unlock-key-file PATH (default <state_dir>/store/unlock.key) or --passphrase-fd N. A
// passphrase-locked store without --passphrase-fd prompts on the terminal (no echo).
// Secret data is read from FILE or standard input ("-" or no FILE) straight into secure
// memory; reading from a terminal does not echo.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker/config_env.h"
#include "broker/state_dir.h"
#include "cli/command_registry.h"
#include "cli/secret_input.h"
#include "cli/store_setup.h"
#include "secure/hardening.h"
#include "store/store.h"
#include "store/store_cli.h"

extern char** environ;

namespace latchkey::cli {
namespace {

using store::StoreLocation;

struct SecretFlags {
  const GlobalOptions* global = nullptr;  // --config: where the store is (`store:`)
  StoreLocation loc;
  std::string name, file;
  std::vector<std::string> names, labels, filters;
  std::string format = "table";
};

Result<std::unique_ptr<store::Store>> Open(SecretFlags& f) {
  LK_RETURN_IF_ERROR(ResolveStoreLocation(*f.global, &f.loc));
  return store::OpenStoreForCommand(f.loc);
}

// What `create` and `rotate` need, in the order they check it: a valid NAME, the data (read
// before the store is opened), the open store.
struct SecretWrite {
  SecretBuffer data;
  std::unique_ptr<store::Store> store;
};

Result<SecretWrite> PrepareWrite(SecretFlags& f) {
  LK_RETURN_IF_ERROR(store::ValidateName(f.name));
  LK_ASSIGN_OR_RETURN(SecretBuffer data, ReadSecretData(f.file, STDIN_FILENO, std::cerr));
  LK_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> s, Open(f));
  return SecretWrite{std::move(data), std::move(s)};
}

nlohmann::json LabelsJson(const store::Labels& labels) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : labels) j[k] = v;
  return j;
}

int RunCreate(SecretFlags& f) {
  store::Labels labels;
  for (const std::string& l : f.labels) {
    Status st = store::ParseLabel(l, &labels);
    if (!st.ok()) return Usage(st.message());
  }
  auto w = PrepareWrite(f);
  if (!w.ok()) return Fail(w.status());
  auto info = w->store->Create(f.name, w->data.bytes(), labels);
  if (!info.ok()) return Fail(info.status());
  std::cout << info->name << "\n";
  return kExitOk;
}

int RunRotate(SecretFlags& f) {
  auto w = PrepareWrite(f);
  if (!w.ok()) return Fail(w.status());
  auto v = w->store->Rotate(f.name, w->data.bytes());
  if (!v.ok()) return Fail(v.status());
  std::cout << f.name << "@" << *v << "\n";
  return kExitOk;
}

int RunList(SecretFlags& f) {
  store::ListFilter filter;
  for (const std::string& spec : f.filters) {
    size_t eq = spec.find('=');
    std::string key = spec.substr(0, eq);
    if (eq == std::string::npos || (key != "name" && key != "label") || eq + 1 == spec.size()) {
      return Usage("invalid filter \"" + spec +
                   "\": expected name=<prefix>, label=<key> or label=<key>=<value>");
    }
    std::string value = spec.substr(eq + 1);
    if (key == "name") {
      filter.name_prefixes.push_back(value);
    } else {
      size_t eq2 = value.find('=');
      if (eq2 == std::string::npos) {
        filter.labels.push_back({value, std::nullopt});
      } else {
        filter.labels.push_back({value.substr(0, eq2), value.substr(eq2 + 1)});
      }
    }
  }
  auto s = Open(f);
  if (!s.ok()) return Fail(s.status());
  auto list = (*s)->List(filter);
  if (!list.ok()) return Fail(list.status());
  if (f.format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const store::SecretInfo& i : *list) {
      out.push_back({{"name", i.name},
                     {"version", i.latest_version},
                     {"created_at", store::FormatTime(i.created_at_ms)},
                     {"updated_at", store::FormatTime(i.updated_at_ms)},
                     {"labels", LabelsJson(i.labels)}});
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  size_t width = 4;
  for (const store::SecretInfo& i : *list) width = std::max(width, i.name.size());
  std::printf("%-*s  %-7s  %-20s  %-20s  %s\n", static_cast<int>(width), "NAME", "VERSION",
              "CREATED", "UPDATED", "LABELS");
  for (const store::SecretInfo& i : *list) {
    std::string labels;
    for (const auto& [k, v] : i.labels) labels += (labels.empty() ? "" : ",") + k + "=" + v;
    std::printf("%-*s  %-7llu  %-20s  %-20s  %s\n", static_cast<int>(width), i.name.c_str(),
                static_cast<unsigned long long>(i.latest_version),
                store::FormatTime(i.created_at_ms).c_str(),
                store::FormatTime(i.updated_at_ms).c_str(), labels.c_str());
  }
  return kExitOk;
}

int RunInspect(SecretFlags& f) {
  std::vector<store::Reference> refs;
  for (const std::string& n : f.names) {
    auto r = store::ParseReference(n);
    if (!r.ok()) return Fail(r.status());
    refs.push_back(*r);
  }
  auto s = Open(f);
  if (!s.ok()) return Fail(s.status());
  nlohmann::json out = nlohmann::json::array();
  int rc = kExitOk;
  for (const store::Reference& r : refs) {
    auto info = (*s)->Inspect(r);
    if (!info.ok()) {
      rc = Fail(info.status());
      continue;
    }
    nlohmann::json versions = nlohmann::json::array();
    for (const store::VersionInfo& v : info->versions) {
      versions.push_back({{"version", v.version},
                          {"created_at", store::FormatTime(v.created_at_ms)},
                          {"size", v.size}});
    }
    out.push_back({{"name", info->name},
                   {"latest_version", info->latest_version},
                   {"created_at", store::FormatTime(info->created_at_ms)},
                   {"updated_at", store::FormatTime(info->updated_at_ms)},
                   {"labels", LabelsJson(info->labels)},
                   {"versions", versions}});
  }
  std::cout << out.dump(2) << "\n";
  return rc;
}

int RunRemove(SecretFlags& f) {
  auto s = Open(f);
  if (!s.ok()) return Fail(s.status());
  int rc = kExitOk;
  for (const std::string& n : f.names) {
    Status st = (*s)->Remove(n);
    if (!st.ok()) {
      rc = Fail(st);
      continue;
    }
    std::cout << n << "\n";
  }
  return rc;
}

// NAME and FILE, the operands of the subcommands that take secret data.
void AddDataOperands(CLI::App* sub, SecretFlags* f) {
  sub->add_option("NAME", f->name, "Secret name")->required();
  sub->add_option("FILE", f->file, "File to read the data from, or - for standard input");
}

void Register(CLI::App& app, CommandContext& ctx) {
  auto f = std::make_shared<SecretFlags>();
  f->global = &ctx.global;
  auto* secret = AddCommandGroup(app, "secret", "Manage secrets in the encrypted store");

  auto* create = secret->add_subcommand("create", "Create a secret from a file or standard input");
  AddDataOperands(create, f.get());
  create->add_option("--label,-l", f->labels, "Secret label (key=value), repeatable");
  AddStoreOptions(create, &f->loc);
  OnRunHardened(create, ctx, [f] { return RunCreate(*f); });

  auto* ls = secret->add_subcommand("ls", "List secrets (never their data)");
  ls->alias("list");
  ls->add_option("--filter,-f", f->filters, "name=<prefix>, label=<key> or label=<key>=<value>");
  AddFormatOption(ls, &f->format);
  AddStoreOptions(ls, &f->loc);
  OnRunHardened(ls, ctx, [f] { return RunList(*f); });

  auto* inspect = secret->add_subcommand("inspect", "Show a secret's metadata (never its data)");
  inspect->add_option("NAME", f->names, "NAME or NAME@VERSION, repeatable")->required();
  AddStoreOptions(inspect, &f->loc);
  OnRunHardened(inspect, ctx, [f] { return RunInspect(*f); });

  auto* rotate = secret->add_subcommand("rotate", "Add a new version of a secret");
  AddDataOperands(rotate, f.get());
  AddStoreOptions(rotate, &f->loc);
  OnRunHardened(rotate, ctx, [f] { return RunRotate(*f); });

  auto* rm = secret->add_subcommand("rm", "Remove secrets and all their versions");
  rm->alias("remove");
  rm->add_option("NAME", f->names, "Secret names")->required();
  AddStoreOptions(rm, &f->loc);
  OnRunHardened(rm, ctx, [f] { return RunRemove(*f); });
}

CommandRegistrar reg("secret", Register);

}  // namespace
}  // namespace latchkey::cli
