#include "cli/build_options.h"

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/env.h"
#include "base/file.h"

namespace latchkey::cli {
namespace {

// A build context holding a Dockerfile, and an environment the flags are resolved against.
class BuildOptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = base::MakeTempDir("/tmp", "lk-build-options-test-");
    ASSERT_TRUE(dir.ok()) << dir.status().message();
    dir_ = *dir;
    ASSERT_TRUE(base::WriteFileAtomic(dir_ + "/Dockerfile", "FROM scratch\n").ok());
    options_.context = dir_;
    config_.state_dir = "/var/lib/latchkey-test";
  }
  void TearDown() override { (void)base::RemoveAll(dir_); }

  Result<build::BuildRequest> Make() {
    return MakeBuildRequest(options_, config_, [this](const char* name) -> const char* {
      auto it = env_.find(name);
      return it == env_.end() ? nullptr : it->second.c_str();
    });
  }

  // The error MakeBuildRequest returns (fails the test when it succeeds).
  Status MakeError() {
    auto req = Make();
    EXPECT_FALSE(req.ok());
    return req.ok() ? Status::OK() : req.status();
  }

  std::string dir_;
  BuildOptions options_;
  Config config_;
  std::map<std::string, std::string> env_;
};

TEST_F(BuildOptionsTest, CliParsesEveryFlagWithDockerDefaults) {
  CLI::App app;
  BuildOptions o;
  AddBuildOptions(app.add_subcommand("build"), &o);
  std::vector<std::string> args = {"build", "-f",       "x/Dockerfile", "-t",      "a:1",
                                   "--tag", "b",        "--ssh",        "default", "--no-cache",
                                   "-q",    "--ulimit", "nofile=1:2",   "--pull",  "ctx"};
  std::vector<const char*> argv = {"latchkey"};
  for (const auto& a : args) argv.push_back(a.c_str());
  app.parse(static_cast<int>(argv.size()), argv.data());
  EXPECT_EQ(o.context, "ctx");
  EXPECT_EQ(o.file, "x/Dockerfile");
  EXPECT_EQ(o.tags, (std::vector<std::string>{"a:1", "b"}));
  EXPECT_EQ(o.ssh, std::vector<std::string>{"default"});
  EXPECT_TRUE(o.no_cache);
  EXPECT_TRUE(o.pull);
  EXPECT_TRUE(o.quiet);
  EXPECT_EQ(o.ulimits, std::vector<std::string>{"nofile=1:2"});
  EXPECT_EQ(o.progress, "auto");
  EXPECT_EQ(o.network, "default");
}

TEST_F(BuildOptionsTest, ValidFlagsMakeTheRequest) {
  env_["FROM_ENV"] = "env-value";
  env_["SSH_AUTH_SOCK"] = "/run/agent.sock";
  config_.builder.runtime = "crun";
  options_.target = "app";
  options_.build_args = {"A=1", "FROM_ENV", "UNSET_IN_ENV", "SOURCE_DATE_EPOCH=1700000000"};
  options_.tags = {"app:dev"};
  options_.labels = {"team=core", "empty="};
  options_.no_cache_filter = {"Builder"};
  options_.network = "none";
  options_.ssh = {"default", "git=/a/b.sock,/c.sock"};
  options_.add_hosts = {"db:10.0.0.2"};
  options_.shm_size = "128m";
  options_.ulimits = {"nofile=1024:2048"};
  options_.outputs = {"type=oci-layout,dest=/out/layout"};
  options_.pull = true;
  auto req = Make();
  ASSERT_TRUE(req.ok()) << req.status().message();
  EXPECT_TRUE(req->pull);
  EXPECT_EQ(req->context_dir, dir_);
  EXPECT_EQ(req->dockerfile_path, dir_ + "/Dockerfile");
  EXPECT_EQ(req->dockerfile_text, "FROM scratch\n");
  EXPECT_EQ(req->frontend.target, "app");
  EXPECT_EQ(req->frontend.build_args,
            (std::map<std::string, std::string>{
                {"A", "1"}, {"FROM_ENV", "env-value"}, {"SOURCE_DATE_EPOCH", "1700000000"}}));
  EXPECT_EQ(req->tags, std::vector<std::string>{"app:dev"});
  EXPECT_EQ(req->labels, (std::map<std::string, std::string>{{"empty", ""}, {"team", "core"}}));
  EXPECT_EQ(req->no_cache_stages, std::set<std::string>{"builder"});
  EXPECT_EQ(req->network, executor::NetworkMode::kNone);
  EXPECT_EQ(req->runtime, "crun");
  EXPECT_EQ(req->ssh_agents, (std::map<std::string, std::string>{{"default", "/run/agent.sock"},
                                                                 {"git", "/a/b.sock"}}));
  EXPECT_EQ(req->source_date_epoch, 1700000000);
  EXPECT_EQ(req->extra_hosts, (std::vector<executor::ExtraHost>{{"db", "10.0.0.2"}}));
  EXPECT_EQ(req->shm_size_bytes, 128 << 20);
  EXPECT_EQ(req->ulimits, (std::vector<executor::Rlimit>{{"RLIMIT_NOFILE", 1024, 2048}}));
  ASSERT_EQ(req->outputs.size(), 1u);
  EXPECT_EQ(req->outputs[0].dest, "/out/layout");
  EXPECT_EQ(req->state_dir, "/var/lib/latchkey-test/builder");
}

