// What the person at the PC reads in a notification (notify_text.h): the titles, the bodies, the
// details, the buttons and the deadline line, in the person's language, as bounded plain text.
#include "hearth/agent/notify_text.h"

#include <algorithm>
#include <optional>

#include "hearth/agent/server_view.h"
#include "hearth/check_registry.h"
#include "hearth/i18n.h"
#include "hearth/text.h"
#include "hearth/time.h"

namespace hearth::agent {

namespace {

using TimePoint = std::chrono::system_clock::time_point;

constexpr size_t kMaxBodyBytes = 1000;
constexpr size_t kMaxDetailsBytes = 2000;

// Valid UTF-8 with each byte of an invalid sequence replaced by U+FFFD (text::decodeUtf8 says
// what is valid); C0 controls other than \n and \t, DEL and C1 controls become spaces (a
// notification body is shown, never interpreted).
std::string sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    auto cp = text::decodeUtf8(s, i);
    if (!cp) {
      out += "\xef\xbf\xbd";
      ++i;
      continue;
    }
    const uint32_t v = cp->value;
    const bool control = (v < 0x20 && v != '\n' && v != '\t') || (v >= 0x7f && v <= 0x9f);
    if (control) {
      out.push_back(' ');
    } else {
      out.append(s.substr(i, cp->length));
    }
    i += cp->length;
  }
  return out;
}

// Cuts valid UTF-8 to at most `max` bytes on a character boundary, marking the cut with "…".
std::string truncateUtf8(std::string s, size_t max) {
  if (s.size() <= max) return s;
  size_t cut = max - 3;  // room for the ellipsis
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;
  s.resize(cut);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t')) s.pop_back();
  return s + "\xe2\x80\xa6";
}

// Valid UTF-8 without control characters, at most kMaxBodyBytes (hearth-notify escapes it for
// servers that announce body markup: EscapeBodyMarkup).
std::string finishBody(const std::string& text) {
  return truncateUtf8(sanitize(text::trim(text)), kMaxBodyBytes);
}

// The check's name as the person reads it ("Screen lock"); its id spelled out when unnamed.
std::string checkName(std::string_view check_id, const i18n::Catalog* catalog) {
  if (const CheckEntry* entry = Checks().find(check_id);
      entry != nullptr && !entry->spec.wording.name.empty()) {
    const std::string& name = entry->spec.wording.name;
    return catalog != nullptr ? catalog->translate(name) : std::string(i18n::Tr(name));
  }
  std::string name = sanitize(check_id);
  std::replace(name.begin(), name.end(), '_', ' ');
  std::replace(name.begin(), name.end(), '\n', ' ');
  if (!name.empty() && name[0] >= 'a' && name[0] <= 'z') name[0] = static_cast<char>(name[0] - 32);
  return truncateUtf8(name, 80);
}

std::string translated(const char* id, const i18n::Catalog* catalog) {
  return catalog != nullptr ? catalog->translate(id) : std::string(i18n::Tr(id));
}

}  // namespace

Deadline DeadlineOf(const json::Value& server_view, const std::string& check_id, TimePoint now,
                    const i18n::Catalog* catalog) {
  Deadline out;
  const json::Value* checks = server_view.isObject() ? server_view.find("checks") : nullptr;
  if (checks == nullptr || !checks->isArray()) return out;
  for (const auto& c : checks->asArray()) {
    const json::Value* id = c.find("id");
    if (id == nullptr || !id->isString() || id->asString() != check_id) continue;
    auto timeAt = [&](const char* key) -> std::optional<TimePoint> {
      const json::Value* v = c.find(key);
      if (v == nullptr || !v->isString()) return std::nullopt;
      auto t = parseRfc3339(v->asString());
      return t.ok() ? std::optional<TimePoint>(*t) : std::nullopt;
    };
    if (auto exempt = timeAt("exempt_until"); exempt && *exempt > now) {
      out.line = i18n::Subst(translated(N_("Exempted by IT until {1}."), catalog),
                             {PersonTime(*exempt, now, catalog)});
      out.urgency = Urgency::kLow;
    } else if (auto fix_by = timeAt("fix_by")) {
      const bool ahead = *fix_by > now;
      out.line = i18n::Subst(
          translated(ahead ? N_("Fix it by {1}.") : N_("Fix it now: the deadline was {1}."),
                     catalog),
          {PersonTime(*fix_by, now, catalog)});
      out.urgency = ahead ? Urgency::kNormal : Urgency::kCritical;
    }
    return out;
  }
  return out;
}

