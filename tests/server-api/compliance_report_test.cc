// Issue 14 item 5: the period report for auditors on SQLite and (HEARTH_TEST_PG_URI) PostgreSQL.
// The key test stores a generated year of reports (seeded, with failures, unknown verdicts,
// silences long enough to go stale, a device enrolled mid-year and one retired) through the
// store's ingest, and compares the report's per-device and per-check seconds, percentages and
// incidents for several periods (including ones that start and end mid-incident) with a
// reference computed here by walking the generated reports themselves: the verdict at any time
// is that of the latest report received before it, which owes nothing to the store's events.
#include "compliance_report.h"

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/json.h"
#include "hearth/server/report.h"
#include "hearth/server/store.h"
#include "hearth/time.h"
#include "support/store_backend.h"

namespace hearth::server {
namespace {

TimePoint T(const char* s) { return *parseRfc3339(s); }
int64_t Secs(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
TimePoint At(int64_t s) { return TimePoint(std::chrono::seconds(s)); }

struct CheckSpec {
  const char* id;
  bool required;
};
const CheckSpec kChecks[] = {{"disk_encryption", true}, {"screen_lock", false}, {"vpn", true}};

// One generated report: when it was received and each check's verdict (kChecks order).
struct GenReport {
  int64_t at = 0;
  std::vector<std::string> verdicts;
};

struct GenDevice {
  std::string id;
  std::string level;
  int64_t enrolled = 0;
  std::optional<int64_t> retired;
  std::vector<GenReport> reports;
};

json::Value resultOf(const GenReport& r) {
  json::Value checks = json::Value::array();
  bool compliant = true;
  for (size_t i = 0; i < std::size(kChecks); ++i) {
    json::Value c = json::Value::object();
    c.set("id", kChecks[i].id);
    c.set("verdict", r.verdicts[i]);
    c.set("required", kChecks[i].required);
    c.set("summary", "s");
    checks.push(std::move(c));
    if (kChecks[i].required && r.verdicts[i] != "pass" && r.verdicts[i] != "not_applicable") {
      compliant = false;
    }
  }
  json::Value o = json::Value::object();
  o.set("compliant", compliant);
  o.set("checks", std::move(checks));
  return o;
}

// ---- The reference: a walk over the generated reports, written apart from the server. ----

enum Cls { kC, kN, kU };
Cls classOf(const std::string& v) {
  if (v == "pass" || v == "not_applicable") return kC;
  if (v == "fail") return kN;
  return kU;
}
Cls deviceClass(const GenReport& r) {
  bool unknown = false;
  for (size_t i = 0; i < std::size(kChecks); ++i) {
    if (!kChecks[i].required) continue;
    Cls c = classOf(r.verdicts[i]);
    if (c == kN) return kN;
    if (c == kU) unknown = true;
  }
  return unknown ? kU : kC;
}

struct RefShare {
  int64_t secs[3] = {0, 0, 0};
  int incidents = 0;
  bool failing_at_start = false, failing_at_end = false;
};

// `cls(i)`: the class report i gives. Unknown before the first report.
template <typename ClassOf>
RefShare walk(const GenDevice& d, int64_t s, int64_t e, ClassOf cls) {
  RefShare out;
  const auto& rs = d.reports;
  int64_t first = rs.empty() ? e : std::min(e, std::max(s, rs.front().at));
  out.secs[kU] += first - s;
  bool in_fail = false;
  for (size_t i = 0; i < rs.size(); ++i) {
    int64_t a = std::max(s, rs[i].at);
    int64_t b = std::min(e, i + 1 < rs.size() ? rs[i + 1].at : e);
    Cls c = cls(i);
    if (b > a) {
      out.secs[c] += b - a;
      if (c == kN && !in_fail) ++out.incidents;
      if (a == s && c == kN) out.failing_at_start = true;
      if (b == e && c == kN) out.failing_at_end = true;
      in_fail = c == kN;
    }
  }
  return out;
}

class ComplianceReportTest : public testing::StoreBackendTest {
 protected:
  ComplianceReportTest() : StoreBackendTest("report") {}

  void SetUp() override {
    StoreBackendTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    for (const char* level : {"standard", "strict"}) {
      SecretRecord secret;
      secret.level = level;
      secret.created_at = T("2024-12-01T00:00:00Z");
      ASSERT_TRUE(store_->createSecret(std::string("hash-") + level, secret).ok());
    }
  }

  // A policy (version 1, an empty body) for `level`, so devices can be moved to it.
  void levelPolicy(const std::string& level, const char* created_at) {
    PolicyRecord p;
    p.level = level;
    p.version = 1;
    p.body = "{}";
    p.signature = "x";
    p.created_at = T(created_at);
    ASSERT_TRUE(store_->putPolicy(p).ok());
  }

  // The owner is the PC's own word (a shared secret); "owner of <id>" unless given.
  void enroll(const GenDevice& d, const std::string& owner = "") {
    DeviceRecord r;
    r.device_id = d.id;
    r.hostname = "host-" + d.id;
    r.owner = owner.empty() ? "owner of " + d.id : owner;
    r.cert_serial = "01";
    r.enrolled_at = At(d.enrolled);
    ASSERT_TRUE(store_->enrollDevice("hash-" + d.level, r, At(d.enrolled)).ok());
  }

  // A year (2025) of reports from `count` devices, seeded: verdicts change now and then, and a
  // device now and then falls silent for days (stale: markStale runs at every day's end).
  std::vector<GenDevice> generate(int count, uint64_t seed) {
    std::mt19937_64 rng(seed);
    auto uniform = [&](int64_t lo, int64_t hi) {
      return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
    };
    const int64_t year = Secs(T("2025-01-01T00:00:00Z")), end = Secs(T("2026-01-01T00:00:00Z"));
    std::vector<GenDevice> devices;
    for (int n = 0; n < count; ++n) {
      GenDevice d;
      char id[16];
      std::snprintf(id, sizeof id, "dev-%02d", n);
      d.id = id;
      d.level = n % 3 == 2 ? "strict" : "standard";
      d.enrolled = year - 86400 + uniform(0, 3600);
      if (n == 1) d.enrolled = Secs(T("2025-05-10T09:00:00Z"));  // mid-year
      if (n == 2) d.retired = Secs(T("2025-09-15T17:30:00Z"));
      std::vector<std::string> v(std::size(kChecks), "pass");
      int64_t t = d.enrolled + uniform(60, 6 * 3600);
      while (t < end && (!d.retired || t < *d.retired)) {
        for (auto& verdict : v) {
          if (uniform(0, 99) >= 15) continue;
          int64_t pick = uniform(0, 99);
          verdict = pick < 60   ? "pass"
                    : pick < 88 ? "fail"
                    : pick < 94 ? "unknown"
                                : "not_applicable";
        }
        d.reports.push_back({t, v});
        t += uniform(0, 49) == 0 ? uniform(5, 10) * 86400 : uniform(3600, 36 * 3600);
      }
      devices.push_back(std::move(d));
    }
    return devices;
  }

  void store(const std::vector<GenDevice>& devices) {
    for (const auto& d : devices) enroll(d);
    struct Pending {
      int64_t at;
      const GenDevice* device;
      size_t index;
    };
    std::vector<Pending> all;
    for (const auto& d : devices) {
      for (size_t i = 0; i < d.reports.size(); ++i) all.push_back({d.reports[i].at, &d, i});
    }
    std::sort(all.begin(), all.end(), [](const Pending& a, const Pending& b) {
      return a.at != b.at ? a.at < b.at : a.device->id < b.device->id;
    });
    // A day's reports in one transaction, then that day's staleness.
    std::vector<NewReport> batch;
    int64_t day_end = 0;
    auto flush = [&] {
      if (!batch.empty()) {
        auto done = store_->ingestReports(batch);
        ASSERT_TRUE(done.ok()) << done.status().toString();
        batch.clear();
      }
      if (day_end > 0) {
        ASSERT_TRUE(store_->markStale(At(day_end), std::chrono::hours(96)).ok());
      }
    };
    for (const auto& p : all) {
      if (p.at >= day_end) {
        flush();
        day_end = p.at - p.at % 86400 + 86400;
      }
      NewReport r;
      r.device_id = p.device->id;
      r.sequence = static_cast<int64_t>(p.index) + 1;
      r.report_id = p.device->id + "-" + std::to_string(r.sequence);
      r.sent_at = formatRfc3339(At(p.at));
      r.agent_version = "0.1.0";
      r.result = resultOf(p.device->reports[p.index]);
      r.received_at = At(p.at);
      batch.push_back(std::move(r));
    }
    flush();
    for (const auto& d : devices) {
      if (d.retired) {
        ASSERT_TRUE(store_->retireDevice(d.id, At(*d.retired)).ok());
      }
    }
  }

  std::string report(const ReportPeriod& p, ReportFormat format,
                     ReportOptions options = {.admin_actions = true}) {
    std::ostringstream out;
    Status s = WriteComplianceReport(
        *store_, p, format, [&]() -> std::ostream& { return out; }, {}, options);
    EXPECT_TRUE(s.ok()) << s.toString();
    if (format == ReportFormat::kJson) expectJsonWriteText(out.str());
    return out.str();
  }
  // The JSON report is written a device at a time, as text: it must be the text json::write
  // gives the same document (key order, escapes, numbers), with a line break before each device
  // and before the closing bracket of "devices".
  static void expectJsonWriteText(const std::string& text) {
    auto v = json::parse(text, {.max_depth = 16, .max_bytes = 64 << 20});
    ASSERT_TRUE(v.ok()) << v.status().toString();
    std::string expected = json::write(*v);
    size_t devices = expected.find(",\"devices\":[") + 12;
    const json::Array& list = v->find("devices")->asArray();
    std::string lines = expected.substr(0, devices);
    for (size_t i = 0; i < list.size(); ++i)
      lines += (i == 0 ? "\n" : ",\n") + json::write(list[i]);
    lines += "\n]" + expected.substr(expected.find("],\"levels\":", devices) + 1) + "\n";
    EXPECT_EQ(text, lines);
  }
  json::Value reportJson(const ReportPeriod& p, ReportOptions options = {.admin_actions = true}) {
    auto v = json::parse(report(p, ReportFormat::kJson, options));
    EXPECT_TRUE(v.ok()) << v.status().toString();
    return v.ok() ? *v : json::Value();
  }

  // One report of `device` received at `at`: kChecks' verdicts, and whether each is required
  // (kChecks' flags unless given).
  void ingest(const std::string& device, const char* at, std::vector<std::string> verdicts,
              std::vector<bool> required = {}) {
    json::Value checks = json::Value::array();
    for (size_t i = 0; i < std::size(kChecks); ++i) {
      json::Value c = json::Value::object();
      c.set("id", kChecks[i].id);
      c.set("verdict", verdicts[i]);
      c.set("required", required.empty() ? kChecks[i].required : static_cast<bool>(required[i]));
      c.set("summary", "s");
      checks.push(std::move(c));
    }
    json::Value result = json::Value::object();
    result.set("compliant", false);
    result.set("checks", std::move(checks));
    NewReport r;
    r.device_id = device;
    r.sequence = ++sequence_;
    r.report_id = device + "-" + std::to_string(r.sequence);
    r.sent_at = at;
    r.agent_version = "0.1.0";
    r.received_at = T(at);
    r.result = std::move(result);
    auto done = store_->ingestReports({r});
    ASSERT_TRUE(done.ok()) << done.status().toString();
  }

  const json::Value& deviceOf(const json::Value& report, const std::string& id) {
    for (const auto& d : report.find("devices")->asArray()) {
      if (d.find("device_id")->asString() == id) return d;
    }
    ADD_FAILURE() << "no device " << id;
    static const json::Value none;
    return none;
  }
  static const json::Value& checkOf(const json::Value& device, const std::string& id) {
    for (const auto& c : device.find("checks")->asArray()) {
      if (c.find("check")->asString() == id) return c;
    }
    ADD_FAILURE() << "no check " << id;
    static const json::Value none;
    return none;
  }
  static int64_t secondsOf(const json::Value& o, const char* state) {
    return o.find("seconds")->find(state)->asInt();
  }

  int64_t sequence_ = 0;
};

void expectShare(const json::Value& o, const RefShare& ref, const std::string& what) {
  const json::Value* secs = o.find("seconds");
  ASSERT_NE(secs, nullptr) << what;
  EXPECT_EQ(secs->find("compliant")->asInt(), ref.secs[kC]) << what;
  EXPECT_EQ(secs->find("noncompliant")->asInt(), ref.secs[kN]) << what;
  EXPECT_EQ(secs->find("unknown")->asInt(), ref.secs[kU]) << what;
  int64_t observed = ref.secs[kC] + ref.secs[kN] + ref.secs[kU];
  // The reference's percentage, rounded half up to hundredths.
  int64_t hundredths = observed == 0 ? 0 : (ref.secs[kC] * 20000 + observed) / (2 * observed);
  EXPECT_DOUBLE_EQ(o.find("compliant_percent")->asDouble(), static_cast<double>(hundredths) / 100.0)
      << what;
  const json::Value* incidents = o.find("incidents");
  ASSERT_NE(incidents, nullptr) << what;
  ASSERT_EQ(static_cast<int>(incidents->asArray().size()), ref.incidents) << what;
  if (ref.incidents > 0) {
    EXPECT_EQ(incidents->asArray().front().find("began_before")->asBool(), ref.failing_at_start)
        << what;
    EXPECT_EQ(incidents->asArray().back().find("open")->asBool(), ref.failing_at_end) << what;
  }
}

TEST_P(ComplianceReportTest, AYearOfHistoryMatchesTheReferenceOverSeveralPeriods) {
  auto devices = generate(9, 20261207);
  ASSERT_NO_FATAL_FAILURE(store(devices));

  std::mt19937_64 rng(7);
  std::vector<ReportPeriod> periods = {
      {Secs(T("2025-01-01T00:00:00Z")), Secs(T("2026-01-01T00:00:00Z"))},  // the year
      {Secs(T("2025-07-01T00:00:00Z")), Secs(T("2025-10-01T00:00:00Z"))},  // Q3
      {Secs(T("2024-12-01T00:00:00Z")), Secs(T("2025-02-01T00:00:00Z"))},  // before enrolment
  };
  // Periods from one report's time + 1 s to another's - 1 s while a check fails there: they start
  // and end mid-incident.
  const GenDevice& d0 = devices[0];
  std::vector<int64_t> failing;
  for (const auto& r : d0.reports) {
    if (r.verdicts[2] == "fail") failing.push_back(r.at + 1);
  }
  ASSERT_GE(failing.size(), 4u);
  for (int k = 0; k < 4; ++k) {
    size_t i = std::uniform_int_distribution<size_t>(0, failing.size() / 2)(rng);
    size_t j = std::uniform_int_distribution<size_t>(i + 1, failing.size() - 1)(rng);
    periods.push_back({failing[i], failing[j]});
  }
  bool started_mid = false, ended_mid = false;
  for (const auto& p : periods) {
    std::string text = report(p, ReportFormat::kJson);
    auto parsed = json::parse(text, {.max_depth = 16, .max_bytes = 64 << 20});
    ASSERT_TRUE(parsed.ok()) << parsed.status().toString() << "\n" << text.substr(0, 2000);
    std::map<std::string, const json::Value*> by_id;
    for (const auto& o : parsed->find("devices")->asArray()) {
      by_id[o.find("device_id")->asString()] = &o;
    }
    std::string span = formatRfc3339(At(p.from)) + ".." + formatRfc3339(At(p.to));
    for (const auto& d : devices) {
      int64_t s = std::max(p.from, d.enrolled);
      int64_t e = d.retired ? std::min(p.to, *d.retired) : p.to;
      if (e <= s) {
        EXPECT_EQ(by_id.count(d.id), 0u) << d.id << " " << span;
        continue;
      }
      ASSERT_EQ(by_id.count(d.id), 1u) << d.id << " " << span;
      const json::Value& o = *by_id[d.id];
      EXPECT_EQ(o.find("start")->asString(), formatRfc3339(At(s)));
      EXPECT_EQ(o.find("end")->asString(), formatRfc3339(At(e)));
      expectShare(o, walk(d, s, e, [&](size_t i) { return deviceClass(d.reports[i]); }),
                  d.id + " " + span);
      const auto& checks = o.find("checks")->asArray();
      // Checks the device has reported by the period's end (the store knows no others).
      std::vector<size_t> known;
      for (size_t c = 0; c < std::size(kChecks); ++c) {
        if (!d.reports.empty()) known.push_back(c);
      }
      ASSERT_EQ(checks.size(), known.size()) << d.id << " " << span;
      for (size_t c : known) {
        const json::Value& co = checks[c];  // by check id, and kChecks is sorted
        EXPECT_EQ(co.find("check")->asString(), kChecks[c].id);
        EXPECT_EQ(co.find("required")->asBool(), kChecks[c].required);
        RefShare ref = walk(d, s, e, [&](size_t i) { return classOf(d.reports[i].verdicts[c]); });
        expectShare(co, ref, d.id + "/" + kChecks[c].id + " " + span);
        if (d.id == d0.id && c == 2) {
          started_mid = started_mid || (ref.failing_at_start && s == p.from);
          ended_mid = ended_mid || (ref.failing_at_end && e == p.to);
        }
      }
    }
    // Same stored input, same period: the same bytes, in both formats.
    EXPECT_EQ(report(p, ReportFormat::kJson), text) << span;
    EXPECT_EQ(report(p, ReportFormat::kCsv), report(p, ReportFormat::kCsv)) << span;
  }
  EXPECT_TRUE(started_mid);
  EXPECT_TRUE(ended_mid);
}

// A device silent for days goes stale; the report gives the span from the stale event to the
// next report, clipped to the period, and an open span while it is still stale at the end.
TEST_P(ComplianceReportTest, StaleSpansRunFromTheStaleEventToTheNextReport) {
  GenDevice d{"dev-stale", "standard", Secs(T("2025-03-01T00:00:00Z")), std::nullopt, {}};
  d.reports = {{Secs(T("2025-03-01T01:00:00Z")), {"pass", "pass", "pass"}},
               {Secs(T("2025-03-20T12:00:00Z")), {"pass", "pass", "fail"}}};
  ASSERT_NO_FATAL_FAILURE(enroll(d));
  NewReport r;
  r.device_id = d.id;
  r.agent_version = "0.1.0";
  for (size_t i = 0; i < d.reports.size(); ++i) {
    if (i == 1) {
      // Stale on 10 March (the store's markStale at that time), until the report of 20 March.
      ASSERT_EQ(*store_->markStale(T("2025-03-10T00:00:00Z"), std::chrono::hours(96)), 1);
    }
    r.sequence = static_cast<int64_t>(i) + 1;
    r.report_id = d.id + std::to_string(i);
    r.sent_at = formatRfc3339(At(d.reports[i].at));
    r.received_at = At(d.reports[i].at);
    r.result = resultOf(d.reports[i]);
    ASSERT_TRUE(store_->ingestReports({r}).ok());
  }
  ASSERT_EQ(*store_->markStale(T("2025-04-01T00:00:00Z"), std::chrono::hours(96)), 1);

  auto stale_of = [&](const char* from, const char* to) {
    auto v = json::parse(report({Secs(T(from)), Secs(T(to))}, ReportFormat::kJson));
    EXPECT_TRUE(v.ok());
    return *v->find("devices")->asArray().front().find("stale");
  };
  auto spans = stale_of("2025-03-01T00:00:00Z", "2025-04-10T00:00:00Z").asArray();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].find("start")->asString(), "2025-03-10T00:00:00Z");
  EXPECT_EQ(spans[0].find("end")->asString(), "2025-03-20T12:00:00Z");
  EXPECT_EQ(spans[0].find("seconds")->asInt(), 10 * 86400 + 12 * 3600);
  EXPECT_EQ(spans[1].find("start")->asString(), "2025-04-01T00:00:00Z");
  EXPECT_TRUE(spans[1].find("end")->isNull());  // still stale at the period's end
  EXPECT_EQ(spans[1].find("seconds")->asInt(), 9 * 86400);
  // A period starting mid-silence: the span is clipped to it.
  spans = stale_of("2025-03-15T00:00:00Z", "2025-03-25T00:00:00Z").asArray();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].find("start")->asString(), "2025-03-15T00:00:00Z");
  EXPECT_EQ(spans[0].find("seconds")->asInt(), 5 * 86400 + 12 * 3600);
}

