// Hostile stored results against the server's memory (issue 12, defect 5: an enrolled device
// posting 20 reports of 1 MiB `[{},{},...]` raised the server's peak RSS from 88 to 660 MB on one
// history read; ten such devices added 186 MB to a 7 KB device list).
//
// Against a running hearth-server (--server BIN, SQLite, or --database URI): enrols --devices
// devices; each posts 20 hostile 1 MiB results (`[{},{},...]` in a check's evidence), 20 results
// holding as many JSON values as the bound lets in, and 20 of the largest size allowed (what the
// server stores of them depends on its bounds; the table says how many). Then every read endpoint
// of the admin API: the device list and the CSV export, each device, each device's whole history
// (every page, at limit 1000), the feed, the audit log, /metrics. Prints the server's peak RSS
// (VmHWM of /proc/PID/status) after storing and after reading; exit 1 when reading grew it by
// 50 MB or more.
// Usage: hearth_results_rss_bench --server BIN [--devices 10] [--database URI]
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <curl/curl.h>

#include "hearth/json.h"
#include "hearth/protocol/crypto.h"
#include "hearth/protocol/wire.h"
#include "support/files.h"
#include "support/https_client.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace {

using hearth::testing::ReadFile;

std::string arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return fallback;
}

// kB of a field of /proc/PID/status ("VmHWM", "VmRSS").
long statusKb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

// A report whose one check carries `evidence` (JSON text).
std::string reportWith(int64_t seq, const std::string& evidence) {
  return R"({"report_id":")" + *hearth::protocol::RandomUuid() + R"(","sequence":)" +
         std::to_string(seq) +
         R"(,"sent_at":"2026-11-26T10:00:05Z","agent_version":"0.1.0",)"
         R"("machine_id":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",)"
         R"("result":{"compliant":false,"level":"standard","policy_version":1,)"
         R"("evaluated_at":"2026-11-26T10:00:00Z","host":{"hostname":"pc"},"checks":[)"
         R"({"id":"disk_encryption","verdict":"fail","required":true,"summary":"not encrypted",)"
         R"("evidence":)" +
         evidence + R"(,"remediation":"r","duration_ms":3}]}})";
}

// `[{},{},...]` of `n` empty objects.
std::string emptyObjects(size_t n) {
  std::string s = "[";
  for (size_t i = 0; i < n; ++i) s += i == 0 ? "{}" : ",{}";
  return s + "]";
}

size_t discard(char*, size_t size, size_t n, void* total) {
  *static_cast<size_t*>(total) += size * n;
  return size * n;
}

