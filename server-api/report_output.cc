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
#include <charconv>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "compliance_report.h"
#include "device_render.h"
#include "hearth/json.h"
#include "hearth/server/report.h"
#include "hearth/time.h"

namespace hearth::server {

namespace {

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

// Rows are made in one set of cells whose strings are reused from row to row, and a device's
// rows are written out at once (at 100,000 devices a string per cell and a write per row were
// most of the CSV's own time).
class CsvWriter final : public ReportWriter {
 public:
  explicit CsvWriter(std::ostream& out) : out_(out) {}

  void begin(const ReportPeriod& period, const Store::ReportContext& context) override {
    text_ =
        "record,device_id,hostname,owner,level,check,required,start,end,observed_seconds,"
        "compliant_seconds,noncompliant_seconds,unknown_seconds,exempt_seconds,"
        "compliant_percent,incidents,stale_seconds,devices,devices_with_incidents,"
        "devices_stale,actor,action,target,detail\r\n";
    row("period");
    time(kStart, period.from);
    time(kEnd, period.to);
    number(kObserved, period.to - period.from);
    cells_[kDetail] = CoverageText(period, context);
    write();
    flush();
  }

  void device(const DeviceReport& report) override {
    device_ = &report;
    const DeviceHistory& d = *report.device;
    device_cells_.clear();
    AppendCsvCell(device_cells_, d.device_id);
    device_cells_ += ',';
    AppendCsvCell(device_cells_, d.hostname);
    device_cells_ += ',';
    AppendCsvCell(device_cells_, d.owner ? std::string_view(*d.owner) : std::string_view());
    row("device");
    time(kStart, report.start);
    time(kEnd, report.end);
    seconds(report.seconds);
    number(kIncidents, static_cast<int64_t>(report.incidents.size()));
    number(kStale, report.stale_seconds);
    write();
    for (const auto& c : report.checks) {
      row("check");
      cells_[kCheck] = c.check_id;
      cells_[kRequired] = c.required ? "true" : "false";
      time(kStart, report.start);
      time(kEnd, report.end);
      seconds(c.seconds);
      number(kIncidents, static_cast<int64_t>(c.incidents.size()));
      write();
    }
    for (const auto& l : report.level_changes) {
      row("level_change");
      cells_[kLevel] = l.value;
      time(kStart, l.at);
      write();
    }
    for (const auto& c : report.checks) {
      for (const auto& change : c.required_changes) {
        row("required_change");
        cells_[kCheck] = c.check_id;
        cells_[kRequired] = change.value ? "true" : "false";
        time(kStart, change.at);
        write();
      }
      for (const auto& e : c.exempt) {
        row("exemption");
        cells_[kCheck] = c.check_id;
        time(kStart, e.start);
        time(kEnd, e.end);
        number(kObserved, e.end - e.start);
        cells_[kActor] = e.created_by;
        cells_[kTarget] = "exemption:" + std::to_string(e.id);
        cells_[kDetail] = e.reason;
        write();
      }
    }
    incidents("", report.incidents);
    for (const auto& c : report.checks) incidents(c.check_id, c.incidents);
    for (const auto& s : report.stale) {
      row("stale");
      time(kStart, s.start);
      int64_t end = s.end.value_or(report.end);
      if (s.end) time(kEnd, *s.end);
      number(kObserved, end - s.start);
      write();
    }
    device_ = nullptr;
    flush();
  }