// Admin actions of the period from the audit log (oldest first, none outside it); totals per
// level; CSV cells that a spreadsheet would run as a formula are defused.
TEST_P(ComplianceReportTest, AdminActionsTotalsAndSafeCsv) {
  GenDevice d{"dev-csv", "strict", Secs(T("2025-03-01T00:00:00Z")), std::nullopt, {}};
  DeviceRecord rec;
  rec.device_id = d.id;
  rec.hostname = "=HYPERLINK(\"x\")";
  rec.owner = "@bob, \"the\" admin";
  rec.cert_serial = "01";
  rec.enrolled_at = At(d.enrolled);
  ASSERT_TRUE(store_->enrollDevice("hash-strict", rec, At(d.enrolled)).ok());
  NewReport r;
  r.device_id = d.id;
  r.report_id = "a";
  r.sequence = 1;
  r.sent_at = "2025-03-02T00:00:00Z";
  r.received_at = T("2025-03-02T00:00:00Z");
  r.result = resultOf({0, {"pass", "pass", "fail"}});
  ASSERT_TRUE(store_->ingestReports({r}).ok());
  for (const char* at : {"2025-02-28T23:59:59Z", "2025-03-05T10:00:00Z", "2025-03-31T00:00:00Z"}) {
    AuditEntry e = NewAuditEntry("cli:root", "device.owner", "device:dev-csv");
    e.at = T(at);
    ASSERT_TRUE(store_->appendAudit(e).ok());
  }
  ReportPeriod p{Secs(T("2025-03-01T00:00:00Z")), Secs(T("2025-03-31T00:00:00Z"))};
  auto v = json::parse(report(p, ReportFormat::kJson));
  ASSERT_TRUE(v.ok());
  const auto& actions = v->find("admin_actions")->asArray();
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].find("at")->asString(), "2025-03-05T10:00:00Z");
  const auto& levels = v->find("levels")->asArray();
  ASSERT_EQ(levels.size(), 1u);
  EXPECT_EQ(levels[0].find("level")->asString(), "strict");
  EXPECT_EQ(levels[0].find("devices")->asInt(), 1);
  EXPECT_EQ(levels[0].find("devices_with_incidents")->asInt(), 1);
  // Unknown for the day before the first report, non-compliant (vpn fails) from then on.
  EXPECT_EQ(levels[0].find("seconds")->find("unknown")->asInt(), 86400);
  EXPECT_EQ(levels[0].find("seconds")->find("noncompliant")->asInt(), 29 * 86400);

  std::string csv = report(p, ReportFormat::kCsv);
  EXPECT_EQ(csv.find("=HYPERLINK"), csv.find("'=HYPERLINK") + 1) << csv;
  EXPECT_NE(csv.find("\"'=HYPERLINK(\"\"x\"\")\""), std::string::npos) << csv;
  EXPECT_NE(csv.find("\"'@bob, \"\"the\"\" admin\""), std::string::npos) << csv;
  EXPECT_NE(csv.find("\r\nlevel,,,,strict,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\r\nadmin_action,"), std::string::npos) << csv;
  EXPECT_EQ(csv.rfind("\r\n"), csv.size() - 2);
}

