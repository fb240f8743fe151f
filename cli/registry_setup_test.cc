#include "cli/registry_setup.h"

#include <gtest/gtest.h>

#include "base/testutil.h"

namespace latchkey::cli {
namespace {

using base::testing::TempDir;
using base::testing::WriteText;

// Docker's certs.d layout: ca.crt, and client.cert with client.key, under <certs_dir>/<host>.
TEST(RegistryHostOptions, CertsDirectoryLayout) {
  TempDir dir;
  Config config;
  config.certs_dir = dir.Join("certs.d");
  const std::string host_dir = config.certs_dir + "/reg.test:5000";
  WriteText(host_dir + "/ca.crt", "ca");
  WriteText(host_dir + "/client.cert", "cert");
  WriteText(host_dir + "/client.key", "key");
  registry::HostOptions o = RegistryHostOptions(config, "reg.test:5000");
  EXPECT_EQ(o.certs_dir, host_dir);
  EXPECT_EQ(o.ca_file, host_dir + "/ca.crt");
  EXPECT_EQ(o.client_cert, host_dir + "/client.cert");
  EXPECT_EQ(o.client_key, host_dir + "/client.key");
  EXPECT_FALSE(o.insecure);

  // Another host: nothing there, but its directory is still the one errors name.
  registry::HostOptions other = RegistryHostOptions(config, "other.test");
  EXPECT_EQ(other.certs_dir, config.certs_dir + "/other.test");
  EXPECT_EQ(other.ca_file, "");
  EXPECT_EQ(other.client_cert, "");
}

// A client certificate without its key is not used.
TEST(RegistryHostOptions, ClientCertificateNeedsItsKey) {
  TempDir dir;
  Config config;
  config.certs_dir = dir.Join("certs.d");
  WriteText(config.certs_dir + "/reg.test/client.cert", "cert");
  registry::HostOptions o = RegistryHostOptions(config, "reg.test");
  EXPECT_EQ(o.client_cert, "");
  EXPECT_EQ(o.client_key, "");
}

// The configuration's registries: entry wins over certs.d.
TEST(RegistryHostOptions, ConfiguredEntryWins) {
  TempDir dir;
  Config config;
  config.certs_dir = dir.Join("certs.d");
  WriteText(config.certs_dir + "/reg.test/ca.crt", "ca");
  RegistryHostConfig r;
  r.host = "reg.test";
  r.ca_file = "/etc/reg-ca.pem";
  r.client_cert = "/etc/c.pem";
  r.client_key = "/etc/k.pem";
  r.insecure = true;
  config.registries.push_back(r);
  registry::HostOptions o = RegistryHostOptions(config, "reg.test");
  EXPECT_EQ(o.ca_file, "/etc/reg-ca.pem");
  EXPECT_EQ(o.client_cert, "/etc/c.pem");
  EXPECT_EQ(o.client_key, "/etc/k.pem");
  EXPECT_TRUE(o.insecure);
}

}  // namespace
}  // namespace latchkey::cli
