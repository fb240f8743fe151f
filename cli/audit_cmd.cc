// `latchkey audit keygen|verify|hash|search`: the audit log's keys and its read-only tools.
//
//   keygen [--state-dir D] [--force]       create audit-signing.key/.pub and audit-hmac.key
//   hash --value-file F|- [--state-dir D]  print hmac-sha256:<hex> of a value, as logged
//   verify [FILE...] [--pubkey KEY]        check the chain, signatures and head file
//   search [FILE...] [filters] [--format table|json]
//
// The log and the key files are where builds put them: the loaded configuration's state_dir,
// audit.path, audit.signing_key_file and audit.hmac_key_file, resolved by the one function
// builds use (broker/audit_locations.h); --state-dir D means D and the default files in it.
// FILE defaults to that log; a log path stands for its whole rotated set.
// Exit codes: 0 ok, 1 verification or operation failed ("error: ..." or "FAIL: ..."), 2 usage.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "broker/audit/audit_file.h"
#include "broker/audit/audit_keys.h"
#include "broker/audit/log_set.h"
#include "broker/audit/paths.h"
#include "broker/audit/search.h"
#include "broker/audit/verifier.h"
#include "broker/audit_locations.h"
#include "cli/cli_setup.h"
#include "cli/command_registry.h"
#include "cli/secret_input.h"

