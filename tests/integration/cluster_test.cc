// Several hearth-servers behind HAProxy (issue 18; ctest label `cluster`): two `serve` processes
// on one PostgreSQL database, the HAProxy of Debian started here on loopback with the shipped
// configuration (packaging/haproxy/hearth.cfg: TCP mode, TLS passthrough, /healthz checks on the
// admin listeners). 20 devices report through HAProxy over mutual TLS, each retrying a report
// until it is acknowledged (as the agent's spool does); one server is killed with SIGKILL while
// they do. Every acknowledged report is stored exactly once, the survivor serves within 5 s of
// HAProxy marking the dead one down, and the webhook outbox goes on on the survivor: every event
// reaches the receiver under one delivery id (a delivery the dead server sent without recording
// it comes again under the same id, the receiver's idempotency key).
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <netinet/in.h>
#include <set>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "hearth/json.h"
#include "hearth/text.h"
#include "server_fault_fixture.h"
#include "support/files.h"
#include "support/https_client.h"
#include "support/webhook_receiver.h"

namespace hearth::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// A free TCP port on 127.0.0.1 (bound and released: HAProxy binds it right after).
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    return 0;
  }
  close(fd);
  return ntohs(a.sin_port);
}

std::string FindHaproxy() {
  for (const char* p : {"/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return "";
}

// HAProxy in the foreground (-db), its log on stderr into `log_path`; SIGTERM at the end.
class HaproxyProcess {
 public:
  HaproxyProcess(const std::string& binary, const std::string& config,
                 const std::string& log_path) {
    pid_t parent = getpid();
    pid_ = fork();
    if (pid_ == 0) {
      KillWhenParentDies(parent);
      int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      execl(binary.c_str(), binary.c_str(), "-db", "-f", config.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~HaproxyProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  HaproxyProcess(const HaproxyProcess&) = delete;
  HaproxyProcess& operator=(const HaproxyProcess&) = delete;

 private:
  pid_t pid_ = -1;
};

class ClusterTest : public FaultServerTest {
 protected:
  void TearDown() override {
    haproxy_.reset();
    if (second_) second_->stop();
    FaultServerTest::TearDown();
  }

  bool startSecond(const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {serverBinary(), "serve",       "--state-dir",    state_,
                                     "--listen",     "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
                                     "--database",   database_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    second_ = std::make_unique<ServerProcess>(argv, dir_.path() + "/server-second.log");
    EXPECT_TRUE(second_->started()) << fileText(dir_.path() + "/server-second.log");
    return second_->started();
  }

  // The shipped configuration with this test's addresses: the frontend on 127.0.0.1:`port`,
  // one `server` line per hearth-server (devices address, admin port for the check), the
  // check's CA from the state directory, the log on stderr.
  std::string haproxyConfig(int port,
                            const std::vector<std::pair<std::string, std::string>>& servers) {
    std::string shipped =
        fileText(std::string(HEARTH_SOURCE_DIR) + "/packaging/haproxy/hearth.cfg");
    EXPECT_NE(shipped, "");
    std::string out;
    bool servers_written = false;
    for (const std::string& line : text::split(shipped, '\n')) {
      std::string t = text::trim(line);
      if (t.rfind("log /dev/log", 0) == 0) {
        out += "    log stderr format raw local0\n";
      } else if (t.rfind("bind ", 0) == 0) {
        out += "    bind 127.0.0.1:" + std::to_string(port) + "\n";
      } else if (t.rfind("server ", 0) == 0) {
        if (servers_written) continue;
        servers_written = true;
        for (size_t i = 0; i < servers.size(); ++i) {
          std::string admin_port = servers[i].second.substr(servers[i].second.rfind(':') + 1);
          out += "    server hearth" + std::to_string(i + 1) + " " + servers[i].first + " port " +
                 admin_port + "\n";
        }
      } else {
        std::string l = line;
        size_t ca = l.find("/etc/haproxy/hearth-ca.pem");
        if (ca != std::string::npos) {
          l.replace(ca, std::string("/etc/haproxy/hearth-ca.pem").size(), state_ + "/ca.pem");
        }
        out += l + "\n";
      }
    }
    return dir_.write("haproxy.cfg", out);
  }

  // Report `sequence` of `d` (failing on odd sequences: each report after the first changes its
  // verdict, a check_failed or check_fixed event) posted to `address`.
  HttpAnswer reportTo(const std::string& address, const FaultDevice& d, int64_t sequence) {
    const bool pass = sequence % 2 == 0;
    std::string body =
        R"({"report_id":")" + reportId(d.id + "-" + std::to_string(sequence)) + R"(","sequence":)" +
        std::to_string(sequence) +
        R"(,"sent_at":"2026-11-26T10:00:05Z","agent_version":"0.1.0",)"
        R"("machine_id":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",)"
        R"("result":{"compliant":)" +
        (pass ? "true" : "false") +
        R"(,"level":"standard","policy_version":1,)"
        R"("evaluated_at":"2026-11-26T10:00:00Z","host":{"hostname":"pc"},"checks":[)"
        R"({"id":"disk_encryption","verdict":")" +
        (pass ? "pass" : "fail") +
        R"(","required":true,"summary":"s","evidence":{},"remediation":"r","duration_ms":1}]}})";
    HttpsClient client({.ca_file = state_ + "/ca.pem",
                        .cert_file = d.cert,
                        .key_file = d.key,
                        .timeout_seconds = 10});
    HttpsReply reply = client.postJson("https://" + address + "/api/v1/reports", body);
    HttpAnswer a;
    a.status = reply.completed() ? reply.status : 0;
    a.body = std::move(reply.body);
    return a;
  }

  std::unique_ptr<ServerProcess> second_;
  std::unique_ptr<HaproxyProcess> haproxy_;
};

