// The smaller hardening items of issue 12 (defect 9) with the real binaries: `hearth-agent enroll`
// prints a hostile server's refusal without its control characters (a Python HTTPS server on
// loopback, tests/integration/hostile_enroll_server.py), enrolment and `hearth-server init`
// refuse a state directory owned by another user, and `hearth-agent check` takes --config like
// every other command.
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "support/files.h"
#include "support/programs.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace hearth {
namespace {

using testing::RunProcess;

const std::string kServer = hearth::testing::ServerProgram();
const std::string kAgent = hearth::testing::AgentProgram();
const std::string kHostileServer =
    std::string(HEARTH_SOURCE_DIR) + "/tests/integration/hostile_enroll_server.py";
constexpr uid_t kNobody = 65534;

TEST(AgentHardeningTest, EnrollPrintsAHostileServersRefusalWithoutItsControlCharacters) {
  testing::TempDir dir;
  std::string state = dir.path() + "/server";
  auto init = RunProcess({kServer, "init", "--state-dir", state});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  // The hostile server presents the real server certificate, so the agent trusts it.
  testing::ServerProcess hostile({"/usr/bin/python3", kHostileServer, "--cert",
                                  state + "/server.pem", "--key", state + "/server.key"},
                                 dir.path() + "/hostile.log");
  ASSERT_TRUE(hostile.started()) << testing::ReadFile(dir.path() + "/hostile.log");
  std::string conf = dir.write("agent.conf", "proxy = none\n");
  auto r = RunProcess({kAgent, "enroll", "--server", "https://" + hostile.address("server"),
                       "--secret-file", state + "/enroll-secret", "--ca-file", state + "/ca.pem",
                       "--state-dir", dir.path() + "/agent", "--config", conf});
  EXPECT_NE(r.exit_code, 0);
  std::string said = r.out + r.err;
  EXPECT_NE(said.find("refused"), std::string::npos) << said;
  EXPECT_NE(said.find("HTTP 403"), std::string::npos) << said;
  for (const std::string& bad : {std::string("\x1b"), std::string("\x07"), std::string("\r"),
                                 std::string("\xC2\x9B"), std::string("\xE2\x80\xAE")}) {
    EXPECT_EQ(said.find(bad), std::string::npos) << "printed raw: " << said;
  }
  // The forged line stays inside the one refusal line.
  EXPECT_EQ(said.find("\nhearth-agent: enrolled OK"), std::string::npos) << said;
}

TEST(AgentHardeningTest, EnrollRefusesAStateDirOwnedByAnotherUser) {
  if (!testing::RunningAsRoot()) GTEST_SKIP() << "needs root to give a directory away";
  testing::TempDir dir;
  std::string agent = dir.path() + "/agent";
  ASSERT_EQ(::mkdir(agent.c_str(), 0755), 0);
  ASSERT_EQ(::chown(agent.c_str(), kNobody, kNobody), 0);
  std::string secret = dir.write("secret", "hes_x\n");
  std::string ca = dir.path() + "/ca.pem";
  auto made = RunProcess({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                          "ec_paramgen_curve:P-256", "-nodes", "-keyout", dir.path() + "/ca.key",
                          "-out", ca, "-subj", "/CN=some CA", "-days", "1"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  std::string conf = dir.write("agent.conf", "proxy = none\n");
  auto r = RunProcess({kAgent, "enroll", "--server", "https://127.0.0.1:9", "--secret-file", secret,
                       "--ca-file", ca, "--state-dir", agent, "--config", conf});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("belongs to another user"), std::string::npos) << r.out << r.err;
  EXPECT_NE(::access((agent + "/device.key").c_str(), F_OK), 0) << "a key was written there";
}

TEST(AgentHardeningTest, ServerInitRefusesAStateDirOwnedByAnotherUser) {
  if (!testing::RunningAsRoot()) GTEST_SKIP() << "needs root to give a directory away";
  testing::TempDir dir;
  std::string state = dir.path() + "/server";
  ASSERT_EQ(::mkdir(state.c_str(), 0755), 0);
  ASSERT_EQ(::chown(state.c_str(), kNobody, kNobody), 0);
  auto r = RunProcess({kServer, "init", "--state-dir", state});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("belongs to another user"), std::string::npos) << r.out << r.err;
  EXPECT_NE(::access((state + "/device-ca.key").c_str(), F_OK), 0);
  // Its own directory is fine.
  ASSERT_EQ(::chown(state.c_str(), ::geteuid(), ::getegid()), 0);
  auto ok = RunProcess({kServer, "init", "--state-dir", state});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

TEST(AgentHardeningTest, CheckTakesConfigLikeEveryCommand) {
  testing::TempDir dir;
  std::string policy = dir.write("policy.json", R"({"level":"standard","version":1,"checks":{}})");
  std::string conf = dir.write("agent.conf", "policy = " + policy + "\n");
  auto r = RunProcess({kAgent, "check", "--json", "--config", conf});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("unknown option"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("\"level\": \"standard\""), std::string::npos) << r.out;
  // --policy wins over the configuration's.
  auto explicit_policy = RunProcess({kAgent, "check", "--config", conf, "--policy", policy});
  EXPECT_EQ(explicit_policy.exit_code, 0) << explicit_policy.err;
  // A configuration that is missing or wrong is a usage error, said as such.
  auto missing = RunProcess({kAgent, "check", "--config", dir.path() + "/nope.conf"});
  EXPECT_EQ(missing.exit_code, 2);
  auto wrong = RunProcess({kAgent, "check", "--config", dir.write("bad.conf", "no_such = 1\n")});
  EXPECT_EQ(wrong.exit_code, 2) << wrong.err;
}

}  // namespace
}  // namespace hearth
