// screen_lock on Windows: reading the values through SystemView and judging them (see
// windows_settings.h). No Windows API here: it builds and is tested on Linux too.
#include "screen_lock/windows_settings.h"

#include <algorithm>
#include <charconv>

#include "hearth/text.h"

namespace hearth::checks::screen_lock::windows {

namespace {

using i18n::Lit;
using i18n::Msg;

std::optional<int64_t> parseSeconds(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  std::string t = text::trim(*text);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || end != t.data() + t.size() || t.empty()) return std::nullopt;
  return v;
}

std::optional<std::string> asText(const RegistryValue& v) {
  if (v.type == RegistryValue::Type::kText) return v.text;
  if (v.type == RegistryValue::Type::kNumber) return std::to_string(v.number);
  return std::nullopt;
}

// The value, absent when the key or value does not exist; any other failure is noted.
std::optional<std::string> readText(const SystemView& system, RegistryRoot root,
                                    const std::string& key, const std::string& name,
                                    std::vector<std::string>& errors) {
  auto v = system.readRegistry(root, key, name);
  if (v.ok()) return asText(*v);
  if (v.status().code() != StatusCode::kNotFound) errors.push_back(v.status().message());
  return std::nullopt;
}

bool isOne(const std::optional<std::string>& v) { return v && text::trim(*v) == "1"; }

std::string describe(const Setting& s) {
  if (s.policy) return "\"" + *s.policy + "\" (policy)";
  if (s.user) return "\"" + *s.user + "\"";
  return "not set";
}

}  // namespace

LockValues ReadLockValues(const SystemView& system, RegistryRoot user_root,
                          const std::string& user_prefix) {
  LockValues v;
  const std::string desktop = user_prefix + kDesktopKey;
  const std::string policy = user_prefix + kDesktopPolicyKey;
  struct Named {
    Setting* setting;
    const char* name;
  };
  for (const Named& n :
       {Named{&v.active, "ScreenSaveActive"}, Named{&v.secure, "ScreenSaverIsSecure"},
        Named{&v.timeout, "ScreenSaveTimeOut"}, Named{&v.scrnsave, "SCRNSAVE.EXE"}}) {
    n.setting->user = readText(system, user_root, desktop, n.name, v.errors);
    n.setting->policy = readText(system, user_root, policy, n.name, v.errors);
  }
  if (auto limit = readText(system, RegistryRoot::kLocalMachine, kSystemPolicyKey,
                            "InactivityTimeoutSecs", v.errors)) {
    v.inactivity_timeout_secs = parseSeconds(limit);
  }
  auto power = system.powerSettings();
  if (power.ok()) {
    v.power = *power;
  } else {
    v.power_error = power.status().message();
  }
  return v;
}

