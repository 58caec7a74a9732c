#include "hearth/result.h"

#include "hearth/time.h"

namespace hearth {

namespace {

// "1. step" lines of `advice`, each advice's heading first; `show` gives a message's text.
template <typename Show>
std::vector<std::string> adviceLines(const std::vector<Advice>& advice, Show show) {
  std::vector<std::string> out;
  for (const auto& a : advice) {
    if (!a.heading.empty()) out.push_back(show(a.heading));
    int n = 0;
    for (const auto& step : a.steps) out.push_back(std::to_string(++n) + ". " + show(step));
  }
  return out;
}

std::string joinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) {
    if (!out.empty()) out += "\n";
    out += l;
  }
  return out;
}

// The advice as kept in "text": messages, read back.
std::vector<Advice> adviceFromText(const json::Value& text) {
  std::vector<Advice> out;
  const json::Value* advice = text.find("advice");
  if (advice == nullptr || !advice->isArray()) return out;
  for (const auto& a : advice->asArray()) {
    Advice x;
    if (const json::Value* h = a.find("heading")) x.heading = i18n::Message::fromJson(*h);
    if (const json::Value* steps = a.find("steps"); steps != nullptr && steps->isArray()) {
      for (const auto& st : steps->asArray()) x.steps.push_back(i18n::Message::fromJson(st));
    }
    out.push_back(std::move(x));
  }
  return out;
}

}  // namespace

void CheckResult::setSummary(i18n::Message m) {
  summary = m.english();
  summary_text = std::move(m);
}

void CheckResult::addAdvice(Advice a) {
  advice.push_back(std::move(a));
  remediation = joinLines(adviceLines(advice, [](const i18n::Message& m) { return m.english(); }));
}

std::string LocalSummary(const CheckResult& check, const i18n::Catalog* catalog) {
  return check.summary_text.empty() ? check.summary : check.summary_text.text(catalog);
}

std::vector<std::string> LocalAdviceLines(const CheckResult& check, const i18n::Catalog* catalog) {
  if (check.advice.empty()) {
    if (check.remediation.empty()) return {};
    return {check.remediation};
  }
  return adviceLines(check.advice, [&](const i18n::Message& m) { return m.text(catalog); });
}

std::string LocalSummary(const json::Value& check) {
  if (const json::Value* t = check.find("text"); t != nullptr && t->isObject()) {
    if (const json::Value* s = t->find("summary"); s != nullptr && !s->isNull()) {
      return i18n::Message::fromJson(*s).text();
    }
  }
  const json::Value* s = check.find("summary");
  return s != nullptr && s->isString() ? s->asString() : std::string();
}

std::vector<std::string> LocalAdviceLines(const json::Value& check) {
  if (const json::Value* t = check.find("text"); t != nullptr && t->isObject()) {
    std::vector<Advice> advice = adviceFromText(*t);
    if (!advice.empty()) {
      return adviceLines(advice, [](const i18n::Message& m) { return m.text(); });
    }
  }
  const json::Value* r = check.find("remediation");
  if (r == nullptr || !r->isString() || r->asString().empty()) return {};
  return {r->asString()};
}

json::Value CheckResult::toJson() const {
  json::Value o = json::Value::object();
  o.set("id", id);
  o.set("verdict", verdictName(verdict));
  o.set("required", required);
  o.set("summary", summary);
  o.set("evidence", evidence.isNull() ? json::Value::object() : evidence);
  o.set("remediation", remediation);
  o.set("duration_ms", duration_ms);
  if (!advice.empty()) {
    json::Value list = json::Value::array();
    for (const auto& a : advice) {
      json::Value j = json::Value::object();
      j.set("code", a.code);
      if (!a.variant.empty()) j.set("variant", a.variant);
      if (!a.heading.empty()) j.set("heading", a.heading.english());
      json::Value steps = json::Value::array();
      for (const auto& st : a.steps) steps.push(st.english());
      j.set("steps", std::move(steps));
      list.push(std::move(j));
    }
    o.set("advice", std::move(list));
  }
  if (!summary_text.empty() || !advice.empty() || !help_url.empty()) {
    json::Value text = json::Value::object();
    if (!help_url.empty()) text.set("help_url", help_url.toJson());
    if (!summary_text.empty()) text.set("summary", summary_text.toJson());
    if (!advice.empty()) {
      json::Value list = json::Value::array();
      for (const auto& a : advice) {
        json::Value j = json::Value::object();
        if (!a.heading.empty()) j.set("heading", a.heading.toJson());
        json::Value steps = json::Value::array();
        for (const auto& st : a.steps) steps.push(st.toJson());
        j.set("steps", std::move(steps));
        list.push(std::move(j));
      }
      text.set("advice", std::move(list));
    }
    o.set("text", std::move(text));
  }
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
  if (!helpdesk.empty() || !description.empty()) {
    json::Value help = json::Value::object();
    if (!helpdesk.empty()) help.set("helpdesk", helpdesk.toJson());
    if (!description.empty()) help.set("description", description.toJson());
    o.set("help", std::move(help));
  }
  return o;
}

namespace {

template <typename Show>
std::vector<std::string> helpLines(const i18n::Message& url, const i18n::Message& helpdesk,
                                   Show show) {
  std::vector<std::string> out;
  if (!url.empty()) out.push_back(show(i18n::Msg("More help: {1}", {url})));
  if (!helpdesk.empty()) out.push_back(show(helpdesk));
  return out;
}

i18n::Message messageAt(const json::Value& object, const char* outer, const char* key) {
  const json::Value* o = object.find(outer);
  const json::Value* v = o != nullptr && o->isObject() ? o->find(key) : nullptr;
  return v == nullptr ? i18n::Message() : i18n::Message::fromJson(*v);
}

}  // namespace

std::vector<std::string> CompanyHelpLines(const json::Value& report, const json::Value& check) {
  return helpLines(messageAt(check, "text", "help_url"), messageAt(report, "help", "helpdesk"),
                   [](const i18n::Message& m) { return m.text(); });
}

std::vector<std::string> CompanyHelpLines(const Report& report, const CheckResult& check,
                                          const i18n::Catalog* catalog) {
  return helpLines(check.help_url, report.helpdesk,
                   [&](const i18n::Message& m) { return m.text(catalog); });
}

std::string CompanyDescription(const json::Value& report) {
  i18n::Message d = messageAt(report, "help", "description");
  return d.empty() ? std::string() : d.text();
}

}  // namespace hearth
