// The period report's computation: each check's verdicts as a timeline of states over the
// device's observed span, the device's timeline from its required checks', and their sums.
#include "compliance_report.h"

#include <algorithm>
#include <cstdio>
#include <tuple>
#include <utility>

namespace hearth::server {

namespace {

enum class State { kCompliant, kNoncompliant, kUnknown };

State stateOf(const std::optional<std::string>& verdict) {
  if (!verdict) return State::kUnknown;
  if (*verdict == "pass" || *verdict == "not_applicable") return State::kCompliant;
  if (*verdict == "fail") return State::kNoncompliant;
  return State::kUnknown;
}

// A state from `at` until the next segment's `at` (or the end of the observed span).
struct Segment {
  int64_t at = 0;
  State state = State::kUnknown;
};
using Timeline = std::vector<Segment>;

// Appends `state` from `at` (not before the last segment): merged into the last segment when it
// starts at the same time or holds the same state.
void extend(Timeline& t, int64_t at, State state) {
  if (t.empty()) {
    t.push_back({at, state});
    return;
  }
  at = std::max(at, t.back().at);
  if (state == t.back().state) return;
  if (at == t.back().at) {
    t.pop_back();
    if (!t.empty() && t.back().state == state) return;
  }
  t.push_back({at, state});
}

Timeline checkTimeline(const CheckHistory& c, int64_t start, int64_t end) {
  State current = stateOf(c.verdict_at_start);
  size_t i = 0;
  for (; i < c.changes.size() && c.changes[i].at <= start; ++i) {
    current = stateOf(c.changes[i].verdict);
  }
  Timeline t{{start, current}};
  for (; i < c.changes.size() && c.changes[i].at < end; ++i) {
    extend(t, c.changes[i].at, stateOf(c.changes[i].verdict));
  }
  return t;
}

// Whether the check has a verdict (any) at `start`, else when it gets its first within the span.
std::optional<int64_t> firstVerdict(const CheckHistory& c, int64_t start, int64_t end) {
  if (c.verdict_at_start) return start;
  if (!c.changes.empty() && c.changes.front().at < end) {
    return std::max(start, c.changes.front().at);
  }
  return std::nullopt;
}

// The device's timeline: non-compliant while a required check fails, else unknown while one is
// unknown, else compliant. With no required check: unknown until any check has a verdict, then
// compliant.
Timeline deviceTimeline(const DeviceHistory& d, const std::vector<Timeline>& checks, int64_t start,
                        int64_t end) {
  std::vector<size_t> required;
  for (size_t i = 0; i < d.checks.size(); ++i) {
    if (d.checks[i].required) required.push_back(i);
  }
  Timeline t;
  if (required.empty()) {
    std::optional<int64_t> first;
    for (const auto& c : d.checks) {
      auto at = firstVerdict(c, start, end);
      if (at && (!first || *at < *first)) first = at;
    }
    extend(t, start, State::kUnknown);
    if (first) extend(t, *first, State::kCompliant);
    return t;
  }
  // A sweep over every required check's state changes, in time order.
  int failing = 0, unknown = 0;
  auto count = [&](State s, int delta) {
    if (s == State::kNoncompliant) failing += delta;
    if (s == State::kUnknown) unknown += delta;
  };
  std::vector<std::tuple<int64_t, State, State>> changes;  // at, from, to
  for (size_t i : required) {
    const Timeline& c = checks[i];
    count(c.front().state, 1);
    for (size_t k = 1; k < c.size(); ++k) changes.emplace_back(c[k].at, c[k - 1].state, c[k].state);
  }
  std::stable_sort(changes.begin(), changes.end(),
                   [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });
  auto now = [&] {
    return failing > 0 ? State::kNoncompliant : unknown > 0 ? State::kUnknown : State::kCompliant;
  };
  extend(t, start, now());
  for (size_t k = 0; k < changes.size();) {
    int64_t at = std::get<0>(changes[k]);
    for (; k < changes.size() && std::get<0>(changes[k]) == at; ++k) {
      count(std::get<1>(changes[k]), -1);
      count(std::get<2>(changes[k]), 1);
    }
    extend(t, at, now());
  }
  return t;
}

// The seconds of each state and the non-compliant spans of `t`, which ends at `end`.
void summarize(const Timeline& t, int64_t end, StateSeconds& seconds,
               std::vector<Incident>& incidents) {
  for (size_t k = 0; k < t.size(); ++k) {
    int64_t until = k + 1 < t.size() ? t[k + 1].at : end;
    int64_t length = until - t[k].at;
    switch (t[k].state) {
      case State::kCompliant:
        seconds.compliant += length;
        break;
      case State::kUnknown:
        seconds.unknown += length;
        break;
      case State::kNoncompliant:
        seconds.noncompliant += length;
        if (length > 0) incidents.push_back({t[k].at, until, k == 0, k + 1 == t.size()});
        break;
    }
  }
}

}  // namespace

std::optional<DeviceReport> ComputeDeviceReport(const DeviceHistory& device,
                                                const ReportPeriod& period) {
  int64_t start = std::max(period.from, device.enrolled_at);
  int64_t end = device.retired_at ? std::min(period.to, *device.retired_at) : period.to;
  if (end <= start) return std::nullopt;
  DeviceReport r;
  r.device = &device;
  r.start = start;
  r.end = end;
  std::vector<Timeline> timelines;
  timelines.reserve(device.checks.size());
  for (const auto& c : device.checks) {
    timelines.push_back(checkTimeline(c, start, end));
    CheckReport check;
    check.check_id = c.check_id;
    check.required = c.required;
    summarize(timelines.back(), end, check.seconds, check.incidents);
    r.checks.push_back(std::move(check));
  }
  summarize(deviceTimeline(device, timelines, start, end), end, r.seconds, r.incidents);
  for (const auto& s : device.stale) {
    int64_t from = std::max(s.start, start);
    int64_t until = s.end ? std::min(*s.end, end) : end;
    if (until <= from) continue;
    r.stale.push_back({from, s.end && *s.end <= end ? s.end : std::nullopt});
    r.stale_seconds += until - from;
  }
  return r;
}

int64_t PercentHundredths(int64_t part, int64_t whole) {
  if (whole <= 0) return 0;
  return (part * 20000 + whole) / (2 * whole);
}

std::string PercentText(int64_t hundredths) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%02lld", static_cast<long long>(hundredths / 100),
                static_cast<long long>(hundredths % 100));
  return buf;
}

void ReportTotals::add(const DeviceReport& report) {
  LevelTotals& level = levels_[report.device->level];
  ++level.devices;
  level.seconds.add(report.seconds);
  if (!report.incidents.empty()) ++level.devices_with_incidents;
  if (!report.stale.empty()) ++level.devices_stale;
  level.stale_seconds += report.stale_seconds;
  for (const auto& c : report.checks) {
    LevelTotals::Check& check = level.checks[c.check_id];
    ++check.devices;
    check.seconds.add(c.seconds);
    check.incidents += static_cast<int64_t>(c.incidents.size());
  }
}

}  // namespace hearth::server
