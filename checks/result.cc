#include "hearth/result.h"

#include "hearth/time.h"

namespace hearth {

json::Value CheckResult::toJson() const {
  json::Value o = json::Value::object();
  o.set("id", id);
  o.set("verdict", verdictName(verdict));
  o.set("required", required);
  o.set("summary", summary);
  o.set("evidence", evidence.isNull() ? json::Value::object() : evidence);
  o.set("remediation", remediation);
  o.set("duration_ms", duration_ms);
  return o;
}

bool isCompliant(const std::vector<CheckResult>& checks) {
  for (const auto& c : checks) {
    if (!c.required) continue;
    if (c.verdict != Verdict::kPass && c.verdict != Verdict::kNotApplicable) return false;
  }
  return true;
}

json::Value Report::toJson() const {
  json::Value o = json::Value::object();
  o.set("compliant", compliant);
  o.set("level", level);
  o.set("policy_version", policy_version);
  o.set("evaluated_at", formatRfc3339(evaluated_at));
  json::Value h = json::Value::object();
  h.set("hostname", host.hostname);
  h.set("os", host.os);
  h.set("kernel", host.kernel);
  o.set("host", std::move(h));
  json::Value arr = json::Value::array();
  for (const auto& c : checks) arr.push(c.toJson());
  o.set("checks", std::move(arr));
  return o;
}

}  // namespace hearth
