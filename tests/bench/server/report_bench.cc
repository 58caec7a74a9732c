// The period report at fleet scale (issue 14: 100,000 devices, a year of history, the 90-day
// report within 10 s). Builds the fleet (fleet_history.h: direct batched inserts into an SQLite
// store made by the server's OpenStore), then makes the report of the year's last `--days` days
// `--runs` times per format through the same code as the API and the command line
// (WriteComplianceReport, output counted and thrown away), and prints the median, min and max.
// Then the first page of `device list --failing-for 7` (Store::listDevices with failing_for = 7
// days, as the API and the command line call it) `--requests` times, by device id and sorted by
// failing_since: p50 and p99 against the 20 ms budget. Then the IT console's first views (issue
// 15): the overview (OverviewJson, what GET /api/v1/overview sends: counts, failures per check,
// the ten failing longest, a 30-day trend recorded first, the alerts) against 300 ms p99, and the
// devices page's first page (50 devices, as the page asks) against 200 ms p99.
// Usage: see kUsage. Exit 1 when a median (report) or a p99 (list) misses its budget, 2 on a
// wrong command line.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <ostream>
#include <streambuf>
#include <string>
#include <unistd.h>
#include <vector>

#include "bench/server/bench_util.h"
#include "bench/server/fleet_history.h"
#include "device_render.h"
#include "hearth/json.h"
#include "hearth/server/report.h"
#include "hearth/server/store.h"
#include "hearth/time.h"
#include "overview_api.h"

namespace {

constexpr const char* kUsage =
    "usage: hearth_report_bench [--devices N (100000)] [--days N (90)] [--runs N (5)]\n"
    "                           [--requests N (200)] [--database FILE]\n"
    "                           [--part report|list|console|both (both: all three)]\n"
    "  --database: build the fleet there and keep it (an existing file is reused as it is);\n"
    "  default: a temporary file, removed afterwards.\n";

// Counts the bytes written to it and keeps none.
class CountingBuffer final : public std::streambuf {
 public:
  int64_t bytes = 0;

 protected:
  int overflow(int c) override {
    if (c != traits_type::eof()) ++bytes;
    return c == traits_type::eof() ? 0 : c;
  }
  std::streamsize xsputn(const char*, std::streamsize n) override {
    bytes += n;
    return n;
  }
};

}  // namespace

