// The durability loop (a separate command, not part of .ci/run): N times, start the real
// hearth-server, let several simulated devices post reports over mTLS with keep-alive, kill -9
// the server at a random moment, run `hearth-server check-db` on what the crash left, restart it,
// and check that every report ever acknowledged (202 or 200) is in the database.
// Usage:
//   hearth_server_kill9_loop --server BIN [--iterations 50] [--clients 8] [--seed N]
//                            [--min-ms 200] [--max-ms 1500] [--database postgresql://...]
// With --database the loop runs on PostgreSQL, in a schema of its own that is dropped at the end.
// Prints a table; exit 0 only when nothing acknowledged was lost and every check said ok.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <Poco/Exception.h>
#include <curl/curl.h>

#include "bench_util.h"
#include "hearth/json.h"
#include "hearth/protocol/crypto.h"
#include "hearth/server/store.h"
#include "support/files.h"
#include "support/https_client.h"
#include "support/pg_schema.h"
#include "support/report_body.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace {

using Clock = std::chrono::steady_clock;

std::string arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
  return hearth::bench::Flag(argc, argv, name, fallback);
}

struct Device {
  std::string key, cert;
  int64_t next_sequence = 1;
};

class Loop {
 public:
  Loop(std::string server, std::string database)
      : server_(dir_.path() + "/s", std::move(database), std::move(server)) {}

  bool init(int clients) {
    auto init = server_.init();
    if (init.exit_code != 0) {
      std::cerr << "init failed: " << init.err;
      return false;
    }
    if (!start()) return false;
    std::string secret = server_.enrollSecret();
    for (int i = 0; i < clients; ++i) {
      auto d = hearth::testing::EnrolDevice(base_, server_.caFile(), secret,
                                            "kill9-" + std::to_string(i), "kill9");
      if (!d.ok()) {
        std::cerr << d.error << "\n";
        return false;
      }
      devices_.push_back(Device{dir_.write("d" + std::to_string(i) + ".key", d.key_pem),
                                dir_.write("d" + std::to_string(i) + ".pem", d.cert_pem)});
    }
    return true;
  }

  // One round: clients post until the server is killed after `run_for`. Returns how many
  // reports were acknowledged in it.
  int64_t round(std::chrono::milliseconds run_for) {
    if (!running_ && !start()) return -1;
    std::atomic<bool> stop{false};
    std::atomic<int64_t> acked{0};
    std::vector<std::thread> threads;
    for (auto& device : devices_) {
      threads.emplace_back([&, d = &device] {
        hearth::testing::HttpsClient c({.ca_file = server_.caFile(),
                                        .cert_file = d->cert,
                                        .key_file = d->key,
                                        .timeout_seconds = 5});
        std::vector<std::string> mine;
        while (!stop) {
          auto id = hearth::protocol::RandomUuid();
          auto reply = c.postJson(base_ + "/api/v1/reports",
                                  hearth::testing::MinimalReportBody(*id, d->next_sequence));
          if (reply.completed() && (reply.status == 202 || reply.status == 200)) {
            mine.push_back(*id);
            ++d->next_sequence;
          }
        }
        acked += static_cast<int64_t>(mine.size());
        std::lock_guard<std::mutex> lock(mu_);
        acknowledged_.insert(acknowledged_.end(), mine.begin(), mine.end());
      });
    }
    std::this_thread::sleep_for(run_for);
    server_.kill9();  // mid-ingest: the clients are posting
    running_ = false;
    stop = true;
    for (auto& t : threads) t.join();
    return acked;
  }

  // `hearth-server check-db` on what the crash left (before the server opens it again).
  bool checkDb(std::string& output) {
    auto r = server_.cli({"check-db"});
    output = r.out + r.err;
    return r.exit_code == 0 && r.out == "ok\n";
  }

  // How many of the acknowledged reports are stored; the missing ones go to `lost`.
  int64_t found(std::vector<std::string>& lost) {
    std::set<std::string> stored;
    try {
      std::vector<std::string> ids;
      if (server_.database().empty()) {
        Poco::Data::Session s("SQLite", server_.stateDir() + "/hearth.db");
        s << "SELECT report_id FROM reports", Poco::Data::Keywords::into(ids),
            Poco::Data::Keywords::now;
      } else {
        Poco::Data::Session s("PostgreSQL",
                              *hearth::server::PostgresUriToConninfo(server_.database()));
        s << "SELECT report_id FROM reports", Poco::Data::Keywords::into(ids),
            Poco::Data::Keywords::now;
      }
      stored.insert(ids.begin(), ids.end());
    } catch (const Poco::Exception& e) {
      std::cerr << "reading the reports: " << e.displayText() << "\n";
      return -1;
    }
    int64_t n = 0;
    for (const auto& id : acknowledged_) {
      if (stored.count(id) != 0) {
        ++n;
      } else {
        lost.push_back(id);
      }
    }
    return n;
  }

