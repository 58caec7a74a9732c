// Delivery under network faults: the real hearth-agent (`run --once`) against the real
// hearth-server, through a fault proxy of our own (tests/integration/fault_proxy.py, loopback)
// that resets an upload half-way or a handshake, cuts the answer after the server stored the
// report, stalls, trickles bytes one by one, or relays to a server whose certificate comes from
// another CA; and, as root, an nftables black hole between two network namespaces the test
// creates. After each fault: nothing lost, nothing stored twice (read back with the admin API),
// the run ended within the agent's timeouts, and the spool holds what was not acknowledged.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <unistd.h>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/json.h"
#include "integration/delivery_harness.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace hearth {
namespace {

using namespace delivery_harness;  // NOLINT(google-build-using-namespace): the shared fixtures
using AgentFaultsTest = ProxiedAgentTest;

TEST_F(AgentFaultsTest, UploadResetHalfWayIsKeptAndDeliveredOnceLater) {
  setMode("reset");
  RunResult cut = runOnce();
  expectRun(cut, "0 delivered; 1 waiting");
  EXPECT_LT(cut.seconds, 10);
  EXPECT_EQ(spoolDepth(), 1);
  auto resets = proxyLines("reset");
  ASSERT_FALSE(resets.empty());
  EXPECT_NE(resets.back().find("fault=upload_reset"), std::string::npos) << resets.back();
  expectStoredOnce(1);  // half a request stores nothing

  setMode("pass");
  expectRun(runOnce(), "2 delivered; 0 waiting");
  EXPECT_EQ(spoolDepth(), 0);
  expectStoredOnce(3);
}

TEST_F(AgentFaultsTest, AnswerLostAfterTheServerStoredTheReportIsStoredOnce) {
  setMode("cut");
  RunResult lost = runOnce();
  expectRun(lost, "0 delivered; 1 waiting");
  EXPECT_LT(lost.seconds, 10);
  auto cuts = proxyLines("cut");
  ASSERT_FALSE(cuts.empty());
  EXPECT_NE(cuts.back().find("fault=answer_dropped"), std::string::npos) << cuts.back();
  // The server has report 2, the agent does not know it: still spooled.
  EXPECT_EQ(spoolDepth(), 1);
  auto h = history();
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].sequence, 2);
  EXPECT_EQ(h[0].report_id, spooledReportId(2));

  // Sent again with the same report_id: acknowledged, stored once.
  setMode("pass");
  expectRun(runOnce(), "2 delivered; 0 waiting");
  EXPECT_EQ(spoolDepth(), 0);
  expectStoredOnce(3);
}

TEST_F(AgentFaultsTest, SlowByteByByteNetworkStillDelivers) {
  setMode("slow");
  RunResult slow = runOnce();
  expectRun(slow, "1 delivered; 0 waiting");
  EXPECT_LT(slow.seconds, 25);
  ASSERT_FALSE(proxyLines("slow").empty());
  EXPECT_EQ(spoolDepth(), 0);
  expectStoredOnce(2);
}

TEST_F(AgentFaultsTest, StalledServerIsGivenUpWithinTheTimeouts) {
  setMode("stall");
  RunResult stalled = runOnce();
  expectRun(stalled, "0 delivered; 1 waiting");
  auto stalls = proxyLines("stall");
  ASSERT_FALSE(stalls.empty());
  EXPECT_NE(stalls.back().find("server_bytes=0"), std::string::npos) << stalls.back();
  EXPECT_LT(stalled.seconds, kRunBoundSeconds);
  EXPECT_EQ(spoolDepth(), 1);
  EXPECT_TRUE(mentionsTimeout(deliveryError())) << deliveryError();
  expectStoredOnce(1);

  setMode("pass");
  expectRun(runOnce(), "2 delivered; 0 waiting");
  expectStoredOnce(3);
}

TEST_F(AgentFaultsTest, ResetDuringTheHandshakeIsANetworkFaultNotATlsFailure) {
  // A middlebox (or an overloaded server) resets the connection right after the ClientHello:
  // weather, not a security event. Reported as such, it must not read "TLS failed" (which in the
  // daemon means the 5-minute security floor and, for the person at the PC, a false alarm).
  setMode("hangup");
  RunResult r = runOnce();
  expectRun(r, "0 delivered; 1 waiting");
  ASSERT_FALSE(proxyLines("hangup").empty());
  EXPECT_LT(r.seconds, 10);
  EXPECT_EQ(spoolDepth(), 1);
  std::string error = deliveryError();
  EXPECT_NE(error.find("reset"), std::string::npos) << error;
  EXPECT_EQ(error.find("TLS failed"), std::string::npos) << error;
  expectStoredOnce(1);

  setMode("pass");
  expectRun(runOnce(), "2 delivered; 0 waiting");
  expectStoredOnce(3);
}

TEST_F(AgentFaultsTest, ServerWithACertificateFromAnotherCaIsSentNothing) {
  // A second, separately initialised server: its TLS certificate comes from its own CA.
  std::string other_state = dir_.path() + "/other";
  std::string policy = dir_.path() + "/policy.json";
  testing::TestServer other(other_state);
  auto init = other.init({"--policy", policy});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  ASSERT_TRUE(other.serve(dir_.path() + "/other.log")) << ReadFile(dir_.path() + "/other.log");

  setMode("alt " + other.address("devices"));
  RunResult r = runOnce();
  expectRun(r, "0 delivered; 1 waiting");
  EXPECT_LT(r.seconds, 10);
  EXPECT_EQ(spoolDepth(), 1);
  EXPECT_NE(deliveryError().find("TLS"), std::string::npos) << deliveryError();
  // Nothing crossed: no connection to the other server carried anything like a report.
  auto lines = proxyLines("alt");
  ASSERT_FALSE(lines.empty());
  for (const auto& line : lines) {
    EXPECT_NE(line.find("upload_forwarded=no"), std::string::npos) << line;
  }
  expectStoredOnce(1);

  setMode("pass");
  expectRun(runOnce(), "2 delivered; 0 waiting");
  expectStoredOnce(3);
}