TEST_F(BuildOptionsTest, DefaultsAndEnvironmentFallbacks) {
  env_["SOURCE_DATE_EPOCH"] = "42";
  auto req = Make();
  ASSERT_TRUE(req.ok()) << req.status().message();
  EXPECT_EQ(req->runtime, "runc");
  EXPECT_EQ(req->network, executor::NetworkMode::kHost);
  EXPECT_FALSE(req->pull);
  EXPECT_EQ(req->source_date_epoch, 42);
  config_.builder.state_dir = "/elsewhere";
  env_.erase("SOURCE_DATE_EPOCH");
  req = Make();
  ASSERT_TRUE(req.ok()) << req.status().message();
  EXPECT_FALSE(req->source_date_epoch.has_value());
  EXPECT_EQ(req->state_dir, "/elsewhere");
}

TEST_F(BuildOptionsTest, ContextThatIsNotADirectory) {
  options_.context = dir_ + "/Dockerfile";
  Status st = MakeError();
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "build context " + dir_ +
                              "/Dockerfile is not a directory (pass the directory holding your "
                              "files, e.g. `latchkey build .`)");
}

TEST_F(BuildOptionsTest, MissingDockerfile) {
  options_.file = dir_ + "/nope/Dockerfile";
  Status st = MakeError();
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "failed to read dockerfile: open " + dir_ +
                              "/nope/Dockerfile: No such file or directory");
}

