// What the end-to-end delivery tests share: a real hearth-server (SQLite) on loopback, the real
// hearth-agent (`run --once`) in a state directory of the test, the admin API read back with
// curl, and (ProxiedAgentTest) tests/integration/fault_proxy.py between them, enrolled through
// the proxy with one report delivered. Used by agent_faults_test.cc and
// agent_reliability_test.cc.
#pragma once

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <signal.h>
#include <sstream>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/json.h"
#include "support/curl_cli.h"
#include "support/files.h"
#include "support/programs.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace hearth::delivery_harness {

using testing::ReadFile;
using testing::RunProcess;

// libfaketime keeps a process's clock state in /dev/shm (sem.faketime_sem_PID,
// faketime_shm_PID, owner-only) and hands it to child processes. The agent's network side,
// hearth-upload, runs as another user and cannot open root's, so it makes its own, which it leaves
// behind because it ends with _exit(); a later process with the same pid then cannot start
// under libfaketime. Those of processes that are gone are removed before and after each test.
inline void RemoveStaleFaketimeObjects() {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/dev/shm", ec)) {
    std::string name = e.path().filename().string();
    for (const std::string prefix : {"sem.faketime_sem_", "faketime_shm_"}) {
      if (!name.starts_with(prefix)) continue;
      long pid = std::atol(name.c_str() + prefix.size());
      if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
        std::filesystem::remove(e.path(), ec);
      }
    }
  }
}

inline const std::string kServer = hearth::testing::ServerProgram();
inline const std::string kAgent = hearth::testing::AgentProgram();
inline const std::string kProxyScript =
    std::string(HEARTH_SOURCE_DIR) + "/tests/integration/fault_proxy.py";
inline const std::string kPython = "/usr/bin/python3";

// The agent's connect timeout is 10 s and each run makes two requests (policy, then report):
// a run that meets a dead network must still end well within this.
constexpr double kRunBoundSeconds = 35;

// curl says "Timeout was reached", "SSL connection timeout" or "Operation timed out".
inline bool mentionsTimeout(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s.find("timeout") != std::string::npos || s.find("timed out") != std::string::npos;
}

// disk_encryption decides; the vpn check (not required) with sixteen company addresses makes the
// report about 9 KB, far above any TLS handshake record, which is how the proxy recognises the
// upload without decrypting anything.
inline std::string testPolicy() {
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
               "# fault tests\nproxy = none\nconnect_timeout = 3s\nrequest_timeout = 5s\n");
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
    return testing::CurlAdminJson(admin_, server_state_ + "/ca.pem", server_->adminToken(), path,
                                  {}, admin_prefix_);
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

class ProxiedAgentTest : public DeliveryHarness {
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

}  // namespace hearth::delivery_harness
