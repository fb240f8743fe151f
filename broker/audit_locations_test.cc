#include "broker/audit_locations.h"

#include <gtest/gtest.h>

namespace latchkey {
namespace {

ConfigContext TestContext() {
  ConfigContext ctx;
  ctx.env = {{"HOME", "/home/u"}};
  ctx.euid = 1000;
  ctx.exe_dir = "/opt/lk/bin";
  ctx.cwd = "/";
  return ctx;
}

// Issue 11 item 4: the audit commands used /var/lib/latchkey (or ~/.local/state) whatever the
// configuration said, while builds wrote where it said.
TEST(AuditLocations, FollowTheConfiguration) {
  auto cfg = ParseConfig("state_dir: /srv/lk\naudit:\n  hmac_key_file: /keys/hmac.key\n",
                         "/etc/latchkey/latchkey.yaml", TestContext());
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  AuditLocations at = ResolveAuditLocations(*cfg);
  EXPECT_EQ(at.state_dir, "/srv/lk");
  EXPECT_EQ(at.log, "/srv/lk/audit/audit.log");
  EXPECT_EQ(at.keys.signing, "/srv/lk/audit-signing.key");
  EXPECT_EQ(at.keys.public_key, "/srv/lk/audit-signing.pub");
  EXPECT_EQ(at.keys.hmac, "/keys/hmac.key");
}

TEST(AuditLocations, AStateDirFlagMeansTheDefaultsInIt) {
  auto cfg = ParseConfig("state_dir: /srv/lk\naudit:\n  hmac_key_file: /keys/hmac.key\n",
                         "/etc/latchkey/latchkey.yaml", TestContext());
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  AuditLocations at = ResolveAuditLocations(*cfg, "/other//dir/");
  EXPECT_EQ(at.state_dir, "/other/dir");
  EXPECT_EQ(at.log, "/other/dir/audit/audit.log");
  EXPECT_EQ(at.keys.signing, "/other/dir/audit-signing.key");
  EXPECT_EQ(at.keys.public_key, "/other/dir/audit-signing.pub");
  EXPECT_EQ(at.keys.hmac, "/other/dir/audit-hmac.key");
}

}  // namespace
}  // namespace latchkey
