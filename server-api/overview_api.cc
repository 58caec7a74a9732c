// The IT console's overview (overview_api.h).
#include "overview_api.h"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "device_render.h"
#include "hearth/text.h"
#include "hearth/time.h"
#include "http_error.h"
#include "http_io.h"

namespace hearth::server {

namespace {

// The statuses the overview always names (the device list's `status` values but retired).
constexpr const char* kStatuses[] = {"compliant", "at_risk", "noncompliant",
                                     "unknown",   "stale",   "pending"};

json::Value statusObject(const std::vector<std::pair<std::string, int64_t>>& counts,
                         int64_t* total) {
  json::Value o = json::Value::object();
  for (const char* s : kStatuses) o.set(s, static_cast<int64_t>(0));
  for (const auto& [status, n] : counts) {
    o.set(status, n);
    if (total != nullptr) *total += n;
  }
  return o;
}

}  // namespace

StatusOr<json::Value> OverviewJson(Store& store, TimePoint now, std::chrono::seconds stale_after,
                                   int days) {
  auto counts = store.deviceCounts(now, stale_after);
  if (!counts.ok()) return counts.status();
  auto failing = store.failingChecks();
  if (!failing.ok()) return failing.status();
  DeviceFilter longest_filter;
  longest_filter.now = now;
  longest_filter.stale_after = stale_after;
  longest_filter.failing_for = std::chrono::seconds(0);
  longest_filter.sort_failing_since = true;
  longest_filter.limit = 10;
  auto longest = store.listDevices(longest_filter);
  if (!longest.ok()) return longest.status();
  TimePoint since = now - std::chrono::hours(24 * (days - 1));
  auto trend = store.dailyStatus(formatRfc3339(since).substr(0, 10));
  if (!trend.ok()) return trend.status();
  auto alerts = store.fleetAlerts(now - std::chrono::hours(24 * days), 20);
  if (!alerts.ok()) return alerts.status();
  json::Value out = json::Value::object();
  out.set("at", formatRfc3339(now));
  int64_t total = 0;
  out.set("statuses", statusObject(*counts, &total));
  out.set("total", total);
  json::Value failures = json::Value::array();
  for (const auto& [check, n] : *failing) {
    json::Value f = json::Value::object();
    f.set("check", check);
    f.set("devices", n);
    failures.push(std::move(f));
  }
  out.set("failures", std::move(failures));
  json::Value devices = json::Value::array();
  for (const auto& d : *longest) devices.push(DeviceJson(d, false));
  out.set("failing_longest", std::move(devices));
  json::Value days_out = json::Value::array();
  for (const auto& d : *trend) {
    json::Value o = json::Value::object();
    o.set("day", d.day);
    o.set("statuses", statusObject(d.counts, nullptr));
    days_out.push(std::move(o));
  }
  out.set("trend", std::move(days_out));
  json::Value events = json::Value::array();
  for (const auto& e : *alerts) events.push(FeedEventJson(e));
  out.set("alerts", std::move(events));
  return out;
}

int RouteOverview(ServerContext& context, const std::map<std::string, std::string>& query,
                  Poco::Net::HTTPServerResponse& resp) {
  for (const auto& [k, unused] : query) {
    if (k != "days") {
      throw HttpError{400, "unknown parameter \"" + k.substr(0, 64) + "\" (expected days)"};
    }
  }
  int days = 30;
  if (auto it = query.find("days"); it != query.end()) {
    auto v = text::parseInt(it->second);
    if (!v || *v < 1 || *v > 400) throw HttpError{400, "days must be a whole number from 1 to 400"};
    days = static_cast<int>(*v);
  }
  auto out = OverviewJson(*context.store, std::chrono::system_clock::now(),
                          context.options.stale_after, days);
  if (!out.ok()) throw HttpError{503, "database unavailable"};
  SendJson(resp, 200, *out);
  return 200;
}

}  // namespace hearth::server