  bool restart() { return start(); }
  size_t acknowledged() const { return acknowledged_.size(); }
  const std::string& logPath() const { return log_; }

 private:
  bool start() {
    running_ = server_.serve(log_, {.extra = {"--enroll-address-burst", "1000"}});
    if (!running_) {
      std::cerr << "the server did not start; its log: " << log_ << "\n";
      return false;
    }
    base_ = "https://" + server_.address("devices");
    return true;
  }

  hearth::testing::TempDir dir_;
  hearth::testing::TestServer server_;
  std::string log_ = dir_.path() + "/server.log";
  std::string base_;
  bool running_ = false;
  std::vector<Device> devices_;
  std::mutex mu_;
  std::vector<std::string> acknowledged_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string server = arg(argc, argv, "--server", "");
  if (server.empty() || (argc > 1 && (std::string(argv[1]) == "--help"))) {
    std::cerr << "usage: hearth_server_kill9_loop --server PATH/TO/hearth-server "
                 "[--iterations 50]\n"
                 "         [--clients 8] [--seed N] [--min-ms 200] [--max-ms 1500]\n"
                 "         [--database postgresql://USER@HOST:PORT/DB]\n";
    return 2;
  }
  int iterations = std::stoi(arg(argc, argv, "--iterations", "50"));
  int clients = std::stoi(arg(argc, argv, "--clients", "8"));
  int min_ms = std::stoi(arg(argc, argv, "--min-ms", "200"));
  int max_ms = std::stoi(arg(argc, argv, "--max-ms", "1500"));
  unsigned seed = static_cast<unsigned>(
      std::stoul(arg(argc, argv, "--seed", std::to_string(std::random_device{}()))));
  std::string pg = arg(argc, argv, "--database", "");

  Poco::Data::SQLite::Connector::registerConnector();
  Poco::Data::PostgreSQL::Connector::registerConnector();
  std::unique_ptr<hearth::testing::PostgresSchema> schema;
  std::string database;
  if (!pg.empty()) {
    ::setenv("HEARTH_TEST_PG_URI", pg.c_str(), 1);  // PostgresSchema makes a schema of its own
    schema = std::make_unique<hearth::testing::PostgresSchema>("kill9");
    database = schema->uri();
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  Loop loop(server, database);
  if (!loop.init(clients)) return 2;

  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> when(min_ms, max_ms);
  int integrity_ok = 0;
  int64_t found_last = 0;
  std::vector<std::string> lost;
  for (int i = 1; i <= iterations; ++i) {
    int ms = when(rng);
    int64_t acked = loop.round(std::chrono::milliseconds(ms));
    if (acked < 0) return 2;
    std::string check;
    bool ok = loop.checkDb(check);
    integrity_ok += ok ? 1 : 0;
    if (!loop.restart()) return 2;
    lost.clear();
    found_last = loop.found(lost);
    std::printf(
        "iteration %3d: killed after %4d ms, %5lld acknowledged, "
        "check-db %s, lost %zu\n",
        i, ms, static_cast<long long>(acked), ok ? "ok" : check.c_str(), lost.size());
    std::fflush(stdout);
    if (found_last < 0) return 2;
  }
  std::printf("\n%-36s %12s\n", pg.empty() ? "kill -9 loop (SQLite)" : "kill -9 loop (PostgreSQL)",
              "result");
  std::printf("%-36s %12d\n", "iterations", iterations);
  std::printf("%-36s %12zu\n", "acknowledged reports", loop.acknowledged());
  std::printf("%-36s %12lld\n", "found after restart", static_cast<long long>(found_last));
  std::printf("%-36s %12zu\n", "lost (must be 0)", lost.size());
  std::printf("%-36s %9d/%d\n", "check-db ok", integrity_ok, iterations);
  std::printf("(seed %u, %d clients, kill after %d..%d ms)\n", seed, clients, min_ms, max_ms);
  for (size_t i = 0; i < lost.size() && i < 10; ++i) std::printf("lost: %s\n", lost[i].c_str());
  return lost.empty() && integrity_ok == iterations ? 0 : 1;
}
