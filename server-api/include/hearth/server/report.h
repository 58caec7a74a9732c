// The period report as the API and the command line give it: the period read from its two ends,
// and the report written as CSV or JSON while the store is read a page of devices at a time
// (bounded memory at any fleet size). Same stored rows and same period, same bytes: everything
// is in a fixed order (devices by id, checks by id, levels by name, admin actions by cursor),
// numbers are whole seconds and percentages with two decimals, and nothing depends on the time
// the report is made.
#pragma once

#include <functional>
#include <ostream>
#include <string>

#include "hearth/server/compliance_history.h"
#include "hearth/server/store.h"
#include "hearth/status.h"

namespace hearth::server {

enum class ReportFormat { kCsv, kJson };

// "csv" or "json"; InvalidArgument otherwise.
StatusOr<ReportFormat> ParseReportFormat(const std::string& text);

// The period from its ends, each RFC 3339 or a date (YYYY-MM-DD: 00:00 UTC that day). `to` after
// `from`, at most kMaxReportSeconds after it, and not after `now` (a period that has not ended
// would change as reports arrive). InvalidArgument saying which rule is broken.
StatusOr<ReportPeriod> ParseReportPeriod(const std::string& from, const std::string& to,
                                         TimePoint now);

// What a report holds beyond the fleet's compliance.
struct ReportOptions {
  // The admin actions of the period from the audit log: only for those who may read the audit
  // log (an admin token, the command line). Without them the section is left out (CSV: no
  // admin_action rows; JSON: no "admin_actions" key).
  bool admin_actions = false;
};

// Whether stored history covers `period` (retention deleted nothing it needs), and that as the
// CSV's period detail: "complete" or "incomplete: ..." naming the horizon.
bool Covered(const ReportPeriod& period, const Store::ReportContext& context);
std::string CoverageText(const ReportPeriod& period, const Store::ReportContext& context);

// Writes the report of `period` in `format`. `open` is called once, after the first reads
// worked and before the first byte, and returns where to write (so that an HTTP answer starts
// only once the store answered). `progress`, if given, is called after each page of devices.
// An error before `open` leaves nothing written; one after it leaves the output cut short.
Status WriteComplianceReport(Store& store, const ReportPeriod& period, ReportFormat format,
                             const std::function<std::ostream&()>& open,
                             const std::function<void()>& progress = {},
                             const ReportOptions& options = {});

}  // namespace hearth::server
