// The fleet-scale load bench (issue 18): one hearth-server (SQLite by default, PostgreSQL with
// --database) and a simulated fleet, all on loopback.
//   1. enrol: N devices over HTTPS (a P-256 key and CSR each, made here), as the agent does;
//   2. steady: each device delivers one report, over its own mTLS connection: the steady state of
//      one report per device per 15 minutes, compressed into as short a run as the server allows;
//   3. queries: the compliance feed's newest page and the console's device list first page, as
//      IT asks them, at N devices (budgets: p99 <= 20 ms and <= 200 ms);
//   4. outage: the server stops; the store's size is read;
//   5. flush: it starts again and F agents deliver K spooled reports each, in order, on one
//      keep-alive connection per agent, all at once (the worst case: the server's drain rate);
//      503/429 answers are retried after the server's Retry-After, as the agent does;
//   6. the store's size again: bytes per report, and per device per day at 96 reports a day;
//   7. how the agents really come back: each agent's first attempt after an outage of H hours,
//      drawn from the agent's own backoff (hearth::agent::Backoff, full jitter, 15-minute cap),
//      gives the peak arrival rate, set against the drain rate measured in 5.
// Prints a table; exit 1 when a budget is missed or a request failed for good.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <strings.h>
#include <thread>
#include <vector>

#include <curl/curl.h>

#include "bench_util.h"
#include "hearth/agent/backoff.h"
#include "hearth/protocol/crypto.h"
#include "support/files.h"
#include "support/https_client.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace {

using Clock = std::chrono::steady_clock;
using hearth::bench::Flag;
using hearth::bench::Percentile;

constexpr const char* kUsage =
    "usage: hearth_scale_bench --server BIN [--database URI] [--devices 100000]\n"
    "                          [--flush-agents 10000] [--spooled 24] [--connections 32]\n"
    "                          [--queries 200] [--outage-hours 8]\n"
    "  --database URI   PostgreSQL (an empty database); default SQLite in a temporary dir\n";

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// Runs work(i) for i in [0, n) on `threads` threads; prints progress to stderr every 10%.
void Parallel(int n, int threads, const char* what, const std::function<void(int, int)>& work) {
  std::atomic<int> next{0}, done{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = next++; i < n; i = next++) {
        work(i, t);
        int d = ++done;
        if (n >= 10 && d % (n / 10) == 0) std::fprintf(stderr, "%s: %d/%d\n", what, d, n);
      }
    });
  }
  for (auto& p : pool) p.join();
}

