// Rendering of devices, reports and feed events for the admin API and the CSV export.
#include "device_render.h"

#include <string_view>
#include <vector>

#include "hearth/text.h"
#include "hearth/time.h"

namespace hearth::server {

json::Value DeviceJson(const DeviceRecord& d, bool full) {
  json::Value o = json::Value::object();
  o.set("device_id", d.device_id);
  o.set("hostname", d.hostname);
  o.set("owner", d.owner ? json::Value(*d.owner) : json::Value());
  o.set("owner_source", d.owner_source ? json::Value(*d.owner_source) : json::Value());
  o.set("level", d.level);
  o.set("status", d.retired_at         ? std::string("retired")
                  : d.pending_approval ? std::string("pending")
                                       : d.status);
  o.set("pending_approval", d.pending_approval);
  o.set("duplicate_machine_id", d.duplicate_machine_id);
  // Self-attested: the person at the PC is usually root on it. Never "verified".
  o.set("reported_by", "device");
  o.set("last_seen", d.last_seen ? json::Value(formatRfc3339(*d.last_seen)) : json::Value());
  o.set("failing_since",
        d.failing_since ? json::Value(formatRfc3339(*d.failing_since)) : json::Value());
  o.set("agent_version", d.agent_version);
  o.set("enrolled_at", formatRfc3339(d.enrolled_at));
  o.set("reports_dropped", d.reports_dropped);
  json::Value checks = json::Value::array();
  for (const auto& c : d.checks_summary.asArray()) {
    json::Value e = json::Value::object();
    for (const char* k : {"id", "verdict", "summary"}) {
      if (const json::Value* v = c.find(k)) e.set(k, *v);
    }
    // Time in state (schema 9; null for a summary stored before it).
    for (const char* k : {"since", "fix_by", "exempt_until"}) {
      const json::Value* v = c.find(k);
      e.set(k, v != nullptr ? *v : json::Value());
    }
    checks.push(std::move(e));
  }
  o.set("checks", std::move(checks));
  if (full) {
    o.set("machine_id", d.machine_id);
    o.set("last_sequence", d.last_sequence);
    o.set("retired_at", d.retired_at ? json::Value(formatRfc3339(*d.retired_at)) : json::Value());
    o.set("result", d.latest_result ? *d.latest_result : json::Value());
    if (d.latest_result_damaged) o.set("result_damaged", true);
    o.set("attestation", "reported by the device");
  }
  return o;
}

std::string HistoryPageText(const std::vector<StoredReport>& reports, std::optional<int64_t> next) {
  std::string out = "{\"reports\":[";
  for (size_t i = 0; i < reports.size(); ++i) {
    const StoredReport& r = reports[i];
    json::Value o = json::Value::object();
    o.set("report_id", r.report_id);
    o.set("sequence", r.sequence);
    o.set("sent_at", r.sent_at);
    o.set("received_at", formatRfc3339(r.received_at));
    o.set("compliant", r.compliant);
    if (r.damaged) o.set("damaged", true);
    o.set("result", json::Value());
    std::string entry = json::write(o);
    // `"result":null}` ends it: the stored text (verified JSON written by json::write) goes in
    // place of the null, unparsed.
    if (!r.damaged) entry = entry.substr(0, entry.size() - 5) + r.result_json + "}";
    out += (i == 0 ? "" : ",") + entry;
  }
  out += "],\"next\":";
  out += next ? "\"" + std::to_string(*next) + "\"" : "null";
  return out + "}";
}

json::Value ExemptionJson(const ExemptionRecord& e, TimePoint now) {
  auto opt = [](const std::optional<std::string>& v) {
    return v ? json::Value(*v) : json::Value();
  };
  auto time = [](const std::optional<TimePoint>& t) {
    return t ? json::Value(formatRfc3339(*t)) : json::Value();
  };
  json::Value o = json::Value::object();
  o.set("exemption_id", e.id);
  o.set("device_id", opt(e.device_id));
  o.set("owner", opt(e.owner));
  o.set("check", e.check);
  o.set("until", formatRfc3339(e.until));
  o.set("reason", e.reason);
  o.set("created_at", formatRfc3339(e.created_at));
  o.set("created_by", e.created_by);
  o.set("revoked_at", time(e.revoked_at));
  o.set("expired_at", time(e.expired_at));
  o.set("active", !e.revoked_at && !e.expired_at && e.until > now);
  return o;
}

std::string DeviceCursor(const DeviceRecord& d, const DeviceFilter& filter) {
  if (!filter.sort_failing_since) return d.device_id;
  return (d.failing_since ? formatRfc3339(*d.failing_since) : "") + "|" + d.device_id;
}

json::Value FeedEventJson(const FeedEvent& e) {
  json::Value o = json::Value::object();
  o.set("cursor", std::to_string(e.cursor));
  o.set("at", formatRfc3339(e.at));
  o.set("device_id", e.device_id);
  o.set("type", e.type);
  o.set("hostname", e.hostname ? json::Value(*e.hostname) : json::Value());
  o.set("owner", e.owner ? json::Value(*e.owner) : json::Value());
  if (e.check) o.set("check", *e.check);
  if (e.type == "verdict_changed") {
    o.set("from", e.from ? json::Value(*e.from) : json::Value());
    o.set("to", e.to ? json::Value(*e.to) : json::Value());
  }
  if (e.detail) {
    auto detail = json::parse(*e.detail);
    if (detail.ok() && detail->isObject()) {
      for (const auto& [k, v] : detail->asObject()) o.set(k, v);
    }
  }
  return o;
}

const char kDeviceCsvHeader[] =
    "device_id,hostname,owner,level,status,last_seen,agent_version,failing_checks,"
    "pending_approval,duplicate_machine_id,reported_by\r\n";

std::string DeviceCsvLine(const DeviceRecord& d) {
  std::vector<std::string> failing;
  for (const auto& c : d.checks_summary.asArray()) {
    const json::Value* v = c.find("verdict");
    const json::Value* id = c.find("id");
    if (v && v->isString() && v->asString() != "pass" && v->asString() != "not_applicable" && id &&
        id->isString()) {
      failing.push_back(id->asString() + ":" + v->asString());
    }
  }
  return CsvCell(d.device_id) + "," + CsvCell(d.hostname) + "," + CsvCell(d.owner.value_or("")) +
         "," + CsvCell(d.level) + "," + CsvCell(d.pending_approval ? "pending" : d.status) + "," +
         CsvCell(d.last_seen ? formatRfc3339(*d.last_seen) : "") + "," + CsvCell(d.agent_version) +
         "," + CsvCell(text::join(failing, " ")) + "," + (d.pending_approval ? "true" : "false") +
         "," + (d.duplicate_machine_id ? "true" : "false") + ",device\r\n";
}

void AppendCsvCell(std::string& out, std::string_view s) {
  bool formula = !s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' ||
                                s[0] == '\t' || s[0] == '\r');
  bool quote = formula;
  for (size_t i = 0; !quote && i < s.size(); ++i) {
    char c = s[i];
    quote = c == ',' || c == ';' || c == '"' || c == '\r' || c == '\n';
  }
  if (!quote) {
    out += s;
    return;
  }
  out += formula ? "\"'" : "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

std::string CsvCell(const std::string& s) {
  std::string out;
  AppendCsvCell(out, s);
  return out;
}

}  // namespace hearth::server
