#include "cli/builder_choice.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace latchkey::cli {
namespace {

class BuilderChoiceTest : public ::testing::Test {
 protected:
  EnvLookup Env() {
    return [this](const char* name) -> const char* {
      auto it = env_.find(name);
      return it == env_.end() ? nullptr : it->second.c_str();
    };
  }
  Result<BuilderChoice> Choose(std::optional<std::string> flag = std::nullopt) {
    return ChooseBuilder(flag, config_, Env());
  }
  // ChooseBuilder's error (fails the test when it succeeds): the exact text, and a usage error.
  std::string ChooseError(std::optional<std::string> flag = std::nullopt) {
    auto c = Choose(std::move(flag));
    EXPECT_FALSE(c.ok());
    if (c.ok()) return "";
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
    return c.status().message();
  }
  // CheckDockerBuildFlags's error for options_ with a docker choice from --builder.
  std::string Refusal() {
    auto c = Choose("docker");
    EXPECT_TRUE(c.ok()) << c.status().message();
    if (!c.ok()) return "";
    Status st = CheckDockerBuildFlags(*c, options_, global_, Env());
    EXPECT_FALSE(st.ok());
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    return st.message();
  }

  Config config_;
  BuildOptions options_;
  GlobalOptions global_;
  std::map<std::string, std::string> env_;
};

TEST_F(BuilderChoiceTest, DefaultIsEmbedded) {
  auto c = Choose();
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->kind, BuilderKind::kEmbedded);
  EXPECT_EQ(c->source, BuilderSource::kDefault);
  EXPECT_EQ(c->engine, "");
  EXPECT_EQ(c->origin, "the default");
  // An empty $LATCHKEY_BUILDER counts as unset, as $LATCHKEY_HOST does.
  env_["LATCHKEY_BUILDER"] = "";
  c = Choose();
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->source, BuilderSource::kDefault);
}

TEST_F(BuilderChoiceTest, FlagThenEnvThenConfig) {
  config_.builder.use = "docker://unix:///from/config.sock";
  config_.builder.use_where = SourceMark{"/etc/latchkey/latchkey.yaml", 7, 8};
  auto c = Choose();
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->kind, BuilderKind::kDocker);
  EXPECT_EQ(c->source, BuilderSource::kConfig);
  EXPECT_EQ(c->engine, "unix:///from/config.sock");
  EXPECT_EQ(c->origin, "builder.use (/etc/latchkey/latchkey.yaml:7:8)");
  EXPECT_EQ(c->setting, "builder.use: docker");

  env_["LATCHKEY_BUILDER"] = "docker://tcp://127.0.0.1:2375";
  c = Choose();
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->source, BuilderSource::kEnv);
  EXPECT_EQ(c->engine, "tcp://127.0.0.1:2375");
  EXPECT_EQ(c->origin, "LATCHKEY_BUILDER");
  EXPECT_EQ(c->setting, "LATCHKEY_BUILDER=docker");

  c = Choose("embedded");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->kind, BuilderKind::kEmbedded);
  EXPECT_EQ(c->source, BuilderSource::kFlag);
  EXPECT_EQ(c->origin, "--builder");
  EXPECT_EQ(c->setting, "--builder embedded");
  EXPECT_EQ(c->engine, "");
}

TEST_F(BuilderChoiceTest, PlainDockerFollowsDockerHost) {
  auto c = Choose("docker");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->engine, "unix:///var/run/docker.sock");
  EXPECT_EQ(c->engine_origin, "");
  EXPECT_EQ(c->setting, "--builder docker");

  env_["DOCKER_HOST"] = "";  // empty: Docker's default too
  c = Choose("docker");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->engine, "unix:///var/run/docker.sock");

  env_["DOCKER_HOST"] = "unix:///run/user/1000/docker.sock";
  c = Choose("docker");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->engine, "unix:///run/user/1000/docker.sock");
  EXPECT_EQ(c->engine_origin, "DOCKER_HOST");

  env_["DOCKER_HOST"] = "tcp://build.example";
  c = Choose("docker");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->engine, "tcp://build.example:2375");

  // An explicit address ignores DOCKER_HOST (and DOCKER_TLS_VERIFY).
  env_["DOCKER_TLS_VERIFY"] = "1";
  c = Choose("docker://unix:///x/docker.sock");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->engine, "unix:///x/docker.sock");
  EXPECT_EQ(c->engine_origin, "");
}