// Issue 14 item 5, review: whether a check is required and the device's level are what held at
// each time, not what holds now. vpn fails throughout; the policy makes it required on 20 March;
// IT moves the device to strict on 25 March. A report of early March shows it compliant under
// standard, and one of March shows the change.
TEST_P(ComplianceReportTest, RequiredFlagsAndLevelAreWhatHeldDuringThePeriod) {
  GenDevice d{"dev-held", "standard", Secs(T("2025-03-01T00:00:00Z")), std::nullopt, {}};
  ASSERT_NO_FATAL_FAILURE(enroll(d));
  ASSERT_NO_FATAL_FAILURE(levelPolicy("strict", "2025-03-01T00:00:00Z"));
  ASSERT_NO_FATAL_FAILURE(
      ingest(d.id, "2025-03-02T00:00:00Z", {"pass", "pass", "fail"}, {true, false, false}));
  ASSERT_NO_FATAL_FAILURE(
      ingest(d.id, "2025-03-10T00:00:00Z", {"pass", "pass", "fail"}, {true, false, false}));
  ASSERT_NO_FATAL_FAILURE(
      ingest(d.id, "2025-03-20T00:00:00Z", {"pass", "pass", "fail"}, {true, false, true}));
  AuditEntry moved = NewAuditEntry("cli:root", "device.level", "device:" + d.id);
  moved.at = T("2025-03-25T00:00:00Z");
  ASSERT_TRUE(store_->setDeviceLevel(d.id, "strict", moved.at, &moved).ok());

  // Early March: vpn was optional, the device standard.
  json::Value early =
      reportJson({Secs(T("2025-03-01T00:00:00Z")), Secs(T("2025-03-15T00:00:00Z"))});
  const json::Value& e = deviceOf(early, d.id);
  EXPECT_EQ(e.find("level")->asString(), "standard");
  EXPECT_TRUE(e.find("level_changes")->asArray().empty());
  EXPECT_EQ(secondsOf(e, "noncompliant"), 0);
  EXPECT_EQ(secondsOf(e, "compliant"), 13 * 86400);
  EXPECT_EQ(secondsOf(e, "unknown"), 86400);
  EXPECT_FALSE(checkOf(e, "vpn").find("required")->asBool());
  EXPECT_EQ(secondsOf(checkOf(e, "vpn"), "noncompliant"), 13 * 86400);  // the check itself failed
  ASSERT_EQ(early.find("levels")->asArray().size(), 1u);
  EXPECT_EQ(early.find("levels")->asArray()[0].find("level")->asString(), "standard");

  // March: non-compliant from 20 March, when vpn became required; strict from 25 March.
  json::Value march =
      reportJson({Secs(T("2025-03-01T00:00:00Z")), Secs(T("2025-04-01T00:00:00Z"))});
  const json::Value& m = deviceOf(march, d.id);
  EXPECT_EQ(secondsOf(m, "noncompliant"), 12 * 86400);
  EXPECT_EQ(secondsOf(m, "compliant"), 18 * 86400);
  ASSERT_EQ(m.find("incidents")->asArray().size(), 1u);
  EXPECT_EQ(m.find("incidents")->asArray()[0].find("start")->asString(), "2025-03-20T00:00:00Z");
  const json::Value& vpn = checkOf(m, "vpn");
  EXPECT_TRUE(vpn.find("required")->asBool());
  ASSERT_EQ(vpn.find("required_changes")->asArray().size(), 1u);
  EXPECT_EQ(vpn.find("required_changes")->asArray()[0].find("at")->asString(),
            "2025-03-20T00:00:00Z");
  EXPECT_EQ(m.find("level")->asString(), "strict");
  ASSERT_EQ(m.find("level_changes")->asArray().size(), 1u);
  EXPECT_EQ(m.find("level_changes")->asArray()[0].find("at")->asString(), "2025-03-25T00:00:00Z");
  std::string csv = report({Secs(T("2025-03-01T00:00:00Z")), Secs(T("2025-04-01T00:00:00Z"))},
                           ReportFormat::kCsv);
  EXPECT_NE(csv.find("\r\nlevel_change,dev-held,host-dev-held,owner of dev-held,strict,,,"
                     "2025-03-25T00:00:00Z,"),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find("\r\nrequired_change,dev-held,host-dev-held,owner of dev-held,strict,vpn,"
                     "true,2025-03-20T00:00:00Z,"),
            std::string::npos)
      << csv;
}

