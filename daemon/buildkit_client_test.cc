// The daemon side against an independent client: tests/daemon/buildkit_session.py, Python's
// grpcio with stubs generated from BuildKit's own secrets.proto text, serves GetSecret on the
// session tunnel; the in-process daemon (TestDaemon) calls it. A wire name of ours that differs
// from BuildKit's fails here (UNIMPLEMENTED from the Python server would read "not found").
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "base/env.h"
#include "base/file.h"
#include "daemon/daemon_testutil.h"

extern char** environ;

namespace latchkey::daemon {
namespace {

constexpr char kPython[] = "/usr/bin/python3";  // Debian's, with python3-grpcio (make deps)

class PythonSession {
 public:
  PythonSession(const TestDaemon& d, const std::string& id, const std::string& secret_arg) {
    const std::string src = LATCHKEY_TEST_SOURCE_DIR;
    work_ = d.dir() + "/py-" + id;
    if (!base::MakeDirs(work_, 0700).ok()) std::abort();
    out_ = work_ + "/out.txt";
    std::vector<std::string> argv = {kPython,        src + "/tests/daemon/buildkit_session.py",
                                     "--api-dir",    src + "/api",
                                     "--daemon",     d.target(),
                                     "--work-dir",   work_,
                                     "--session-id", id,
                                     "--secret",     secret_arg};
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    if (::posix_spawn(&pid_, kPython, &fa, nullptr, cargv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  ~PythonSession() { Stop(); }
  bool started() const { return pid_ > 0; }
  // SIGTERM, then the exit status (-1 when it did not exit normally).
  int Stop() {
    if (pid_ <= 0) return rc_;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    rc_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return rc_;
  }
  // Waits (up to 60 s) for the client to exit by itself; its exit status, -1 otherwise.
  int WaitExit() {
    for (int i = 0; i < 600 && pid_ > 0; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        rc_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return rc_;
      }
      ::usleep(100 * 1000);
    }
    return Stop();
  }
  std::string Output() const {
    auto o = base::ReadFile(out_);
    return o.ok() ? *o : "";
  }

 private:
  std::string work_, out_;
  pid_t pid_ = -1;
  int rc_ = -1;
};

TEST(BuildKitClient, PythonSessionServesGetSecretToTheDaemon) {
  ASSERT_EQ(::access(kPython, X_OK), 0) << "needs " << kPython << " (make deps)";
  TestDaemon d;
  const std::string value_file = d.dir() + "/npmrc";
  ASSERT_TRUE(base::WriteFileAtomic(value_file, "CANARY-python-4e0d\n", 0600).ok());
  PythonSession py(d, "py1", "npmrc=" + value_file);
  ASSERT_TRUE(py.started());
  ASSERT_TRUE(d.sessions().WaitFor("py1", TestDaemon::In(60))) << py.Output();

  auto list = d.sessions().List();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].name, "python");
  EXPECT_EQ(list[0].shared_key, "python-shared-key");
  EXPECT_EQ(list[0].methods,
            std::vector<std::string>{"/moby.buildkit.secrets.v1.Secrets/GetSecret"});

  auto v = d.sessions().GetSecret("py1", "npmrc", TestDaemon::In(30));
  ASSERT_TRUE(v.ok()) << v.status().ToString() << "\n" << py.Output();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(v->data()), v->size()),
            "CANARY-python-4e0d\n");
  EXPECT_EQ(d.sessions().GetSecret("py1", "nosuch", TestDaemon::In(30)).status(),
            NotFoundError("secret nosuch: not found"));

  // The daemon ends the session: the Python client sees UNAVAILABLE and exits by itself.
  d.sessions().CloseAll();
  EXPECT_EQ(py.WaitExit(), 0) << py.Output();
  EXPECT_NE(py.Output().find("session py1 ended: UNAVAILABLE"), std::string::npos) << py.Output();
  EXPECT_FALSE(d.sessions().WaitFor("py1", TestDaemon::In(0)));
}

}  // namespace
}  // namespace latchkey::daemon