LockConfig WindowsConfig(const LockValues& v) {
  LockConfig c;
  c.desktop = Desktop::kUnsupported;
  c.label = "windows";
  std::vector<std::string> saver_off;
  if (!isOne(v.active.effective()))
    saver_off.push_back("ScreenSaveActive is " + describe(v.active));
  const auto& program = v.scrnsave.effective();
  if (!program || text::trim(*program).empty()) {
    saver_off.push_back("no screen saver is chosen (SCRNSAVE.EXE " + describe(v.scrnsave) + ")");
  }
  if (!isOne(v.secure.effective())) {
    saver_off.push_back("ScreenSaverIsSecure is " + describe(v.secure));
  }
  std::optional<int64_t> saver_timeout = parseSeconds(v.timeout.effective());
  if (!saver_timeout || *saver_timeout <= 0) {
    saver_off.push_back("ScreenSaveTimeOut is " + describe(v.timeout));
  }
  std::optional<int64_t> idle;
  if (saver_off.empty()) idle = saver_timeout;
  const bool machine_limit = v.inactivity_timeout_secs && *v.inactivity_timeout_secs > 0;
  if (machine_limit && (!idle || *v.inactivity_timeout_secs < *idle)) {
    idle = v.inactivity_timeout_secs;
  }
  if (!idle) {
    c.disabled_by = saver_off;
    c.disabled_by.push_back("no machine inactivity limit (InactivityTimeoutSecs " +
                            (v.inactivity_timeout_secs ? std::to_string(*v.inactivity_timeout_secs)
                                                       : std::string("not set")) +
                            ")");
  }
  c.idle_seconds = idle;
  c.lock_delay_seconds = 0;
  if (v.power) {
    // Both on mains and on battery: the weaker decides.
    const auto& p = *v.power;
    if (p.lock_on_wake_ac.has_value() && p.lock_on_wake_dc.has_value()) {
      c.lock_on_resume = *p.lock_on_wake_ac && *p.lock_on_wake_dc;
    } else if (p.lock_on_wake_ac.has_value() && !*p.lock_on_wake_ac) {
      c.lock_on_resume = false;
    } else {
      c.lock_on_resume_note = "the power scheme does not say whether waking asks for a sign-in";
    }
  } else {
    c.lock_on_resume_note = "power settings: " + v.power_error;
  }
  // Enforced: each value that locks comes from a policy.
  const bool saver_enforced =
      v.active.policy && v.secure.policy && v.timeout.policy && v.scrnsave.policy;
  c.enforced = idle.has_value() && ((machine_limit && idle == v.inactivity_timeout_secs) ||
                                    (saver_off.empty() && saver_enforced));
  c.source.push(std::string("HKCU\\") + kDesktopKey);
  c.source.push(std::string("HKCU\\") + kDesktopPolicyKey);
  c.source.push(std::string("HKLM\\") + kSystemPolicyKey);
  json::Value s = json::Value::object();
  auto put = [&](const char* name, const Setting& setting) {
    json::Value j = json::Value::object();
    if (setting.user) j.set("user", *setting.user);
    if (setting.policy) j.set("policy", *setting.policy);
    s.set(name, std::move(j));
  };
  put("ScreenSaveActive", v.active);
  put("ScreenSaverIsSecure", v.secure);
  put("ScreenSaveTimeOut", v.timeout);
  put("SCRNSAVE.EXE", v.scrnsave);
  if (v.inactivity_timeout_secs) s.set("InactivityTimeoutSecs", *v.inactivity_timeout_secs);
  if (v.power) {
    json::Value p = json::Value::object();
    if (v.power->display_off_ac_seconds)
      p.set("display_off_ac_seconds", *v.power->display_off_ac_seconds);
    if (v.power->display_off_dc_seconds)
      p.set("display_off_dc_seconds", *v.power->display_off_dc_seconds);
    if (v.power->lock_on_wake_ac) p.set("lock_on_wake_ac", *v.power->lock_on_wake_ac);
    if (v.power->lock_on_wake_dc) p.set("lock_on_wake_dc", *v.power->lock_on_wake_dc);
    s.set("power", std::move(p));
  } else {
    s.set("power_error", v.power_error);
  }
  c.settings = std::move(s);
  return c;
}

Advice WindowsRemediation(const ScreenLockSettings& policy) {
  Advice a;
  a.code = "screen_lock.turn_on_auto_lock";
  a.variant = "windows";
  const int64_t minutes = policy.max_idle_seconds / 60;
  a.steps.push_back(
      Msg("Open Settings, then Personalization, then Lock screen, then Screen saver."));
  a.steps.push_back(minutes >= 1
                        ? i18n::MsgN("Choose a screen saver and set Wait to {1} minute or less.",
                                     "Choose a screen saver and set Wait to {1} minutes or less.",
                                     minutes, {Lit(std::to_string(minutes))})
                        : Msg("Choose a screen saver and set Wait to the shortest time offered."));
  a.steps.push_back(Msg("Turn on \"On resume, display logon screen\" and click OK."));
  if (policy.require_lock_on_resume) {
    a.steps.push_back(
        Msg("In Settings, Accounts, Sign-in options, set \"Require sign-in\" to \"When PC wakes "
            "up from sleep\"."));
  }
  return a;
}

CheckResult JudgeWindowsScreenLock(const LockValues& values, const std::string& user,
                                   const ScreenLockSettings& policy) {
  CheckResult result;
  result.evidence.set("max_idle_seconds", policy.max_idle_seconds);
  result.evidence.set("require_lock_on_resume", policy.require_lock_on_resume);
  LockConfig config = WindowsConfig(values);
  Assessment a = assess(config, policy);
  // A registry that could not be read cannot show a pass (and the reason says why).
  if (!values.errors.empty() && a.verdict == Verdict::kPass) {
    a.verdict = Verdict::kUnknown;
    a.reason = Msg("could not read the screen lock settings ({1})",
                   {Lit(text::join(values.errors, "; "))});
  }
  json::Value pj = json::Value::object();
  pj.set("person", "person 1");
  pj.set("user", user);
  pj.set("verdict", verdictName(a.verdict));
  pj.set("reason", a.reason.english());
  pj.set("desktop", "windows");
  if (a.idle_to_lock_seconds) pj.set("idle_to_lock_seconds", *a.idle_to_lock_seconds);
  if (config.lock_on_resume) pj.set("lock_on_resume", *config.lock_on_resume);
  pj.set("enforced_by_administrator", config.enforced);
  pj.set("source", config.source);
  pj.set("settings", config.settings);
  if (!values.errors.empty()) {
    json::Value errors = json::Value::array();
    for (const auto& e : values.errors) errors.push(e);
    pj.set("errors", std::move(errors));
  }
  json::Value people = json::Value::array();
  people.push(std::move(pj));
  result.evidence.set("people", std::move(people));
  result.verdict = a.verdict;
  result.setSummary(i18n::Joined({Lit(user), a.reason}, ": "));
  if (a.verdict != Verdict::kPass) result.addAdvice(WindowsRemediation(policy));
  return result;
}