// Issue 14 item 5 ("within retention"), review: a period from before what retention deleted is
// said not to be covered by stored history, in both formats; one after it is complete.
TEST_P(ComplianceReportTest, PeriodsBeforeTheRetentionHorizonAreFlaggedNotCovered) {
  GenDevice d{"dev-old", "standard", Secs(T("2025-01-01T00:00:00Z")), std::nullopt, {}};
  ASSERT_NO_FATAL_FAILURE(enroll(d));
  for (const char* at : {"2025-01-02T00:00:00Z", "2025-03-01T00:00:00Z", "2025-06-01T00:00:00Z",
                         "2025-10-01T00:00:00Z"}) {
    bool fails = std::string(at) == "2025-03-01T00:00:00Z";
    ASSERT_NO_FATAL_FAILURE(ingest(d.id, at, {"pass", "pass", fails ? "fail" : "pass"}));
  }
  ReportPeriod march{Secs(T("2025-03-01T00:00:00Z")), Secs(T("2025-04-01T00:00:00Z"))};
  ReportPeriod october{Secs(T("2025-10-01T00:00:00Z")), Secs(T("2025-11-01T00:00:00Z"))};
  json::Value before = reportJson(march);
  EXPECT_TRUE(before.find("history_complete")->asBool());
  EXPECT_TRUE(before.find("pruned_before")->isNull());

  PruneOptions prune;
  prune.now = T("2025-12-01T00:00:00Z");
  prune.history_window = std::chrono::hours(24 * 100);  // before 2025-08-23
  auto pruned = store_->prune(prune);
  ASSERT_TRUE(pruned.ok()) << pruned.status().toString();
  ASSERT_GT(pruned->events, 0);

  json::Value after = reportJson(march);
  EXPECT_FALSE(after.find("history_complete")->asBool());
  EXPECT_EQ(after.find("pruned_before")->asString(), "2025-08-23T00:00:00Z");
  std::string csv = report(march, ReportFormat::kCsv);
  EXPECT_NE(csv.find(",\"incomplete: retention deleted history before 2025-08-23T00:00:00Z; the "
                     "period is not covered by stored history\"\r\n"),
            std::string::npos)
      << csv;
  json::Value recent = reportJson(october);
  EXPECT_TRUE(recent.find("history_complete")->asBool());
  EXPECT_EQ(recent.find("pruned_before")->asString(), "2025-08-23T00:00:00Z");
  EXPECT_NE(report(october, ReportFormat::kCsv).find(",complete\r\n"), std::string::npos);
}

