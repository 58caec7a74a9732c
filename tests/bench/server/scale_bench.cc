// The fleet-scale load bench (issue 18): one hearth-server (SQLite by default, PostgreSQL with
// --database) and a simulated fleet, all on loopback.
//   1. seed: N - S devices are made in-process (fleet_seed.h: a P-256 key each, a client
//      certificate from the server's device CA, enrolled through the server's Store with its
//      enrolment secret, a first report stored through Store::ingestReports), because the HTTPS
//      enrol path (about 65/s here) would take 25 minutes for 100,000;
//   2. enrol: S devices over HTTPS (a P-256 key and CSR each, made here), as the agent does: the
//      enrolments/s figure;
//   3. steady: M devices spread over the whole fleet deliver one report each, over their own
//      mTLS connection (the agent starts a new uploader process for each delivery and keeps no
//      TLS session between them, so every report costs a full handshake): the steady state of
//      one report per device per 15 minutes, compressed into as short a run as the server allows;
//      then P devices fetch the signed policy, each on its own connection (every agent does that
//      once per 15-minute cycle, report or not);
//   4. queries: the compliance feed's newest page and the console's device list first page, as
//      IT asks them, at N devices (budgets: p99 <= 20 ms and <= 200 ms);
//   5. outage: the server stops; the store's size is read;
//   6. flush: it starts again and F agents deliver K spooled reports each, in order, on one
//      keep-alive connection per agent, all at once (the worst case: the server's drain rate);
//      503/429 answers are retried after the server's Retry-After, as the agent does;
//   7. the store's size again (PostgreSQL: pg_total_relation_size of every table, indexes and
//      TOAST included; SQLite: the database and WAL files): bytes per report, and per device and
//      day at 96 reports a day (a report every 15 minutes) and at 24 (the hourly heartbeat);
//   8. how the agents really come back: each agent's first attempt after an outage of H hours,
//      drawn from the agent's own backoff (hearth::agent::Backoff, full jitter, 15-minute cap),
//      gives the peak arrival rate, set against the drain rate measured in 6.
// Prints a table; exit 1 when a budget is missed or a request failed for good.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <strings.h>
#include <thread>
#include <vector>

#include <curl/curl.h>

#include "bench_util.h"
#include "fleet_seed.h"
#include "haproxy_front.h"
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
    "                          [--enrol-sample 2000] [--steady-reports 20000]\n"
    "                          [--policy-fetches 2000] [--flush-agents 10000] [--spooled 24]\n"
    "                          [--connections 32] [--queries 200] [--query-rounds 5]\n"
    "                          [--outage-hours 8]\n"
    "                          [--seed-connections 1 (SQLite) / 4 (PostgreSQL)]\n"
    "                          [--haproxy /usr/sbin/haproxy [--haproxy-config FILE]]\n"
    "                          [--keep-state DIR]\n"
    "  --database URI     PostgreSQL (an empty database); default SQLite in a temporary dir\n"
    "  --enrol-sample S   devices enrolled over HTTPS; the other devices are seeded in-process\n"
    "                     (keys, device-CA certificates, Store::enrollDevice, a first report)\n"
    "  --steady-reports M reports in the steady round, one per device, over the whole fleet\n"
    "  --haproxy BIN      two servers on the --database behind HAProxy (packaging/haproxy)\n"
    "  --keep-state DIR   copy the server's state directory (keys, tokens; the SQLite store)\n"
    "                     to DIR (which must not exist) at the end, for queries-at-scale\n";

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
  // GETs `url`: as post().
  long get(const std::string& url, long* retry_after) {
    body_.clear();
    retry_after_ = -1;
    curl_easy_setopt(h_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h_, CURLOPT_HTTPGET, 1L);
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

// The store's size in bytes: the SQLite files in the state dir, or PostgreSQL's tables (with
// their indexes and TOAST: pg_total_relation_size of every table in the schema).
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
      {"/usr/bin/psql", server.database(), "-Atc",
       "SELECT sum(pg_total_relation_size(format('%I.%I', schemaname, tablename)))::bigint "
       "FROM pg_tables WHERE schemaname = current_schema()"});
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

// The 1-minute load average (/proc/loadavg), "?" when unreadable.
std::string LoadAverage() {
  std::string text = hearth::testing::ReadFile("/proc/loadavg");
  size_t space = text.find(' ');
  return space == std::string::npos ? "?" : text.substr(0, space);
}

