// The period report's two formats and the loop that feeds them a page of devices at a time.
//
// CSV (RFC 4180, CRLF, cells through CsvCell: quoted when needed, formula-safe): one table whose
// first column says what a row is, so that a spreadsheet filters it:
//   period        start, end, observed_seconds; detail "complete", or "incomplete: ..." when
//                 retention deleted history the period needs (it is not covered)
//   device        a device over its observed span: its level at the end, seconds by state,
//                 compliant_percent, incidents (how many), stale_seconds
//   check         one check of that device, likewise; required: at the end of the span
//   level_change  the device moved to `level` at `start`
//   required_change  the check became required (true) or not at `start`
//   exemption     an exemption of the check in force: start, end (clipped to the span),
//                 observed_seconds, actor (who granted it), target exemption:ID, detail (reason)
//   incident      a non-compliant span of the device (check empty) or of one check: start, end
//                 (empty while it was still going on), observed_seconds; detail
//                 "began_before" and/or "open"
//   stale         a stale span of the device: start, end (empty: still stale), observed_seconds
//   level         totals of a level: devices, seconds by state, compliant_percent,
//                 devices_with_incidents, devices_stale, stale_seconds
//   level_check   totals of one check over a level's devices
//   admin_action  an audit log entry of the period: start (its time), actor, action, target,
//                 detail (JSON)
// JSON: {"report":"compliance","from","to","period_seconds","history_complete","pruned_before",
// "devices":[...],"levels":[...],"admin_actions":[...]}, the same facts. The admin actions are
// left out (no rows, no key) unless ReportOptions::admin_actions.
#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "compliance_report.h"
#include "device_render.h"
#include "hearth/json.h"
#include "hearth/server/report.h"
#include "hearth/time.h"

namespace hearth::server {

namespace {

std::string timeText(int64_t seconds) {
  return formatRfc3339(std::chrono::system_clock::time_point(std::chrono::seconds(seconds)));
}

// Hundredths of a percent as a JSON number: 99.87 (the shortest text of the nearest double).
json::Value percentJson(int64_t part, int64_t whole) {
  return json::Value(static_cast<double>(PercentHundredths(part, whole)) / 100.0);
}

std::string incidentFlags(const Incident& i) {
  if (i.began_before && i.open) return "began_before open";
  if (i.began_before) return "began_before";
  return i.open ? "open" : "";
}

class ReportWriter {
 public:
  virtual ~ReportWriter() = default;
  virtual void begin(const ReportPeriod& period, const Store::ReportContext& context) = 0;
  virtual void device(const DeviceReport& report) = 0;
  // `actions`: none when the report leaves them out.
  virtual void end(const ReportTotals& totals, const std::vector<AuditEntry>* actions) = 0;
};

class CsvWriter final : public ReportWriter {
 public:
  explicit CsvWriter(std::ostream& out) : out_(out) {}

  void begin(const ReportPeriod& period, const Store::ReportContext& context) override {
    out_ << "record,device_id,hostname,owner,level,check,required,start,end,observed_seconds,"
            "compliant_seconds,noncompliant_seconds,unknown_seconds,exempt_seconds,"
            "compliant_percent,incidents,stale_seconds,devices,devices_with_incidents,"
            "devices_stale,actor,action,target,detail\r\n";
    Row r{};
    r[kRecord] = "period";
    r[kStart] = timeText(period.from);
    r[kEnd] = timeText(period.to);
    r[kObserved] = std::to_string(period.to - period.from);
    r[kDetail] = CoverageText(period, context);
    write(r);
  }