StatusOr<std::vector<WindowsPerson>> LoadedPeople(const SystemView& system) {
  auto hives = system.listRegistrySubkeys(RegistryRoot::kUsers, "");
  if (!hives.ok()) return hives.status().withContext("listing the loaded hives (HKU)");
  std::vector<WindowsPerson> people;
  for (const auto& sid : *hives) {
    const bool person = sid.starts_with("S-1-5-21-") || sid.starts_with("S-1-12-1-");
    if (!person || sid.ends_with("_Classes")) continue;
    WindowsPerson p{sid, sid};
    auto path = system.readRegistry(RegistryRoot::kLocalMachine,
                                    std::string(kProfileListKey) + "\\" + sid, "ProfileImagePath");
    if (path.ok() && path->type == RegistryValue::Type::kText) {
      std::string folder = path->text;
      size_t slash = folder.find_last_of("\\/");
      if (slash != std::string::npos) folder = folder.substr(slash + 1);
      if (!folder.empty()) p.user = folder;
    }
    people.push_back(std::move(p));
  }
  return people;
}

CheckResult JudgeWindowsPeople(const SystemView& system, const ScreenLockSettings& policy) {
  CheckResult result;
  result.evidence.set("max_idle_seconds", policy.max_idle_seconds);
  result.evidence.set("require_lock_on_resume", policy.require_lock_on_resume);
  auto people = LoadedPeople(system);
  if (!people.ok()) {
    result.verdict = Verdict::kUnknown;
    result.setSummary(
        Msg("Could not tell who uses this PC: {1}", {Lit(people.status().message())}));
    result.evidence.set("people", json::Value::array());
    return result;
  }
  if (people->empty()) {
    result.verdict = Verdict::kNotApplicable;
    result.setSummary(Msg("No one is signed in to this PC"));
    result.evidence.set("people", json::Value::array());
    return result;
  }
  struct Judged {
    const WindowsPerson* person;
    CheckResult result;
  };
  std::vector<Judged> judged;
  for (const auto& p : *people) {
    LockValues values = ReadLockValues(system, RegistryRoot::kUsers, p.sid + "\\");
    judged.push_back({&p, JudgeWindowsScreenLock(values, p.user, policy)});
  }
  Verdict overall = Verdict::kPass;
  json::Value people_json = json::Value::array();
  int n = 0;
  for (const auto& j : judged) {
    if (verdictSeverity(j.result.verdict) > verdictSeverity(overall)) overall = j.result.verdict;
    json::Value pj = j.result.evidence.find("people")->asArray().at(0);
    pj.set("person", "person " + std::to_string(++n));
    pj.set("sid", j.person->sid);
    people_json.push(std::move(pj));
  }
  result.verdict = overall;
  result.evidence.set("people", std::move(people_json));
  // Summary: every person, worst first; the advice for each person not passing.
  std::stable_sort(judged.begin(), judged.end(), [](const Judged& a, const Judged& b) {
    return verdictSeverity(a.result.verdict) > verdictSeverity(b.result.verdict);
  });
  std::vector<i18n::Message> phrases;
  for (const auto& j : judged) phrases.push_back(j.result.summary_text);
  result.setSummary(i18n::Joined(phrases, "; "));
  for (const auto& j : judged) {
    if (j.result.verdict == Verdict::kPass) continue;
    Advice a = WindowsRemediation(policy);
    if (judged.size() > 1) a.heading = Msg("For {1}:", {Lit(j.person->user)});
    result.addAdvice(std::move(a));
  }
  return result;
}

}  // namespace hearth::checks::screen_lock::windows