TEST_P(ClusterTest, TwoServersBehindHaproxyLoseNoReportWhenOneIsKilled) {
  const std::string haproxy = FindHaproxy();
  ASSERT_NE(haproxy, "") << "haproxy is not installed (scripts/install-deps installs it)";
  WebhookReceiver receiver(dir_.path(), "cluster-webhook-secret");
  std::string secret_file = dir_.write("webhook-secret", "cluster-webhook-secret");
  auto added = cli({"webhook", "add", "--url", receiver.url(), "--events",
                    "check_failed,check_fixed", "--secret-file", secret_file});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  // A short attempt time: the deliveries the killed server had claimed are free again 11 s
  // after it claimed them (the claim lasts an attempt's time plus 10 s).
  const std::vector<std::string> extra = {"--webhook-timeout", "1", "--webhook-ca-file",
                                          receiver.caFile()};
  ASSERT_TRUE(start(extra));
  ASSERT_TRUE(startSecond(extra));
  const int port = FreePort();
  ASSERT_NE(port, 0);
  std::string config = haproxyConfig(
      port, {{devices_, admin_}, {second_->address("devices"), second_->address("admin")}});
  const std::string haproxy_log = dir_.path() + "/haproxy.log";
  haproxy_ = std::make_unique<HaproxyProcess>(haproxy, config, haproxy_log);
  const std::string balancer = "127.0.0.1:" + std::to_string(port);

  constexpr int kDevices = 20;
  constexpr int64_t kReports = 12;
  std::vector<FaultDevice> devices;
  for (int i = 0; i < kDevices; ++i) {
    devices.push_back(enroll("cluster-pc-" + std::to_string(i)));
    ASSERT_FALSE(devices.back().id.empty());
  }
  // HAProxy listens and both servers are up (the first check passed).
  ASSERT_TRUE(waitFor(
      [&] {
        long status = reportTo(balancer, devices[0], 1).status;
        return status == 202 || status == 200;  // stored (200: by an attempt whose answer was lost)
      },
      seconds(10)))
      << fileText(haproxy_log);

  // Every device sends its reports in order through HAProxy; one not acknowledged (no answer,
  // 503) is sent again, as the agent's spool does. The first server is killed meanwhile.
  std::mutex mu;
  std::map<std::string, std::set<std::string>> acknowledged;  // device -> report ids
  std::atomic<int> acks{0}, failures{0};
  std::atomic<bool> killed{false};
  Clock::time_point kill_at{};
  std::vector<std::thread> agents;
  for (int i = 0; i < kDevices; ++i) {
    agents.emplace_back([&, i] {
      const FaultDevice& d = devices[i];
      for (int64_t seq = i == 0 ? 2 : 1; seq <= kReports; ++seq) {
        auto deadline = Clock::now() + seconds(40);
        while (Clock::now() < deadline) {
          HttpAnswer a = reportTo(balancer, d, seq);
          if (a.status == 200 || a.status == 202) {
            std::lock_guard<std::mutex> lock(mu);
            acknowledged[d.id].insert(reportId(d.id + "-" + std::to_string(seq)));
            ++acks;
            break;
          }
          ++failures;
          std::this_thread::sleep_for(milliseconds(200));
        }
      }
    });
  }
  // Mid-ingest: a third of the reports acknowledged.
  ASSERT_TRUE(waitFor([&] { return acks >= kDevices * kReports / 3; }, seconds(30)));
  server_->kill9();
  kill_at = Clock::now();
  killed = true;
  // HAProxy notices (two failed checks a second apart) ...
  Clock::time_point down_at{};
  ASSERT_TRUE(waitFor(
      [&] {
        if (fileText(haproxy_log).find("hearth1 is DOWN") == std::string::npos) return false;
        down_at = Clock::now();
        return true;
      },
      seconds(15)))
      << fileText(haproxy_log);
  // ... and within 5 s of that the survivor answers through it.
  bool serving = false;
  while (Clock::now() - down_at < seconds(5) && !serving) {
    serving = reportTo(balancer, devices[0], 1).status == 200;  // stored before: a duplicate
    if (!serving) std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_TRUE(serving) << "the survivor did not answer through HAProxy within 5 s of DOWN";
  for (auto& t : agents) t.join();
  // Both servers took connections (the tcplog lines name the server of each one).
  const std::string balanced = fileText(haproxy_log);
  auto served_by = [&](const std::string& name) {
    size_t n = 0;
    for (size_t at = balanced.find(name); at != std::string::npos;
         at = balanced.find(name, at + 1)) {
      ++n;
    }
    return n;
  };
  const size_t by_first = served_by("hearth_servers/hearth1 "),
               by_second = served_by("hearth_servers/hearth2 ");
  EXPECT_GT(by_first, 0u) << "the killed server took no connection before it was killed";
  EXPECT_GT(by_second, 0u);
  std::cout << "[ cluster  ] " << acks.load() << " reports acknowledged, " << failures.load()
            << " attempts failed or cut; HAProxy marked the killed server down "
            << std::chrono::duration_cast<milliseconds>(down_at - kill_at).count()
            << " ms after the kill; connections: " << by_first << " to the killed server, "
            << by_second << " to the survivor" << std::endl;

  // Every acknowledged report is stored, exactly once (read from the survivor).
  admin_ = second_->address("admin");
  for (const auto& d : devices) {
    auto history = historyIds(d.id);
    std::multiset<std::string> stored(history.begin(), history.end());
    const auto& acked = acknowledged[d.id];
    EXPECT_EQ(acked.size() + (d.id == devices[0].id ? 1 : 0), static_cast<size_t>(kReports))
        << d.id << ": a report was never acknowledged";
    for (const auto& id : acked) EXPECT_EQ(stored.count(id), 1u) << d.id << " report " << id;
    EXPECT_EQ(history.size(), static_cast<size_t>(kReports)) << d.id;
  }

  // The webhook outbox on the survivor: every check_failed and check_fixed event of the feed
  // reaches the receiver, each under one delivery id.
  size_t events = 0;
  auto feed = json::parse(admin("/api/v1/feed?limit=1000").body);
  ASSERT_TRUE(feed.ok());
  for (const auto& e : feed->find("events")->asArray()) {
    if (e.find("type")->asString() != "verdict_changed") continue;
    const json::Value* from = e.find("from");
    bool fixed = from != nullptr && from->isString() && from->asString() == "fail" &&
                 e.find("to")->asString() == "pass";
    if (e.find("to")->asString() == "fail" || fixed) ++events;  // check_failed, check_fixed
  }
  EXPECT_EQ(events, static_cast<size_t>(kDevices * kReports));  // each report changes it
  auto distinct = [&] {
    std::set<std::string> ids;
    for (const auto& r : receiver.received()) {
      if (r.answered == 200) ids.insert(r.delivery_id);
    }
    return ids.size();
  };
  EXPECT_TRUE(waitFor([&] { return distinct() >= events; }, seconds(30)))
      << distinct() << " of " << events << " events delivered";
  std::map<std::string, std::vector<ReceivedDelivery>> by_id;
  for (const auto& r : receiver.received()) by_id[r.delivery_id].push_back(r);
  EXPECT_EQ(by_id.size(), events) << "an event delivered under two ids, or one not delivered";
  auto kill_wall =
      std::chrono::system_clock::now() -
      std::chrono::duration_cast<std::chrono::system_clock::duration>(Clock::now() - kill_at);
  size_t again = 0;
  for (const auto& [id, got] : by_id) {
    EXPECT_TRUE(got.front().signature_ok) << id;
    if (got.size() > 1) {
      ++again;
      // Sent twice only when the killed server sent it and died before recording it.
      EXPECT_LT(got.front().at, kill_wall + seconds(1)) << "delivery " << id << " sent twice";
    }
  }
  std::cout << "[ cluster  ] " << by_id.size() << " events delivered, " << again
            << " of them again after the kill (same delivery id)" << std::endl;
}

INSTANTIATE_TEST_SUITE_P(Backends, ClusterTest, ::testing::Values("postgresql"));

}  // namespace
}  // namespace hearth::testing
