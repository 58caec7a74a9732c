// screen_lock on Linux: the check. Finds the people on the machine (logind sessions, local users
// with desktop settings: people_linux.cc), reads each person's settings as that person and judges
// them (settings_linux.cc), then puts one verdict, summary and evidence together: the worst
// person decides, every person is listed.
#include "screen_lock/screen_lock_linux.h"

#include <algorithm>
#include <map>
#include <unistd.h>

#include "hearth/text.h"

namespace hearth::checks {

namespace screen_lock {

StatusOr<CheckResult> ScreenLockCheck::run(const SystemView& system,
                                           const CheckParams& params) const {
  Run r{system, params.policy.settingsOr<ScreenLockSettings>(id()), {}, {}, {}, {}, {}, {}, {}};
  readAccounts(r);
  r.installed = readInstalledSessions(system);

  // 1. and 2.: everyone with a live graphical session, then local users with desktop settings.
  json::Value not_inspected = json::Value::array();
  std::map<uint32_t, Person> people = findPeople(r, not_inspected);

  // 3. Judge each person on each desktop they use.
  struct Judged {
    Person person;
    std::vector<DesktopResult> results;
    size_t worst = 0;
  };
  std::vector<Judged> judged;
  for (auto& [uid, p] : people) {
    chooseDesktops(r, p);
    // The installed version names the menus in the advice (GNOME 46 and Plasma 6 moved them).
    for (const auto& d : p.desktops) {
      if (d.desktop == Desktop::kGnome && !r.gnome_major) {
        r.gnome_major = DetectDesktopEnv(system, "GNOME").major;
      }
      if (d.desktop == Desktop::kKde && !r.plasma_major) {
        r.plasma_major = DetectDesktopEnv(system, "KDE").major;
      }
    }
    auto results = judge(r, p);
    if (results.empty()) continue;  // only desktops that are not installed: not a person
    size_t worst = 0;
    for (size_t i = 1; i < results.size(); ++i) {
      if (verdictSeverity(results[i].verdict) > verdictSeverity(results[worst].verdict)) {
        worst = i;
      }
    }
    judged.push_back(Judged{std::move(p), std::move(results), worst});
  }

  CheckResult result;
  result.evidence.set("max_idle_seconds", r.policy.max_idle_seconds);
  result.evidence.set("require_lock_on_resume", r.policy.require_lock_on_resume);

  if (judged.empty() && not_inspected.size() == 0) {
    result.verdict = Verdict::kNotApplicable;
    result.setSummary(
        i18n::Msg("No one on this computer has a graphical desktop session or desktop settings"));
    result.evidence.set("people", json::Value::array());
    if (r.notes.size() > 0) result.evidence.set("notes", r.notes);
    return result;
  }

  Verdict overall = not_inspected.size() > 0 ? Verdict::kUnknown : Verdict::kPass;
  json::Value people_json = json::Value::array();
  int n = 0;
  for (auto& j : judged) {
    const DesktopResult& w = j.results[j.worst];
    if (verdictSeverity(w.verdict) > verdictSeverity(overall)) overall = w.verdict;
    json::Value pj = json::Value::object();
    pj.set("person", "person " + std::to_string(++n));
    pj.set("user", j.person.user.name);
    pj.set("uid", j.person.user.uid);
    pj.set("verdict", verdictName(w.verdict));
    pj.set("reason", w.reason.english());
    for (const char* k : {"desktop", "idle_to_lock_seconds", "lock_on_resume",
                          "enforced_by_administrator", "source"}) {
      if (const json::Value* v = w.evidence.find(k)) pj.set(k, *v);
    }
    json::Value found_by = json::Value::array();
    json::Value sessions = json::Value::array();
    for (const auto& s : j.person.sessions) {
      found_by.push("graphical session " + s.id);
      json::Value sj = json::Value::object();
      sj.set("id", s.id);
      sj.set("type", s.type);
      sj.set("desktop", s.desktop);
      sj.set("active", s.active);
      sj.set("remote", s.remote);
      sessions.push(std::move(sj));
    }
    for (const auto& m : j.person.markers) found_by.push("~/" + m);
    pj.set("found_by", found_by);
    if (sessions.size() > 0) pj.set("sessions", sessions);
    json::Value desktops = json::Value::array();
    for (const auto& d : j.results) desktops.push(d.evidence);
    pj.set("desktops", desktops);
    people_json.push(std::move(pj));
  }
  result.verdict = overall;
  result.evidence.set("people", people_json);
  if (not_inspected.size() > 0) result.evidence.set("not_inspected", not_inspected);
  if (r.notes.size() > 0) result.evidence.set("notes", r.notes);

  // Summary: every person, worst first; remediation for everyone not passing.
  std::vector<const Judged*> order;
  for (const auto& j : judged) order.push_back(&j);
  std::stable_sort(order.begin(), order.end(), [](const Judged* a, const Judged* b) {
    return verdictSeverity(a->results[a->worst].verdict) >
           verdictSeverity(b->results[b->worst].verdict);
  });
  using i18n::Lit;
  using i18n::Msg;
  std::vector<i18n::Message> phrases;
  std::vector<Advice> advice;
  std::vector<std::string> advice_keys;  // the same advice once
  for (const auto* j : order) {
    phrases.push_back(i18n::Joined({Lit(j->person.user.name), j->results[j->worst].reason}, ": "));
    for (const auto& d : j->results) {
      if (d.verdict == Verdict::kPass || !d.advice) continue;
      Advice a = *d.advice;
      // With several people on the PC, say whose account the advice is for.
      if (order.size() > 1) a.heading = Msg("For {1}:", {Lit(j->person.user.name)});
      std::string key = a.heading.english();
      for (const auto& st : a.steps) key += "\n" + st.english();
      if (std::find(advice_keys.begin(), advice_keys.end(), key) != advice_keys.end()) continue;
      advice_keys.push_back(key);
      advice.push_back(std::move(a));
    }
  }
  for (const auto& ni : not_inspected.asArray()) {
    phrases.push_back(Msg("{1}: could not look at the desktop settings ({2})",
                          {Lit(ni.find("user")->asString()), Lit(ni.find("reason")->asString())}));
  }
  if (not_inspected.size() > 0) {
    Advice a;
    a.code = "screen_lock.run_as_root";
    a.steps.push_back(
        Msg("Run hearth-agent as root so it can read every person's desktop settings."));
    advice.push_back(std::move(a));
  }
  result.setSummary(i18n::Joined(phrases, "; "));
  if (overall != Verdict::kPass) {
    for (auto& a : advice) result.addAdvice(std::move(a));
  }
  return result;
}

}  // namespace screen_lock

std::unique_ptr<Check> NewScreenLockCheck(uid_t effective_uid) {
  return std::make_unique<screen_lock::ScreenLockCheck>(effective_uid);
}

std::unique_ptr<Check> NewScreenLockCheck() { return NewScreenLockCheck(::geteuid()); }

}  // namespace hearth::checks