  void device(const DeviceReport& report) override {
    const DeviceHistory& d = *report.device;
    Row base{};
    base[kDevice] = d.device_id;
    base[kHostname] = d.hostname;
    base[kOwner] = d.owner.value_or("");
    base[kLevel] = d.level;
    base[kLevel] = report.level;
    Row r = base;
    r[kRecord] = "device";
    r[kStart] = timeText(report.start);
    r[kEnd] = timeText(report.end);
    seconds(r, report.seconds);
    r[kIncidents] = std::to_string(report.incidents.size());
    r[kStale] = std::to_string(report.stale_seconds);
    write(r);
    for (const auto& c : report.checks) {
      Row row = base;
      row[kRecord] = "check";
      row[kCheck] = c.check_id;
      row[kRequired] = c.required ? "true" : "false";
      row[kStart] = timeText(report.start);
      row[kEnd] = timeText(report.end);
      seconds(row, c.seconds);
      row[kIncidents] = std::to_string(c.incidents.size());
      write(row);
    }
    for (const auto& l : report.level_changes) {
      Row row = base;
      row[kRecord] = "level_change";
      row[kLevel] = l.value;
      row[kStart] = timeText(l.at);
      write(row);
    }
    for (const auto& c : report.checks) {
      for (const auto& change : c.required_changes) {
        Row row = base;
        row[kRecord] = "required_change";
        row[kCheck] = c.check_id;
        row[kRequired] = change.value ? "true" : "false";
        row[kStart] = timeText(change.at);
        write(row);
      }
      for (const auto& e : c.exempt) {
        Row row = base;
        row[kRecord] = "exemption";
        row[kCheck] = c.check_id;
        row[kStart] = timeText(e.start);
        row[kEnd] = timeText(e.end);
        row[kObserved] = std::to_string(e.end - e.start);
        row[kActor] = e.created_by;
        row[kTarget] = "exemption:" + std::to_string(e.id);
        row[kDetail] = e.reason;
        write(row);
      }
    }
    incidents(base, "", report.incidents);
    for (const auto& c : report.checks) incidents(base, c.check_id, c.incidents);
    for (const auto& s : report.stale) {
      Row row = base;
      row[kRecord] = "stale";
      row[kStart] = timeText(s.start);
      int64_t end = s.end.value_or(report.end);
      if (s.end) row[kEnd] = timeText(*s.end);
      row[kObserved] = std::to_string(end - s.start);
      write(row);
    }
  }

  void end(const ReportTotals& totals, const std::vector<AuditEntry>* actions) override {
    for (const auto& [level, t] : totals.levels()) {
      Row r{};
      r[kRecord] = "level";
      r[kLevel] = level;
      seconds(r, t.seconds);
      r[kStale] = std::to_string(t.stale_seconds);
      r[kDevices] = std::to_string(t.devices);
      r[kDevicesWithIncidents] = std::to_string(t.devices_with_incidents);
      r[kDevicesStale] = std::to_string(t.devices_stale);
      write(r);
      for (const auto& [check, c] : t.checks) {
        Row row{};
        row[kRecord] = "level_check";
        row[kLevel] = level;
        row[kCheck] = check;
        seconds(row, c.seconds);
        row[kIncidents] = std::to_string(c.incidents);
        row[kDevices] = std::to_string(c.devices);
        write(row);
      }
    }
    if (actions == nullptr) return;
    for (const auto& a : *actions) {
      Row r{};
      r[kRecord] = "admin_action";
      r[kStart] = formatRfc3339(a.at);
      r[kActor] = a.actor;
      r[kAction] = a.action;
      r[kTarget] = a.target;
      r[kDetail] = a.detail.value_or("");
      write(r);
    }
  }

 private:
  enum Column {
    kRecord,
    kDevice,
    kHostname,
    kOwner,
    kLevel,
    kCheck,
    kRequired,
    kStart,
    kEnd,
    kObserved,
    kCompliant,
    kNoncompliant,
    kUnknown,
    kExempt,
    kPercent,
    kIncidents,
    kStale,
    kDevices,
    kDevicesWithIncidents,
    kDevicesStale,
    kActor,
    kAction,
    kTarget,
    kDetail,
    kColumns
  };
  using Row = std::array<std::string, kColumns>;

  static void seconds(Row& r, const StateSeconds& s) {
    r[kObserved] = std::to_string(s.observed());
    r[kCompliant] = std::to_string(s.compliant);
    r[kNoncompliant] = std::to_string(s.noncompliant);
    r[kUnknown] = std::to_string(s.unknown);
    r[kExempt] = std::to_string(s.exempt);
    r[kPercent] = PercentText(PercentHundredths(s.compliant, s.observed()));
  }

  void incidents(const Row& base, const std::string& check, const std::vector<Incident>& list) {
    for (const auto& i : list) {
      Row row = base;
      row[kRecord] = "incident";
      row[kCheck] = check;
      row[kStart] = timeText(i.start);
      if (!i.open) row[kEnd] = timeText(i.end);
      row[kObserved] = std::to_string(i.end - i.start);
      row[kDetail] = incidentFlags(i);
      write(row);
    }
  }

  void write(const Row& r) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      if (i > 0) line += ',';
      line += CsvCell(r[i]);
    }
    line += "\r\n";
    out_ << line;
  }

