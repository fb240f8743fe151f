#include "conformance.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <iterator>
#include <map>

#include "check_support.h"

namespace latchkey::conformance {

const std::vector<CheckDef>& AllChecks() {
  //                      name                   fn                       child  create ref
  static const std::vector<CheckDef> kChecks = {
      {"exports-only-entry", &CheckExports, false, false, false},
      {"load", &CheckLoad, true, false, false},
      {"handshake", &CheckHandshake, true, false, false},
      {"provider-table", &CheckProviderTable, true, false, false},
      {"create", &CheckCreate, true, false, false},
      {"config-unknown-key", &CheckConfigUnknownKey, true, true, false},
      {"config-missing-key", &CheckConfigMissingKey, true, true, false},
      {"config-wrong-type", &CheckConfigWrongType, true, true, false},
      {"struct-size", &CheckStructSize, true, true, false},
      {"optional-members", &CheckOptionalMembers, true, true, false},
      {"error-paths", &CheckErrorPaths, true, true, false},
      {"fetch-expected", &CheckFetchExpected, true, true, true},
      {"secret-allocations", &CheckSecretAllocations, true, true, false},
      {"canary", &CheckCanary, true, true, false},
      {"concurrent-fetch", &CheckConcurrentFetch, true, true, true},
      {"create-destroy-cycles", &CheckCreateDestroyCycles, true, true, false},
      {"hygiene", &CheckHygiene, true, true, false},
      {"deadline", &CheckDeadline, true, true, false},
  };
  return kChecks;
}

std::string ConformanceUsage(const std::string& program) {
  return "usage: " + program +
         " PLUGIN.so [--config KEY=VALUE]... [--ref REF --expect-file FILE]...\n"
         "       [--threads N] [--cycles N] [--timeout SECONDS] [--json]\n"
         "Runs the latchkey provider conformance checks against PLUGIN.so (see "
         "docs/plugin-abi.md).\n"
         "  --config KEY=VALUE   config passed to create (repeatable)\n"
         "  --ref REF            a reference the plugin serves with that config (repeatable)\n"
         "  --expect-file FILE   the exact bytes the preceding --ref must return\n"
         "  --threads N          threads for the concurrent-fetch check (default 8)\n"
         "  --cycles N           create/destroy cycles for the leak check (default 1000)\n"
         "  --timeout SECONDS    per-check time limit (default 60)\n"
         "  --json               print one JSON document instead of lines\n"
         "Exit status 0 iff no check failed.\n";
}

namespace {

bool ParseInt(const std::string& s, int min, int max, int* out) {
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  int v = std::stoi(s);
  if (v < min || v > max) return false;
  *out = v;
  return true;
}

}  // namespace

Result<ConformanceOptions> ParseConformanceArgs(const std::vector<std::string>& args) {
  ConformanceOptions o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* flag) -> Result<std::string> {
      if (i + 1 >= args.size()) {
        return InvalidArgumentError(std::string(flag) + " needs a value");
      }
      return args[++i];
    };
    if (a == "--config") {
      LK_ASSIGN_OR_RETURN(std::string kv, value("--config"));
      size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) {
        return InvalidArgumentError("--config needs KEY=VALUE, got \"" + kv + "\"");
      }
      o.config.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    } else if (a == "--ref") {
      LK_ASSIGN_OR_RETURN(std::string ref, value("--ref"));
      if (!o.refs.empty() && o.refs.back().expect_file.empty()) {
        return InvalidArgumentError("--ref " + o.refs.back().ref + " has no --expect-file");
      }
      o.refs.push_back(ExpectedRef{ref, ""});
    } else if (a == "--expect-file") {
      LK_ASSIGN_OR_RETURN(std::string file, value("--expect-file"));
      if (o.refs.empty() || !o.refs.back().expect_file.empty()) {
        return InvalidArgumentError("--expect-file " + file + " must follow a --ref");
      }
      o.refs.back().expect_file = file;
    } else if (a == "--threads" || a == "--cycles" || a == "--timeout") {
      LK_ASSIGN_OR_RETURN(std::string v, value(a.c_str()));
      int* target = a == "--threads"  ? &o.threads
                    : a == "--cycles" ? &o.cycles
                                      : &o.timeout_seconds;
      int max = a == "--threads" ? 256 : a == "--cycles" ? 1000000 : 3600;
      if (!ParseInt(v, 1, max, target)) {
        return InvalidArgumentError(a + " needs a whole number from 1 to " + std::to_string(max) +
                                    ", got \"" + v + "\"");
      }
    } else if (a == "--json") {
      o.json = true;
    } else if (a.size() > 1 && a[0] == '-') {
      return InvalidArgumentError("unknown option " + a);
    } else if (o.plugin_path.empty()) {
      o.plugin_path = a;
    } else {
      return InvalidArgumentError("only one plugin per run: got " + o.plugin_path + " and " + a);
    }
  }
  if (o.plugin_path.empty()) return InvalidArgumentError("missing PLUGIN.so");
  // A bare name is the file in the current directory, as for any other path argument: given to
  // dlopen as is, it would be looked up on the library path (LD_LIBRARY_PATH, ld.so.cache) and
  // check some other library of that name.
  if (o.plugin_path.find('/') == std::string::npos) o.plugin_path = "./" + o.plugin_path;
  if (!o.refs.empty() && o.refs.back().expect_file.empty()) {
    return InvalidArgumentError("--ref " + o.refs.back().ref + " has no --expect-file");
  }
  return o;
}