// One libcurl handle with a device's certificate and key from memory (no file per device).
class DeviceClient {
 public:
  DeviceClient(const std::string& ca, const std::string& cert, const std::string& key)
      : h_(curl_easy_init()) {
    curl_easy_setopt(h_, CURLOPT_CAINFO, ca.c_str());
    curl_blob c{const_cast<char*>(cert.data()), cert.size(), CURL_BLOB_COPY};
    curl_blob k{const_cast<char*>(key.data()), key.size(), CURL_BLOB_COPY};
    curl_easy_setopt(h_, CURLOPT_SSLCERT_BLOB, &c);
    curl_easy_setopt(h_, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(h_, CURLOPT_SSLKEY_BLOB, &k);
    curl_easy_setopt(h_, CURLOPT_SSLKEYTYPE, "PEM");
    curl_easy_setopt(h_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h_, CURLOPT_TIMEOUT, 60L);
    headers_ = curl_slist_append(nullptr, "Content-Type: application/json");
    curl_easy_setopt(h_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(h_, CURLOPT_WRITEFUNCTION, &DeviceClient::collect);
    curl_easy_setopt(h_, CURLOPT_WRITEDATA, &body_);
    curl_easy_setopt(h_, CURLOPT_HEADERFUNCTION, &DeviceClient::header);
    curl_easy_setopt(h_, CURLOPT_HEADERDATA, &retry_after_);
  }
  ~DeviceClient() {
    curl_slist_free_all(headers_);
    curl_easy_cleanup(h_);
  }
  DeviceClient(const DeviceClient&) = delete;
  DeviceClient& operator=(const DeviceClient&) = delete;

  // POSTs `json` to `url`: the HTTP status (0 when no answer), the Retry-After seconds (-1: none).
  long post(const std::string& url, const std::string& json, long* retry_after) {
    body_.clear();
    retry_after_ = -1;
    curl_easy_setopt(h_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h_, CURLOPT_POSTFIELDS, json.data());
    curl_easy_setopt(h_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(json.size()));
    long status = 0;
    if (curl_easy_perform(h_) == CURLE_OK) curl_easy_getinfo(h_, CURLINFO_RESPONSE_CODE, &status);
    *retry_after = retry_after_;
    return status;
  }

 private:
  static size_t collect(char* data, size_t size, size_t n, void* user) {
    static_cast<std::string*>(user)->append(data, size * n);
    return size * n;
  }
  static size_t header(char* data, size_t size, size_t n, void* user) {
    std::string line(data, size * n);
    if (line.size() > 12 && strncasecmp(line.c_str(), "Retry-After:", 12) == 0) {
      *static_cast<long*>(user) = std::strtol(line.c_str() + 12, nullptr, 10);
    }
    return size * n;
  }

  CURL* h_;
  curl_slist* headers_ = nullptr;
  std::string body_;
  long retry_after_ = -1;
};

// A report as the agent sends it (the four checks, after the privacy filter); one device in
// twenty fails disk encryption, so the store keeps the same mix of states as a real fleet.
std::string Report(int device, int64_t seq) {
  bool fail = device % 20 == 0;
  auto id = hearth::protocol::RandomUuid();
  return R"j({"report_id":")j" + *id + R"j(","sequence":)j" + std::to_string(seq) +
         R"j(,"sent_at":"2026-12-07T10:00:05Z","agent_version":"0.1.0","machine_id":")j" +
         hearth::protocol::Sha256Hex("machine-" + std::to_string(device)) +
         R"j(","result":{"compliant":)j" + (fail ? "false" : "true") +
         R"j(,"level":"standard","policy_version":1,"evaluated_at":"2026-12-07T10:00:00Z",)j"
         R"j("host":{"hostname":"pc","os":"Debian GNU/Linux 12 (bookworm)","kernel":"6.1.0"},)j"
         R"j("checks":[{"id":"disk_encryption","verdict":")j" +
         (fail ? "fail" : "pass") +
         R"j(","required":true,"summary":"Root filesystem / on vda is not encrypted",)j"
         R"j("evidence":{"targets":[{"mount_point":"/","chain":"/ <- vda","encrypted":false}]},)j"
         R"j("remediation":"Reinstall with encryption","duration_ms":3},)j"
         R"j({"id":"vpn","verdict":"pass","required":true,"summary":"10.20.0.1 via tun0",)j"
         R"j("evidence":{},"remediation":"","duration_ms":1},)j"
         R"j({"id":"os_patches","verdict":"pass","required":true,"summary":"No updates pending",)j"
         R"j("evidence":{"pending_count":0,"security_count":0},"remediation":"","duration_ms":20},)j"
         R"j({"id":"screen_lock","verdict":"pass","required":true,"summary":"locks after 300 s",)j"
         R"j("evidence":{},"remediation":"","duration_ms":1}]}})j";
}

// The store's size in bytes: the SQLite files in the state dir, or PostgreSQL's database size.
int64_t StoreBytes(const hearth::testing::TestServer& server) {
  if (server.database().empty()) {
    int64_t total = 0;
    for (const char* f : {"/hearth.db", "/hearth.db-wal"}) {
      std::error_code ec;
      auto n = std::filesystem::file_size(server.stateDir() + f, ec);
      if (!ec) total += static_cast<int64_t>(n);
    }
    return total;
  }
  auto out = hearth::testing::RunProcess(
      {"/usr/bin/psql", server.database(), "-Atc", "SELECT pg_database_size(current_database())"});
  try {
    return std::stoll(out.out);
  } catch (...) {
    std::cerr << "psql: " << out.err << "\n";
    return -1;
  }
}

