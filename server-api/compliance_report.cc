// The period report's computation: each check's verdicts as a timeline of states over the
// device's observed span, the device's timeline from its required checks', and their sums.
#include "compliance_report.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <tuple>
#include <utility>

#include "hearth/time.h"

namespace hearth::server {

namespace {

enum class State { kCompliant, kNoncompliant, kUnknown, kExempt, kNotRequired };

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

// Reads a timeline at increasing times.
class Cursor {
 public:
  explicit Cursor(const Timeline& t) : t_(t) {}
  State at(int64_t when) {
    while (i_ + 1 < t_.size() && t_[i_ + 1].at <= when) ++i_;
    return t_[i_].state;
  }

 private:
  const Timeline& t_;
  size_t i_ = 0;
};

void addStarts(const Timeline& t, std::vector<int64_t>& points) {
  for (const auto& seg : t) points.push_back(seg.at);
}

void sortUnique(std::vector<int64_t>& points) {
  std::sort(points.begin(), points.end());
  points.erase(std::unique(points.begin(), points.end()), points.end());
}

// The check's verdicts over [start, end).
Timeline verdictTimeline(const CheckHistory& c, int64_t start, int64_t end) {
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

bool exemptAt(const CheckHistory& c, int64_t when) {
  for (const auto& e : c.exempt) {
    if (e.start <= when && when < e.end) return true;
  }
  return false;
}

// The check's states over [start, end): its verdicts, exempt where an exemption covers a
// failure or an unknown verdict.
Timeline checkTimeline(const CheckHistory& c, int64_t start, int64_t end) {
  Timeline verdicts = verdictTimeline(c, start, end);
  if (c.exempt.empty()) return verdicts;
  std::vector<int64_t> points;
  addStarts(verdicts, points);
  for (const auto& e : c.exempt) {
    if (e.start > start && e.start < end) points.push_back(e.start);
    if (e.end > start && e.end < end) points.push_back(e.end);
  }
  sortUnique(points);
  Cursor v(verdicts);
  Timeline t;
  for (int64_t p : points) {
    State s = v.at(p);
    if ((s == State::kNoncompliant || s == State::kUnknown) && exemptAt(c, p)) s = State::kExempt;
    extend(t, p, s);
  }
  return t;
}

// Whether the check was required over [start, end): kCompliant while required, kNotRequired
// while not (a timeline of two states).
Timeline requiredTimeline(const CheckHistory& c, int64_t start, int64_t end) {
  auto state = [](bool required) { return required ? State::kCompliant : State::kNotRequired; };
  bool current = c.required;
  size_t i = 0;
  for (; i < c.required_changes.size() && c.required_changes[i].at <= start; ++i) {
    current = c.required_changes[i].value;
  }
  Timeline t{{start, state(current)}};
  for (; i < c.required_changes.size() && c.required_changes[i].at < end; ++i) {
    extend(t, c.required_changes[i].at, state(c.required_changes[i].value));
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

// The device's timeline from its checks' (`states`) and whether each was required then
// (`required`): non-compliant while a required check fails, else unknown while one is unknown,
// else exempt while one is exempt, else compliant. While no check is required: unknown until any
// check has a verdict, then compliant.
Timeline deviceTimeline(const DeviceHistory& d, const std::vector<Timeline>& states,
                        const std::vector<Timeline>& required, int64_t start, int64_t end) {
  std::optional<int64_t> first;
  for (const auto& c : d.checks) {
    auto at = firstVerdict(c, start, end);
    if (at && (!first || *at < *first)) first = at;
  }
  std::vector<int64_t> points{start};
  if (first) points.push_back(*first);
  for (size_t i = 0; i < states.size(); ++i) {
    addStarts(states[i], points);
    addStarts(required[i], points);
  }
  sortUnique(points);
  std::vector<Cursor> state_at, required_at;
  for (size_t i = 0; i < states.size(); ++i) {
    state_at.emplace_back(states[i]);
    required_at.emplace_back(required[i]);
  }
  Timeline t;
  for (int64_t p : points) {
    bool any_required = false, failing = false, unknown = false, exempt = false;
    for (size_t i = 0; i < states.size(); ++i) {
      if (required_at[i].at(p) != State::kCompliant) continue;
      any_required = true;
      State s = state_at[i].at(p);
      failing = failing || s == State::kNoncompliant;
      unknown = unknown || s == State::kUnknown;
      exempt = exempt || s == State::kExempt;
    }
    State s = failing                                  ? State::kNoncompliant
              : unknown                                ? State::kUnknown
              : exempt                                 ? State::kExempt
              : any_required || (first && p >= *first) ? State::kCompliant
                                                       : State::kUnknown;
    extend(t, p, s);
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
      case State::kNotRequired:
        seconds.compliant += length;
        break;
      case State::kUnknown:
        seconds.unknown += length;
        break;
      case State::kExempt:
        seconds.exempt += length;
        break;
      case State::kNoncompliant:
        seconds.noncompliant += length;
        if (length > 0) incidents.push_back({t[k].at, until, k == 0, k + 1 == t.size()});
        break;
    }
  }
}

// The value at the end of [start, end) and the changes within it, from the value at the
// period's start and the period's changes.
template <typename T>
T valueOver(T value, const std::vector<ValueChange<T>>& changes, int64_t start, int64_t end,
            std::vector<ValueChange<T>>& within) {
  for (const auto& c : changes) {
    if (c.at >= end) break;
    if (c.at > start && c.value != value) within.push_back(c);
    value = c.value;
  }
  return value;
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
  r.level = valueOver(device.level, device.level_changes, start, end, r.level_changes);
  std::vector<Timeline> states, required;
  states.reserve(device.checks.size());
  required.reserve(device.checks.size());
  for (const auto& c : device.checks) {
    states.push_back(checkTimeline(c, start, end));
    required.push_back(requiredTimeline(c, start, end));
    CheckReport check;
    check.check_id = c.check_id;
    check.required = valueOver(c.required, c.required_changes, start, end, check.required_changes);
    for (const auto& e : c.exempt) {
      if (e.end <= start || e.start >= end) continue;
      ExemptSpan clipped = e;
      clipped.start = std::max(e.start, start);
      clipped.end = std::min(e.end, end);
      check.exempt.push_back(std::move(clipped));
    }
    summarize(states.back(), end, check.seconds, check.incidents);
    r.checks.push_back(std::move(check));
  }
  summarize(deviceTimeline(device, states, required, start, end), end, r.seconds, r.incidents);
  for (const auto& s : device.stale) {
    int64_t from = std::max(s.start, start);
    int64_t until = s.end ? std::min(*s.end, end) : end;
    if (until <= from) continue;
    r.stale.push_back({from, s.end && *s.end <= end ? s.end : std::nullopt});
    r.stale_seconds += until - from;
  }
  return r;
}

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's algorithms,
// "chrono-Compatible Low-Level Date Algorithms"); `d` past the month's end runs into the next
// month, as timegm does.
int64_t daysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

struct Civil {
  int64_t y, m, d;
};
Civil civilFromDays(int64_t z) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  return {yoe + era * 400 + (m <= 2 ? 1 : 0), m, doy - (153 * mp + 2) / 5 + 1};
}

void appendDigits(std::string& out, int64_t v, int width) {
  char buf[4];
  for (int i = width - 1; i >= 0; --i, v /= 10) buf[i] = static_cast<char>('0' + v % 10);
  out.append(buf, static_cast<size_t>(width));
}

}  // namespace

void AppendReportTime(std::string& out, int64_t seconds) {
  int64_t days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400;
  int64_t rest = seconds - days * 86400;
  Civil c = civilFromDays(days);
  if (c.y < 1000 || c.y > 9999) {  // strftime's %Y has no padding to four digits: its text
    out += formatRfc3339(std::chrono::system_clock::time_point(std::chrono::seconds(seconds)));
    return;
  }
  appendDigits(out, c.y, 4);
  out += '-';
  appendDigits(out, c.m, 2);
  out += '-';
  appendDigits(out, c.d, 2);
  out += 'T';
  appendDigits(out, rest / 3600, 2);
  out += ':';
  appendDigits(out, rest / 60 % 60, 2);
  out += ':';
  appendDigits(out, rest % 60, 2);
  out += 'Z';
}

std::string ReportTimeText(int64_t seconds) {
  std::string out;
  AppendReportTime(out, seconds);
  return out;
}

int64_t ReportTimeSeconds(std::string_view t) {
  auto digits = [&](size_t pos, size_t len, int64_t& v) {
    v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (t[i] < '0' || t[i] > '9') return false;
      v = v * 10 + (t[i] - '0');
    }
    return true;
  };
  int64_t y, mo, d, h, mi, s;
  if (t.size() == 20 && t[4] == '-' && t[7] == '-' && t[10] == 'T' && t[13] == ':' &&
      t[16] == ':' && t[19] == 'Z' && digits(0, 4, y) && digits(5, 2, mo) && digits(8, 2, d) &&
      digits(11, 2, h) && digits(14, 2, mi) && digits(17, 2, s) && mo >= 1 && mo <= 12 && d >= 1 &&
      d <= 31 && h <= 23 && mi <= 59 && s <= 60) {
    return daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
  }
  auto parsed = parseRfc3339(t);
  if (!parsed.ok()) return 0;
  return std::chrono::duration_cast<std::chrono::seconds>(parsed->time_since_epoch()).count();
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
  LevelTotals& level = levels_[report.level];
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