namespace {

struct ChildRun {
  CheckOutput output;
  size_t stdout_bytes = 0;
  size_t stderr_bytes = 0;
};

void WriteAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = write(fd, s.data() + off, s.size() - off);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

std::string OneLine(std::string s) {
  for (char& ch : s) {
    if (ch == '\n' || ch == '\r') ch = ' ';
  }
  return s;
}

[[noreturn]] void ChildMain(const CheckDef& def, const CheckContext& base, int report_fd,
                            int out_fd, int err_fd) {
  dup2(out_fd, STDOUT_FILENO);
  dup2(err_fd, STDERR_FILENO);
  CheckOutput o;
  try {
    TestHost host;
    CheckContext ctx = base;
    ctx.host = &host;
    ctx.report_fd = report_fd;
    ctx.Step("loading the plugin");
    Result<Plugin> plugin = Plugin::Load(base.options->plugin_path);
    if (!plugin.ok()) {
      o = Fail(plugin.status().message());
    } else {
      ctx.plugin = &*plugin;
      o = def.fn(ctx);
    }
  } catch (const std::exception& e) {
    o = Fail(std::string("the conformance suite itself failed: ") + e.what());
  }
  std::fflush(stdout);
  std::fflush(stderr);
  char code = o.outcome == Outcome::kPass ? 'P' : o.outcome == Outcome::kFail ? 'F' : 'S';
  WriteAll(report_fd, std::string("R ") + code + " " + OneLine(o.reason) + "\n");
  _exit(0);
}

size_t FileSize(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 ? static_cast<size_t>(st.st_size) : 0;
}

ChildRun RunInChild(const CheckDef& def, const CheckContext& base, std::ostream& out) {
  ChildRun run;
  out.flush();
  std::fflush(nullptr);
  int fds[2];
  FILE* cap_out = std::tmpfile();
  FILE* cap_err = std::tmpfile();
  if (pipe2(fds, O_CLOEXEC) != 0 || cap_out == nullptr || cap_err == nullptr) {
    run.output = Fail(std::string("cannot set up the check process: ") + std::strerror(errno));
    return run;
  }
  pid_t pid = fork();
  if (pid < 0) {
    run.output = Fail(std::string("cannot fork: ") + std::strerror(errno));
    return run;
  }
  if (pid == 0) {
    close(fds[0]);
    ChildMain(def, base, fds[1], fileno(cap_out), fileno(cap_err));
  }
  close(fds[1]);
  std::string data;
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(base.options->timeout_seconds);
  bool timed_out = false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd pfd = {fds[0], POLLIN, 0};
    int r = poll(&pfd, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char buf[4096];
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  close(fds[0]);
  run.stdout_bytes = FileSize(fileno(cap_out));
  run.stderr_bytes = FileSize(fileno(cap_err));
  std::fclose(cap_out);
  std::fclose(cap_err);

  std::string step = "(before the first step)";
  bool have_result = false;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string::npos) nl = data.size();
    std::string line = data.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.rfind("S ", 0) == 0) {
      step = line.substr(2);
    } else if (line.rfind("R ", 0) == 0 && line.size() >= 3) {
      have_result = true;
      run.output.outcome = line[2] == 'P'   ? Outcome::kPass
                           : line[2] == 'F' ? Outcome::kFail
                                            : Outcome::kSkip;
      run.output.reason = line.size() > 4 ? line.substr(4) : "";
    }
  }
  if (timed_out) {
    run.output = Fail("timed out after " + std::to_string(base.options->timeout_seconds) +
                      " s during: " + step);
  } else if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* abbrev = sigabbrev_np(sig);
    run.output = Fail("the plugin crashed (signal " + std::to_string(sig) + ", SIG" +
                      (abbrev != nullptr ? abbrev : "?") + ") during: " + step);
  } else if (!have_result) {
    run.output =
        Fail("the check process exited with status " + std::to_string(WEXITSTATUS(status)) +
             " during: " + step + " (plugins must not call exit)");
  }
  return run;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += static_cast<char>(ch);
    } else if (ch < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", ch);
      out += buf;
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out + "\"";
}

const char* OutcomeWord(Outcome o) {
  return o == Outcome::kPass ? "PASS" : o == Outcome::kFail ? "FAIL" : "SKIP";
}