  std::ostream& out_;
};

class JsonWriter final : public ReportWriter {
 public:
  explicit JsonWriter(std::ostream& out) : out_(out) {}

  void begin(const ReportPeriod& period, const Store::ReportContext& context) override {
    out_ << "{\"report\":\"compliance\",\"from\":\"" << timeText(period.from) << "\",\"to\":\""
         << timeText(period.to) << "\",\"period_seconds\":" << (period.to - period.from)
         << ",\"history_complete\":" << (Covered(period, context) ? "true" : "false")
         << ",\"pruned_before\":"
         << (context.pruned_before ? "\"" + formatRfc3339(*context.pruned_before) + "\"" : "null")
         << ",\"devices\":[";
  }

  void device(const DeviceReport& report) override {
    const DeviceHistory& d = *report.device;
    json::Value o = json::Value::object();
    o.set("device_id", d.device_id);
    o.set("hostname", d.hostname);
    o.set("owner", d.owner ? json::Value(*d.owner) : json::Value());
    o.set("level", report.level);
    o.set("level_changes", changes(report.level_changes, "level"));
    o.set("start", timeText(report.start));
    o.set("end", timeText(report.end));
    seconds(o, report.seconds);
    o.set("incidents", incidents(report.incidents));
    json::Value stale = json::Value::array();
    for (const auto& s : report.stale) {
      json::Value span = json::Value::object();
      span.set("start", timeText(s.start));
      span.set("end", s.end ? json::Value(timeText(*s.end)) : json::Value());
      span.set("seconds", s.end.value_or(report.end) - s.start);
      stale.push(std::move(span));
    }
    o.set("stale", std::move(stale));
    o.set("stale_seconds", report.stale_seconds);
    json::Value checks = json::Value::array();
    for (const auto& c : report.checks) {
      json::Value check = json::Value::object();
      check.set("check", c.check_id);
      check.set("required", c.required);
      check.set("required_changes", changes(c.required_changes, "required"));
      seconds(check, c.seconds);
      check.set("incidents", incidents(c.incidents));
      json::Value exemptions = json::Value::array();
      for (const auto& e : c.exempt) {
        json::Value x = json::Value::object();
        x.set("exemption_id", e.id);
        x.set("start", timeText(e.start));
        x.set("end", timeText(e.end));
        x.set("seconds", e.end - e.start);
        x.set("reason", e.reason);
        x.set("created_by", e.created_by);
        exemptions.push(std::move(x));
      }
      check.set("exemptions", std::move(exemptions));
      checks.push(std::move(check));
    }
    o.set("checks", std::move(checks));
    out_ << (first_ ? "\n" : ",\n") << json::write(o);
    first_ = false;
  }

  void end(const ReportTotals& totals, const std::vector<AuditEntry>* actions) override {
    json::Value levels = json::Value::array();
    for (const auto& [level, t] : totals.levels()) {
      json::Value o = json::Value::object();
      o.set("level", level);
      o.set("devices", t.devices);
      seconds(o, t.seconds);
      o.set("devices_with_incidents", t.devices_with_incidents);
      o.set("devices_stale", t.devices_stale);
      o.set("stale_seconds", t.stale_seconds);
      json::Value checks = json::Value::array();
      for (const auto& [check, c] : t.checks) {
        json::Value co = json::Value::object();
        co.set("check", check);
        co.set("devices", c.devices);
        seconds(co, c.seconds);
        co.set("incidents", c.incidents);
        checks.push(std::move(co));
      }
      o.set("checks", std::move(checks));
      levels.push(std::move(o));
    }
    out_ << "\n],\"levels\":" << json::write(levels);
    if (actions != nullptr) {
      json::Value audit = json::Value::array();
      for (const auto& a : *actions) audit.push(AuditEntryJson(a));
      out_ << ",\"admin_actions\":" << json::write(audit);
    }
    out_ << "}\n";
  }

 private:
  static void seconds(json::Value& o, const StateSeconds& s) {
    json::Value v = json::Value::object();
    v.set("observed", s.observed());
    v.set("compliant", s.compliant);
    v.set("noncompliant", s.noncompliant);
    v.set("unknown", s.unknown);
    v.set("exempt", s.exempt);
    o.set("seconds", std::move(v));
    o.set("compliant_percent", percentJson(s.compliant, s.observed()));
  }

