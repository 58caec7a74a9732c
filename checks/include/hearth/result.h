// The result model: a verdict per check and the report of one evaluation, with their JSON form
// (ARCHITECTURE.md "Verdicts and results"; fields may be added, never removed).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/i18n.h"
#include "hearth/json.h"
#include "hearth/status.h"
#include "hearth/verdict.h"

namespace hearth {

// What the person at the PC should do about one problem: numbered short steps, chosen for their
// desktop and distribution. The code and the English steps go to the server; the person reads
// the steps in their language.
struct Advice {
  std::string code;     // stable, language-neutral: "screen_lock.turn_on_auto_lock"
  std::string variant;  // the desktop or tool the steps are for: "gnome-46", "apt-software-updater"
  i18n::Message heading;  // optional, e.g. "For alice:"
  std::vector<i18n::Message> steps;
};

struct CheckResult {
  std::string id;  // the check's, e.g. disk_encryption
  Verdict verdict = Verdict::kUnknown;
  bool required = true;
  std::string summary;  // one line for a person: "Root filesystem / is not encrypted"
  json::Value evidence = json::Value::object();  // structured facts that led to the verdict
  std::string remediation;  // what the person at the PC should do; empty only for pass/n-a
  int64_t duration_ms = 0;
  // The summary and the advice kept apart from their language (summary and remediation are
  // their English); an empty summary_text means `summary` is all there is.
  i18n::Message summary_text;
  std::vector<Advice> advice;
  // The company's help page for this check (policy `checks.<id>.help_url`); local only.
  i18n::Message help_url;

  // Sets summary_text and its English, summary.
  void setSummary(i18n::Message m);
  // Appends `a` and rewrites `remediation` as the English of every advice's numbered steps.
  void addAdvice(Advice a);

  // JSON adds, beside the English, "advice": [{"code","variant","heading"?,"steps":[English]}]
  // when there is advice and "text": {"summary": message, "advice": [{"heading"?, "steps":
  // [message]}], "help_url"?: message} for showing in the person's language (local only: the
  // privacy filter removes it from reports).
  json::Value toJson() const;
};

// What a person reads of a check, in the current language (i18n::Tr), from a check's JSON (as
// `check --json` prints it and the agent's status keeps it): its summary, and the lines of its
// advice (headings, then "1. step"...). Falls back to the English fields of older results.
std::string LocalSummary(const json::Value& check);
std::vector<std::string> LocalAdviceLines(const json::Value& check);
// The same from the result itself; in the language of `catalog` when it is given (a
// notification in the language of the session it goes to).
std::string LocalSummary(const CheckResult& check, const i18n::Catalog* catalog = nullptr);
std::vector<std::string> LocalAdviceLines(const CheckResult& check,
                                          const i18n::Catalog* catalog = nullptr);

struct HostInfo {
  std::string hostname;
  std::string os;      // PRETTY_NAME from os-release
  std::string kernel;  // uname -r
};

struct Report {
  bool compliant = false;
  std::string level;
  int64_t policy_version = 0;
  std::chrono::system_clock::time_point evaluated_at;
  HostInfo host;
  std::vector<CheckResult> checks;
  // The company's words from the policy, for the person at the PC (local only: "help" in the
  // JSON, which the privacy filter removes): whom to ask ("Questions? Contact IT-support,
  // phone 70 20 30 40, it@example.dk"), and the policy's description. Empty when not set.
  i18n::Message helpdesk;
  i18n::Message description;

  json::Value toJson() const;
};

// What the company tells its people about a check they must act on, in the current language (or
// `catalog`'s): "More help: URL" when the policy gives the check a help page, then whom to ask
// when it names a helpdesk. Empty when the policy says neither. From the report's and the
// check's JSON (as `check --json` prints them and status keeps them) or from the result itself.
std::vector<std::string> CompanyHelpLines(const json::Value& report, const json::Value& check);
std::vector<std::string> CompanyHelpLines(const Report& report, const CheckResult& check,
                                          const i18n::Catalog* catalog = nullptr);
// The policy's description in the current language, from the report's JSON; "" when none.
std::string CompanyDescription(const json::Value& report);

// A device is compliant only when every required check passes or does not apply.
bool isCompliant(const std::vector<CheckResult>& checks);

}  // namespace hearth
