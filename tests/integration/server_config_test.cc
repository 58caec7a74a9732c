// /etc/hearth/server.conf (here: --config): keys named like the options, the command line wins,
// errors name the file, the line and the key, and a database password is never echoed.
#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "support/files.h"
#include "support/programs.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace hearth {
namespace {

using testing::RunProcess;
const std::string kServer = hearth::testing::ServerProgram();

TEST(ServerConfigTest, TheShippedFileIsAcceptedAsIs) {
  testing::TempDir dir;
  std::string conf = std::string(HEARTH_SOURCE_DIR) + "/packaging/config/server.conf";
  // Every key is commented out at its default: the file changes nothing and is valid.
  auto r = RunProcess({kServer, "init", "--config", conf, "--state-dir", dir.path() + "/s"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(ServerConfigTest, KeysApplyAndTheCommandLineWins) {
  testing::TempDir dir;
  std::string state = dir.path() + "/state";
  std::string conf = dir.write("server.conf", "# test\nstate_dir = " + state +
                                                  "\nlisten = 127.0.0.1:0\n"
                                                  "admin_listen = 127.0.0.1:0\nthreads = 4\n");
  ASSERT_EQ(RunProcess({kServer, "init", "--config", conf}).exit_code, 0);
  // No --state-dir: the file says where.
  auto list = RunProcess({kServer, "secret", "list", "--config", conf});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  testing::ServerProcess server({kServer, "serve", "--config", conf}, dir.path() + "/log");
  EXPECT_TRUE(server.started());
  // The command line wins over the file.
  auto other = RunProcess(
      {kServer, "secret", "list", "--config", conf, "--state-dir", dir.path() + "/nowhere"});
  EXPECT_EQ(other.exit_code, 2);
  EXPECT_NE(other.err.find("nowhere"), std::string::npos) << other.err;
}

// A newcomer's first wave failed vpn on every PC: `init` had stored the example policy with its
// placeholder VPN addresses and nothing said so. `serve` says it at start until IT stores its own.
TEST(ServerConfigTest, ServeWarnsWhileTheExamplePolicyIsInForce) {
  testing::TempDir dir;
  testing::TestServer server(dir.path() + "/state");
  ASSERT_EQ(server.init().exit_code, 0);
  ASSERT_TRUE(server.serve(dir.path() + "/log1")) << testing::ReadFile(dir.path() + "/log1");
  server.stop();
  std::string log = testing::ReadFile(dir.path() + "/log1");
  EXPECT_NE(log.find("still has the example policy from init, with placeholder VPN addresses"),
            std::string::npos)
      << log;

  std::string policy = dir.write(
      "standard.json", R"({"level": "standard", "version": 2, "checks": {"vpn": {"required": true,)"
                       R"( "company_addresses": ["10.8.0.1"]}}})");
  auto set = server.cli({"policy", "set", "--file", policy});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  ASSERT_TRUE(server.serve(dir.path() + "/log2")) << testing::ReadFile(dir.path() + "/log2");
  server.stop();
  log = testing::ReadFile(dir.path() + "/log2");
  EXPECT_EQ(log.find("example policy"), std::string::npos) << log;
}

TEST(ServerConfigTest, ErrorsNameFileLineAndKey) {
  testing::TempDir dir;
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"threads = many\n", "server.conf:1: threads: expected a whole number from 1 to 1000000"},
      {"\nlisten = 8443\n", "server.conf:2: listen: expected ADDRESS:PORT"},
      {"statedir = /x\n", "server.conf:1: statedir: unknown key (expected one of"},
      {"state_dir = relative\n", "state_dir: expected an absolute path"},
      {"enroll_rate = -1\n", "enroll_rate: expected a positive number"},
      {"threads = 2\nthreads = 3\n", "server.conf:2: threads: set twice"},
      {"exemption_expiry_warn_days = 0\n",
       "server.conf:1: exemption_expiry_warn_days: expected a whole number from 1"},
      {"reenroll_expired_days = 4000\n",
       "reenroll_expired_days: expected a number of days from 0 to 3650"},
      {"device_cert_days = 0\n", "device_cert_days: expected a whole number from 1 to 1000000"},
      {"oidc_issuer = http://idp.example.com\n",
       "server.conf:1: oidc_issuer: expected an https:// URL (http:// only to a loopback address)"},
      {"oidc_client_auth = basic\n",
       "oidc_client_auth: expected client_secret_basic or client_secret_post"},
      {"oidc_client_secret_file = secret.txt\n",
       "oidc_client_secret_file: expected an absolute path"},
  };
  for (const auto& c : cases) {
    std::string conf = dir.write("server.conf", c.text);
    auto r = RunProcess({kServer, "secret", "list", "--config", conf});
    EXPECT_EQ(r.exit_code, 2) << c.text;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.text << " → " << r.err;
  }
  std::string conf = dir.write("server.conf", "database = mysql://u:s3cret@h/db\n");
  auto r = RunProcess({kServer, "secret", "list", "--config", conf});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("database: expected empty (SQLite) or a postgresql:// URI"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("s3cret"), std::string::npos) << "a password must never be echoed";
  auto missing = RunProcess({kServer, "secret", "list", "--config", dir.path() + "/none.conf"});
  EXPECT_EQ(missing.exit_code, 2);
}

// Single sign-on (issue 15): serve refuses settings that do not hold together, naming the key,
// and a client secret file that other users can read, before it listens.
TEST(ServerConfigTest, ServeRefusesAnIncompleteOrUnsafeSingleSignOnConfiguration) {
  testing::TempDir dir;
  testing::TestServer server(dir.path() + "/state");
  ASSERT_EQ(server.init().exit_code, 0);
  std::string secret = dir.write("oidc-secret", "s3cret-client-secret\n");
  ASSERT_EQ(::chmod(secret.c_str(), 0640), 0);
  std::string complete =
      "oidc_issuer = https://idp.example.com/realms/it\n"
      "oidc_client_id = hearth\n"
      "oidc_client_secret_file = " +
      secret +
      "\n"
      "oidc_redirect_uri = https://hearth.example.com:8444/login/oidc/callback\n"
      "oidc_role_claim = groups\n"
      "oidc_admin_values = hearth-admins\n";
  struct Case {
    std::string text;
    const char* expect;
  } cases[] = {
      {complete, "mode 0640 lets other users read the client secret; expected 0600"},
      {"oidc_client_id = hearth\n", "oidc_client_id is set but oidc_issuer is not"},
      {"oidc_issuer = https://idp.example.com\n", "oidc_client_id: missing"},
  };
  for (const auto& c : cases) {
    std::string conf = dir.write("server.conf", c.text);
    auto r = RunProcess({kServer, "serve", "--config", conf, "--state-dir", server.stateDir(),
                         "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"});
    EXPECT_EQ(r.exit_code, 2) << c.text;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.text << " → " << r.err;
    EXPECT_EQ(r.err.find("s3cret-client-secret"), std::string::npos) << r.err;
  }
  ASSERT_EQ(::chmod(secret.c_str(), 0600), 0);
  std::string conf = dir.write("server.conf", complete + "oidc_redirect_uri_typo = x\n");
  auto r = RunProcess({kServer, "serve", "--config", conf, "--state-dir", server.stateDir()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("oidc_redirect_uri_typo: unknown key"), std::string::npos) << r.err;
  // A wrong redirect path names the path it must have.
  conf = dir.write("server.conf",
                   "oidc_issuer = https://idp.example.com\noidc_client_id = h\n"
                   "oidc_client_secret_file = " +
                       secret +
                       "\n"
                       "oidc_redirect_uri = https://hearth.example.com/cb\n");
  r = RunProcess({kServer, "serve", "--config", conf, "--state-dir", server.stateDir()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("oidc_redirect_uri: expected the path /login/oidc/callback"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace hearth