TEST_F(BuilderChoiceTest, ExactErrors) {
  EXPECT_EQ(ChooseError("dokcer"),
            "--builder \"dokcer\": unknown builder (want embedded, docker or "
            "docker://unix:///path/docker.sock)");
  EXPECT_EQ(ChooseError(""),
            "--builder \"\": unknown builder (want embedded, docker or "
            "docker://unix:///path/docker.sock)");
  EXPECT_EQ(ChooseError("docker://https://build.example:2376"),
            "--builder \"docker://https://build.example:2376\": TLS connections to Docker Engine "
            "are not supported (use unix:///path/docker.sock, or tcp://HOST:PORT without TLS)");
  EXPECT_EQ(ChooseError("docker://unix://var/run/docker.sock"),
            "--builder \"docker://unix://var/run/docker.sock\": the socket path must be absolute "
            "(unix:///path/docker.sock: three slashes)");

  env_["LATCHKEY_BUILDER"] = "buildkit";
  EXPECT_EQ(ChooseError(),
            "LATCHKEY_BUILDER \"buildkit\": unknown builder (want embedded, docker or "
            "docker://unix:///path/docker.sock)");
  env_.erase("LATCHKEY_BUILDER");

  // The loader refuses a bad builder.use with its position; one that got through anyway is
  // still named with it.
  config_.builder.use = "podman";
  config_.builder.use_where = SourceMark{"/etc/latchkey/latchkey.yaml", 3, 8};
  EXPECT_EQ(ChooseError(),
            "builder.use (/etc/latchkey/latchkey.yaml:3:8) \"podman\": unknown builder (want "
            "embedded, docker or docker://unix:///path/docker.sock)");
  config_.builder.use = "docker";

  env_["DOCKER_HOST"] = "ssh://me@build.example";
  EXPECT_EQ(ChooseError(),
            "DOCKER_HOST \"ssh://me@build.example\" (used by builder.use: docker): unsupported "
            "scheme \"ssh\" (want unix:///path/docker.sock or tcp://HOST:PORT)");
  EXPECT_EQ(ChooseError("docker"),
            "DOCKER_HOST \"ssh://me@build.example\" (used by --builder docker): unsupported "
            "scheme \"ssh\" (want unix:///path/docker.sock or tcp://HOST:PORT)");

  env_["DOCKER_HOST"] = "tcp://build.example:2376";
  env_["DOCKER_TLS_VERIFY"] = "1";
  EXPECT_EQ(ChooseError("docker"),
            "DOCKER_TLS_VERIFY is set (used by --builder docker with DOCKER_HOST "
            "tcp://build.example:2376): latchkey reaches Docker Engine without TLS; unset "
            "DOCKER_TLS_VERIFY or use docker://unix:///path/docker.sock");
  // A unix socket has no TLS: DOCKER_TLS_VERIFY does not matter.
  env_["DOCKER_HOST"] = "unix:///run/docker.sock";
  EXPECT_TRUE(Choose("docker").ok());
}

TEST_F(BuilderChoiceTest, EmbeddedAcceptsEveryFlag) {
  options_.ssh = {"default"};
  options_.push = true;
  options_.runtime = "crun";
  global_.host = "unix:///run/latchkey/latchkeyd.sock";
  auto c = Choose("embedded");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(CheckDockerBuildFlags(*c, options_, global_, Env()).ok());
  c = Choose();
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(CheckDockerBuildFlags(*c, options_, global_, Env()).ok());
}

