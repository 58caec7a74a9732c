// What the person at the PC reads in a notification: the titles, the bodies, the "Show details"
// text, the buttons and the line about the company's deadline, in the person's language
// (`catalog`; the process's when it is null), as plain, bounded, valid UTF-8. The same texts on
// every OS: the Linux notifier (notify.h, hearth-notify) and the Windows one show them.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "hearth/i18n.h"
#include "hearth/json.h"
#include "hearth/result.h"

namespace hearth::agent {

// How urgent a notification is: the freedesktop urgency levels (the "urgency" hint, a byte).
enum class Urgency { kLow = 0, kNormal = 1, kCritical = 2 };

// What the server said about a failing check (its deadline, IT's exemption) as one line for the
// person ("Fix it by ...", "Exempted by IT until ..."), and how urgent the failure is therefore:
// critical without a deadline or past it, normal within it, low while exempted.
struct Deadline {
  std::string line;
  Urgency urgency = Urgency::kCritical;
};
// From the company's view after the last report (status.json "server_view": per check "fix_by"
// and "exempt_until"); an empty line when it says nothing about `check_id`.
Deadline DeadlineOf(const json::Value& server_view, const std::string& check_id,
                    std::chrono::system_clock::time_point now,
                    const i18n::Catalog* catalog = nullptr);

// "Hearth: Screen lock needs attention": the title of the check's entry in Checks(); an id
// without one is spelled out ("Hearth: Antivirus status needs attention").
// In the language of `catalog` (the person's); the process's when it is null.
std::string NotificationTitle(std::string_view check_id, const i18n::Catalog* catalog = nullptr);
// "Hearth: could not check VPN" (a required check whose result is unknown) and "Hearth: VPN is
// fixed – thank you" (a failure the person was told of now passes).
std::string UnknownNotificationTitle(std::string_view check_id,
                                     const i18n::Catalog* catalog = nullptr);
std::string FixedNotificationTitle(std::string_view check_id,
                                   const i18n::Catalog* catalog = nullptr);
// The remediation (the summary when there is none), as valid UTF-8 without control characters
// other than newline and tab, at most ~1000 bytes, as plain text (hearth-notify escapes & < >
// for servers that announce body markup). With `report`, the company's help page for the check
// and its helpdesk follow the steps (CompanyHelpLines); `deadline` (one line: "Fix it by ...",
// "Exempted by IT until ...") comes first when not empty.
std::string NotificationBody(const CheckResult& check, const i18n::Catalog* catalog = nullptr,
                             const Report* report = nullptr, const std::string& deadline = "");
// "Hearth: this PC's security checks" and, for "Show details", every check of `report` on one
// line with its mark and summary, then the steps for `check` and where to get help, in the
// language of `catalog`; plain text (hearth-notify escapes it for markup services), at most
// ~2000 bytes.
std::string DetailsTitle(const i18n::Catalog* catalog = nullptr);
std::string DetailsBody(const Report& report, const CheckResult& check,
                        const i18n::Catalog* catalog = nullptr, const std::string& deadline = "");
// The body of "fixed – thank you": the check's summary, bounded as NotificationBody is.
std::string FixedNotificationBody(const CheckResult& check, const i18n::Catalog* catalog = nullptr);
// The actions' labels: "Check again", "Show details".
std::string CheckAgainLabel(const i18n::Catalog* catalog = nullptr);
std::string ShowDetailsLabel(const i18n::Catalog* catalog = nullptr);

}  // namespace hearth::agent