struct Latencies {
  std::mutex mu;
  std::vector<double> ms;
  void add(const std::vector<double>& mine) {
    std::lock_guard<std::mutex> lock(mu);
    ms.insert(ms.end(), mine.begin(), mine.end());
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (auto rc =
          hearth::bench::CheckFlags(argc, argv,
                                    {"--server", "--database", "--devices", "--flush-agents",
                                     "--spooled", "--connections", "--queries", "--outage-hours"},
                                    kUsage)) {
    return *rc;
  }
  std::string binary = Flag(argc, argv, "--server", "");
  if (!binary.empty()) binary = std::filesystem::absolute(binary).string();
  auto devices_n = hearth::bench::WholeIn(Flag(argc, argv, "--devices", "100000"), 1, 10000000);
  auto flush_n = hearth::bench::WholeIn(Flag(argc, argv, "--flush-agents", "10000"), 0, 10000000);
  auto spooled = hearth::bench::WholeIn(Flag(argc, argv, "--spooled", "24"), 1, 10000);
  auto conns = hearth::bench::WholeIn(Flag(argc, argv, "--connections", "32"), 1, 1024);
  auto queries = hearth::bench::WholeIn(Flag(argc, argv, "--queries", "200"), 1, 100000);
  auto outage_h = hearth::bench::WholeIn(Flag(argc, argv, "--outage-hours", "8"), 1, 1000);
  if (binary.empty() || !devices_n || !flush_n || !spooled || !conns || !queries || !outage_h) {
    std::fprintf(stderr, "missing --server or a value out of range\n%s", kUsage);
    return 2;
  }
  const int n = *devices_n, flush = std::min(*flush_n, n), k = *spooled, c = *conns;
  std::string database = Flag(argc, argv, "--database", "");
  curl_global_init(CURL_GLOBAL_DEFAULT);

  hearth::testing::TempDir dir;
  hearth::testing::TestServer server(dir.path() + "/state", database, binary);
  auto init = server.init();
  if (init.exit_code != 0) {
    std::cerr << init.err;
    return 2;
  }
  // Every simulated device enrols from 127.0.0.1: lift the enrolment limits.
  hearth::testing::ServeOptions options{
      .extra = {"--enroll-address-burst", "1000000", "--enroll-burst", "1000000"}};
  std::string log = dir.path() + "/server.log";
  if (!server.serve(log, options)) {
    std::cerr << "server did not start: " << hearth::testing::ReadFile(log) << "\n";
    return 2;
  }
  const std::string backend = database.empty() ? "SQLite" : "PostgreSQL";
  const std::string ca = server.caFile();
  const std::string secret = server.enrollSecret();
  int64_t bytes_empty = StoreBytes(server);

  // 1. Enrolment.
  std::vector<std::string> certs(static_cast<size_t>(n)), keys(static_cast<size_t>(n));
  std::atomic<int> enrol_failed{0};
  auto t0 = Clock::now();
  std::string devices_url = "https://" + server.address("devices");
  Parallel(n, std::min(c, 8), "enrol", [&](int i, int) {
    auto d =
        hearth::testing::EnrolDevice(devices_url, ca, secret, "pc-" + std::to_string(i), "bench");
    if (!d.ok()) {
      if (enrol_failed++ < 3) std::cerr << "enrol " << i << ": " << d.error << "\n";
      return;
    }
    certs[static_cast<size_t>(i)] = std::move(d.cert_pem);
    keys[static_cast<size_t>(i)] = std::move(d.key_pem);
  });
  double enrol_s = Seconds(t0);
  if (enrol_failed > 0) {
    std::cerr << enrol_failed << " enrolments failed\n";
    return 1;
  }

  // 2. Steady state: one report per device, each on its own connection.
  std::string reports_url = devices_url + "/api/v1/reports";
  Latencies steady;
  std::atomic<int64_t> steady_failed{0}, steady_retried{0};
  t0 = Clock::now();
  {
    std::vector<std::vector<double>> mine(static_cast<size_t>(c));
    Parallel(n, c, "steady", [&](int i, int t) {
      DeviceClient client(ca, certs[static_cast<size_t>(i)], keys[static_cast<size_t>(i)]);
      std::string body = Report(i, 1);
      for (int attempt = 0; attempt < 20; ++attempt) {
        long retry_after = -1;
        auto start = Clock::now();
        long status = client.post(reports_url, body, &retry_after);
        if (status == 202 || status == 200) {
          mine[static_cast<size_t>(t)].push_back(Seconds(start) * 1000);
          return;
        }
        ++steady_retried;
        std::this_thread::sleep_for(std::chrono::seconds(std::clamp(retry_after, 1L, 5L)));
      }
      ++steady_failed;
    });
    for (auto& m : mine) steady.add(m);
  }
  double steady_s = Seconds(t0);

  // 3. IT's queries at N devices, over one keep-alive connection with the admin token.
  std::vector<double> feed_ms, list_ms;
  {
    hearth::testing::HttpsClient admin({.ca_file = ca});
    std::string base = "https://" + server.address("admin") + "/api/v1/";
    std::vector<std::string> auth = {"Authorization: Bearer " + server.adminToken()};
    for (int q = 0; q < *queries; ++q) {
      auto r1 = admin.get(base + "feed?newest=100", auth);
      if (r1.status == 200) feed_ms.push_back(r1.total_seconds * 1000);
      auto r2 = admin.get(base + "devices?limit=50", auth);
      if (r2.status == 200) list_ms.push_back(r2.total_seconds * 1000);
    }
  }

  // 4. Outage: the server stops; the store's size with N devices and one report each.
  server.stop();
  int64_t bytes_steady = StoreBytes(server);

  // 5. Flush: the server is back; F agents deliver K spooled reports each, all at once.
  if (!server.serve(log, options)) {
    std::cerr << "server did not start again: " << hearth::testing::ReadFile(log) << "\n";
    return 2;
  }
  devices_url = "https://" + server.address("devices");
  reports_url = devices_url + "/api/v1/reports";
  Latencies flushed;
  std::atomic<int64_t> flush_failed{0}, flush_retried{0};
  t0 = Clock::now();
  {
    std::vector<std::vector<double>> mine(static_cast<size_t>(c));
    Parallel(flush, c, "flush", [&](int i, int t) {
      DeviceClient client(ca, certs[static_cast<size_t>(i)], keys[static_cast<size_t>(i)]);
      for (int s = 0; s < k; ++s) {
        std::string body = Report(i, 2 + s);
        bool delivered = false;
        for (int attempt = 0; attempt < 20 && !delivered; ++attempt) {
          long retry_after = -1;
          auto start = Clock::now();
          long status = client.post(reports_url, body, &retry_after);
          if (status == 202 || status == 200) {
            mine[static_cast<size_t>(t)].push_back(Seconds(start) * 1000);
            delivered = true;
          } else {
            ++flush_retried;
            std::this_thread::sleep_for(std::chrono::seconds(std::clamp(retry_after, 1L, 5L)));
          }
        }
        if (!delivered) {
          ++flush_failed;
          return;  // the agent keeps the rest in order for its next attempt
        }
      }
    });
    for (auto& m : mine) flushed.add(m);
  }
  double flush_s = Seconds(t0);
  server.stop();
  int64_t bytes_flushed = StoreBytes(server);

  // 7. When the agents really come back: each agent's first attempt after the outage, from
  // the agent's own backoff (failed attempts every wait until the outage is over).
  std::vector<double> arrivals;  // seconds after the server is back
  {
    const double outage_s = *outage_h * 3600.0;
    hearth::agent::PostResult unavailable;
    unavailable.kind =
        hearth::agent::PostResult::Kind::kNetwork;  // connection refused: the server is down
    for (int i = 0; i < std::max(flush, 1); ++i) {
      hearth::agent::Backoff backoff({}, static_cast<uint64_t>(i) * 7919 + 1);
      // The agent's first failed attempt comes at a uniform point of its 15-minute cycle.
      double t = static_cast<double>(i % 900);
      while (t < outage_s) t += static_cast<double>(backoff.onFailure(unavailable).count()) / 1000;
      arrivals.push_back(t - outage_s);
    }
  }
  std::map<int64_t, int> per_second;
  for (double a : arrivals) ++per_second[static_cast<int64_t>(a)];
  int peak_agents = 0;
  for (const auto& [s, count] : per_second) peak_agents = std::max(peak_agents, count);
  double spread_s = arrivals.empty() ? 0 : *std::max_element(arrivals.begin(), arrivals.end());

  const double steady_rate = n / steady_s;
  const double flush_rate = static_cast<double>(flushed.ms.size()) / flush_s;
  const double feed_p99 = Percentile(feed_ms, 0.99), list_p99 = Percentile(list_ms, 0.99);
  const double per_report = flushed.ms.empty() ? 0
                                               : static_cast<double>(bytes_flushed - bytes_steady) /
                                                     static_cast<double>(flushed.ms.size());
  std::printf("%-58s %14s %10s\n", ("scale (" + backend + ", one server, loopback)").c_str(),
              "measured", "budget");
  std::printf("%-58s %14d %10s\n", "devices enrolled", n, "");
  std::printf("%-58s %14.0f %10s\n", "enrolments/s (HTTPS, key + CSR per device)", n / enrol_s, "");
  std::printf("%-58s %14.0f %10s\n", "steady: reports/s (one mTLS connection per report)",
              steady_rate, "");
  std::printf("%-58s %14.1f %10s\n", "steady: latency p50 (ms, incl. TLS handshake)",
              Percentile(steady.ms, 0.5), "");
  std::printf("%-58s %14.1f %10s\n", "steady: latency p99 (ms, incl. TLS handshake)",
              Percentile(steady.ms, 0.99), "");
  std::printf("%-58s %14.0f %10s\n", "steady: devices one server carries at 1 report/15 min",
              steady_rate * 900, "");
  std::printf("%-58s %14.1f %10s\n", "feed newest 100: p99 (ms)", feed_p99, "<= 20");
  std::printf("%-58s %14.1f %10s\n", "console device list first page: p99 (ms)", list_p99,
              "<= 200");
  std::printf("%-58s %14.1f %10s\n", "flush: seconds for all spooled reports", flush_s, "");
  std::printf("%-58s %14.0f %10s\n", "flush: reports/s (keep-alive per agent)", flush_rate, "");
  std::printf("%-58s %14.1f %10s\n", "flush: latency p99 (ms)", Percentile(flushed.ms, 0.99), "");
  std::printf("%-58s %14lld %10s\n", "answers 503/429 retried (steady + flush)",
              static_cast<long long>(steady_retried + flush_retried), "");
  std::printf("%-58s %14lld %10s\n", "reports never delivered",
              static_cast<long long>(steady_failed + flush_failed), "0");
  std::printf("%-58s %14.0f %10s\n", "store: bytes per device (enrolled, one report)",
              static_cast<double>(bytes_steady - bytes_empty) / n, "");
  std::printf("%-58s %14.0f %10s\n", "store: bytes per further report", per_report, "");
  std::printf("%-58s %14.2f %10s\n", "store: MB per device per day (96 reports)",
              per_report * 96 / 1e6, "");
  std::printf("%-58s %14.0f %10s\n", "agents back after the outage: spread (s)", spread_s, "");
  std::printf("%-58s %14d %10s\n", "agents back after the outage: peak agents in one second",
              peak_agents, "");
  std::printf("%-58s %14.0f %10s\n", "  peak reports/s they bring (x spooled)",
              static_cast<double>(peak_agents) * k, "");
  std::printf("%-58s %14.2f %10s\n", "  headroom: flush drain rate / that peak",
              flush_rate / std::max(1.0, static_cast<double>(peak_agents) * k), "");
  std::printf(
      "(%d devices, %d flushing agents x %d spooled reports, %d client connections, "
      "outage %d h; enrol %.0f s, steady %.0f s, flush %.0f s)\n",
      n, flush, k, c, *outage_h, enrol_s, steady_s, flush_s);
  bool ok = steady_failed == 0 && flush_failed == 0 && feed_p99 <= 20 && list_p99 <= 200;
  return ok ? 0 : 1;
}
