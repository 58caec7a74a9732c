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

// A change of what held (a check's required flag, a device's level) within the period.
template <typename T>
struct ValueChange {
  int64_t at = 0;
  T value;  // from `at` on
};

// An exemption of the check in force over [start, end): from its grant to the earliest of its
// `until` and its revocation (not clipped to the period).
struct ExemptSpan {
  int64_t start = 0;
  int64_t end = 0;
  int64_t id = 0;
  std::string reason;
  std::string created_by;
};

struct CheckHistory {
  std::string check_id;
  // Whether the check was required (its failure makes the device non-compliant) at the period's
  // start, and its changes within the period (a policy changed it; recorded from schema 13 on:
  // before that, the flag current when 13 was applied counts for all earlier times).
  bool required = false;
  std::vector<ValueChange<bool>> required_changes;
  std::vector<ExemptSpan> exempt;  // exemptions of this device (or its owner), by start
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
  std::string level;  // at the period's start (from schema 13 on; else the current level)
  std::vector<ValueChange<std::string>> level_changes;  // within the period
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
