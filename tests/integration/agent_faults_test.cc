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
#include "support/files.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace hearth {
namespace {

using testing::RunProcess;

const std::string kAgent = HEARTH_AGENT_BINARY;
const std::string kProxyScript =
    std::string(HEARTH_SOURCE_DIR) + "/tests/integration/fault_proxy.py";
const std::string kPython = "/usr/bin/python3";
const std::string kCurl = "/usr/bin/curl";

// The agent's connect timeout is 10 s and each run makes two requests (policy, then report):
// a run that meets a dead network must still end well within this.
constexpr double kRunBoundSeconds = 35;

using testing::ReadFile;

// curl says "Timeout was reached", "SSL connection timeout" or "Operation timed out".
bool mentionsTimeout(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s.find("timeout") != std::string::npos || s.find("timed out") != std::string::npos;
}

// disk_encryption decides; the vpn check (not required) with sixteen company addresses makes the
// report about 9 KB, far above any TLS handshake record, which is how the proxy recognises the
// upload without decrypting anything.
std::string testPolicy() {
  std::string addresses;
  for (int i = 1; i <= 16; ++i) {
    addresses += (i > 1 ? ",\"10.20.0." : "\"10.20.0.") + std::to_string(i) + "\"";
  }
  return R"({"level":"standard","version":1,"checks":{"disk_encryption":{"required":true},)"
         R"("vpn":{"required":false,"company_addresses":[)" +
         addresses + "]}}}";
}
constexpr const char* kUploadBytes = "4000";

struct RunResult {
  testing::ProcessOutput out;
  double seconds = 0;
};

struct StoredReport {
  int64_t sequence = 0;
  std::string report_id;
};

// What both fixtures share: a server state dir, an agent state dir, commands run directly or
// through a prefix (`ip netns exec NS`).
class DeliveryHarness : public ::testing::Test {
 protected:
  void initServer(const std::vector<std::string>& extra = {}) {
    server_state_ = dir_.path() + "/server";
    agent_ = dir_.path() + "/agent";
    std::string policy = dir_.write("policy.json", testPolicy());
    std::vector<std::string> args = {"--policy", policy};
    args.insert(args.end(), extra.begin(), extra.end());
    server_ = std::make_unique<testing::TestServer>(server_state_);
    auto init = server_->init(args);
    ASSERT_EQ(init.exit_code, 0) << init.err;
    // Short timeouts keep the stall and black-hole tests quick (the defaults are 10 s / 30 s).
    dir_.write("agent.conf",
               "# fault tests\nproxy = none\nconnect_timeout = "
               "3s\nrequest_timeout = 5s\n");
  }

  testing::ProcessOutput agent(std::vector<std::string> args) {
    args.insert(args.begin(), kAgent);
    args.insert(args.begin(), agent_prefix_.begin(), agent_prefix_.end());
    args.insert(args.end(), {"--state-dir", agent_, "--config", dir_.path() + "/agent.conf"});
    return RunProcess(args);
  }

  void enroll(const std::string& address) {
    auto e = agent({"enroll", "--server", "https://" + address, "--secret-file",
                    server_state_ + "/enroll-secret", "--ca-file", server_state_ + "/ca.pem"});
    ASSERT_EQ(e.exit_code, 0) << e.out << e.err;
    device_id_ = json::parse(ReadFile(agent_ + "/enrollment.json"))->find("device_id")->asString();
  }

  RunResult runOnce() {
    auto start = std::chrono::steady_clock::now();
    RunResult r;
    r.out = agent({"run", "--once"});
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cerr << "run --once took " << r.seconds << " s\n";  // the figures for the notes
    return r;
  }

  json::Value adminGet(const std::string& path) {
    std::string token = server_->adminToken();
    std::vector<std::string> argv = admin_prefix_;
    argv.insert(argv.end(),
                {kCurl, "-sS", "--max-time", "20", "--cacert", server_state_ + "/ca.pem", "-H",
                 "Authorization: Bearer " + token, "https://" + admin_ + path});
    auto r = RunProcess(argv);
    auto v = json::parse(r.out);
    EXPECT_TRUE(v.ok()) << r.out << r.err;
    return v.ok() ? std::move(v).value() : json::Value();
  }

