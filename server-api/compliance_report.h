// The period report for auditors, computed from what the store holds (compliance_history.h):
// per device and per check the seconds of the period spent compliant, non-compliant and unknown,
// the incidents, the stale spans; totals per level. Pure functions of their input: the same rows
// and the same period give the same numbers (hearth/server/report.h writes them as CSV or JSON).
//
// Definitions (docs/server.md "The compliance report"):
//  - A device is observed from max(from, enrolled_at) to min(to, retired_at).
//  - A check is compliant while its verdict is pass or not_applicable, non-compliant while it is
//    fail, unknown while it is unknown or while it has no verdict yet (the device had not
//    reported it), and exempt while it would be non-compliant or unknown but an exemption of it
//    was in force. A verdict holds from the report that brought it until the next report that
//    changes it, stale or not.
//  - Whether a check is required, and the device's level, are what held at each time (their
//    recorded changes, compliance_history.h).
//  - A device is non-compliant while any check required then fails (not exempt); else unknown
//    while one is unknown (or before its first report); else exempt while one is exempt; else
//    compliant. Its seconds come from its checks' timelines, so they agree with the checks'.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/server/compliance_history.h"

namespace hearth::server {

// The longest period a report covers (a leap year).
inline constexpr int64_t kMaxReportSeconds = 366 * 24 * 3600;

// Seconds of an observed span by state.
struct StateSeconds {
  int64_t compliant = 0;
  int64_t noncompliant = 0;
  int64_t unknown = 0;
  int64_t exempt = 0;
  int64_t observed() const { return compliant + noncompliant + unknown + exempt; }
  void add(const StateSeconds& o) {
    compliant += o.compliant;
    noncompliant += o.noncompliant;
    unknown += o.unknown;
    exempt += o.exempt;
  }
};

// A non-compliant span within the device's observed span: [start, end).
struct Incident {
  int64_t start = 0;
  int64_t end = 0;
  bool began_before = false;  // already non-compliant when observation began
  bool open = false;          // still non-compliant when observation ended
};

struct CheckReport {
  std::string check_id;
  bool required = false;                            // at the end of the observed span
  std::vector<ValueChange<bool>> required_changes;  // within the observed span
  std::vector<ExemptSpan> exempt;                   // clipped to the observed span
  StateSeconds seconds;
  std::vector<Incident> incidents;
};

struct DeviceReport {
  const DeviceHistory* device = nullptr;
  int64_t start = 0;  // observed span
  int64_t end = 0;
  std::string level;  // at the end of the observed span (totals count the device there)
  std::vector<ValueChange<std::string>> level_changes;  // within the observed span
  StateSeconds seconds;                                 // the device as a whole
  std::vector<Incident> incidents;                      // the device as a whole (required checks)
  std::vector<CheckReport> checks;                      // by check_id
  std::vector<StaleSpan> stale;                         // clipped to the observed span
  int64_t stale_seconds = 0;
};

// The report of one device over `period`; nullopt when the device is not observed in it.
std::optional<DeviceReport> ComputeDeviceReport(const DeviceHistory& device,
                                                const ReportPeriod& period);

// `part` of `whole` as a percentage rounded half up to two decimals, in hundredths (9987 is
// 99.87 %); 0 when `whole` is 0.
int64_t PercentHundredths(int64_t part, int64_t whole);
// Hundredths as text: "99.87", "100.00", "0.00".
std::string PercentText(int64_t hundredths);

// Times of the report, which reads and writes millions of them (gmtime_r/strftime and timegm
// took 6 % of its CPU at 100,000 devices): RFC 3339 whole seconds in UTC, "2025-10-03T00:00:00Z",
// the text formatRfc3339 gives, appended to `out`.
void AppendReportTime(std::string& out, int64_t seconds);
std::string ReportTimeText(int64_t seconds);
// A stored time as seconds since the epoch: the form above read directly, any other through
// parseRfc3339; 0 when the text is not RFC 3339.
int64_t ReportTimeSeconds(std::string_view text);

// Totals per level, summed over devices as they come.
struct LevelTotals {
  int64_t devices = 0;
  StateSeconds seconds;
  int64_t devices_with_incidents = 0;  // non-compliant at some time of the period
  int64_t devices_stale = 0;           // stale at some time of the period
  int64_t stale_seconds = 0;
  struct Check {
    int64_t devices = 0;
    StateSeconds seconds;
    int64_t incidents = 0;
  };
  std::map<std::string, Check> checks;
};

class ReportTotals {
 public:
  void add(const DeviceReport& report);
  const std::map<std::string, LevelTotals>& levels() const { return levels_; }

 private:
  std::map<std::string, LevelTotals> levels_;
};

}  // namespace hearth::server