namespace latchkey::cli {
namespace {

using namespace latchkey::audit;

// The log and key files of the loaded configuration (or of --state-dir).
Result<AuditLocations> Locations(const GlobalOptions& global, const std::string& state_dir_flag) {
  LK_ASSIGN_OR_RETURN(Config config, LoadProcessConfig(global));
  return ResolveAuditLocations(config, state_dir_flag);
}

std::vector<std::string> LogArgs(const std::vector<std::string>& files, const AuditLocations& at) {
  if (!files.empty()) return files;
  return {at.log};
}

// The live log of a set: a rotated name "<base>.<n>" stands for <base>.
std::string LiveLogOf(const std::string& path) {
  size_t dot = path.rfind('.');
  if (dot == std::string::npos || dot + 1 == path.size()) return path;
  for (size_t i = dot + 1; i < path.size(); ++i) {
    if (path[i] < '0' || path[i] > '9') return path;
  }
  return path.substr(0, dot);
}

struct KeygenFlags {
  std::string state_dir;
  bool force = false;
};

int RunKeygen(const KeygenFlags& f, const GlobalOptions& global) {
  auto at = Locations(global, f.state_dir);
  if (!at.ok()) return Fail(at.status());
  auto keys = WriteNewKeys(at->keys, f.force);
  if (!keys.ok()) return Fail(keys.status());
  std::cout << "created " << at->keys.signing << " (0600), " << at->keys.public_key
            << " (0644) and " << at->keys.hmac << " (0600)\n"
            << "key id " << keys->key_id
            << "; keep a copy of the public key outside this machine to verify logs with\n";
  return kExitOk;
}

struct HashFlags {
  std::string state_dir;
  std::string value_file;
  std::string hmac_key;
};

int RunHash(const HashFlags& f, const GlobalOptions& global) {
  std::string key_path = f.hmac_key;
  if (key_path.empty()) {
    auto at = Locations(global, f.state_dir);
    if (!at.ok()) return Fail(at.status());
    key_path = at->keys.hmac;
  }
  auto key = LoadHmacKey(key_path);
  if (!key.ok()) return Fail(key.status());
  auto value = ReadHashValue(f.value_file, STDIN_FILENO);
  if (!value.ok()) return Fail(value.status());
  std::cout << ValueHmac(*key, value->bytes()) << "\n";
  return kExitOk;
}

struct VerifyFlags {
  std::string state_dir;
  std::vector<std::string> files;
  std::string pubkey;
  std::string head;
  bool no_head = false;
  bool strict = false;
};

int RunVerify(const VerifyFlags& f, const GlobalOptions& global) {
  auto at = Locations(global, f.state_dir);
  if (!at.ok()) return Fail(at.status());
  std::string pub_path = f.pubkey.empty() ? at->keys.public_key : f.pubkey;
  auto pk = LoadPublicKey(pub_path);
  if (!pk.ok()) {
    if (f.pubkey.empty() && pk.status().code() == StatusCode::kNotFound) {
      return Fail(NotFoundError("audit public key " + pub_path +
                                " not found; pass --pubkey with a copy of audit-signing.pub"));
    }
    return Fail(pk.status());
  }
  auto files = LoadLogSet(LogArgs(f.files, *at));
  if (!files.ok()) return Fail(files.status());
  VerifyOptions opts;
  opts.public_key = *pk;
  opts.strict = f.strict;
  std::string note;
  if (!f.no_head) {
    opts.head_file_path = f.head.empty() ? HeadPathFor(LiveLogOf(files->back().path)) : f.head;
    auto head = ReadWholeFile(opts.head_file_path);
    if (head.ok()) {
      opts.head_file_content = *head;
    } else if (!f.head.empty() || head.status().code() != StatusCode::kNotFound) {
      return Fail(head.status().WithPrefix("head file"));
    } else {
      note = "note: no head file at " + opts.head_file_path +
             "; records cut off after the last checkpoint cannot be detected\n";
    }
  }
  VerifyReport report = VerifyLog(*files, opts);
  std::cout << FormatVerifyReport(report, KeyId(*pk)) << note;
  return report.ok ? kExitOk : kExitFailure;
}

struct SearchFlags {
  std::string state_dir;
  std::string hmac_key;
  std::vector<std::string> files;
  SearchFilter filter;
  std::string since;
  std::string until;
  std::string format = "table";
};

int RunSearch(SearchFlags f, const GlobalOptions& global) {
  auto now = std::chrono::system_clock::now();
  if (!f.since.empty()) {
    auto t = ParseTimeOrDuration(f.since, now);
    if (!t.ok()) return Usage("--since: " + t.status().message());
    f.filter.since = *t;
  }
  if (!f.until.empty()) {
    auto t = ParseTimeOrDuration(f.until, now);
    if (!t.ok()) return Usage("--until: " + t.status().message());
    f.filter.until = *t;
  }
  Status valid = ValidateFilter(f.filter);
  if (!valid.ok()) return Usage(valid.message());
  auto at = Locations(global, f.state_dir);
  if (!at.ok()) return Fail(at.status());
  auto files = LoadLogSet(LogArgs(f.files, *at));
  if (!files.ok()) return Fail(files.status());
  if (!f.filter.hmac.empty()) {
    // A hash made with another HMAC key never matches: say so instead of "no records".
    std::string key_path = f.hmac_key.empty() ? at->keys.hmac : f.hmac_key;
    auto key = LoadHmacKey(key_path);
    if (key.ok()) {
      Status same = CheckHmacKey(*files, HmacKeyId(*key), key_path);
      if (!same.ok()) return Fail(same);
    } else if (!f.hmac_key.empty()) {
      return Fail(key.status());
    } else {
      std::cerr << "note: cannot check that --hmac was hashed with the log's HMAC key: "
                << key.status().message() << "\n";
    }
  }
  SearchResult result = Search(*files, f.filter);
  if (f.format == "json") {
    for (const std::string& line : result.lines) std::cout << line << "\n";
  } else {
    std::cout << FormatTable(result.lines);
  }
  if (result.skipped != 0) {
    std::cerr << "warning: skipped " << result.skipped
              << " lines that are not audit records; run `latchkey audit verify`\n";
  }
  return kExitOk;
}

// The log files `verify` and `search` read.
void AddLogFiles(CLI::App* sub, std::vector<std::string>* files) {
  sub->add_option("files", *files,
                  "Log files, or a log path standing for its rotated set "
                  "(default <state>/audit/audit.log)");
}

void Register(CLI::App& app, CommandContext& ctx) {
  auto* audit = AddCommandGroup(app, "audit", "Audit log keys, verification and search");

  auto kg = std::make_shared<KeygenFlags>();
  auto* keygen = audit->add_subcommand("keygen", "Create the audit signing and HMAC keys");
  keygen->add_option("--state-dir", kg->state_dir,
                     "State directory (default: the configuration's, as builds use it)");
  keygen->add_flag("--force", kg->force, "Replace existing keys");
  OnRunHardened(keygen, ctx, [&ctx, kg] { return RunKeygen(*kg, ctx.global); });

  auto hf = std::make_shared<HashFlags>();
  auto* hash = audit->add_subcommand(
      "hash", "Print the value_hmac a value would have in the audit log (hmac-sha256:<hex>)");
  hash->add_option("--value-file", hf->value_file,
                   "File holding the exact value bytes, or - for stdin")
      ->required();
  hash->add_option("--state-dir", hf->state_dir, "State directory holding audit-hmac.key");
  hash->add_option("--hmac-key", hf->hmac_key, "HMAC key file (default <state>/audit-hmac.key)");
  OnRunHardened(hash, ctx, [&ctx, hf] { return RunHash(*hf, ctx.global); });

  auto vf = std::make_shared<VerifyFlags>();
  auto* verify = audit->add_subcommand(
      "verify", "Verify the hash chain, checkpoint signatures and head file of an audit log");
  AddLogFiles(verify, &vf->files);
  verify->add_option("--pubkey", vf->pubkey, "Public key file (default <state>/audit-signing.pub)");
  verify->add_option("--state-dir", vf->state_dir, "State directory");
  verify->add_option("--head", vf->head, "Head file (default beside the live log)");
  verify->add_flag("--no-head", vf->no_head, "Do not compare against the head file");
  verify->add_flag("--strict", vf->strict,
                   "Fail on warnings too (unsigned tail, unclosed sessions, missing start)");
  verify->callback([&ctx, vf] { ctx.exit_code = RunVerify(*vf, ctx.global); });

  auto sf = std::make_shared<SearchFlags>();
  auto* search = audit->add_subcommand("search", "Find audit records (filters combine with AND)");
  AddLogFiles(search, &sf->files);
  search->add_option("--state-dir", sf->state_dir, "State directory");
  search->add_option("--hmac", sf->filter.hmac,
                     "value_hmac as printed by `latchkey audit hash` (or a prefix)");
  search->add_option("--hmac-key", sf->hmac_key,
                     "HMAC key the --hmac value was made with (default: the log's configured "
                     "audit.hmac_key_file); a key the log was not written with is an error");
  search->add_option("--secret", sf->filter.secret, "Secret id (ssh:<id> for an SSH agent)");
  search->add_option("--session", sf->filter.session, "Session id");
  search->add_option("--outcome", sf->filter.outcome,
                     "granted, denied, not_found, error or unusable (ssh.forward)");
  search->add_option("--event", sf->filter.event,
                     "session.open, secret.fetch, ssh.forward, session.close, leak.finding, "
                     "cache.hit, recovered, daemon.recovered, provider.crashed or "
                     "audit.checkpoint");
  search->add_option("--since", sf->since, "RFC 3339 time or a duration ago (24h, 30m, 7d)");
  search->add_option("--until", sf->until, "RFC 3339 time or a duration ago");
  AddFormatOption(search, &sf->format, "table or json (matching lines)");
  search->callback([&ctx, sf] { ctx.exit_code = RunSearch(*sf, ctx.global); });
}

CommandRegistrar reg("audit", Register);

}  // namespace
}  // namespace latchkey::cli