// Retention deletes recorded level and required-check changes from before its window too (they
// were kept until the device itself went); a period after the cutoff still reads the level that
// held at its start from the first change after it.
TEST_P(ComplianceReportTest, RetentionDeletesOldHistoryChangesAndKeepsWhatLaterPeriodsRead) {
  GenDevice d{"dev-moved", "standard", Secs(T("2025-01-01T00:00:00Z")), std::nullopt, {}};
  ASSERT_NO_FATAL_FAILURE(enroll(d));
  ASSERT_NO_FATAL_FAILURE(levelPolicy("strict", "2025-01-01T00:00:00Z"));
  ASSERT_NO_FATAL_FAILURE(levelPolicy("standard", "2025-01-01T00:00:00Z"));
  ASSERT_NO_FATAL_FAILURE(ingest(d.id, "2025-01-02T00:00:00Z", {"pass", "pass", "pass"}));
  for (const auto& [at, level] : {std::pair{"2025-03-25T00:00:00Z", "strict"},
                                  std::pair{"2025-10-05T00:00:00Z", "standard"}}) {
    AuditEntry moved = NewAuditEntry("cli:root", "device.level", "device:" + d.id);
    moved.at = T(at);
    Status s = store_->setDeviceLevel(d.id, level, moved.at, &moved);
    ASSERT_TRUE(s.ok()) << s.toString();
  }
  ASSERT_NO_FATAL_FAILURE(ingest(d.id, "2025-11-01T00:00:00Z", {"pass", "pass", "pass"}));

  PruneOptions prune;
  prune.now = T("2025-12-01T00:00:00Z");
  prune.history_window = std::chrono::hours(24 * 100);  // before 2025-08-23
  prune.dry_run = true;
  auto counted = store_->prune(prune);
  ASSERT_TRUE(counted.ok()) << counted.status().toString();
  EXPECT_EQ(counted->history_changes, 1);
  prune.dry_run = false;
  auto pruned = store_->prune(prune);
  ASSERT_TRUE(pruned.ok()) << pruned.status().toString();
  EXPECT_EQ(pruned->history_changes, 1);
  prune.now += std::chrono::hours(1);
  EXPECT_EQ(store_->prune(prune)->history_changes, 0);

  // September: strict all month (read from October's change, which is kept).
  json::Value september =
      reportJson({Secs(T("2025-09-01T00:00:00Z")), Secs(T("2025-10-01T00:00:00Z"))});
  EXPECT_TRUE(september.find("history_complete")->asBool());
  const json::Value& s = deviceOf(september, d.id);
  EXPECT_EQ(s.find("level")->asString(), "strict");
  EXPECT_TRUE(s.find("level_changes")->asArray().empty());
  json::Value october =
      reportJson({Secs(T("2025-10-01T00:00:00Z")), Secs(T("2025-11-01T00:00:00Z"))});
  const json::Value& o = deviceOf(october, d.id);
  EXPECT_EQ(o.find("level")->asString(), "standard");
  ASSERT_EQ(o.find("level_changes")->asArray().size(), 1u);
  EXPECT_EQ(o.find("level_changes")->asArray()[0].find("at")->asString(), "2025-10-05T00:00:00Z");
}

