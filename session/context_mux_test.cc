#include "session/context_mux.h"

#include <gtest/gtest.h>

namespace latchkey::session {
namespace {

// A name the session does not serve is refused before anything is read (the daemon asks only
// for the names its BuildRequest carries).
TEST(ContextMux, UnknownContextIsNotFound) {
  ContextService main("/nonexistent-root", ContextFilter{});
  ContextMux mux;
  mux.Add("", &main);
  latchkey::v1::ManifestRequest m;
  m.set_context("extra");
  grpc::Status st = mux.Manifest(nullptr, &m, nullptr);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(st.error_message(), "context \"extra\" is not served by this session");
  latchkey::v1::ReadFilesRequest r;
  r.set_context("other");
  st = mux.ReadFiles(nullptr, &r, nullptr);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(st.error_message(), "context \"other\" is not served by this session");
}

}  // namespace
}  // namespace latchkey::session