TEST_F(BuildOptionsTest, BadFlagsExactTexts) {
  struct Case {
    const char* what;
    std::function<void(BuildOptions&)> set;
    StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"--build-arg", [](BuildOptions& o) { o.build_args = {"=x"}; }, StatusCode::kInvalidArgument,
       "invalid --build-arg \"=x\": want KEY=VALUE"},
      {"-t", [](BuildOptions& o) { o.tags = {"UPPER:case"}; }, StatusCode::kInvalidArgument,
       "invalid argument \"UPPER:case\" for \"-t, --tag\" flag: invalid reference format: "
       "repository name must be lowercase"},
      {"-o", [](BuildOptions& o) { o.outputs = {"type=zip,dest=x"}; }, StatusCode::kInvalidArgument,
       "invalid -o \"type=zip,dest=x\": unknown type \"zip\" (want oci, oci-layout, local, image "
       "or registry)"},
      {"-o push=", [](BuildOptions& o) { o.outputs = {"type=image,name=r.test/a:1,push=yes"}; },
       StatusCode::kInvalidArgument,
       "invalid -o \"type=image,name=r.test/a:1,push=yes\": push=\"yes\" is not a boolean (want "
       "true or false)"},
      {"-o type=local,dest=-", [](BuildOptions& o) { o.outputs = {"type=local,dest=-"}; },
       StatusCode::kInvalidArgument,
       "invalid -o \"type=local,dest=-\": dest=- (stdout) is only for type=oci"},
      {"-q with dest=-",
       [](BuildOptions& o) {
         o.outputs = {"type=oci,dest=-"};
         o.quiet = true;
       },
       StatusCode::kInvalidArgument,
       "-q cannot be used with -o \"type=oci,dest=-\": both write to stdout"},
      {"--push without -t", [](BuildOptions& o) { o.push = true; }, StatusCode::kInvalidArgument,
       "tag is needed when pushing to registry"},
      {"-o type=registry without a name", [](BuildOptions& o) { o.outputs = {"type=registry"}; },
       StatusCode::kInvalidArgument, "tag is needed when pushing to registry"},
      {"--label", [](BuildOptions& o) { o.labels = {"novalue"}; }, StatusCode::kInvalidArgument,
       "invalid --label \"novalue\": want KEY=VALUE"},
      {"--label =v", [](BuildOptions& o) { o.labels = {"=v"}; }, StatusCode::kInvalidArgument,
       "invalid --label \"=v\": want KEY=VALUE"},
      {"--network", [](BuildOptions& o) { o.network = "bridge"; }, StatusCode::kInvalidArgument,
       "invalid --network \"bridge\": want default, none or host"},
      {"--ssh without agent", [](BuildOptions& o) { o.ssh = {"default"}; },
       StatusCode::kInvalidArgument,
       "invalid --ssh \"default\": SSH_AUTH_SOCK is not set; start an agent or pass --ssh "
       "default=PATH"},
      {"--ssh without id", [](BuildOptions& o) { o.ssh = {"=/a.sock"}; },
       StatusCode::kInvalidArgument, "invalid --ssh \"=/a.sock\": want ID[=PATH]"},
      {"--ssh without path", [](BuildOptions& o) { o.ssh = {"git="}; },
       StatusCode::kInvalidArgument, "invalid --ssh \"git=\": want ID[=PATH]"},
      {"SOURCE_DATE_EPOCH", [](BuildOptions& o) { o.build_args = {"SOURCE_DATE_EPOCH=-1"}; },
       StatusCode::kInvalidArgument,
       "invalid SOURCE_DATE_EPOCH \"-1\": want seconds since the epoch"},
      {"--platform", [](BuildOptions& o) { o.platforms = {"linux/arm64"}; },
       StatusCode::kFailedPrecondition, "no emulation for linux/arm64 on this host"},
      {"--add-host", [](BuildOptions& o) { o.add_hosts = {"db"}; }, StatusCode::kInvalidArgument,
       "invalid host db"},
      {"--shm-size", [](BuildOptions& o) { o.shm_size = "lots"; }, StatusCode::kInvalidArgument,
       "invalid argument \"lots\" for \"--shm-size\" flag: invalid size: 'lots'"},
      {"--ulimit", [](BuildOptions& o) { o.ulimits = {"nofile=2048:1024"}; },
       StatusCode::kInvalidArgument,
       "invalid argument \"nofile=2048:1024\" for \"--ulimit\" flag: ulimit soft limit must be "
       "less than or equal to hard limit: 2048 > 1024"},
      {"--ulimit type", [](BuildOptions& o) { o.ulimits = {"bogus=1"}; },
       StatusCode::kInvalidArgument,
       "invalid argument \"bogus=1\" for \"--ulimit\" flag: invalid ulimit type: bogus"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    options_ = BuildOptions();
    options_.context = dir_;
    c.set(options_);
    Status st = MakeError();
    EXPECT_EQ(st.code(), c.code);
    EXPECT_EQ(st.message(), c.message);
  }
}

TEST_F(BuildOptionsTest, SourceDateEpochFromTheEnvironmentIsChecked) {
  env_["SOURCE_DATE_EPOCH"] = "soon";
  Status st = MakeError();
  EXPECT_EQ(st.message(), "invalid SOURCE_DATE_EPOCH \"soon\": want seconds since the epoch");
}

TEST_F(BuildOptionsTest, ProgressMode) {
  options_.progress = "json";
  auto mode = BuildProgressMode(options_);
  ASSERT_TRUE(mode.ok());
  EXPECT_EQ(*mode, build::ProgressMode::kJson);
  options_.quiet = true;  // -q wins over --progress
  mode = BuildProgressMode(options_);
  ASSERT_TRUE(mode.ok());
  EXPECT_EQ(*mode, build::ProgressMode::kQuiet);
  options_ = BuildOptions();
  options_.progress = "fancy";
  mode = BuildProgressMode(options_);
  ASSERT_FALSE(mode.ok());
  EXPECT_EQ(mode.status().message(),
            "invalid progress mode \"fancy\": want auto, plain, tty, json or quiet");
}

TEST(AbsolutePathTest, RelativeAgainstTheWorkingDirectory) {
  EXPECT_EQ(AbsolutePath("/a/./b/../c"), "/a/c");
  EXPECT_EQ(AbsolutePath("x/y"), std::filesystem::current_path().string() + "/x/y");
}

}  // namespace
}  // namespace latchkey::cli
