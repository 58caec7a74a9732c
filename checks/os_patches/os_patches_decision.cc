// os_patches: the decision (judgePatches: pass, fail or unknown from the facts and the policy's
// limits, with evidence) and the advice for the person's update tool. Pure: no I/O here; the
// parsers are in os_patches.cc.
#include <algorithm>
#include <cstdint>
#include <set>

#include "hearth/text.h"
#include "hearth/time.h"
#include "os_patches/os_patches.h"

namespace hearth::checks::os_patches {

namespace {

using Days = std::chrono::duration<int64_t, std::ratio<86400>>;

int64_t wholeDays(TimePoint from, TimePoint now) {
  if (now <= from) return 0;
  return std::chrono::duration_cast<Days>(now - from).count();
}

i18n::Message count(int64_t n) { return i18n::Lit(std::to_string(n)); }

i18n::Message forDays(int64_t days) {
  if (days == 0) return i18n::Msg("for less than a day");
  return i18n::MsgN("for {1} day", "for {1} days", days, {count(days)});
}

i18n::Message daysText(int64_t days) {
  return i18n::MsgN("{1} day", "{1} days", days, {count(days)});
}

bool overdue(TimePoint since, int limit_days, TimePoint now) {
  if (limit_days <= 0) return true;
  return now - since > std::chrono::hours(24) * limit_days;
}

// "2026-11-02": the day of `t` (UTC).
std::string dateText(TimePoint t) { return formatRfc3339(t).substr(0, 10); }

// Where a pending update's age counts from, in words: "fleet first seen 2026-11-02", "first seen
// on this PC 2026-12-01", or that this PC's first check already found it.
std::string ageCountsFrom(const PendingUpdate& p, TimePoint from, bool ages_from_now) {
  if (ages_from_now) return "now (no state directory)";
  switch (p.age_source) {
    case AgeSource::kFleet:
      return "fleet first seen " + dateText(from);
    case AgeSource::kUnknown:
      return "first seen on this PC " + dateText(from) +
             ", already pending at its first check (age unknown)";
    case AgeSource::kThisPc:
      break;
  }
  return "first seen on this PC " + dateText(from);
}

i18n::Message limitText(int limit_days) {
  if (limit_days <= 0) return i18n::Msg("limit: none may be pending");
  return i18n::Msg("limit {1}", {count(limit_days)});
}

}  // namespace

CheckResult judgePatches(const PatchFacts& facts, const OsPatchesSettings& settings,
                         TimePoint now) {
  CheckResult r;
  json::Value ev = json::Value::object();
  ev.set("package_manager", facts.manager);

  int64_t security_count = 0;
  int64_t unknown_security = 0;  // security updates already pending at this PC's first check
  std::optional<TimePoint> oldest_any, oldest_security;
  bool oldest_security_from_fleet = false;
  json::Value list = json::Value::array();
  for (const auto& p : facts.pending) {
    // The fleet's first sight, when older than this PC's, counts for both ages.
    TimePoint any_from = p.first_seen;
    TimePoint security_from = p.security_since.value_or(p.first_seen);
    if (p.fleet_first_seen) {
      any_from = std::min(any_from, *p.fleet_first_seen);
      security_from = std::min(security_from, *p.fleet_first_seen);
    }
    json::Value e = json::Value::object();
    e.set("name", p.name);
    e.set("installed", p.installed);
    e.set("candidate", p.candidate);
    e.set("security", p.security);
    e.set("first_seen", formatRfc3339(p.first_seen));
    if (p.security && p.security_since && *p.security_since != p.first_seen) {
      e.set("security_first_seen", formatRfc3339(*p.security_since));
    }
    TimePoint from = p.security ? security_from : any_from;
    e.set("age_from", formatRfc3339(from));
    e.set("age_counts_from", ageCountsFrom(p, from, facts.ages_from_now));
    list.push(std::move(e));
    if (!oldest_any || any_from < *oldest_any) oldest_any = any_from;
    if (p.security) {
      ++security_count;
      if (p.age_source == AgeSource::kUnknown) ++unknown_security;
      if (!oldest_security || security_from < *oldest_security) {
        oldest_security = security_from;
        oldest_security_from_fleet = p.fleet_first_seen.has_value();
      }
    }
  }
  int64_t pending_count = static_cast<int64_t>(facts.pending.size());
  ev.set("pending_count", pending_count);
  ev.set("security_count", security_count);
  if (oldest_any) ev.set("oldest_pending_days", wholeDays(*oldest_any, now));
  if (oldest_security) ev.set("oldest_security_days", wholeDays(*oldest_security, now));
  ev.set("pending", std::move(list));
  ev.set("ages_counted_from",
         facts.ages_from_now
             ? "now (no state directory: first-seen dates are not kept)"
             : "first seen (state directory), or the fleet's first sight when older");
  ev.set("unknown_age",
         settings.unknown_age == OsPatchesSettings::UnknownAge::kFail ? "fail" : "grace");

  json::Value lists = json::Value::object();
  std::optional<int64_t> list_age_days;
  if (facts.lists_fresh_at) {
    lists.set("fresh_at", formatRfc3339(*facts.lists_fresh_at));
    list_age_days = wholeDays(*facts.lists_fresh_at, now);
    lists.set("age_days", *list_age_days);
  }
  lists.set("source", facts.lists_source);
  lists.set("max_age_days", settings.max_package_list_age_days);
  ev.set("package_lists", std::move(lists));

  json::Value reboot =
      facts.reboot.evidence.isObject() ? facts.reboot.evidence : json::Value::object();
  std::optional<int64_t> reboot_days;
  switch (facts.reboot.need) {
    case RebootNeed::kNo:
      reboot.set("pending", false);
      break;
    case RebootNeed::kYes:
      reboot.set("pending", true);
      if (facts.reboot.since) {
        reboot.set("since", formatRfc3339(*facts.reboot.since));
        reboot_days = wholeDays(*facts.reboot.since, now);
        reboot.set("days", *reboot_days);
      }
      break;
    case RebootNeed::kUnknown:
      reboot.set("pending", "unknown");
      reboot.set("reason", facts.reboot.unknown_reason);
      break;
  }
  reboot.set("grace_days", settings.reboot_grace_days);
  ev.set("reboot", std::move(reboot));
  ev.set("automatic_updates", facts.automatic_updates);
  if (facts.extra.isObject()) {
    for (const auto& [k, v] : facts.extra.asObject()) ev.set(k, v);
  }
  ev.set("cached", facts.from_cache);

  using i18n::Lit;
  using i18n::Msg;
  using i18n::MsgN;

  // Stale or missing package lists: we cannot know what is pending.
  const bool windows = facts.manager == kWindowsUpdateManager;
  if (!facts.lists_fresh_at) {
    r.verdict = Verdict::kUnknown;
    r.setSummary(windows ? Msg("Cannot tell which updates are pending: Windows Update has no "
                               "successful search for updates on record")
                         : Msg("Cannot tell which updates are pending: no package lists were "
                               "found"));
    r.addAdvice(updateAdvice(facts, "refresh"));
    r.evidence = std::move(ev);
    return r;
  }
  if (now - *facts.lists_fresh_at > std::chrono::hours(24) * settings.max_package_list_age_days) {
    r.verdict = Verdict::kUnknown;
    const std::vector<i18n::Message> args = {count(*list_age_days),
                                             count(settings.max_package_list_age_days)};
    r.setSummary(windows ? MsgN("Windows Update last searched for updates {1} day ago (limit "
                                "{2}): cannot tell which updates are pending",
                                "Windows Update last searched for updates {1} days ago (limit "
                                "{2}): cannot tell which updates are pending",
                                *list_age_days, args)
                         : MsgN("Package lists are {1} day old (limit {2}): cannot tell which "
                                "updates are pending",
                                "Package lists are {1} days old (limit {2}): cannot tell which "
                                "updates are pending",
                                *list_age_days, args));
    r.addAdvice(updateAdvice(facts, "refresh"));
    r.evidence = std::move(ev);
    return r;
  }

  std::vector<i18n::Message> fails;
  bool update_fail = false;
  bool reboot_fail = false;
  if (oldest_security && overdue(*oldest_security, settings.max_security_update_age_days, now)) {
    int64_t d = wholeDays(*oldest_security, now);
    i18n::Message limit = limitText(settings.max_security_update_age_days);
    if (oldest_security_from_fleet) {
      limit = Msg("{1}, counted from the fleet's first sight {2}",
                  {limit, Lit(dateText(*oldest_security))});
    }
    fails.push_back(MsgN("{1} security update pending {2} ({3})",
                         "{1} security updates pending {2} ({3})", security_count,
                         {count(security_count), forDays(d), limit}));
    update_fail = true;
  }
  if (unknown_security > 0 && settings.unknown_age == OsPatchesSettings::UnknownAge::kFail) {
    fails.push_back(
        MsgN("{1} security update already pending when this PC was first checked, "
             "for an unknown time (policy: unknown_age fail)",
             "{1} security updates already pending when this PC was first checked, "
             "for an unknown time (policy: unknown_age fail)",
             unknown_security, {count(unknown_security)}));
    update_fail = true;
  }
  if (oldest_any && overdue(*oldest_any, settings.max_update_age_days, now)) {
    int64_t d = wholeDays(*oldest_any, now);
    fails.push_back(
        MsgN("{1} update pending {2} ({3})", "{1} updates pending {2} ({3})", pending_count,
             {count(pending_count), forDays(d), limitText(settings.max_update_age_days)}));
    update_fail = true;
  }
  if (facts.reboot.need == RebootNeed::kYes) {
    TimePoint since = facts.reboot.since.value_or(now);
    if (now - since > std::chrono::hours(24) * settings.reboot_grace_days) {
      fails.push_back(Msg("Restart pending {1} (grace {2})",
                          {forDays(wholeDays(since, now)), daysText(settings.reboot_grace_days)}));
      reboot_fail = true;
    }
  }

  if (!fails.empty()) {
    r.verdict = Verdict::kFail;
    r.setSummary(i18n::Joined(fails, "; "));
    if (update_fail) {
      r.addAdvice(updateAdvice(facts, "install"));
    } else if (reboot_fail) {
      r.addAdvice(updateAdvice(facts, "restart"));
    }
    r.evidence = std::move(ev);
    return r;
  }

  if (facts.reboot.need == RebootNeed::kUnknown) {
    r.verdict = Verdict::kUnknown;
    r.setSummary(
        Msg("Cannot tell whether a restart is pending: {1}", {Lit(facts.reboot.unknown_reason)}));
    Advice a;
    a.code = "os_patches.restart_unknown";
    if (facts.manager == "apt" || windows) {
      a.steps.push_back(Msg("Contact your IT department and include the summary above."));
    } else {
      a.variant = "dnf";
      a.steps.push_back(
          Msg("Install the needs-restarting tool: sudo dnf install dnf-plugins-core"));
      a.steps.push_back(Msg("If that does not help, contact your IT department."));
    }
    r.addAdvice(std::move(a));
    r.evidence = std::move(ev);
    return r;
  }

  r.verdict = Verdict::kPass;
  i18n::Message s;
  if (pending_count == 0) {
    s = Msg("All updates are installed");
  } else if (security_count > 0) {
    s = MsgN("{1} update pending ({2}) {3}, within the limits",
             "{1} updates pending ({2}) {3}, within the limits", pending_count,
             {count(pending_count),
              MsgN("{1} security update", "{1} security updates", security_count,
                   {count(security_count)}),
              forDays(wholeDays(*oldest_any, now))});
  } else {
    s = MsgN("{1} update pending {2}, within the limits",
             "{1} updates pending {2}, within the limits", pending_count,
             {count(pending_count), forDays(wholeDays(*oldest_any, now))});
  }
  if (facts.reboot.need == RebootNeed::kYes) {
    s = i18n::Joined(
        {s, Msg("a restart is pending {1} (grace {2})",
                {forDays(reboot_days.value_or(0)), daysText(settings.reboot_grace_days)})},
        "; ");
    r.addAdvice(updateAdvice(facts, "restart"));
  } else if (pending_count > 0) {
    r.addAdvice(updateAdvice(facts, "install"));
  }
  r.setSummary(std::move(s));
  r.evidence = std::move(ev);
  return r;
}

Advice updateAdvice(const PatchFacts& facts, std::string_view action) {
  using i18n::Lit;
  using i18n::Msg;
  const DesktopEnv& env = facts.desktop;
  const bool apt = facts.manager == "apt";
  Advice a;
  if (action == "restart") {
    a.code = "os_patches.restart";
    a.steps.push_back(Msg("Save your work."));
    a.steps.push_back(Msg("Restart the computer to finish installing updates."));
    return a;
  }
  const bool refresh = action == "refresh";
  a.code = refresh ? "os_patches.refresh_package_lists" : "os_patches.install_updates";
  if (refresh) a.steps.push_back(Msg("Connect to the internet."));
  if (facts.manager == kWindowsUpdateManager) {
    a.variant = "windows-settings";
    a.steps.push_back(
        Msg("Open Settings and choose Windows Update (on Windows 10: Update & "
            "Security, then Windows Update)."));
    a.steps.push_back(refresh ? Msg("Click Check for updates and wait until it is done.")
                              : Msg("Click Check for updates, then install everything it lists."));
    if (!refresh) a.steps.push_back(Msg("Restart the computer when Windows asks you to."));
    return a;
  }
  // The graphical tool this desktop and distribution come with.
  if (env.mint_update) {
    a.variant = "mint-update-manager";
    a.steps.push_back(Msg("Open Update Manager from the menu."));
    a.steps.push_back(refresh ? Msg("Click Refresh.") : Msg("Click Install Updates."));
  } else if (env.software_updater && env.kind != DesktopKind::kKde) {
    a.variant = "ubuntu-software-updater";
    a.steps.push_back(Msg("Open Software Updater (search for it under Show Apps)."));
    a.steps.push_back(refresh ? Msg("Let it check for updates.")
                              : Msg("Click Install Now and enter your password."));
  } else if (env.discover && env.kind == DesktopKind::kKde) {
    a.variant = "kde-discover";
    a.steps.push_back(Msg("Open Discover from the application menu."));
    a.steps.push_back(refresh ? Msg("Go to Updates and click Refresh.")
                              : Msg("Go to Updates and click Update All."));
  } else if (env.gnome_software) {
    a.variant = "gnome-software";
    a.steps.push_back(Msg("Open Software (search for it under Activities)."));
    a.steps.push_back(refresh ? Msg("Go to the Updates tab and click the refresh button.")
                              : Msg("Go to the Updates tab and click Download, then Restart & "
                                    "Update."));
  } else {
    a.variant = apt ? "apt" : "dnf";
  }
  // The command, for everyone (and the only way where no tool was found).
  std::string command;
  if (refresh) {
    command = apt ? "sudo apt update" : "sudo dnf makecache --refresh";
  } else if (!apt) {
    command = "sudo dnf upgrade --refresh";
  } else if (env.isLike("ubuntu")) {
    command = "sudo apt update && sudo apt upgrade";
  } else {
    command = "sudo apt update && sudo apt full-upgrade";
  }
  if (a.variant == "apt" || a.variant == "dnf") {
    a.steps.push_back(Msg("Open a terminal and run: {1}", {Lit(command)}));
  } else {
    a.variant += apt ? "+apt" : "+dnf";
    a.steps.push_back(Msg("Or open a terminal and run: {1}", {Lit(command)}));
  }
  if (!refresh) a.steps.push_back(Msg("Restart the computer when the updates are installed."));
  return a;
}

std::vector<SeenEntry> applyFirstSeen(const std::vector<SeenEntry>& seen,
                                      std::vector<PendingUpdate>& pending, TimePoint now) {
  std::vector<SeenEntry> out;
  for (auto& p : pending) {
    // The same update seen before, or an older candidate of this package while the installed
    // version stayed the same (the package has needed an update since then).
    const SeenEntry* prior = nullptr;
    for (const auto& s : seen) {
      if (s.name != p.name) continue;
      if (s.candidate == p.candidate || s.installed == p.installed) {
        if (prior == nullptr || s.first_seen < prior->first_seen) prior = &s;
      }
    }
    p.first_seen = prior != nullptr ? std::min(prior->first_seen, now) : now;
    if (p.security) {
      p.security_since =
          prior != nullptr && prior->security_since ? std::min(*prior->security_since, now) : now;
    } else {
      p.security_since.reset();
    }
    out.push_back(SeenEntry{p.name, p.installed, p.candidate, p.first_seen, p.security_since});
  }
  return out;
}

}  // namespace hearth::checks::os_patches