TEST_F(BuilderChoiceTest, DockerAcceptsWhatTheEngineBuildTakes) {
  options_.context = ".";
  options_.file = "sub/Dockerfile";
  options_.target = "final";
  options_.build_args = {"A=1", "B"};
  options_.secrets = {"id=npmrc,src=/x"};
  options_.tags = {"app:1", "app:latest"};
  options_.outputs = {"type=image"};
  options_.no_cache = true;
  options_.pull = true;
  options_.progress = "plain";
  options_.network = "none";
  options_.allow_leaks = {"npmrc"};
  options_.labels = {"team=a"};
  options_.iidfile = "/tmp/iid";
  options_.platforms = {"linux/amd64"};
  options_.quiet = true;
  options_.add_hosts = {"db:10.0.0.5"};
  options_.metadata_file = "/tmp/meta.json";
  options_.shm_size = "128m";
  options_.ulimits = {"nofile=1024:2048"};
  options_.ssh = {"default", "git=/run/agent.sock"};  // served on the Engine's session
  auto c = Choose("docker");
  ASSERT_TRUE(c.ok());
  Status st = CheckDockerBuildFlags(*c, options_, global_, Env());
  EXPECT_TRUE(st.ok()) << st.message();
}

// The configuration's host: is not an explicit choice: --builder docker wins over it. Neither
// is `--host embedded` / `--host ""` / LATCHKEY_HOST=embedded (no daemon at all).
TEST_F(BuilderChoiceTest, DockerWinsOverTheConfigurationsHost) {
  config_.host = "unix:///run/latchkey/latchkeyd.sock";
  auto c = Choose("docker");
  ASSERT_TRUE(c.ok());
  Status st = CheckDockerBuildFlags(*c, options_, global_, Env());
  EXPECT_TRUE(st.ok()) << st.message();
  global_.host = "embedded";
  global_.host_given = true;
  st = CheckDockerBuildFlags(*c, options_, global_, Env());
  EXPECT_TRUE(st.ok()) << st.message();
  global_.host = "";
  env_["LATCHKEY_HOST"] = "unix:///run/x.sock";  // --host "" decides before it
  st = CheckDockerBuildFlags(*c, options_, global_, Env());
  EXPECT_TRUE(st.ok()) << st.message();
  global_ = GlobalOptions();
  env_["LATCHKEY_HOST"] = "embedded";
  st = CheckDockerBuildFlags(*c, options_, global_, Env());
  EXPECT_TRUE(st.ok()) << st.message();
}