// Issue 14 item 5 ("exemptions in force"), review: an exemption of a device's failing check, and
// one of its owner's revoked early, are in the report; the check is exempt (not non-compliant)
// while they hold, and the device's seconds are its checks' (here: vpn's, the only failure).
TEST_P(ComplianceReportTest, ExemptionsInForceAreReportedAndCountAsExempt) {
  GenDevice d{"dev-ex", "standard", Secs(T("2025-03-01T00:00:00Z")), std::nullopt, {}};
  GenDevice other{"dev-other", "standard", Secs(T("2025-03-01T00:00:00Z")), std::nullopt, {}};
  // A PC that declared itself dev-ex's owner's when it enrolled (the rollout secret): an owner's
  // exemption covers only devices whose owner IT set, in the report as in the standing.
  GenDevice claimer{"dev-claim", "standard", Secs(T("2025-03-01T00:00:00Z")), std::nullopt, {}};
  ASSERT_NO_FATAL_FAILURE(enroll(d));
  ASSERT_NO_FATAL_FAILURE(enroll(other));
  ASSERT_NO_FATAL_FAILURE(enroll(claimer, "owner of dev-ex"));
  AuditEntry it_says = NewAuditEntry("cli:root", "device.owner", "device:" + d.id);
  it_says.at = T("2025-03-01T12:00:00Z");
  ASSERT_TRUE(store_->setDeviceOwners({OwnerChange{d.id, "owner of dev-ex", it_says}}).ok());
  for (const GenDevice* g : {&d, &other, &claimer}) {
    ASSERT_NO_FATAL_FAILURE(ingest(g->id, "2025-03-02T00:00:00Z", {"pass", "pass", "fail"}));
  }
  auto grant = [&](std::optional<std::string> device, std::optional<std::string> owner,
                   const char* from, const char* until, const char* reason) {
    ExemptionRecord e;
    e.device_id = std::move(device);
    e.owner = std::move(owner);
    e.check = "vpn";
    e.until = T(until);
    e.reason = reason;
    e.created_at = T(from);
    e.created_by = "it-admin";
    auto made = store_->createExemption(e);
    EXPECT_TRUE(made.ok()) << made.status().toString();
    return made.ok() ? made->id : 0;
  };
  grant(d.id, std::nullopt, "2025-03-10T00:00:00Z", "2025-03-15T00:00:00Z", "travelling");
  int64_t owner_ex = grant(std::nullopt, std::string("owner of dev-ex"), "2025-03-20T00:00:00Z",
                           "2025-04-20T00:00:00Z", "new VPN client");
  ASSERT_TRUE(store_->revokeExemption(owner_ex, T("2025-03-22T00:00:00Z")).ok());
  grant(d.id, std::nullopt, "2025-02-01T00:00:00Z", "2025-02-10T00:00:00Z", "before the period");

  json::Value r = reportJson({Secs(T("2025-03-01T00:00:00Z")), Secs(T("2025-03-31T00:00:00Z"))});
  const json::Value& dev = deviceOf(r, d.id);
  const json::Value& vpn = checkOf(dev, "vpn");
  EXPECT_EQ(secondsOf(vpn, "unknown"), 86400);
  EXPECT_EQ(secondsOf(vpn, "exempt"), 7 * 86400);
  EXPECT_EQ(secondsOf(vpn, "noncompliant"), 22 * 86400);
  EXPECT_EQ(vpn.find("incidents")->asArray().size(), 3u);
  const auto& spans = vpn.find("exemptions")->asArray();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].find("start")->asString(), "2025-03-10T00:00:00Z");
  EXPECT_EQ(spans[0].find("end")->asString(), "2025-03-15T00:00:00Z");
  EXPECT_EQ(spans[0].find("reason")->asString(), "travelling");
  EXPECT_EQ(spans[0].find("created_by")->asString(), "it-admin");
  EXPECT_EQ(spans[1].find("end")->asString(), "2025-03-22T00:00:00Z");  // revoked
  for (const char* state : {"compliant", "noncompliant", "unknown", "exempt"}) {
    EXPECT_EQ(secondsOf(dev, state), secondsOf(vpn, state)) << state;
  }
  EXPECT_EQ(dev.find("incidents")->asArray().size(), 3u);
  // Another owner's device, and the one that only claimed the owner: no exemption of their own.
  for (const GenDevice* g : {&other, &claimer}) {
    const json::Value& o = deviceOf(r, g->id);
    EXPECT_TRUE(checkOf(o, "vpn").find("exemptions")->asArray().empty()) << g->id;
    EXPECT_EQ(secondsOf(o, "noncompliant"), 29 * 86400) << g->id;
    EXPECT_EQ(secondsOf(o, "exempt"), 0) << g->id;
  }
  std::string csv = report({Secs(T("2025-03-01T00:00:00Z")), Secs(T("2025-03-31T00:00:00Z"))},
                           ReportFormat::kCsv);
  EXPECT_NE(csv.find("\r\nexemption,dev-ex,host-dev-ex,owner of dev-ex,standard,vpn,,"
                     "2025-03-10T00:00:00Z,2025-03-15T00:00:00Z,432000,"),
            std::string::npos)
      << csv;
}

