// The company's view of this PC after its latest report (issue 14): the acknowledgement of a
// report stored as the device's latest carries its status ("compliant", "at_risk",
// "noncompliant", "unknown") and, per check, the deadline to fix it (fix_by) and an exemption IT
// granted (exempt_until). The network side takes it from the answer, the root side checks it
// again (it trusts the network side no more than the server), keeps it in status.json as
// "server_view", and `hearth-agent status` shows it to the person at the PC.
#pragma once

#include <chrono>
#include <optional>
#include <ostream>
#include <string>

#include "hearth/i18n.h"
#include "hearth/json.h"

namespace hearth::agent {

// At most this many checks are kept (a policy has far fewer).
inline constexpr size_t kMaxServerViewChecks = 64;

// {"device_status", "checks": [{"id", "fix_by", "exempt_until"}...]} from an acknowledgement
// (or from a view kept before): a known status, check ids of [a-z0-9_] (1 to 64), times in
// RFC 3339 (written again in UTC) or null, checks with neither left out. nullopt when there is
// no view or its status is not one of the four.
std::optional<json::Value> ServerViewFromAck(const json::Value& ack);

// The same from JSON text; "" when the text holds no valid view.
std::string CheckedServerViewText(const std::string& text);

// "Friday 12 December 2026, 17:00 UTC", in the current language; with `catalog`, in its language
// (a notification in the language of the session it goes to).
std::string PersonDate(std::chrono::system_clock::time_point t);
std::string PersonDate(std::chrono::system_clock::time_point t, const i18n::Catalog* catalog);

// "Friday 12 December 14:03" in the PC's time zone (TZ, else /etc/localtime), with the year
// ("Friday 12 December 2025, 14:03") when it is not the year of `now`; in the current language,
// with `catalog` in its language: the times `hearth-agent status` shows.
std::string PersonTime(std::chrono::system_clock::time_point t,
                       std::chrono::system_clock::time_point now,
                       const i18n::Catalog* catalog = nullptr);

// The lines `hearth-agent status` prints for a view (ServerViewFromAck's shape): nothing when
// `view` is not one. Deadlines and exemptions as PersonTime.
void PrintServerView(const json::Value& view, std::ostream& out,
                     std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace hearth::agent
