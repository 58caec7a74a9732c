// A device's standing in the compliance workflow (issue 14): per check since when its verdict
// holds, its deadline (`fix_by`, from the policy's grace period) and its exemption; per device
// the status that follows at a given time, the earliest deadline (after which the device is
// non-compliant without a new report) and since when it has not been compliant. Pure functions:
// the store calls them at ingest, on exemption changes and when a deadline or exemption lapses.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hearth/json.h"

namespace hearth::server {

using TimePoint = std::chrono::system_clock::time_point;  // as store.h

struct CheckStanding {
  std::string id;
  std::string verdict;  // pass | fail | unknown | not_applicable
  bool required = true;
  std::optional<TimePoint> since;         // since when this verdict holds
  std::optional<TimePoint> fix_by;        // a failing required check's deadline
  std::optional<TimePoint> exempt_until;  // an exemption in force until then
  // Since when this check's failure counts against the device (its grace period counts from
  // then): the later of when it started failing and when it started counting as required for
  // this device. Kept through an `unknown`; none when the check passes, is not applicable or
  // is not required. Stored per check (check_state.grace_from), not shown in the API.
  std::optional<TimePoint> grace_from;
};

// The grace clock of `check` (its verdict and `required` as reported at `at`) given the one
// stored before (`previous`): a required failing check keeps the previous clock or starts one
// at `at` (a check that becomes required while failing starts at `at`, not when it started
// failing); a required unknown keeps the previous clock (unknown is not a pass, nor a new
// failure); a pass, not_applicable or a check not required ends it.
std::optional<TimePoint> GraceFrom(const CheckStanding& check,
                                   const std::optional<TimePoint>& previous, TimePoint at);

// The deadline of a check: grace_from + grace_days for a required check failing (or unknown
// since a failure whose incident is still open); none otherwise.
std::optional<TimePoint> FixBy(const CheckStanding& check, int64_t grace_days);

struct DeviceStanding {
  // compliant | at_risk (its only failures are within their grace) | noncompliant | unknown
  std::string status;
  // The earliest deadline of a failing, required, not exempted check still ahead at the time
  // decided (none for noncompliant: that moment has passed). Past it the device is noncompliant.
  std::optional<TimePoint> deadline;
};

// The device's standing at `at`. `agent_compliant`: the report's own "compliant" (a report that
// says compliant is compliant). Exemptions in force at `at` take their check out of the count;
// a device whose only failures are exempted is compliant. A required unknown check makes the
// device unknown, or noncompliant once the deadline of a failure it followed has passed.
DeviceStanding DecideStanding(const std::vector<CheckStanding>& checks, bool agent_compliant,
                              TimePoint at);

// The status to show at `now` of a device stored with `status` and `deadline`: noncompliant once
// the deadline has passed, else as stored.
std::string StatusAt(const std::string& status, const std::optional<TimePoint>& deadline,
                     TimePoint now);

// The device's failing_since after a change at `at`: none when `status` is compliant, else the
// previous one, or `at` when there was none.
std::optional<TimePoint> FailingSince(const std::string& status,
                                      const std::optional<TimePoint>& previous, TimePoint at);

// The device event that the device's status (at the moment of a change) brings, given whether
// a device_noncompliant event stands for it without a device_compliant after it (`alerted`):
// "device_noncompliant" on entering noncompliant, "device_compliant" on becoming compliant
// again, nullptr otherwise (at_risk and unknown change nothing).
const char* DeviceEventFor(const std::string& status, bool alerted);

// The checks kept beside the latest result (DeviceRecord::checks_summary) with their standing:
// each {"id","verdict","summary","required"} entry of `summary` gets "since", "fix_by" and
// "exempt_until" (RFC 3339 or null) from the check of the same id in `checks`.
json::Value SummaryWithStanding(const json::Value& summary,
                                const std::vector<CheckStanding>& checks);

// The standing kept in a checks summary (SummaryWithStanding's output, or an older one without
// it: the times are then none).
std::vector<CheckStanding> StandingFromSummary(const json::Value& summary);

}  // namespace hearth::server