  // The device's stored reports, newest first.
  std::vector<StoredReport> history() {
    std::vector<StoredReport> out;
    json::Value h = adminGet("/api/v1/devices/" + device_id_ + "/history");
    const json::Value* reports = h.find("reports");
    if (reports == nullptr || !reports->isArray()) {
      ADD_FAILURE() << "no reports in " << json::write(h);
      return out;
    }
    for (const auto& r : reports->asArray()) {
      out.push_back({r.find("sequence")->asInt(), r.find("report_id")->asString()});
    }
    return out;
  }

  // Every report 1..n stored exactly once (distinct report ids), none other.
  void expectStoredOnce(int64_t n) {
    auto h = history();
    ASSERT_EQ(h.size(), static_cast<size_t>(n));
    std::set<std::string> ids;
    for (size_t i = 0; i < h.size(); ++i) {
      EXPECT_EQ(h[i].sequence, n - static_cast<int64_t>(i));
      ids.insert(h[i].report_id);
    }
    EXPECT_EQ(ids.size(), h.size()) << "a report was stored twice";
  }

  json::Value status() {
    auto s = agent({"status", "--json"});
    auto v = json::parse(s.out);
    EXPECT_TRUE(v.ok()) << s.out << s.err;
    return v.ok() ? std::move(v).value() : json::Value();
  }

  int64_t spoolDepth() {
    json::Value s = status();
    const json::Value* d = s.find("spool_depth");
    return d != nullptr && d->isInt() ? d->asInt() : -1;
  }

  std::string deliveryError() {
    json::Value s = status();
    const json::Value* e = s.find("delivery_error");
    return e != nullptr && e->isString() ? e->asString() : "";
  }

  std::string spooledReportId(int64_t seq) {
    char name[32];
    std::snprintf(name, sizeof name, "%020lld.json", static_cast<long long>(seq));
    auto v = json::parse(ReadFile(agent_ + "/spool/" + name));
    return v.ok() && v->find("report_id") != nullptr ? v->find("report_id")->asString() : "";
  }

  static void expectRun(const RunResult& r, const std::string& summary) {
    EXPECT_EQ(r.out.exit_code, 0) << r.out.out << r.out.err;
    EXPECT_NE(r.out.out.find(summary), std::string::npos)
        << "expected \"" << summary << "\" in: " << r.out.out << r.out.err;
  }

  testing::TempDir dir_;
  std::string server_state_, agent_, admin_, device_id_;
  std::vector<std::string> agent_prefix_, admin_prefix_;
  std::unique_ptr<testing::TestServer> server_;
};

class AgentFaultsTest : public DeliveryHarness {
 protected:
  void SetUp() override {
    initServer();
    ASSERT_TRUE(server_->serve(dir_.path() + "/server.log"))
        << ReadFile(dir_.path() + "/server.log");
    admin_ = server_->address("admin");
    mode_file_ = dir_.path() + "/proxy-mode";
    setMode("pass");
    proxy_ = std::make_unique<testing::ServerProcess>(
        std::vector<std::string>{kPython, kProxyScript, "--upstream", server_->address("devices"),
                                 "--mode-file", mode_file_, "--upload-bytes", kUploadBytes},
        proxyLogPath());
    ASSERT_TRUE(proxy_->started()) << ReadFile(proxyLogPath());
    // Enrolled through the proxy: every request of every later run goes through it.
    enroll(proxy_->address("proxy"));
    // A first report, delivered through the untouched proxy: the policy is in place and the
    // store has report 1.
    RunResult first = runOnce();
    expectRun(first, "1 delivered; 0 waiting");
  }

  void setMode(const std::string& mode) {
    std::string tmp = mode_file_ + ".tmp";
    { std::ofstream(tmp) << mode << "\n"; }
    ASSERT_EQ(::rename(tmp.c_str(), mode_file_.c_str()), 0);
  }

  std::string proxyLogPath() const { return dir_.path() + "/proxy.log"; }

  // The proxy's lines for connections made in `mode` (a line is written when its connection
  // ends, which may be just after the agent exits: polled for up to 5 s).
  std::vector<std::string> proxyLines(const std::string& mode) {
    std::vector<std::string> out;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    do {
      out.clear();
      std::istringstream in(ReadFile(proxyLogPath()));
      for (std::string line; std::getline(in, line);) {
        if (line.find(" mode=" + mode + " ") != std::string::npos) out.push_back(line);
      }
      if (!out.empty()) break;
      ::usleep(20000);
    } while (std::chrono::steady_clock::now() < deadline);
    return out;
  }

  std::string mode_file_;
  std::unique_ptr<testing::ServerProcess> proxy_;
};

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
