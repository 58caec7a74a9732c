// The compliance workflow's standing of a device and its checks (standing.h).
#include "hearth/server/standing.h"

#include <algorithm>

#include "hearth/time.h"

namespace hearth::server {

namespace {

json::Value timeJson(const std::optional<TimePoint>& t) {
  return t ? json::Value(formatRfc3339(*t)) : json::Value();
}

std::optional<TimePoint> timeField(const json::Value& o, const char* key) {
  const json::Value* v = o.find(key);
  if (v == nullptr || !v->isString()) return std::nullopt;
  auto t = parseRfc3339(v->asString());
  if (!t.ok()) return std::nullopt;
  return *t;
}

}  // namespace

std::optional<TimePoint> GraceFrom(const CheckStanding& check,
                                   const std::optional<TimePoint>& previous, TimePoint at) {
  if (!check.required) return std::nullopt;
  if (check.verdict == "fail") return previous ? previous : std::optional<TimePoint>(at);
  if (check.verdict == "unknown") return previous;
  return std::nullopt;
}

std::optional<TimePoint> FixBy(const CheckStanding& check, int64_t grace_days) {
  if (!check.required || !check.grace_from) return std::nullopt;
  if (check.verdict != "fail" && check.verdict != "unknown") return std::nullopt;
  return *check.grace_from + std::chrono::hours(24 * grace_days);
}

DeviceStanding DecideStanding(const std::vector<CheckStanding>& checks, bool agent_compliant,
                              TimePoint at) {
  if (agent_compliant) return {"compliant", std::nullopt};
  bool past = false, unknown = false, exempted = false;
  std::optional<TimePoint> deadline;
  for (const auto& c : checks) {
    if (!c.required || (c.verdict != "fail" && c.verdict != "unknown")) continue;
    if (c.exempt_until && *c.exempt_until > at) {
      exempted = true;
      continue;
    }
    if (c.verdict == "unknown" && (!c.fix_by || *c.fix_by > at)) {
      unknown = true;
      if (c.fix_by) deadline = deadline ? std::min(*deadline, *c.fix_by) : *c.fix_by;
    } else if (c.fix_by && *c.fix_by > at) {
      deadline = deadline ? std::min(*deadline, *c.fix_by) : *c.fix_by;
    } else {
      past = true;
    }
  }
  if (past) return {"noncompliant", std::nullopt};
  if (unknown) return {"unknown", deadline};
  if (deadline) return {"at_risk", deadline};
  // Nothing counts against it: compliant when exemptions explain the agent's verdict; a report
  // that is not compliant for no reason we can see stays unknown (as before grace periods).
  return {exempted ? "compliant" : "unknown", std::nullopt};
}

std::string StatusAt(const std::string& status, const std::optional<TimePoint>& deadline,
                     TimePoint now) {
  if (deadline && *deadline <= now && status != "compliant") return "noncompliant";
  return status;
}

std::optional<TimePoint> FailingSince(const std::string& status,
                                      const std::optional<TimePoint>& previous, TimePoint at) {
  if (status == "compliant") return std::nullopt;
  return previous ? previous : std::optional<TimePoint>(at);
}

const char* DeviceEventFor(const std::string& status, bool alerted) {
  if (status == "noncompliant" && !alerted) return "device_noncompliant";
  if (status == "compliant" && alerted) return "device_compliant";
  return nullptr;
}

json::Value SummaryWithStanding(const json::Value& summary,
                                const std::vector<CheckStanding>& checks) {
  json::Value out = json::Value::array();
  if (!summary.isArray()) return out;
  for (const auto& entry : summary.asArray()) {
    json::Value e = entry;
    const json::Value* id = entry.find("id");
    const CheckStanding* found = nullptr;
    for (const auto& c : checks) {
      if (id != nullptr && id->isString() && c.id == id->asString()) found = &c;
    }
    e.set("since", timeJson(found ? found->since : std::nullopt));
    e.set("fix_by", timeJson(found ? found->fix_by : std::nullopt));
    e.set("exempt_until", timeJson(found ? found->exempt_until : std::nullopt));
    out.push(std::move(e));
  }
  return out;
}

std::vector<CheckStanding> StandingFromSummary(const json::Value& summary) {
  std::vector<CheckStanding> out;
  if (!summary.isArray()) return out;
  for (const auto& e : summary.asArray()) {
    CheckStanding c;
    const json::Value* id = e.find("id");
    const json::Value* verdict = e.find("verdict");
    const json::Value* required = e.find("required");
    if (id == nullptr || !id->isString() || verdict == nullptr || !verdict->isString()) continue;
    c.id = id->asString();
    c.verdict = verdict->asString();
    c.required = required == nullptr || !required->isBool() || required->asBool();
    c.since = timeField(e, "since");
    c.fix_by = timeField(e, "fix_by");
    c.exempt_until = timeField(e, "exempt_until");
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace hearth::server