void PrintLine(const CheckResult& r, std::ostream& out) {
  out << OutcomeWord(r.outcome) << " " << r.name;
  if (!r.reason.empty()) out << (r.outcome == Outcome::kPass ? " (" : ": ") << r.reason;
  if (!r.reason.empty() && r.outcome == Outcome::kPass) out << ")";
  out << "\n";
  out.flush();
}

void Record(ConformanceReport* report, CheckResult r, const ConformanceOptions& o,
            std::ostream& out) {
  if (r.outcome == Outcome::kPass) ++report->passed;
  if (r.outcome == Outcome::kFail) ++report->failed;
  if (r.outcome == Outcome::kSkip) ++report->skipped;
  if (!o.json) PrintLine(r, out);
  report->checks.push_back(std::move(r));
}

}  // namespace

ConformanceReport RunConformance(const ConformanceOptions& options, std::ostream& out) {
  ConformanceReport report;
  CheckContext base;
  base.options = &options;
  std::string setup_error;
  for (const ExpectedRef& r : options.refs) {
    std::ifstream in(r.expect_file, std::ios::binary);
    if (!in) {
      setup_error = "cannot read --expect-file " + r.expect_file + " (for --ref " + r.ref +
                    "): " + std::strerror(errno);
      break;
    }
    base.expected.emplace_back(std::istreambuf_iterator<char>(in),
                               std::istreambuf_iterator<char>());
  }
  if (!setup_error.empty()) {
    Record(&report, {"options", Outcome::kFail, setup_error}, options, out);
  } else {
    bool loaded = false, created = false;
    std::map<std::string, size_t> noisy;  // check -> bytes the plugin wrote to stdout/stderr
    size_t out_bytes = 0, err_bytes = 0;
    for (const CheckDef& def : AllChecks()) {
      CheckResult r;
      r.name = def.name;
      if (def.in_child && def.name != std::string("load") && !loaded) {
        r.outcome = Outcome::kSkip;
        r.reason = "the plugin does not load";
      } else if (def.needs_create && !created) {
        r.outcome = Outcome::kSkip;
        r.reason = "create with the given config failed";
      } else if (def.needs_ref && options.refs.empty()) {
        r.outcome = Outcome::kSkip;
        r.reason = "needs --ref REF --expect-file FILE";
      } else if (!def.in_child) {
        CheckOutput o = def.fn(base);
        r.outcome = o.outcome;
        r.reason = o.reason;
      } else {
        ChildRun run = RunInChild(def, base, out);
        r.outcome = run.output.outcome;
        r.reason = run.output.reason;
        out_bytes += run.stdout_bytes;
        err_bytes += run.stderr_bytes;
        if (run.stdout_bytes + run.stderr_bytes > 0) {
          noisy[def.name] = run.stdout_bytes + run.stderr_bytes;
        }
      }
      if (def.name == std::string("load")) loaded = r.outcome == Outcome::kPass;
      if (def.name == std::string("create")) created = r.outcome == Outcome::kPass;
      Record(&report, std::move(r), options, out);
    }
    CheckResult quiet{"quiet", Outcome::kPass, ""};
    if (!loaded) {
      quiet = {"quiet", Outcome::kSkip, "the plugin does not load"};
    } else if (out_bytes + err_bytes > 0) {
      std::vector<std::string> where;
      for (const auto& [name, bytes] : noisy) where.push_back(name);
      quiet = {"quiet", Outcome::kFail,
               "the plugin wrote " + std::to_string(out_bytes) + " bytes to stdout and " +
                   std::to_string(err_bytes) + " bytes to stderr (during: " + JoinList(where) +
                   "); plugins must report through host->log and lk_error only"};
    }
    Record(&report, std::move(quiet), options, out);
    if (options.extra_suite) {
      for (CheckResult& r : options.extra_suite(options, base.expected)) {
        Record(&report, std::move(r), options, out);
      }
    }
  }
  if (options.json) {
    out << "{\"plugin\": " << JsonString(options.plugin_path) << ", \"checks\": [";
    for (size_t i = 0; i < report.checks.size(); ++i) {
      const CheckResult& r = report.checks[i];
      std::string word = OutcomeWord(r.outcome);
      for (char& ch : word) ch = static_cast<char>(ch - 'A' + 'a');
      out << (i > 0 ? ", " : "") << "{\"name\": " << JsonString(r.name)
          << ", \"result\": " << JsonString(word) << ", \"reason\": " << JsonString(r.reason)
          << "}";
    }
    out << "], \"passed\": " << report.passed << ", \"failed\": " << report.failed
        << ", \"skipped\": " << report.skipped << "}\n";
  } else {
    out << report.passed << " passed, " << report.failed << " failed";
    if (report.skipped > 0) out << ", " << report.skipped << " skipped";
    out << "\n";
  }
  out.flush();
  return report;
}

}  // namespace latchkey::conformance