  void end(const ReportTotals& totals, const std::vector<AuditEntry>* actions) override {
    for (const auto& [level, t] : totals.levels()) {
      row("level");
      cells_[kLevel] = level;
      seconds(t.seconds);
      number(kStale, t.stale_seconds);
      number(kDevices, t.devices);
      number(kDevicesWithIncidents, t.devices_with_incidents);
      number(kDevicesStale, t.devices_stale);
      write();
      for (const auto& [check, c] : t.checks) {
        row("level_check");
        cells_[kLevel] = level;
        cells_[kCheck] = check;
        seconds(c.seconds);
        number(kIncidents, c.incidents);
        number(kDevices, c.devices);
        write();
      }
    }
    if (actions != nullptr) {
      for (const auto& a : *actions) {
        row("admin_action");
        cells_[kStart] = formatRfc3339(a.at);
        cells_[kActor] = a.actor;
        cells_[kAction] = a.action;
        cells_[kTarget] = a.target;
        cells_[kDetail] = a.detail.value_or("");
        write();
      }
    }
    flush();
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

  // Starts a row of `record`: the current device's cells (id, hostname and owner written by
  // write(), its level at the end of its span) when there is one, every other cell empty.
  void row(std::string_view record) {
    for (auto& c : cells_) c.clear();
    cells_[kRecord] = record;
    if (device_ != nullptr) cells_[kLevel] = device_->level;
  }

  void time(Column c, int64_t seconds) {
    cells_[c].clear();
    AppendReportTime(cells_[c], seconds);
  }

  void number(Column c, int64_t v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    cells_[c].assign(buf, end);
  }

  void seconds(const StateSeconds& s) {
    number(kObserved, s.observed());
    number(kCompliant, s.compliant);
    number(kNoncompliant, s.noncompliant);
    number(kUnknown, s.unknown);
    number(kExempt, s.exempt);
    cells_[kPercent] = PercentText(PercentHundredths(s.compliant, s.observed()));
  }

  void incidents(const std::string& check, const std::vector<Incident>& list) {
    for (const auto& i : list) {
      row("incident");
      cells_[kCheck] = check;
      time(kStart, i.start);
      if (!i.open) time(kEnd, i.end);
      number(kObserved, i.end - i.start);
      cells_[kDetail] = incidentFlags(i);
      write();
    }
  }

  // The row, to the text waiting to be written out; the device's cells as device() made them.
  void write() {
    for (size_t i = 0; i < cells_.size(); ++i) {
      if (i > 0) text_ += ',';
      if (i == kDevice && device_ != nullptr) {
        text_ += device_cells_;
        i = kOwner;
        continue;
      }
      AppendCsvCell(text_, cells_[i]);
    }
    text_ += "\r\n";
  }

  void flush() {
    out_ << text_;
    text_.clear();
  }

  std::ostream& out_;
  std::array<std::string, kColumns> cells_;
  std::string device_cells_;  // the current device's id, hostname and owner, as CSV
  std::string text_;
  const DeviceReport* device_ = nullptr;
};

// JSON text appended piece by piece, as json::write writes the same values: strings through
// json::escape, a comma before each key but an object's first.
class JsonText {
 public:
  void clear() { out_.clear(); }
  const std::string& str() const { return out_; }
  JsonText& raw(std::string_view text) {
    out_ += text;
    return *this;
  }
  // `k`: a name of the report's, which needs no escape; after a comma unless it is the first
  // of its object.
  JsonText& key(std::string_view k) {
    if (out_.back() != '{') out_ += ',';
    out_ += '"';
    out_ += k;
    out_ += "\":";
    return *this;
  }
  JsonText& string(std::string_view v) {
    out_ += '"';
    out_ += json::escape(v);
    out_ += '"';
    return *this;
  }
  JsonText& time(int64_t seconds) {  // its text needs no escape
    out_ += '"';
    AppendReportTime(out_, seconds);
    out_ += '"';
    return *this;
  }
  JsonText& integer(int64_t v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, end);
    return *this;
  }
  JsonText& boolean(bool v) { return raw(v ? "true" : "false"); }
  JsonText& null() { return raw("null"); }
  JsonText& time(const std::optional<int64_t>& seconds) {
    return seconds ? time(*seconds) : null();
  }
  // An array of objects: `fields(element)` writes each one's keys and values.
  template <typename List, typename Fields>
  JsonText& objects(const List& list, Fields&& fields) {
    raw("[");
    for (size_t i = 0; i < list.size(); ++i) {
      raw(i == 0 ? "{" : ",{");
      fields(list[i]);
      raw("}");
    }
    return raw("]");
  }