// Review: the admin actions come from the audit log only when asked for (the API asks for a
// token with the admin scope): without, JSON has no "admin_actions" and CSV no admin_action row.
// Only the period's rows are read.
TEST_P(ComplianceReportTest, AdminActionsOnlyWhenAskedAndOnlyThePeriods) {
  GenDevice d{"dev-audit", "standard", Secs(T("2025-03-01T00:00:00Z")), std::nullopt, {}};
  ASSERT_NO_FATAL_FAILURE(enroll(d));
  ASSERT_NO_FATAL_FAILURE(ingest(d.id, "2025-03-02T00:00:00Z", {"pass", "pass", "pass"}));
  for (int day = 1; day <= 28; ++day) {
    char at[32];
    std::snprintf(at, sizeof at, "2025-02-%02dT12:00:00Z", day);
    AuditEntry e = NewAuditEntry("cli:root", "device.owner", "device:dev-audit");
    e.at = T(at);
    ASSERT_TRUE(store_->appendAudit(e).ok());
  }
  AuditEntry in = NewAuditEntry("cli:root", "token.create", "token:1");
  in.at = T("2025-03-05T10:00:00Z");
  ASSERT_TRUE(store_->appendAudit(in).ok());
  ReportPeriod p{Secs(T("2025-03-01T00:00:00Z")), Secs(T("2025-03-31T00:00:00Z"))};

  json::Value without = reportJson(p, {});
  EXPECT_EQ(without.find("admin_actions"), nullptr);
  EXPECT_EQ(report(p, ReportFormat::kCsv, {}).find("admin_action"), std::string::npos);
  json::Value with = reportJson(p);
  ASSERT_NE(with.find("admin_actions"), nullptr);
  ASSERT_EQ(with.find("admin_actions")->asArray().size(), 1u);
  EXPECT_EQ(with.find("admin_actions")->asArray()[0].find("action")->asString(), "token.create");
  // The store answers the period's rows only, and whole seconds at its ends.
  auto context = store_->reportContext(
      {Secs(T("2025-02-10T12:00:00Z")), Secs(T("2025-02-12T12:00:00Z"))}, true);
  ASSERT_TRUE(context.ok()) << context.status().toString();
  ASSERT_EQ(context->admin_actions.size(), 2u);
  EXPECT_EQ(formatRfc3339(context->admin_actions[0].at), "2025-02-10T12:00:00Z");
  EXPECT_EQ(formatRfc3339(context->admin_actions[1].at), "2025-02-11T12:00:00Z");
  EXPECT_TRUE(store_->reportContext(p, false)->admin_actions.empty());
}

