// The benchmark fleet: see fleet_history.h.
#include "fleet_history.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <random>
#include <sqlite3.h>
#include <string>
#include <utility>
#include <vector>

#include "hearth/protocol/crypto.h"
#include "hearth/server/store.h"
#include "hearth/time.h"

namespace hearth::bench {

namespace {

struct Check {
  const char* id;
  bool required;
};
constexpr Check kChecks[] = {{"accounts", true},
                             {"disk_encryption", true},
                             {"os_patches", true},
                             {"screen_lock", false},
                             {"vpn", true}};

std::string timeText(int64_t s) {
  return formatRfc3339(std::chrono::system_clock::time_point(std::chrono::seconds(s)));
}

// A prepared statement bound column by column, stepped and reset.
class Insert {
 public:
  Insert(sqlite3* db, const char* sql) {
    ok_ = sqlite3_prepare_v2(db, sql, -1, &st_, nullptr) == SQLITE_OK;
  }
  ~Insert() { sqlite3_finalize(st_); }
  Insert(const Insert&) = delete;
  Insert& operator=(const Insert&) = delete;

  Insert& text(int i, const std::string& v) {
    sqlite3_bind_text(st_, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Insert& null(int i) {
    sqlite3_bind_null(st_, i);
    return *this;
  }
  Insert& integer(int i, int64_t v) {
    sqlite3_bind_int64(st_, i, v);
    return *this;
  }
  bool run() {
    bool done = sqlite3_step(st_) == SQLITE_DONE;
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
    return done;
  }
  bool ok() const { return ok_; }

 private:
  sqlite3_stmt* st_ = nullptr;
  bool ok_ = false;
};

struct Event {
  int64_t at;
  std::string check;  // empty: stale
  std::string from, to;
};

}  // namespace

bool BuildFleetHistory(const std::string& sqlite_path, const FleetOptions& o,
                       FleetSummary* summary) {
  auto started = std::chrono::steady_clock::now();
  {
    auto store = server::OpenStore(sqlite_path);  // the server's schema, migrated
    if (!store.ok()) {
      std::fprintf(stderr, "fleet: %s\n", store.status().toString().c_str());
      return false;
    }
  }
  sqlite3* db = nullptr;
  if (sqlite3_open(sqlite_path.c_str(), &db) != SQLITE_OK) {
    std::fprintf(stderr, "fleet: cannot open %s\n", sqlite_path.c_str());
    return false;
  }
  sqlite3_exec(db, "PRAGMA synchronous=OFF; PRAGMA cache_size=-262144; BEGIN", nullptr, nullptr,
               nullptr);
  Insert device(db,
                "INSERT INTO devices(device_id, hostname, owner, level, cert_serial, enrolled_at, "
                "retired_at, last_seen, agent_version, machine_id, last_sequence, status, "
                "checks_summary, failing_since, pending) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,0)");
  Insert state(db,
               "INSERT INTO check_state(device_id, check_id, verdict, since, required) "
               "VALUES (?,?,?,?,?)");
  Insert event(db,
               "INSERT INTO events(at, device_id, type, check_id, from_verdict, to_verdict) "
               "VALUES (?,?,?,?,?,?)");
  Insert report(db,
                "INSERT INTO reports(report_id, device_id, sequence, sent_at, received_at, "
                "compliant, body, body_sha256, body_bytes) VALUES (?,?,?,?,?,?,?,?,?)");
  if (!device.ok() || !state.ok() || !event.ok() || !report.ok()) {
    std::fprintf(stderr, "fleet: %s\n", sqlite3_errmsg(db));
    sqlite3_close(db);
    return false;
  }
  const std::string body = "{\"compliant\":true,\"checks\":[]}";
  const std::string body_sha = protocol::Sha256Hex(body);
  std::mt19937_64 rng(o.seed);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  // A count with mean `mean` (uniform 0 .. 2 * mean, rounded).
  auto count = [&](double mean) {
    return static_cast<int>(uniform(0, static_cast<int64_t>(2 * mean * 100)) / 100);
  };
  const int64_t year_end = o.year_start + 365 * 86400;
  FleetSummary s;
  bool ok = true;
  for (int n = 0; n < o.devices && ok; ++n) {
    char idbuf[48];
    std::snprintf(idbuf, sizeof idbuf, "%08x-0000-4000-8000-%012x", static_cast<unsigned>(n),
                  static_cast<unsigned>(n * 2654435761u));
    std::string id = idbuf;
    int64_t enrolled = o.year_start - uniform(86400, 30 * 86400);
    if (uniform(0, 99) < 3) enrolled = o.year_start + uniform(0, 300 * 86400);
    std::optional<int64_t> retired;
    if (uniform(0, 99) < 2) retired = std::max(enrolled, o.year_start) + uniform(86400, 60 * 86400);
    int64_t end = retired ? std::min(*retired, year_end) : year_end;
    std::vector<Event> events;
    std::string checks_json = "[";
    bool any_fail = false, all_pass = true;
    std::optional<int64_t> failing_since;  // the oldest failing or unknown required check's
    for (const auto& c : kChecks) {
      // Spells of fail or unknown, not overlapping, in time order; pass between them.
      std::vector<std::pair<int64_t, int64_t>> spells;
      std::vector<std::string> kinds;
      int fails = count(o.incidents_per_check), unknowns = count(o.unknowns_per_check);
      for (int k = 0; k < fails + unknowns; ++k) {
        int64_t start = enrolled + uniform(3600, std::max<int64_t>(7200, end - enrolled));
        int64_t length = k < fails ? uniform(3600, 10 * 86400) : uniform(3600, 6 * 3600);
        spells.emplace_back(start, start + length);
        kinds.emplace_back(k < fails ? "fail" : "unknown");
      }
      std::vector<size_t> order(spells.size());
      for (size_t k = 0; k < order.size(); ++k) order[k] = k;
      std::sort(order.begin(), order.end(),
                [&](size_t a, size_t b) { return spells[a].first < spells[b].first; });
      std::string verdict = "pass";
      int64_t since = enrolled + 600;
      events.push_back({since, c.id, "", "pass"});
      int64_t busy_until = since;
      for (size_t k : order) {
        auto [start, stop] = spells[k];
        if (start <= busy_until || start >= end) continue;
        events.push_back({start, c.id, "pass", kinds[k]});
        verdict = kinds[k];
        since = start;
        busy_until = stop;
        if (stop < end) {
          events.push_back({stop, c.id, kinds[k], "pass"});
          verdict = "pass";
          since = stop;
        }
      }
      if (!state.text(1, id)
               .text(2, c.id)
               .text(3, verdict)
               .text(4, timeText(since))
               .integer(5, c.required ? 1 : 0)
               .run()) {
        ok = false;
      }
      if (c.required && verdict == "fail") any_fail = true;
      if (c.required && verdict != "pass") {
        all_pass = false;
        failing_since = failing_since ? std::min(*failing_since, since) : since;
      }
      if (checks_json.size() > 1) checks_json += ",";
      checks_json += std::string("{\"id\":\"") + c.id + "\",\"verdict\":\"" + verdict +
                     "\",\"summary\":\"\",\"required\":" + (c.required ? "true" : "false") + "}";
    }
    checks_json += "]";
    // Silences: stale 96 hours after the last report, until the report that ends them.
    int64_t sequence = 0;
    std::vector<int64_t> ends;
    for (int k = count(o.silences_per_device); k > 0; --k) {
      int64_t start = std::max(enrolled, o.year_start) + uniform(0, 330 * 86400);
      int64_t stale_at = start + 96 * 3600;
      int64_t back = start + uniform(5 * 86400, 14 * 86400);
      if (stale_at >= end) continue;
      events.push_back({stale_at, "", "", ""});
      if (back < end) ends.push_back(back);
    }
    int64_t last_seen = end - uniform(60, 86400);
    ends.push_back(last_seen);
    std::sort(ends.begin(), ends.end());
    for (int64_t at : ends) {
      ++sequence;
      ok = ok && report.text(1, id + "-" + std::to_string(sequence))
                     .text(2, id)
                     .integer(3, sequence)
                     .text(4, timeText(at))
                     .text(5, timeText(at))
                     .integer(6, 1)
                     .text(7, body)
                     .text(8, body_sha)
                     .integer(9, static_cast<int64_t>(body.size()))
                     .run();
      ++s.reports;
    }
    std::stable_sort(events.begin(), events.end(),
                     [](const Event& a, const Event& b) { return a.at < b.at; });
    for (const auto& e : events) {
      event.text(1, timeText(e.at)).text(2, id);
      if (e.check.empty()) {
        event.text(3, "stale").null(4).null(5).null(6);
        ++s.stale_events;
      } else {
        event.text(3, "verdict_changed").text(4, e.check);
        if (e.from.empty()) {
          event.null(5);
        } else {
          event.text(5, e.from);
        }
        event.text(6, e.to);
      }
      ok = ok && event.run();
      ++s.events;
    }
    device.text(1, id)
        .text(2, "pc-" + std::to_string(n))
        .text(3, "person" + std::to_string(n % 5000) + "@example.com")
        .text(4, n % 10 == 0 ? "strict" : "standard")
        .text(5, "01")
        .text(6, timeText(enrolled));
    if (retired) {
      device.text(7, timeText(*retired));
    } else {
      device.null(7);
    }
    device.text(8, timeText(last_seen))
        .text(9, "0.1.0")
        .text(10, id)
        .integer(11, sequence)
        .text(12, any_fail   ? "noncompliant"
                  : all_pass ? "compliant"
                             : "unknown")
        .text(13, checks_json);
    if (failing_since) {
      device.text(14, timeText(*failing_since));
    } else {
      device.null(14);
    }
    ok = ok && device.run();
    ++s.devices;
  }
  if (!ok) std::fprintf(stderr, "fleet: insert failed: %s\n", sqlite3_errmsg(db));
  ok = ok && sqlite3_exec(db, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr,
                          nullptr) == SQLITE_OK;
  sqlite3_close(db);
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (summary != nullptr) *summary = s;
  return ok;
}

}  // namespace hearth::bench
