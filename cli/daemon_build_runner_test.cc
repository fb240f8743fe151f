#include "cli/daemon_build_runner.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "builder/image/export_spec.h"

namespace latchkey::cli {
namespace {

class RouteClientOutputsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    build_.request = &request_;
    build_.job_dir = "/state/contexts/job-abc";
    build_.send_output = [this](size_t index, const std::string& path) {
      sent_.push_back(std::to_string(index) + " " + path);
      return Status::OK();
    };
  }
  // Adds -o `spec` (client dest `dest`) to both the wire request and the parsed request.
  void Output(const std::string& spec, const std::string& dest) {
    request_.add_outputs(spec);
    request_.add_output_dests(dest);
    auto parsed = image::ParseBuildOutputSpec(spec);
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    req_.outputs.push_back(*parsed);
  }

  latchkey::v1::BuildRequest request_;
  daemon::DaemonBuild build_;
  build::BuildRequest req_;
  std::vector<std::string> sent_;
};

// Client-side outputs are written in the job directory, shown with the client's path and sent
// from the export vertex; type=image stays in the daemon.
TEST_F(RouteClientOutputsTest, ClientOutputsGoThroughTheJobDirectory) {
  Output("type=image,name=app:1", "");
  Output("type=oci,dest=app.tar", "/home/ann/app.tar");
  Output("type=local,dest=out", "/home/ann/out");
  Output("type=oci-layout,dest=lay", "/home/ann/lay");
  ASSERT_TRUE(RouteClientOutputs(build_, &req_).ok());
  EXPECT_EQ(req_.outputs[0].dest, "");
  EXPECT_EQ(req_.outputs[0].shown_dest, "");
  EXPECT_EQ(req_.outputs[1].dest, "/state/contexts/job-abc/output-1.tar");
  EXPECT_EQ(req_.outputs[1].shown_dest, "/home/ann/app.tar");
  EXPECT_EQ(req_.outputs[2].dest, "/state/contexts/job-abc/output-2");
  EXPECT_EQ(req_.outputs[2].shown_dest, "/home/ann/out");
  EXPECT_EQ(req_.outputs[3].dest, "/state/contexts/job-abc/output-3");
  ASSERT_TRUE(req_.deliver_output);
  EXPECT_TRUE(req_.deliver_output(0, req_.outputs[0], 1).ok());  // type=image: nothing sent
  EXPECT_TRUE(req_.deliver_output(2, req_.outputs[2], 1).ok());
  EXPECT_EQ(sent_, std::vector<std::string>{"2 /state/contexts/job-abc/output-2"});
}

TEST_F(RouteClientOutputsTest, Errors) {
  request_.add_outputs("type=oci,dest=app.tar");
  req_.outputs.push_back(*image::ParseBuildOutputSpec("type=oci,dest=app.tar"));
  EXPECT_EQ(RouteClientOutputs(build_, &req_).message(),
            "-o type=oci,dest=app.tar: the request names no client destination (output_dests)");
  build_.send_output = nullptr;
  EXPECT_EQ(RouteClientOutputs(build_, &req_).message(),
            "-o type=oci,dest=app.tar: this latchkeyd cannot send outputs to its client");
}

TEST(AddBuildContexts, NamedContextsAtTheDaemonsCopies) {
  latchkey::v1::BuildRequest request;
  auto* dir = request.add_build_contexts();
  dir->set_name("extra");
  auto* lay = request.add_build_contexts();
  lay->set_name("base");
  lay->set_oci_layout(true);
  lay->set_tag("1");
  daemon::DaemonBuild build;
  build.request = &request;
  build.build_context_dirs = {{"extra", "/m/a/tree"}, {"base", "/m/b/tree"}};
  build::BuildRequest req;
  ASSERT_TRUE(AddBuildContexts(build, &req).ok());
  ASSERT_EQ(req.named_contexts.size(), 2u);
  EXPECT_EQ(req.named_contexts[0].name, "extra");
  EXPECT_EQ(req.named_contexts[0].kind, build::NamedContext::Kind::kDirectory);
  EXPECT_EQ(req.named_contexts[0].path, "/m/a/tree");
  EXPECT_EQ(req.named_contexts[1].kind, build::NamedContext::Kind::kOciLayout);
  EXPECT_EQ(req.named_contexts[1].path, "/m/b/tree");
  EXPECT_EQ(req.named_contexts[1].tag, "1");

  build.build_context_dirs.erase("base");
  build::BuildRequest again;
  EXPECT_EQ(AddBuildContexts(build, &again).message(),
            "build context \"base\" was not transferred to latchkeyd");
}

}  // namespace
}  // namespace latchkey::cli