TEST_F(BuilderChoiceTest, DockerRefusals) {
  global_.host = "unix:///run/latchkey/latchkeyd.sock";
  EXPECT_EQ(Refusal(),
            "--host is not supported with --builder docker: the build runs on Docker Engine, not "
            "on latchkeyd; drop one of the two");
  global_.host = "";
  env_["LATCHKEY_HOST"] = "unix:///run/latchkey/latchkeyd.sock";
  EXPECT_EQ(Refusal(),
            "LATCHKEY_HOST is not supported with --builder docker: the build runs on Docker "
            "Engine, not on latchkeyd; unset LATCHKEY_HOST, or pass --builder embedded to build "
            "on latchkeyd");
  env_.erase("LATCHKEY_HOST");
  // --host given wins over LATCHKEY_HOST, in the refusal too.
  global_.host = "unix:///run/a.sock";
  global_.host_given = true;
  env_["LATCHKEY_HOST"] = "unix:///run/b.sock";
  EXPECT_EQ(Refusal(),
            "--host is not supported with --builder docker: the build runs on Docker Engine, not "
            "on latchkeyd; drop one of the two");
  global_ = GlobalOptions();
  env_.erase("LATCHKEY_HOST");

  options_.build_contexts = {"base=/src/base"};
  EXPECT_EQ(Refusal(),
            "--build-context is not supported with --builder docker: Docker Engine's build API "
            "takes one context; build with --builder embedded");
  options_.build_contexts.clear();

  options_.outputs = {"type=oci,dest=/tmp/app.tar"};
  EXPECT_EQ(Refusal(),
            "-o \"type=oci,dest=/tmp/app.tar\" is not supported with --builder docker: the image "
            "stays in Docker Engine's image store (name it with -t, export it with `docker "
            "save`)");
  options_.outputs = {"type=local,dest=out"};
  EXPECT_EQ(Refusal(),
            "-o \"type=local,dest=out\" is not supported with --builder docker: the image stays "
            "in Docker Engine's image store (name it with -t, export it with `docker save`)");
  options_.outputs = {"type=registry,name=reg.example/app:1"};
  EXPECT_EQ(Refusal(),
            "-o \"type=registry,name=reg.example/app:1\" is not supported with --builder docker: "
            "the image stays in Docker Engine's image store; push it with `docker push` after the "
            "build");
  options_.outputs = {"type=image,name=app:2"};
  EXPECT_EQ(Refusal(),
            "-o \"type=image,name=app:2\" is not supported with --builder docker: name the image "
            "with -t");
  options_.outputs = {"type=zip,dest=x"};
  EXPECT_EQ(Refusal(),
            "invalid -o \"type=zip,dest=x\": unknown type \"zip\" (want oci, oci-layout, local, "
            "image or registry)");
  options_.outputs.clear();

  options_.push = true;
  EXPECT_EQ(Refusal(),
            "--push is not supported with --builder docker: the image stays in Docker Engine's "
            "image store; push it with `docker push` after the build");
  options_.push = false;

  options_.no_cache_filter = {"build"};
  EXPECT_EQ(Refusal(),
            "--no-cache-filter is not supported with --builder docker: Docker Engine's build API "
            "has no per-stage cache switch; use --no-cache");
  options_.no_cache_filter.clear();

  options_.runtime = "crun";
  EXPECT_EQ(Refusal(),
            "--runtime is not supported with --builder docker: Docker Engine runs RUN steps with "
            "its own runtime (dockerd --default-runtime)");
  options_.runtime.clear();

  options_.platforms = {"linux/amd64,linux/arm64"};
  EXPECT_EQ(Refusal(),
            "--platform linux/amd64,linux/arm64 is not supported with --builder docker: Docker "
            "Engine builds one platform per build; build them one at a time");
  options_.platforms = {"linux/amd64", "linux/arm64"};
  EXPECT_EQ(Refusal(),
            "--platform linux/amd64,linux/arm64 is not supported with --builder docker: Docker "
            "Engine builds one platform per build; build them one at a time");
}

// The refusal names the setting that chose Docker, so a user who never typed --builder sees
// where it came from.
TEST_F(BuilderChoiceTest, RefusalNamesTheSetting) {
  options_.build_contexts = {"base=/src/base"};
  env_["LATCHKEY_BUILDER"] = "docker://unix:///x/docker.sock";
  auto c = Choose();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(CheckDockerBuildFlags(*c, options_, global_, Env()).message(),
            "--build-context is not supported with LATCHKEY_BUILDER=docker: Docker Engine's "
            "build API takes one context; build with --builder embedded");
  env_.erase("LATCHKEY_BUILDER");
  config_.builder.use = "docker";
  c = Choose();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(CheckDockerBuildFlags(*c, options_, global_, Env()).message(),
            "--build-context is not supported with builder.use: docker: Docker Engine's build "
            "API takes one context; build with --builder embedded");
}

// --builder on the command line: absent is nullopt (so $LATCHKEY_BUILDER and the config
// decide), given is its value, empty included.
TEST(BuilderFlag, ParsedIntoTheOptions) {
  for (const auto& [args, want] :
       std::vector<std::pair<std::vector<std::string>, std::optional<std::string>>>{
           {{"ctx"}, std::nullopt},
           {{"--builder", "docker", "ctx"}, "docker"},
           {{"--builder=docker://unix:///x.sock", "ctx"}, "docker://unix:///x.sock"},
           {{"--builder", "", "ctx"}, ""},
       }) {
    CLI::App app;
    BuildOptions f;
    AddBuildOptions(&app, &f);
    std::vector<std::string> rev(args.rbegin(), args.rend());
    ASSERT_NO_THROW(app.parse(rev));
    EXPECT_EQ(f.builder, want) << args[0];
    EXPECT_EQ(f.context, "ctx");
  }
}

}  // namespace
}  // namespace latchkey::cli