size_t keep(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// GET with the admin token: the status; the body into `body` when given, else only counted.
long get(const std::string& url, const std::string& ca, const std::string& token, size_t& bytes,
         std::string* body = nullptr) {
  CURL* c = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, ("Authorization: Bearer " + token).c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CAINFO, ca.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
  std::string kept;
  if (body != nullptr) {
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &kept);
  } else {
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &bytes);
  }
  long status = 0;
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  if (body != nullptr) {
    bytes += kept.size();
    *body = std::move(kept);
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  std::string server = arg(argc, argv, "--server", "");
  int n_devices = std::stoi(arg(argc, argv, "--devices", "10"));
  std::string database = arg(argc, argv, "--database", "");
  if (server.empty()) {
    std::cerr << "usage: hearth_results_rss_bench --server BIN [--devices 10] [--database URI]\n";
    return 2;
  }
  hearth::testing::TempDir dir;
  std::string state = dir.path() + "/state";
  hearth::testing::TestServer proc(state, database, server);
  if (auto init = proc.init(); init.exit_code != 0) {
    std::cerr << init.err;
    return 2;
  }
  if (!proc.serve(dir.path() + "/server.log",
                  {.extra = {"--enroll-address-burst", "1000", "--enroll-burst", "1000"}})) {
    std::cerr << "server did not start: " << ReadFile(dir.path() + "/server.log") << "\n";
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const std::string devices_url = "https://" + proc.address("devices");
  const std::string admin_url = "https://" + proc.address("admin");
  const std::string ca = proc.caFile(), token = proc.adminToken();
  const long rss_start = statusKb(proc.pid(), "VmRSS");

  // Three kinds of hostile result, 20 of each per device.
  const size_t kMiB = 1 << 20;
  struct Kind {
    const char* name;
    std::string evidence;
    int stored = 0, refused = 0, other = 0;
  };
  // Just under the body bound (1 MiB): about 349,000 empty objects.
  Kind huge{"1 MiB [{},{},...]", emptyObjects((kMiB - 1024) / 3)};
  // As many values as the result bound lets in: the report's own values are about 20.
  Kind many{"most values allowed", emptyObjects(hearth::protocol::kMaxResultValues - 40)};
  // The largest allowed: one string in a body just under 1 MiB.
  Kind large{"largest allowed",
             "\"" + std::string(hearth::protocol::kMaxBodyBytes - 1000, 'a') + "\""};
  // The hostile one last: on a server that stores it, it is each device's latest result too.
  std::vector<Kind*> kinds = {&many, &large, &huge};
  std::vector<std::string> ids;
  for (int d = 0; d < n_devices; ++d) {
    auto enrolled = hearth::testing::EnrolDevice(devices_url, ca, proc.enrollSecret(),
                                                 "hostile-" + std::to_string(d));
    if (!enrolled.ok()) {
      std::cerr << enrolled.error << "\n";
      return 2;
    }
    std::string key = dir.write("d" + std::to_string(d) + ".key", enrolled.key_pem);
    std::string cert = dir.write("d" + std::to_string(d) + ".pem", enrolled.cert_pem);
    hearth::testing::HttpsClient c(
        {.ca_file = ca, .cert_file = cert, .key_file = key, .timeout_seconds = 60});
    int64_t seq = 1;
    for (Kind* k : kinds) {
      for (int i = 0; i < 20; ++i) {
        auto reply = c.postJson(devices_url + "/api/v1/reports", reportWith(seq++, k->evidence));
        if (reply.status == 202) {
          ++k->stored;
        } else if (reply.status == 413) {
          ++k->refused;
        } else {
          if (k->other++ == 0) std::cerr << k->name << ": " << reply.status << " " << reply.body;
        }
      }
    }
    // The device's id: from its certificate's common name, through the device list below.
  }
  size_t list_bytes = 0;
  std::string list;
  get(admin_url + "/api/v1/devices?limit=1000", ca, token, list_bytes, &list);
  auto parsed = hearth::json::parse(list, {.max_depth = 64, .max_bytes = 64 << 20});
  if (parsed.ok() && parsed->find("devices") != nullptr) {
    for (const auto& d : parsed->find("devices")->asArray()) {
      ids.push_back(d.find("device_id")->asString());
    }
  }
  const long hwm_stored = statusKb(proc.pid(), "VmHWM");

  // Every read endpoint.
  struct Read {
    std::string name;
    int requests = 0;
    size_t bytes = 0;
    long worst_status = 200;
    long hwm_after = 0;  // kB
  };
  std::vector<Read> reads;
  auto read = [&](const std::string& name, const std::string& path, std::string* body = nullptr) {
    if (reads.empty() || reads.back().name != name) reads.push_back({name});
    Read& r = reads.back();
    long status = get(admin_url + path, ca, token, r.bytes, body);
    ++r.requests;
    if (status != 200) r.worst_status = status;
    r.hwm_after = statusKb(proc.pid(), "VmHWM");
  };
  read("GET /api/v1/devices?limit=1000", "/api/v1/devices?limit=1000");
  read("GET /api/v1/devices.csv", "/api/v1/devices.csv");
  for (const auto& id : ids) read("GET /api/v1/devices/ID (each)", "/api/v1/devices/" + id);
  for (const auto& id : ids) {
    std::string before;
    for (int page = 0; page < 100; ++page) {
      std::string body;
      read("GET .../history?limit=1000 (every page)",
           "/api/v1/devices/" + id + "/history?limit=1000" + before, &body);
      auto h = hearth::json::parse(body, {.max_depth = 64, .max_bytes = 512 << 20});
      const hearth::json::Value* next = h.ok() ? h->find("next") : nullptr;
      if (next == nullptr || !next->isString()) break;
      before = "&before=" + next->asString();
    }
  }
  read("GET /api/v1/feed?limit=1000", "/api/v1/feed?limit=1000");
  read("GET /api/v1/audit?limit=1000", "/api/v1/audit?limit=1000");
  read("GET /metrics", "/metrics");
  const long hwm_read = statusKb(proc.pid(), "VmHWM");
  proc.stop();

  std::printf("%-42s %8s %8s %8s\n", "posted per device", "stored", "413", "other");
  for (Kind* k : kinds) {
    std::printf("%-42s %8d %8d %8d\n", (std::string(k->name) + " (20 per device)").c_str(),
                k->stored, k->refused, k->other);
  }
  std::printf("\n%-42s %8s %12s %7s %14s\n", "read (in this order)", "requests", "bytes", "status",
              "VmHWM after MB");
  for (const auto& r : reads) {
    std::printf("%-42s %8d %12zu %7ld %14.1f\n", r.name.c_str(), r.requests, r.bytes,
                r.worst_status, static_cast<double>(r.hwm_after) / 1024.0);
  }
  std::printf("(status: the last that was not 200; 0 = no answer within 120 s)\n");
  const double growth_mb = static_cast<double>(hwm_read - hwm_stored) / 1024.0;
  std::printf("\n%-42s %10.1f MB\n", "server RSS at start",
              static_cast<double>(rss_start) / 1024.0);
  std::printf("%-42s %10.1f MB\n", "peak RSS after storing (VmHWM)",
              static_cast<double>(hwm_stored) / 1024.0);
  std::printf("%-42s %10.1f MB\n", "peak RSS after every read (VmHWM)",
              static_cast<double>(hwm_read) / 1024.0);
  std::printf("%-42s %10.1f MB   (budget < 50 MB)%s\n", "growth from reading", growth_mb,
              growth_mb < 50 ? "" : "  MISSED");
  std::printf("(%d devices, server %s)\n", n_devices, server.c_str());
  return growth_mb < 50 ? 0 : 1;
}