  // [{"at", `key`: the value from then on}, ...]
  template <typename T>
  static json::Value changes(const std::vector<ValueChange<T>>& list, const char* key) {
    json::Value arr = json::Value::array();
    for (const auto& c : list) {
      json::Value o = json::Value::object();
      o.set("at", timeText(c.at));
      o.set(key, c.value);
      arr.push(std::move(o));
    }
    return arr;
  }

  static json::Value incidents(const std::vector<Incident>& list) {
    json::Value arr = json::Value::array();
    for (const auto& i : list) {
      json::Value o = json::Value::object();
      o.set("start", timeText(i.start));
      o.set("end", i.open ? json::Value() : json::Value(timeText(i.end)));
      o.set("seconds", i.end - i.start);
      o.set("began_before", i.began_before);
      o.set("open", i.open);
      arr.push(std::move(o));
    }
    return arr;
  }

  std::ostream& out_;
  bool first_ = true;
};

std::optional<TimePoint> periodEnd(const std::string& text) {
  std::string t = text;
  if (t.size() == 10) t += "T00:00:00Z";
  auto parsed = parseRfc3339(t);
  if (!parsed.ok()) return std::nullopt;
  return *parsed;
}

}  // namespace

bool Covered(const ReportPeriod& period, const Store::ReportContext& context) {
  return !context.pruned_before ||
         TimePoint(std::chrono::seconds(period.from)) >= *context.pruned_before;
}

std::string CoverageText(const ReportPeriod& period, const Store::ReportContext& context) {
  if (Covered(period, context)) return "complete";
  return "incomplete: retention deleted history before " + formatRfc3339(*context.pruned_before) +
         "; the period is not covered by stored history";
}

StatusOr<ReportFormat> ParseReportFormat(const std::string& text) {
  if (text == "csv") return ReportFormat::kCsv;
  if (text == "json") return ReportFormat::kJson;
  return InvalidArgumentError("format must be csv or json");
}

StatusOr<ReportPeriod> ParseReportPeriod(const std::string& from, const std::string& to,
                                         TimePoint now) {
  auto f = periodEnd(from);
  auto t = periodEnd(to);
  if (from.empty() || to.empty()) return InvalidArgumentError("a report needs from and to");
  if (!f) return InvalidArgumentError("from must be an RFC 3339 time or a date (YYYY-MM-DD)");
  if (!t) return InvalidArgumentError("to must be an RFC 3339 time or a date (YYYY-MM-DD)");
  auto secs = [](TimePoint p) {
    return std::chrono::duration_cast<std::chrono::seconds>(p.time_since_epoch()).count();
  };
  ReportPeriod p{secs(*f), secs(*t)};
  if (p.to <= p.from) return InvalidArgumentError("to must be after from");
  if (p.to - p.from > kMaxReportSeconds) {
    return InvalidArgumentError("a report covers at most 366 days");
  }
  if (p.to > secs(now)) {
    return InvalidArgumentError(
        "to must not be in the future (a period that has not ended yet "
        "would change as reports arrive)");
  }
  return p;
}

Status WriteComplianceReport(Store& store, const ReportPeriod& period, ReportFormat format,
                             const std::function<std::ostream&()>& open,
                             const std::function<void()>& progress, const ReportOptions& options) {
  auto context = store.reportContext(period, options.admin_actions);
  if (!context.ok()) return context.status();
  ReportPageQuery query{period, "", 1000};
  auto page = store.reportHistory(query);
  if (!page.ok()) return page.status();
  std::ostream& out = open();
  std::unique_ptr<ReportWriter> writer;
  if (format == ReportFormat::kCsv) {
    writer = std::make_unique<CsvWriter>(out);
  } else {
    writer = std::make_unique<JsonWriter>(out);
  }
  writer->begin(period, *context);
  ReportTotals totals;
  while (true) {
    for (const auto& d : *page) {
      auto report = ComputeDeviceReport(d, period);
      if (!report) continue;
      writer->device(*report);
      totals.add(*report);
    }
    if (progress) progress();
    if (static_cast<int>(page->size()) < query.limit) break;
    query.after = page->back().device_id;
    page = store.reportHistory(query);
    if (!page.ok()) return page.status();
  }
  writer->end(totals, options.admin_actions ? &context->admin_actions : nullptr);
  out.flush();
  if (!out) return UnavailableError("the report could not be written out");
  return OkStatus();
}

}  // namespace hearth::server