int main(int argc, char** argv) {
  using hearth::bench::Flag;
  if (auto exit = hearth::bench::CheckFlags(
          argc, argv, {"--devices", "--days", "--runs", "--requests", "--database", "--part"},
          kUsage)) {
    return *exit;
  }
  auto devices_flag = hearth::bench::WholeIn(Flag(argc, argv, "--devices", "100000"), 1, 10000000);
  auto days_flag = hearth::bench::WholeIn(Flag(argc, argv, "--days", "90"), 1, 365);
  auto runs_flag = hearth::bench::WholeIn(Flag(argc, argv, "--runs", "5"), 1, 1000);
  auto requests_flag = hearth::bench::WholeIn(Flag(argc, argv, "--requests", "200"), 1, 100000);
  if (!devices_flag || !days_flag || !runs_flag || !requests_flag) {
    std::fprintf(stderr,
                 "--devices, --days (up to 365), --runs and --requests take a whole "
                 "number above 0\n%s",
                 kUsage);
    return 2;
  }
  int devices = *devices_flag, days = *days_flag, runs = *runs_flag, requests = *requests_flag;
  std::string path = Flag(argc, argv, "--database", "");
  std::string part = Flag(argc, argv, "--part", "both");
  if (part != "report" && part != "list" && part != "console" && part != "both") {
    std::fprintf(stderr, "--part is report, list, console or both\n%s", kUsage);
    return 2;
  }
  bool temporary = path.empty();
  if (temporary) {
    path = (std::filesystem::temp_directory_path() /
            ("hearth-report-bench-" + std::to_string(::getpid()) + ".db"))
               .string();
  }
  hearth::bench::FleetOptions options;
  options.devices = devices;
  options.year_start = 1735689600;  // 2025-01-01T00:00:00Z
  if (!std::filesystem::exists(path)) {
    hearth::bench::FleetSummary built;
    if (!hearth::bench::BuildFleetHistory(path, options, &built)) return 1;
    std::printf(
        "fleet: %lld devices, %lld events (%lld stale), %lld reports, built in %.1f s "
        "(direct inserts)\n",
        static_cast<long long>(built.devices), static_cast<long long>(built.events),
        static_cast<long long>(built.stale_events), static_cast<long long>(built.reports),
        built.seconds);
  } else {
    std::printf("fleet: reusing %s\n", path.c_str());
  }
  auto store = hearth::server::OpenStore(path, hearth::server::OpenMode::kExisting);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().toString().c_str());
    return 1;
  }
  int64_t to = options.year_start + 365 * 86400;
  hearth::server::ReportPeriod period{to - static_cast<int64_t>(days) * 86400, to};
  constexpr double kBudget = 10.0;
  bool missed = false;
  std::printf("\n%-34s %10s %10s %10s %10s %12s %8s\n", "report (SQLite)", "median s", "min s",
              "max s", "cpu s", "bytes", "budget");
  for (auto format : {hearth::server::ReportFormat::kCsv, hearth::server::ReportFormat::kJson}) {
    if (part == "list" || part == "console") break;
    std::vector<double> times, cpu;
    int64_t bytes = 0;
    for (int r = 0; r < runs; ++r) {
      CountingBuffer counter;
      std::ostream out(&counter);
      auto start = std::chrono::steady_clock::now();
      std::clock_t cpu_start = std::clock();
      hearth::server::ReportOptions with_actions;
      with_actions.admin_actions = true;  // as the command line makes it
      auto s = hearth::server::WriteComplianceReport(
          **store, period, format, [&]() -> std::ostream& { return out; }, {}, with_actions);
      times.push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      cpu.push_back(static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC);
      if (!s.ok()) {
        std::fprintf(stderr, "report: %s\n", s.toString().c_str());
        return 1;
      }
      bytes = counter.bytes;
    }
    double median = hearth::bench::Percentile(times, 0.5);
    bool over = median > kBudget;
    missed = missed || over;
    std::string name = std::to_string(days) + " days, " + std::to_string(devices) + " devices, " +
                       (format == hearth::server::ReportFormat::kCsv ? "csv" : "json");
    std::printf("%-34s %10.2f %10.2f %10.2f %10.2f %12lld %7.0fs%s\n", name.c_str(), median,
                *std::min_element(times.begin(), times.end()),
                *std::max_element(times.begin(), times.end()), hearth::bench::Percentile(cpu, 0.5),
                static_cast<long long>(bytes), kBudget, over ? "  MISSED" : "");
  }
  std::printf(
      "(period %s .. %s, %d runs each)\n",
      hearth::formatRfc3339(
          std::chrono::system_clock::time_point(std::chrono::seconds(period.from)))
          .c_str(),
      hearth::formatRfc3339(std::chrono::system_clock::time_point(std::chrono::seconds(period.to)))
          .c_str(),
      runs);
  // `device list --failing-for 7`, first page, at the year's end.
  constexpr double kListBudgetMs = 20.0;
  std::printf("\n%-44s %10s %10s %10s %8s %8s\n", "device list --failing-for 7 (SQLite)", "p50 ms",
              "p99 ms", "max ms", "rows", "budget");
  for (bool sorted : {false, true}) {
    if (part == "report" || part == "console") break;
    hearth::server::DeviceFilter filter;
    filter.failing_for = std::chrono::hours(24 * 7);
    filter.sort_failing_since = sorted;
    filter.now = std::chrono::system_clock::time_point(std::chrono::seconds(to));
    std::vector<double> ms;
    size_t rows = 0;
    for (int r = 0; r < requests; ++r) {
      auto start = std::chrono::steady_clock::now();
      auto page = (*store)->listDevices(filter);
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
      if (!page.ok()) {
        std::fprintf(stderr, "list: %s\n", page.status().toString().c_str());
        return 1;
      }
      rows = page->size();
    }
    double p99 = hearth::bench::Percentile(ms, 0.99);
    bool over = p99 > kListBudgetMs;
    missed = missed || over;
    std::printf("%-44s %10.2f %10.2f %10.2f %8zu %6.0fms%s\n",
                sorted ? "first page, sort=failing_since" : "first page, by device id",
                hearth::bench::Percentile(ms, 0.5), p99, *std::max_element(ms.begin(), ms.end()),
                rows, kListBudgetMs, over ? "  MISSED" : "");
  }
  std::printf("(%d requests each, page of %d)\n", requests, hearth::server::DeviceFilter{}.limit);
  if (part == "console" || part == "both") {
    auto now = std::chrono::system_clock::time_point(std::chrono::seconds(to));
    auto stale_after = hearth::server::kDefaultStaleAfter;
    // The trend's 30 days, as the server records them (one count a day here).
    for (int d = 29; d >= 0; --d) {
      auto s = (*store)->recordDailyStatus(now - std::chrono::hours(24 * d), stale_after);
      if (!s.ok()) {
        std::fprintf(stderr, "daily status: %s\n", s.toString().c_str());
        return 1;
      }
    }
    std::printf("\n%-44s %10s %10s %10s %8s %8s\n", "IT console, first views (SQLite)", "p50 ms",
                "p99 ms", "max ms", "bytes", "budget");
    struct View {
      const char* name;
      double budget_ms;
      std::function<hearth::StatusOr<std::string>()> serve;
    };
    const View views[] = {
        {"overview (30 days)", 300.0,
         [&]() -> hearth::StatusOr<std::string> {
           auto o = hearth::server::OverviewJson(**store, now, stale_after, 30);
           if (!o.ok()) return o.status();
           return hearth::json::write(*o);
         }},
        {"devices page, first 50", 200.0,
         [&]() -> hearth::StatusOr<std::string> {
           hearth::server::DeviceFilter filter;
           filter.now = now;
           filter.stale_after = stale_after;
           filter.limit = 50;
           auto page = (*store)->listDevices(filter);
           if (!page.ok()) return page.status();
           hearth::json::Value arr = hearth::json::Value::array();
           for (const auto& d : *page) arr.push(hearth::server::DeviceJson(d, false));
           return hearth::json::write(arr);
         }},
    };
    for (const auto& view : views) {
      std::vector<double> ms;
      size_t bytes = 0;
      for (int r = 0; r < requests; ++r) {
        auto start = std::chrono::steady_clock::now();
        auto body = view.serve();
        ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count());
        if (!body.ok()) {
          std::fprintf(stderr, "%s: %s\n", view.name, body.status().toString().c_str());
          return 1;
        }
        bytes = body->size();
      }
      double p99 = hearth::bench::Percentile(ms, 0.99);
      bool over = p99 > view.budget_ms;
      missed = missed || over;
      std::printf("%-44s %10.2f %10.2f %10.2f %8zu %6.0fms%s\n", view.name,
                  hearth::bench::Percentile(ms, 0.5), p99, *std::max_element(ms.begin(), ms.end()),
                  bytes, view.budget_ms, over ? "  MISSED" : "");
    }
    std::printf("(%d requests each; server time without TLS and HTTP)\n", requests);
  }
  store->reset();
  if (temporary) {
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(path + suffix, ignored);
    }
  }
  return missed ? 1 : 0;
}
