// The company's view of this PC after its latest report (server_view.h).
#include "hearth/agent/server_view.h"

#include <array>
#include <cstdio>
#include <ctime>

#include "hearth/i18n.h"
#include "hearth/time.h"

namespace hearth::agent {

namespace {

constexpr std::array<const char*, 4> kStatuses = {"compliant", "at_risk", "noncompliant",
                                                  "unknown"};

bool checkId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

// The RFC 3339 time `v` holds, written again (null when absent, null or not a time).
json::Value timeOrNull(const json::Value* v) {
  if (v == nullptr || !v->isString()) return json::Value();
  auto t = parseRfc3339(v->asString());
  return t.ok() ? json::Value(formatRfc3339(*t)) : json::Value();
}

}  // namespace

std::optional<json::Value> ServerViewFromAck(const json::Value& ack) {
  if (!ack.isObject()) return std::nullopt;
  const json::Value* status = ack.find("device_status");
  if (status == nullptr || !status->isString()) return std::nullopt;
  bool known = false;
  for (const char* s : kStatuses) known = known || status->asString() == s;
  if (!known) return std::nullopt;
  json::Value checks = json::Value::array();
  if (const json::Value* list = ack.find("checks"); list != nullptr && list->isArray()) {
    for (const auto& c : list->asArray()) {
      if (checks.size() >= kMaxServerViewChecks) break;
      const json::Value* id = c.isObject() ? c.find("id") : nullptr;
      if (id == nullptr || !id->isString() || !checkId(id->asString())) continue;
      json::Value fix_by = timeOrNull(c.find("fix_by"));
      json::Value exempt_until = timeOrNull(c.find("exempt_until"));
      if (fix_by.isNull() && exempt_until.isNull()) continue;
      json::Value one = json::Value::object();
      one.set("id", id->asString());
      one.set("fix_by", std::move(fix_by));
      one.set("exempt_until", std::move(exempt_until));
      checks.push(std::move(one));
    }
  }
  json::Value view = json::Value::object();
  view.set("device_status", status->asString());
  view.set("checks", std::move(checks));
  return view;
}

std::string CheckedServerViewText(const std::string& text) {
  if (text.empty()) return "";
  auto v = json::parse(text, {.max_depth = 4, .max_bytes = 64 << 10});
  if (!v.ok()) return "";
  auto view = ServerViewFromAck(*v);
  return view ? json::write(*view) : "";
}

std::string PersonDate(std::chrono::system_clock::time_point t) { return PersonDate(t, nullptr); }

namespace {

constexpr std::array<const char*, 7> kDays = {N_("Sunday"),    N_("Monday"),   N_("Tuesday"),
                                              N_("Wednesday"), N_("Thursday"), N_("Friday"),
                                              N_("Saturday")};
constexpr std::array<const char*, 12> kMonths = {
    N_("January"), N_("February"), N_("March"),     N_("April"),   N_("May"),      N_("June"),
    N_("July"),    N_("August"),   N_("September"), N_("October"), N_("November"), N_("December")};

std::string translatedIn(const char* id, const i18n::Catalog* catalog) {
  return catalog != nullptr ? catalog->translate(id) : std::string(i18n::Tr(id));
}

std::string clockOf(const std::tm& tm) {
  char clock[16];
  std::snprintf(clock, sizeof clock, "%02d:%02d", tm.tm_hour, tm.tm_min);
  return clock;
}

}  // namespace

std::string PersonDate(std::chrono::system_clock::time_point t, const i18n::Catalog* catalog) {
  auto tr = [&](const char* id) { return translatedIn(id, catalog); };
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  if (gmtime_r(&secs, &tm) == nullptr) return formatRfc3339(t);
  // "Saturday 12 December 2026, 17:00 UTC"; a translation orders the parts its own way.
  return i18n::Subst(tr("{1} {2} {3} {4}, {5} UTC"),
                     {tr(kDays[static_cast<size_t>(tm.tm_wday)]), std::to_string(tm.tm_mday),
                      tr(kMonths[static_cast<size_t>(tm.tm_mon)]),
                      std::to_string(tm.tm_year + 1900), clockOf(tm)});
}

std::string PersonTime(std::chrono::system_clock::time_point t,
                       std::chrono::system_clock::time_point now, const i18n::Catalog* catalog) {
  auto tr = [&](const char* id) { return translatedIn(id, catalog); };
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::time_t now_secs = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  std::tm now_tm{};
  if (localtime_r(&secs, &tm) == nullptr || localtime_r(&now_secs, &now_tm) == nullptr) {
    return formatRfc3339(t);
  }
  const std::string day = tr(kDays[static_cast<size_t>(tm.tm_wday)]);
  const std::string month = tr(kMonths[static_cast<size_t>(tm.tm_mon)]);
  // TRANSLATORS: weekday, day of the month, month, time ("Friday 12 December 14:03").
  if (tm.tm_year == now_tm.tm_year) {
    return i18n::Subst(tr("{1} {2} {3} {4}"),
                       {day, std::to_string(tm.tm_mday), month, clockOf(tm)});
  }
  // TRANSLATORS: weekday, day, month, year, time ("Friday 12 December 2025, 14:03").
  return i18n::Subst(tr("{1} {2} {3} {4}, {5}"), {day, std::to_string(tm.tm_mday), month,
                                                  std::to_string(tm.tm_year + 1900), clockOf(tm)});
}

}  // namespace hearth::agent