// The report's own time text and parse (compliance_report.h) agree with formatRfc3339 and
// parseRfc3339 over the five centuries a time_point holds, at every day's edges and at random
// seconds; other forms of RFC 3339 are read as parseRfc3339 reads them.
TEST(ReportTimeTest, AgreesWithFormatAndParseRfc3339) {
  auto check = [](int64_t s) {
    std::string text = formatRfc3339(At(s));
    EXPECT_EQ(ReportTimeText(s), text) << s;
    EXPECT_EQ(ReportTimeSeconds(text), s) << text;
  };
  for (int64_t day = Secs(T("1700-01-01T00:00:00Z")) / 86400;
       day < Secs(T("2260-01-01T00:00:00Z")) / 86400; ++day) {
    check(day * 86400);
    check(day * 86400 + 86399);
  }
  std::mt19937_64 rng(14);
  std::uniform_int_distribution<int64_t> any(Secs(T("1700-01-01T00:00:00Z")),
                                             Secs(T("2260-12-31T23:59:59Z")));
  for (int i = 0; i < 100000; ++i) check(any(rng));
  for (const char* text : {"2025-02-31T10:00:00Z", "2024-12-31T23:59:60Z", "2025-03-01t00:00:00z",
                           "2025-03-01T01:00:00+01:00", "2025-03-01T00:00:00.5Z"}) {
    EXPECT_EQ(ReportTimeSeconds(text), Secs(*parseRfc3339(text))) << text;
  }
  for (const char* bad : {"", "2025-13-01T00:00:00Z", "2025-03-01T24:00:00Z", "2025-03-01",
                          "2025-03-01T00:00:00", "x025-03-01T00:00:00Z"}) {
    EXPECT_EQ(ReportTimeSeconds(bad), 0) << bad;
  }
}

TEST(ComplianceReportPeriodTest, PeriodsAreBoundedAndEnded) {
  TimePoint now = T("2026-12-07T00:00:00Z");
  auto p = ParseReportPeriod("2026-01-01", "2026-04-01T00:00:00Z", now);
  ASSERT_TRUE(p.ok()) << p.status().toString();
  EXPECT_EQ(p->to - p->from, 90 * 86400);
  EXPECT_FALSE(ParseReportPeriod("2026-04-01", "2026-01-01", now).ok());
  EXPECT_FALSE(ParseReportPeriod("2025-01-01", "2026-01-03", now).ok());  // 367 days
  EXPECT_TRUE(ParseReportPeriod("2025-01-01", "2026-01-02", now).ok());   // 366 days
  EXPECT_FALSE(ParseReportPeriod("2026-12-01", "2026-12-08", now).ok());  // not ended
  EXPECT_FALSE(ParseReportPeriod("yesterday", "2026-12-01", now).ok());
  EXPECT_FALSE(ParseReportPeriod("", "2026-12-01", now).ok());
  EXPECT_FALSE(ParseReportFormat("xml").ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, ComplianceReportTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace hearth::server
