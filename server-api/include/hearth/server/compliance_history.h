// What the period report for auditors (GET /api/v1/compliance-report, `hearth-server report
// compliance`) reads from the store for one device: its identity, its checks' verdicts over the
// period and its stale spans. Times are seconds since the epoch (the store keeps whole seconds).
// Filled by Store::reportHistory; computed on by compliance_report.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hearth::server {

// A period [from, to): from inclusive, to exclusive, in seconds since the epoch.
struct ReportPeriod {
  int64_t from = 0;
  int64_t to = 0;
};

// A stored verdict change (a verdict_changed event) within the period.
struct VerdictChange {
  int64_t at = 0;
  std::string verdict;  // the verdict from `at` on
};

struct CheckHistory {
  std::string check_id;
  // The device's latest report marks the check required (its failure makes the device
  // non-compliant). Which checks are required is not kept per report in history.
  bool required = false;
  // The verdict holding at the period's start (before the first change): none when the check had
  // no verdict yet (the device had not reported it).
  std::optional<std::string> verdict_at_start;
  std::vector<VerdictChange> changes;  // within the period, oldest first
};

// The device was stale (a `stale` event) from `start` until its next report (`end`), or still
// at the period's end (no `end`).
struct StaleSpan {
  int64_t start = 0;
  std::optional<int64_t> end;
};

struct DeviceHistory {
  std::string device_id;
  std::string hostname;
  std::optional<std::string> owner;
  std::string level;
  int64_t enrolled_at = 0;
  std::optional<int64_t> retired_at;
  std::vector<CheckHistory> checks;  // by check_id
  std::vector<StaleSpan> stale;      // by start
};

// A page of the devices a report covers: enrolled before the period's end, not retired before
// its start, not waiting for approval; device_id after `after` (exclusive), in device_id order.
struct ReportPageQuery {
  ReportPeriod period;
  std::string after;
  int limit = 1000;
};

}  // namespace hearth::server