std::string UnknownNotificationTitle(std::string_view check_id, const i18n::Catalog* catalog) {
  return "Hearth: " + i18n::Subst(translated(N_("{1}: could not check"), catalog),
                                  {checkName(check_id, catalog)});
}

std::string FixedNotificationTitle(std::string_view check_id, const i18n::Catalog* catalog) {
  return "Hearth: " + i18n::Subst(translated(N_("{1} is fixed – thank you"), catalog),
                                  {checkName(check_id, catalog)});
}

std::string NotificationTitle(std::string_view check_id, const i18n::Catalog* catalog) {
  if (const CheckEntry* entry = Checks().find(check_id);
      entry != nullptr && !entry->spec.wording.notification_title.empty()) {
    const std::string& title = entry->spec.wording.notification_title;
    return std::string("Hearth: ") +
           (catalog != nullptr ? catalog->translate(title) : std::string(i18n::Tr(title)));
  }
  std::string name = sanitize(check_id);
  std::replace(name.begin(), name.end(), '_', ' ');
  std::replace(name.begin(), name.end(), '\n', ' ');
  if (!name.empty() && name[0] >= 'a' && name[0] <= 'z') name[0] = static_cast<char>(name[0] - 32);
  return "Hearth: " + truncateUtf8(name, 80) + " needs attention";
}

std::string NotificationBody(const CheckResult& check, const i18n::Catalog* catalog,
                             const Report* report, const std::string& deadline) {
  // The deadline first, then what to do, in the person's language, as numbered steps (else what
  // is wrong), then where to get help.
  std::vector<std::string> lines;
  if (!deadline.empty()) lines.push_back(deadline);
  std::vector<std::string> advice = LocalAdviceLines(check, catalog);
  if (advice.empty()) advice.push_back(LocalSummary(check, catalog));
  lines.insert(lines.end(), advice.begin(), advice.end());
  if (check.verdict == Verdict::kUnknown) {
    lines.push_back(translated(N_("Until Hearth can check it, this PC counts as not meeting the "
                                  "agreed security level."),
                               catalog));
  }
  static const Report kNoReport;
  for (auto& line : CompanyHelpLines(report != nullptr ? *report : kNoReport, check, catalog)) {
    lines.push_back(std::move(line));
  }
  std::string text;
  for (const auto& line : lines) text += (text.empty() ? "" : "\n") + line;
  return finishBody(text);
}

std::string DetailsTitle(const i18n::Catalog* catalog) {
  return "Hearth: " + translated(N_("The security checks on this PC"), catalog);
}

std::string DetailsBody(const Report& report, const CheckResult& check,
                        const i18n::Catalog* catalog, const std::string& deadline) {
  // Every check on one line with its mark, then the steps for the one the notification is about.
  std::vector<std::string> lines;
  if (!deadline.empty()) lines.push_back(deadline);
  for (const auto& c : report.checks) {
    const char* mark = "\xe2\x80\x93";                       // – not applicable
    if (c.verdict == Verdict::kPass) mark = "\xe2\x9c\x94";  // ✔
    if (c.verdict == Verdict::kFail) mark = "\xe2\x9c\x98";  // ✘
    if (c.verdict == Verdict::kUnknown) mark = "?";
    lines.push_back(std::string(mark) + " " + checkName(c.id, catalog) + ": " +
                    text::firstLine(LocalSummary(c, catalog), 200));
  }
  lines.emplace_back();
  lines.push_back(i18n::Subst(translated(N_("What to do about {1}:"), catalog),
                              {checkName(check.id, catalog)}));
  std::vector<std::string> advice = LocalAdviceLines(check, catalog);
  if (advice.empty()) advice.push_back(LocalSummary(check, catalog));
  lines.insert(lines.end(), advice.begin(), advice.end());
  for (auto& line : CompanyHelpLines(report, check, catalog)) lines.push_back(std::move(line));
  std::string body;
  for (const auto& line : lines) body += (body.empty() ? "" : "\n") + line;
  return truncateUtf8(sanitize(text::trim(body)), kMaxDetailsBytes);
}

std::string FixedNotificationBody(const CheckResult& check, const i18n::Catalog* catalog) {
  return finishBody(LocalSummary(check, catalog));
}

std::string CheckAgainLabel(const i18n::Catalog* catalog) {
  return translated(N_("Check again"), catalog);
}

std::string ShowDetailsLabel(const i18n::Catalog* catalog) {
  return translated(N_("Show details"), catalog);
}

}  // namespace hearth::agent