 private:
  std::string out_;
};

class JsonWriter final : public ReportWriter {
 public:
  explicit JsonWriter(std::ostream& out) : out_(out) {}

  void begin(const ReportPeriod& period, const Store::ReportContext& context) override {
    out_ << "{\"report\":\"compliance\",\"from\":\"" << ReportTimeText(period.from)
         << "\",\"to\":\"" << ReportTimeText(period.to)
         << "\",\"period_seconds\":" << (period.to - period.from)
         << ",\"history_complete\":" << (Covered(period, context) ? "true" : "false")
         << ",\"pruned_before\":"
         << (context.pruned_before ? "\"" + formatRfc3339(*context.pruned_before) + "\"" : "null")
         << ",\"devices\":[";
  }

  // The device's object is written as text, field by field (no json::Value per device: at
  // 100,000 devices building and freeing them made the JSON a fifth slower than the CSV), in
  // the order and with the text json::write gives.
  void device(const DeviceReport& report) override {
    const DeviceHistory& d = *report.device;
    JsonText& o = text_;
    o.clear();
    o.raw(first_ ? "\n{" : ",\n{");
    o.key("device_id").string(d.device_id);
    o.key("hostname").string(d.hostname);
    o.key("owner");
    if (d.owner) {
      o.string(*d.owner);
    } else {
      o.null();
    }
    o.key("level").string(report.level);
    o.key("level_changes");
    changes(o, report.level_changes, "level");
    o.key("start").time(report.start);
    o.key("end").time(report.end);
    seconds(o, report.seconds);
    o.key("incidents");
    incidents(o, report.incidents);
    o.key("stale").objects(report.stale, [&](const StaleSpan& s) {
      o.key("start").time(s.start);
      o.key("end").time(s.end);
      o.key("seconds").integer(s.end.value_or(report.end) - s.start);
    });
    o.key("stale_seconds").integer(report.stale_seconds);
    o.key("checks").objects(report.checks, [&](const CheckReport& c) {
      o.key("check").string(c.check_id);
      o.key("required").boolean(c.required);
      o.key("required_changes");
      changes(o, c.required_changes, "required");
      seconds(o, c.seconds);
      o.key("incidents");
      incidents(o, c.incidents);
      o.key("exemptions").objects(c.exempt, [&](const ExemptSpan& e) {
        o.key("exemption_id").integer(e.id);
        o.key("start").time(e.start);
        o.key("end").time(e.end);
        o.key("seconds").integer(e.end - e.start);
        o.key("reason").string(e.reason);
        o.key("created_by").string(e.created_by);
      });
    });
    o.raw("}");
    out_ << o.str();
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
  // The totals' "seconds" and "compliant_percent" (json::Value: a few per level).
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

  // The same two fields of a device or a check, as text.
  static void seconds(JsonText& o, const StateSeconds& s) {
    o.key("seconds").raw("{");
    o.key("observed").integer(s.observed());
    o.key("compliant").integer(s.compliant);
    o.key("noncompliant").integer(s.noncompliant);
    o.key("unknown").integer(s.unknown);
    o.key("exempt").integer(s.exempt).raw("}");
    o.key("compliant_percent").raw(json::write(percentJson(s.compliant, s.observed())));
  }

  // [{"at", `key`: the value from then on}, ...]
  template <typename T>
  static void changes(JsonText& o, const std::vector<ValueChange<T>>& list, const char* key) {
    o.objects(list, [&](const ValueChange<T>& c) {
      o.key("at").time(c.at);
      o.key(key);
      if constexpr (std::is_same_v<T, bool>) {
        o.boolean(c.value);
      } else {
        o.string(c.value);
      }
    });
  }

  static void incidents(JsonText& o, const std::vector<Incident>& list) {
    o.objects(list, [&](const Incident& i) {
      o.key("start").time(i.start);
      o.key("end").time(i.open ? std::nullopt : std::optional<int64_t>(i.end));
      o.key("seconds").integer(i.end - i.start);
      o.key("began_before").boolean(i.began_before);
      o.key("open").boolean(i.open);
    });
  }

  JsonText text_;
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