// The agents' first attempts after an outage of `outage_s`, in seconds after the server is back:
// each agent fails every wait its own Backoff draws (connection refused) until the outage is over.
std::vector<double> ReturnTimes(int agents, double outage_s) {
  std::vector<double> arrivals;
  hearth::agent::PostResult unavailable;
  unavailable.kind = hearth::agent::PostResult::Kind::kNetwork;
  for (int i = 0; i < agents; ++i) {
    hearth::agent::Backoff backoff({}, static_cast<uint64_t>(i) * 7919 + 1);
    // The agent's first failed attempt comes at a uniform point of its 15-minute cycle.
    double t = static_cast<double>(i % 900);
    while (t < outage_s) t += static_cast<double>(backoff.onFailure(unavailable).count()) / 1000;
    arrivals.push_back(t - outage_s);
  }
  return arrivals;
}

// Posts `body` until it is taken (202/200), waiting out 503/429 as the server asks (at least 1 s,
// at most 5 s here); the latency of the attempt that was taken, or nullopt after 20 attempts.
std::optional<double> Deliver(DeviceClient& client, const std::string& url, const std::string& body,
                              std::atomic<int64_t>& retried) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    long retry_after = -1;
    auto start = Clock::now();
    long status = client.post(url, body, &retry_after);
    if (status == 202 || status == 200) return Seconds(start) * 1000;
    ++retried;
    std::this_thread::sleep_for(std::chrono::seconds(std::clamp(retry_after, 1L, 5L)));
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  if (auto rc = hearth::bench::CheckFlags(
          argc, argv,
          {"--server", "--database", "--devices", "--enrol-sample", "--steady-reports",
           "--policy-fetches", "--flush-agents", "--spooled", "--connections", "--queries",
           "--outage-hours", "--seed-connections", "--haproxy", "--haproxy-config",
           "--query-rounds", "--keep-state"},
          kUsage)) {
    return *rc;
  }
  std::string binary = Flag(argc, argv, "--server", "");
  if (!binary.empty()) binary = std::filesystem::absolute(binary).string();
  std::string database = Flag(argc, argv, "--database", "");
  const std::string haproxy = Flag(argc, argv, "--haproxy", "");
  const std::string haproxy_config =
      Flag(argc, argv, "--haproxy-config", HEARTH_SOURCE_DIR "/packaging/haproxy/hearth.cfg");
  const std::string keep_state = Flag(argc, argv, "--keep-state", "");
  if (!keep_state.empty() && std::filesystem::exists(keep_state)) {
    std::fprintf(stderr, "--keep-state %s: already exists; name a new directory\n",
                 keep_state.c_str());
    return 2;
  }
  if (!haproxy.empty() && database.empty()) {
    std::fprintf(stderr, "--haproxy needs --database (PostgreSQL)\n%s", kUsage);
    return 2;
  }
  auto devices_n = hearth::bench::WholeIn(Flag(argc, argv, "--devices", "100000"), 1, 10000000);
  auto sample_n = hearth::bench::WholeIn(Flag(argc, argv, "--enrol-sample", "2000"), 1, 10000000);
  auto steady_n =
      hearth::bench::WholeIn(Flag(argc, argv, "--steady-reports", "20000"), 1, 10000000);
  auto policy_n = hearth::bench::WholeIn(Flag(argc, argv, "--policy-fetches", "2000"), 0, 10000000);
  auto flush_n = hearth::bench::WholeIn(Flag(argc, argv, "--flush-agents", "10000"), 0, 10000000);
  auto spooled = hearth::bench::WholeIn(Flag(argc, argv, "--spooled", "24"), 1, 10000);
  auto conns = hearth::bench::WholeIn(Flag(argc, argv, "--connections", "32"), 1, 1024);
  auto queries = hearth::bench::WholeIn(Flag(argc, argv, "--queries", "200"), 1, 100000);
  auto rounds = hearth::bench::WholeIn(Flag(argc, argv, "--query-rounds", "5"), 1, 100);
  auto outage_h = hearth::bench::WholeIn(Flag(argc, argv, "--outage-hours", "8"), 1, 1000);
  auto seed_c = hearth::bench::WholeIn(
      Flag(argc, argv, "--seed-connections", database.empty() ? "1" : "4"), 1, 64);
  if (binary.empty() || !devices_n || !sample_n || !steady_n || !policy_n || !flush_n || !spooled ||
      !conns || !queries || !rounds || !outage_h || !seed_c) {
    std::fprintf(stderr, "missing --server or a value out of range\n%s", kUsage);
    return 2;
  }
  const int n = *devices_n, sample = std::min(*sample_n, n), k = *spooled, c = *conns;
  const int steady_m = std::min(*steady_n, n), policy_m = std::min(*policy_n, n);
  const int flush = std::min(*flush_n, n);
  curl_global_init(CURL_GLOBAL_DEFAULT);

  hearth::testing::TempDir dir;
  hearth::testing::TestServer server(dir.path() + "/state", database, binary);
  auto init = server.init();
  if (init.exit_code != 0) {
    std::cerr << init.err;
    return 2;
  }
  const std::string backend = database.empty() ? "SQLite" : "PostgreSQL";
  const std::string topology =
      haproxy.empty() ? "one server" : "two servers behind HAProxy, TLS passthrough";
  const std::string ca = server.caFile();
  const std::string secret = server.enrollSecret();
  int64_t bytes_empty = StoreBytes(server);

  std::vector<int> steady_devices;
  for (int i = 0; i < std::min(sample, steady_m); ++i) steady_devices.push_back(i);
  const int rest = steady_m - static_cast<int>(steady_devices.size());
  for (int j = 0; j < rest; ++j) {
    steady_devices.push_back(
        sample + static_cast<int>(static_cast<int64_t>(j) * (n - sample) / std::max(rest, 1)));
  }
  // Who connects in this run (only they need a key and a certificate).
  auto policy_device = [&](int j) {
    return static_cast<int>(static_cast<int64_t>(j) * n / std::max(policy_m, 1));
  };
  auto flush_device = [&](int j) {
    return static_cast<int>(static_cast<int64_t>(j) * n / std::max(flush, 1));
  };
  std::vector<char> connects(static_cast<size_t>(n), 0);
  for (int i : steady_devices) connects[static_cast<size_t>(i)] = 1;
  for (int j = 0; j < policy_m; ++j) connects[static_cast<size_t>(policy_device(j))] = 1;
  for (int j = 0; j < flush; ++j) connects[static_cast<size_t>(flush_device(j))] = 1;
  std::map<std::string, std::string> load;  // the 1-minute load average as each phase starts
  load["seed"] = LoadAverage();

  // 1. Seed devices sample .. n-1 in-process, before the server runs (SQLite has one writer).
  std::vector<std::string> certs(static_cast<size_t>(n)), keys(static_cast<size_t>(n));
  hearth::bench::SeededFleet seeded;
  if (n > sample) {
    hearth::bench::SeedOptions so;
    so.state_dir = server.stateDir();
    so.database = database;
    so.secret = secret;
    so.first = sample;
    so.count = n - sample;
    so.store_threads = *seed_c;
    so.first_report = [](int i) { return Report(i, 1); };
    so.connects = [&connects](int i) { return connects[static_cast<size_t>(i)] != 0; };
    std::fprintf(stderr, "seeding %d devices in-process\n", so.count);
    auto s = hearth::bench::SeedFleet(so);
    if (!s.ok()) {
      std::cerr << "seeding: " << s.status().message() << "\n";
      return 2;
    }
    seeded = std::move(s).value();
    for (int j = 0; j < so.count; ++j) {
      certs[static_cast<size_t>(sample + j)] = std::move(seeded.certs[static_cast<size_t>(j)]);
      keys[static_cast<size_t>(sample + j)] = std::move(seeded.keys[static_cast<size_t>(j)]);
    }
  }

  // Every simulated device enrols from 127.0.0.1: lift the enrolment limits. Behind HAProxy every
  // connection comes from its address: the gate's per-address bound too (docs/scaling.md).
  hearth::testing::ServeOptions options{
      .extra = {"--enroll-address-burst", "1000000", "--enroll-burst", "1000000"}};
  if (!haproxy.empty()) {
    options.extra.insert(options.extra.end(), {"--pending-per-address", "4096"});
  }
  std::string log = dir.path() + "/server.log";
  // With --haproxy: a second server on the same database and state directory, and HAProxy with
  // the shipped configuration in front of both; the devices' address is HAProxy's.
  std::unique_ptr<hearth::testing::ServerProcess> second;
  std::unique_ptr<hearth::bench::HaproxyProcess> front;
  std::string devices_url;
  auto start_servers = [&]() -> bool {
    if (!server.serve(log, options)) {
      std::cerr << "server did not start: " << hearth::testing::ReadFile(log) << "\n";
      return false;
    }
    devices_url = "https://" + server.address("devices");
    if (haproxy.empty()) return true;
    std::vector<std::string> serve = {
        binary,        "serve",          "--state-dir", server.stateDir(), "--listen",
        "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--database",      database};
    serve.insert(serve.end(), options.extra.begin(), options.extra.end());
    second = std::make_unique<hearth::testing::ServerProcess>(serve, dir.path() + "/server2.log");
    if (!second->started()) {
      std::cerr << "second server did not start: "
                << hearth::testing::ReadFile(dir.path() + "/server2.log") << "\n";
      return false;
    }
    const int port = hearth::bench::FreeLoopbackPort();
    const std::string config = dir.path() + "/haproxy.cfg";
    hearth::testing::WriteFile(config, hearth::bench::HaproxyConfig(
                                           hearth::testing::ReadFile(haproxy_config), port,
                                           {{server.address("devices"), server.address("admin")},
                                            {second->address("devices"), second->address("admin")}},
                                           ca));
    front = std::make_unique<hearth::bench::HaproxyProcess>(haproxy, config,
                                                            dir.path() + "/haproxy.log");
    devices_url = "https://127.0.0.1:" + std::to_string(port);
    // Both servers pass two health checks a second apart (rise 2, inter 1s).
    std::this_thread::sleep_for(std::chrono::seconds(4));
    return true;
  };
  auto stop_servers = [&]() {
    front.reset();
    if (second) second->stop();
    second.reset();
    server.stop();
  };
  if (!start_servers()) return 2;

  // 2. Enrolment of the sample over HTTPS.
  load["enrol"] = LoadAverage();
  std::atomic<int> enrol_failed{0};
  auto t0 = Clock::now();
  Parallel(sample, std::min(c, 8), "enrol", [&](int i, int) {
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

  // 3. Steady state: M reports, one per device, each on its own connection. The enrolled sample
  // sends its first report; the other devices, spread evenly over the seeded ones, their second.
  std::string reports_url = devices_url + "/api/v1/reports";
  Latencies steady;
  std::atomic<int64_t> steady_failed{0}, steady_retried{0};
  load["steady"] = LoadAverage();
  t0 = Clock::now();
  {
    std::vector<std::vector<double>> mine(static_cast<size_t>(c));
    Parallel(static_cast<int>(steady_devices.size()), c, "steady", [&](int j, int t) {
      const int i = steady_devices[static_cast<size_t>(j)];
      DeviceClient client(ca, certs[static_cast<size_t>(i)], keys[static_cast<size_t>(i)]);
      auto ms = Deliver(client, reports_url, Report(i, i < sample ? 1 : 2), steady_retried);
      if (ms) {
        mine[static_cast<size_t>(t)].push_back(*ms);
      } else {
        ++steady_failed;
      }
    });
    for (auto& m : mine) steady.add(m);
  }
  double steady_s = Seconds(t0);

  // The policy fetch of each cycle, on its own connection.
  Latencies policy;
  std::atomic<int64_t> policy_failed{0};
  t0 = Clock::now();
  {
    std::vector<std::vector<double>> mine(static_cast<size_t>(c));
    const std::string policy_url = devices_url + "/api/v1/policy";
    Parallel(policy_m, c, "policy", [&](int j, int t) {
      const int i = policy_device(j);
      DeviceClient client(ca, certs[static_cast<size_t>(i)], keys[static_cast<size_t>(i)]);
      long retry_after = -1;
      auto start = Clock::now();
      if (client.get(policy_url, &retry_after) == 200) {
        mine[static_cast<size_t>(t)].push_back(Seconds(start) * 1000);
      } else {
        ++policy_failed;
      }
    });
    for (auto& m : mine) policy.add(m);
  }
  double policy_s = Seconds(t0);

  // 4. IT's queries at N devices, over one keep-alive connection with the admin token: R rounds
  // of Q queries each, 5 s apart (the machine is shared: one busy moment should not decide), the
  // median of the rounds' p99 against the budget; all queries' p50.
  std::vector<double> feed_ms, list_ms, feed_p99s, list_p99s;
  load["queries"] = LoadAverage();
  {
    hearth::testing::HttpsClient admin({.ca_file = ca});
    std::string base = "https://" + server.address("admin") + "/api/v1/";
    std::vector<std::string> auth = {"Authorization: Bearer " + server.adminToken()};
    for (int round = 0; round < *rounds; ++round) {
      if (round > 0) std::this_thread::sleep_for(std::chrono::seconds(5));
      std::vector<double> feed_round, list_round;
      for (int q = 0; q < *queries; ++q) {
        auto r1 = admin.get(base + "feed?newest=100", auth);
        if (r1.status == 200) feed_round.push_back(r1.total_seconds * 1000);
        auto r2 = admin.get(base + "devices?limit=50", auth);
        if (r2.status == 200) list_round.push_back(r2.total_seconds * 1000);
      }
      feed_p99s.push_back(Percentile(feed_round, 0.99));
      list_p99s.push_back(Percentile(list_round, 0.99));
      feed_ms.insert(feed_ms.end(), feed_round.begin(), feed_round.end());
      list_ms.insert(list_ms.end(), list_round.begin(), list_round.end());
    }
  }

  // 5. Outage: the server stops; the store's size with N devices and their reports so far.
  stop_servers();
  int64_t bytes_steady = StoreBytes(server);

  // 6. Flush: the server is back; F agents deliver K spooled reports each, all at once. The
  // agents are spread over the fleet (seeded and enrolled alike).
  if (!start_servers()) return 2;
  reports_url = devices_url + "/api/v1/reports";
  Latencies flushed;
  std::atomic<int64_t> flush_failed{0}, flush_retried{0};
  load["flush"] = LoadAverage();
  t0 = Clock::now();
  {
    std::vector<std::vector<double>> mine(static_cast<size_t>(c));
    Parallel(flush, c, "flush", [&](int j, int t) {
      const int i = flush_device(j);
      DeviceClient client(ca, certs[static_cast<size_t>(i)], keys[static_cast<size_t>(i)]);
      for (int s = 0; s < k; ++s) {
        auto ms = Deliver(client, reports_url, Report(i, 3 + s), flush_retried);
        if (!ms) {
          ++flush_failed;
          return;  // the agent keeps the rest in order for its next attempt
        }
        mine[static_cast<size_t>(t)].push_back(*ms);
      }
    });
    for (auto& m : mine) flushed.add(m);
  }
  double flush_s = Seconds(t0);
  stop_servers();
  int64_t bytes_flushed = StoreBytes(server);
  if (!keep_state.empty()) {
    std::error_code ec;
    std::filesystem::copy(server.stateDir(), keep_state, std::filesystem::copy_options::recursive,
                          ec);
    if (ec) {
      std::fprintf(stderr, "--keep-state %s: %s\n", keep_state.c_str(), ec.message().c_str());
      return 2;
    }
  }

  // 8. When the agents really come back.
  std::vector<double> arrivals = ReturnTimes(std::max(flush, 1), *outage_h * 3600.0);
  std::map<int64_t, int> per_second;
  for (double a : arrivals) ++per_second[static_cast<int64_t>(a)];
  int peak_agents = 0;
  for (const auto& [s, count] : per_second) peak_agents = std::max(peak_agents, count);
  double spread_s = arrivals.empty() ? 0 : *std::max_element(arrivals.begin(), arrivals.end());

  const double steady_rate = static_cast<double>(steady.ms.size()) / steady_s;
  const double policy_rate = static_cast<double>(policy.ms.size()) / std::max(policy_s, 1e-9);
  const double flush_rate = static_cast<double>(flushed.ms.size()) / flush_s;
  const double feed_p99 = Percentile(feed_p99s, 0.5), list_p99 = Percentile(list_p99s, 0.5);
  auto range = [](std::vector<double> v) {
    if (v.empty()) return std::string("-");
    std::sort(v.begin(), v.end());
    char b[64];
    std::snprintf(b, sizeof b, "%.1f..%.1f", v.front(), v.back());
    return std::string(b);
  };
  const double per_report = flushed.ms.empty() ? 0
                                               : static_cast<double>(bytes_flushed - bytes_steady) /
                                                     static_cast<double>(flushed.ms.size());
  auto row = [](const std::string& what, const std::string& value, const char* budget) {
    std::printf("%-62s %14s %10s\n", what.c_str(), value.c_str(), budget);
  };
  auto num = [](double v, int decimals) {
    char b[64];
    std::snprintf(b, sizeof b, "%.*f", decimals, v);
    return std::string(b);
  };
  row("scale (" + backend + ", " + topology + ", loopback)", "measured", "budget");
  row("devices in the store", std::to_string(n), "");
  row("  of which seeded in-process (device-CA certificate, Store)", std::to_string(n - sample),
      "");
  row("  seeding: keys + certificates / enrolments / first reports (s)",
      num(seeded.keys_seconds, 0) + "/" + num(seeded.enrol_seconds, 0) + "/" +
          num(seeded.reports_seconds, 0),
      "");
  row("  of which enrolled over HTTPS (key + CSR per device)", std::to_string(sample), "");
  row("enrolments/s over HTTPS", num(sample / enrol_s, 0), "");
  row("steady: reports/s (one mTLS connection and handshake each)", num(steady_rate, 0), "");
  row("steady: latency p50 (ms, incl. TLS handshake)", num(Percentile(steady.ms, 0.5), 1), "");
  row("steady: latency p99 (ms, incl. TLS handshake)", num(Percentile(steady.ms, 0.99), 1), "");
  row("policy fetches/s (one mTLS connection each)", num(policy_rate, 0), "");
  row("policy fetch latency p99 (ms)", num(Percentile(policy.ms, 0.99), 1), "");
  row("feed newest 100: p50 / p99 (ms; p99: median of the rounds)",
      num(Percentile(feed_ms, 0.5), 1) + " / " + num(feed_p99, 1), "<= 20");
  row("  the rounds' p99 (ms)", range(feed_p99s), "");
  row("console device list first page: p50 / p99 (ms; p99: median)",
      num(Percentile(list_ms, 0.5), 1) + " / " + num(list_p99, 1), "<= 200");
  row("  the rounds' p99 (ms)", range(list_p99s), "");
  row("flush: seconds for all spooled reports", num(flush_s, 1), "");
  row("flush: reports/s (keep-alive per agent)", num(flush_rate, 0), "");
  row("flush: latency p50 / p99 (ms)",
      num(Percentile(flushed.ms, 0.5), 1) + " / " + num(Percentile(flushed.ms, 0.99), 1), "");
  row("answers 503/429 retried (steady + flush)", std::to_string(steady_retried + flush_retried),
      "");
  row("reports or fetches never answered",
      std::to_string(steady_failed + flush_failed + policy_failed), "0");
  row("store: bytes per device (enrolled, reports so far)",
      num(static_cast<double>(bytes_steady - bytes_empty) / n, 0), "");
  row("store: bytes per further report (flush)", num(per_report, 0), "");
  row("store: MB per device per day (96 reports: one per 15 min)", num(per_report * 96 / 1e6, 3),
      "");
  row("store: MB per device per day (24 reports: hourly heartbeat)", num(per_report * 24 / 1e6, 3),
      "");
  row("agents back after the outage: spread (s)", num(spread_s, 0), "");
  row("agents back after the outage: peak agents in one second", std::to_string(peak_agents), "");
  row("  peak reports/s they bring (x spooled)", num(static_cast<double>(peak_agents) * k, 0), "");
  row("  headroom: flush drain rate / that peak",
      num(flush_rate / std::max(1.0, static_cast<double>(peak_agents) * k), 2), "");
  std::printf(
      "(%d devices: %d seeded in-process, %d enrolled over HTTPS; steady %d reports, %d policy "
      "fetches; %d flushing agents x %d spooled reports; %d client connections; outage %d h; "
      "enrol %.0f s, steady %.0f s, flush %.0f s)\n",
      n, n - sample, sample, steady_m, policy_m, flush, k, c, *outage_h, enrol_s, steady_s,
      flush_s);
  load["end"] = LoadAverage();
  std::printf("load average (1 min) as each phase started:");
  for (const char* phase : {"seed", "enrol", "steady", "queries", "flush", "end"}) {
    std::printf(" %s %s", phase, load[phase].c_str());
  }
  std::printf(" (%u cores)\n", std::thread::hardware_concurrency());
  bool ok = steady_failed == 0 && flush_failed == 0 && policy_failed == 0 && feed_p99 <= 20 &&
            list_p99 <= 200;
  return ok ? 0 : 1;
}