// ---- nftables black hole between two network namespaces (root only) ------------------------

std::string FindBinary(const std::vector<std::string>& candidates) {
  for (const auto& p : candidates) {
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

class AgentBlackHoleTest : public DeliveryHarness {
 protected:
  void SetUp() override {
    if (!testing::RunningAsRoot()) GTEST_SKIP() << "needs root: network namespaces and nftables";
    ip_ = FindBinary({"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"});
    nft_ = FindBinary({"/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"});
    if (ip_.empty()) GTEST_SKIP() << "needs iproute2 (ip)";
    if (nft_.empty()) GTEST_SKIP() << "needs nftables (nft): scripts/install-deps installs it";
    // Two namespaces joined by a veth pair: the agent's home network and the company server.
    const std::string tag = std::to_string(::getpid() % 100000);
    const int net = 1 + ::getpid() % 250;
    agent_ns_ = "hearth-fa-" + tag;
    server_ns_ = "hearth-fs-" + tag;
    agent_ip_ = "10.237." + std::to_string(net) + ".1";
    server_ip_ = "10.237." + std::to_string(net) + ".2";
    ASSERT_TRUE(Exec({ip_, "netns", "add", agent_ns_}));
    ASSERT_TRUE(Exec({ip_, "netns", "add", server_ns_}));
    made_ = true;
    const std::string a = "hfa" + tag, s = "hfs" + tag;
    ASSERT_TRUE(Exec({ip_, "link", "add", a, "netns", agent_ns_, "type", "veth", "peer", "name", s,
                      "netns", server_ns_}));
    for (const auto& [ns, dev, addr] :
         {std::tuple{agent_ns_, a, agent_ip_}, std::tuple{server_ns_, s, server_ip_}}) {
      ASSERT_TRUE(Exec({ip_, "-n", ns, "link", "set", "lo", "up"}));
      ASSERT_TRUE(Exec({ip_, "-n", ns, "addr", "add", addr + "/24", "dev", dev}));
      ASSERT_TRUE(Exec({ip_, "-n", ns, "link", "set", dev, "up"}));
    }
    agent_prefix_ = {ip_, "netns", "exec", agent_ns_};
    admin_prefix_ = {ip_, "netns", "exec", server_ns_};

    initServer({"--san", server_ip_});
    ASSERT_TRUE(
        server_->serve(dir_.path() + "/server.log",
                       {.listen = server_ip_ + ":0", .prefix = {ip_, "netns", "exec", server_ns_}}))
        << ReadFile(dir_.path() + "/server.log");
    admin_ = server_->address("admin");
    devices_ = server_->address("devices");
    port_ = devices_.substr(devices_.rfind(':') + 1);
  }

  void TearDown() override {
    server_.reset();
    if (made_) {
      RunProcess({ip_, "netns", "del", agent_ns_});
      RunProcess({ip_, "netns", "del", server_ns_});
    }
  }

  ::testing::AssertionResult Exec(const std::vector<std::string>& argv) {
    auto r = RunProcess(argv);
    if (r.exit_code == 0) return ::testing::AssertionSuccess();
    std::string cmd;
    for (const auto& x : argv) cmd += x + " ";
    return ::testing::AssertionFailure() << cmd << "exited " << r.exit_code << ": " << r.err;
  }

  // nft in the server's namespace (its argv is joined into one nft command).
  ::testing::AssertionResult Nft(std::vector<std::string> args) {
    args.insert(args.begin(), {ip_, "netns", "exec", server_ns_, nft_});
    return Exec(args);
  }

  std::string ip_, nft_, agent_ns_, server_ns_, agent_ip_, server_ip_, devices_, port_;
  bool made_ = false;
};

TEST_F(AgentBlackHoleTest, DroppedPacketsKeepTheReportSpooledUntilTheRouteHeals) {
  enroll(devices_);
  expectRun(runOnce(), "1 delivered; 0 waiting");

  // Every packet to the server's port vanishes: no refusal, no reset, only silence.
  ASSERT_TRUE(Nft({"add", "table", "inet", "hearth_faults"}));
  ASSERT_TRUE(Nft({"add", "chain", "inet", "hearth_faults", "input", "{", "type", "filter", "hook",
                   "input", "priority", "0", ";", "policy", "accept", ";", "}"}));
  ASSERT_TRUE(
      Nft({"add", "rule", "inet", "hearth_faults", "input", "tcp", "dport", port_, "drop"}));
  RunResult dropped = runOnce();
  expectRun(dropped, "0 delivered; 1 waiting");
  EXPECT_LT(dropped.seconds, kRunBoundSeconds);
  EXPECT_EQ(spoolDepth(), 1);
  EXPECT_TRUE(mentionsTimeout(deliveryError())) << deliveryError();
  expectStoredOnce(1);

  ASSERT_TRUE(Nft({"delete", "table", "inet", "hearth_faults"}));
  expectRun(runOnce(), "2 delivered; 0 waiting");
  EXPECT_EQ(spoolDepth(), 0);
  expectStoredOnce(3);
}

}  // namespace
}  // namespace hearth
