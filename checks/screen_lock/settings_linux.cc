// screen_lock on Linux: reading each person's desktop settings as that person (gsettings run with
// their identity, KConfig and xfconf files read through SystemView::readFileAs) and judging them
// with the pure functions of gsettings.cc, kconfig.cc, xfconf.cc and screen_lock.cc.
#include <algorithm>
#include <map>

#include "hearth/text.h"
#include "screen_lock/screen_lock_linux.h"

namespace hearth::checks::screen_lock {

namespace {

constexpr char kGsettings[] = "/usr/bin/gsettings";
constexpr size_t kSettingsFileLimit = size_t{256} * 1024;

std::string tildePath(const Person& p, const std::string& path) {
  const std::string& home = p.user.home;
  if (!home.empty() && home != "/" && path.starts_with(home + "/")) {
    return "~" + path.substr(home.size());
  }
  return path;
}

}  // namespace

StatusOr<Command> ScreenLockCheck::commandAs(const Run& r, const Person& p,
                                             std::vector<std::string> argv) const {
  if (!p.identity_problem.empty()) return FailedPreconditionError(p.identity_problem);
  Command c;
  c.argv = std::move(argv);
  c.timeout = std::chrono::seconds(15);
  c.max_output = 8 << 20;
  std::string run_dir = "/run/user/" + std::to_string(p.identity.uid);
  if (auto d = r.system.stat(run_dir, false); d.ok() && d->type == FileType::kDirectory) {
    c.env["XDG_RUNTIME_DIR"] = run_dir;
    if (auto b = r.system.stat(run_dir + "/bus", false); b.ok() && b->type == FileType::kSocket) {
      c.env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=" + run_dir + "/bus";
    }
  }
  if (effective_uid_ == 0) {
    c.as_user = p.identity;
  } else if (p.identity.uid == effective_uid_) {
    // Already this user: no privileges to drop (and setgroups would fail).
    c.env["HOME"] = p.identity.home;
    c.env["USER"] = p.identity.name;
    c.env["LOGNAME"] = p.identity.name;
  } else {
    return PermissionDeniedError("Hearth runs as uid " + std::to_string(effective_uid_) +
                                 " and cannot read the settings of " + p.user.name +
                                 " (run it as root)");
  }
  return c;
}

std::vector<std::string> ScreenLockCheck::configDirs(const Run& r, const Person& p) const {
  std::vector<std::string> dirs;
  if (p.session_config_dirs) {
    for (const auto& d : text::split(*p.session_config_dirs, ':')) {
      if (!d.empty() && d[0] == '/' && dirs.size() < 16) dirs.push_back(d);
    }
  }
  if (dirs.empty()) {
    dirs.push_back("/etc/xdg");
    // Fedora's KDE profile appends its defaults to XDG_CONFIG_DIRS.
    const std::string fedora = "/usr/share/kde-settings/kde-profile/default/xdg";
    if (auto st = r.system.stat(fedora, true); st.ok() && st->type == FileType::kDirectory) {
      dirs.push_back(fedora);
    }
  }
  return dirs;
}

namespace {

// Kiosk locks count only from files an administrator controls: owned by root and not writable by
// others (XDG_CONFIG_DIRS of a session is the user's to set). Under --root ownership of the copy
// means nothing, so every system file counts.
bool adminOwned(const SystemView& system, const std::string& path) {
  if (system.isRooted()) return true;
  auto st = system.stat(path, true);
  return st.ok() && st->uid == 0 && (st->mode & 0002) == 0;
}

void stripImmutability(KConfigFile& f) {
  f.file_immutable = false;
  f.immutable_groups.clear();
  for (auto& e : f.entries) e.immutable = false;
}

using i18n::Lit;
using i18n::Msg;

DesktopResult unknownResult(Desktop d, std::string label, i18n::Message reason, Advice advice) {
  DesktopResult res;
  res.desktop = d;
  res.label = std::move(label);
  res.verdict = Verdict::kUnknown;
  res.reason = std::move(reason);
  res.advice = std::move(advice);
  res.evidence.set("desktop", res.label);
  res.evidence.set("verdict", "unknown");
  res.evidence.set("reason", res.reason.english());
  return res;
}

Advice cannotReadAdvice(const std::string& user) {
  Advice a;
  a.code = "screen_lock.cannot_read_settings";
  a.steps.push_back(Msg("Hearth could not read the screen-lock settings of {1}.", {Lit(user)}));
  a.steps.push_back(
      Msg("If this persists, contact your IT department and include the summary above."));
  return a;
}

Advice withoutRootAdvice() {
  Advice a;
  a.code = "screen_lock.check_on_the_computer";
  a.steps.push_back(
      Msg("Run hearth-agent check on the computer itself (without --root) to judge "
          "these settings."));
  return a;
}

DesktopResult fromConfig(const LockConfig& c, const ScreenLockSettings& policy, Advice advice) {
  Assessment a = assess(c, policy);
  DesktopResult res;
  res.desktop = c.desktop;
  res.label = c.label;
  res.verdict = a.verdict;
  res.reason = a.reason;
  if (a.verdict != Verdict::kPass) res.advice = std::move(advice);
  res.evidence.set("desktop", c.label);
  res.evidence.set("verdict", verdictName(a.verdict));
  res.evidence.set("idle_to_lock_seconds",
                   a.idle_to_lock_seconds ? json::Value(*a.idle_to_lock_seconds) : json::Value());
  res.evidence.set("lock_on_resume",
                   c.lock_on_resume ? json::Value(*c.lock_on_resume) : json::Value());
  res.evidence.set("enforced_by_administrator", c.enforced);
  res.evidence.set("source", c.source);
  res.evidence.set("settings", c.settings);
  res.evidence.set("reason", a.reason.english());
  return res;
}

}  // namespace

Advice ScreenLockCheck::adviceFor(const Run& r, Desktop desktop, std::string_view label,
                                  int64_t grace) const {
  int major = desktop == Desktop::kGnome ? r.gnome_major.value_or(0)
              : desktop == Desktop::kKde ? r.plasma_major.value_or(0)
                                         : 0;
  return remediationFor(desktop, major, label, r.policy, grace);
}

StatusOr<std::map<std::string, std::string>> ScreenLockCheck::listSchema(Run& r, const Person& p,
                                                                         const std::string& schema,
                                                                         SchemaCache& cache) const {
  if (auto it = cache.find(schema); it != cache.end()) return it->second;
  auto compute = [&]() -> StatusOr<std::map<std::string, std::string>> {
    HEARTH_ASSIGN_OR_RETURN(Command cmd, commandAs(r, p, {kGsettings, "list-recursively", schema}));
    auto res = r.system.run(cmd);
    if (!res.ok()) {
      Status s = res.status();
      if (s.code() == StatusCode::kNotFound) {
        s = UnavailableError(std::string(kGsettings) + " is not installed");
      }
      return s.withContext("running gsettings as " + p.user.name);
    }
    if (res->term_signal == 0 && res->exit_code == 1 &&
        res->err.find("No such schema") != std::string::npos) {
      return NotFoundError("no schema " + schema);
    }
    if (res->term_signal != 0 || res->exit_code != 0) {
      return UnavailableError("gsettings as " + p.user.name + " exited with " +
                              (res->term_signal != 0 ? "signal " + std::to_string(res->term_signal)
                                                     : "code " + std::to_string(res->exit_code)) +
                              ": " + text::firstLine(res->err, 300));
    }
    if (std::string problem = gsettingsBackendProblem(res->err); !problem.empty()) {
      return UnavailableError(problem);
    }
    if (res->out_truncated)
      return ResourceExhaustedError("gsettings printed more than Hearth reads");
    GSettingsValues all = parseGSettingsList(res->out);
    return all[schema];
  };
  auto result = compute();
  cache.emplace(schema, result);
  return result;
}

DesktopResult ScreenLockCheck::judgeGSettings(Run& r, Person& p, Desktop d, bool from_session,
                                              SchemaCache& cache) const {
  std::string label(desktopName(d));
  std::string family = d == Desktop::kGnome ? "GNOME" : "Cinnamon";
  if (r.system.isRooted()) {
    return unknownResult(
        d, label, Msg("{1} settings need gsettings; not available under --root", {Lit(family)}),
        withoutRootAdvice());
  }
  // The session schema first: when it is missing, this desktop is not installed (one process).
  const std::vector<std::string> schemas =
      d == Desktop::kGnome
          ? std::vector<std::string>{"org.gnome.desktop.session", "org.gnome.desktop.screensaver",
                                     "org.gnome.desktop.lockdown"}
          : std::vector<std::string>{
                "org.cinnamon.desktop.session", "org.cinnamon.desktop.screensaver",
                "org.cinnamon.desktop.lockdown", "org.cinnamon.settings-daemon.plugins.power"};
  GSettingsValues values;
  for (const auto& schema : schemas) {
    auto keys = listSchema(r, p, schema, cache);
    if (keys.ok()) {
      values[schema] = *keys;
      continue;
    }
    if (keys.status().code() == StatusCode::kNotFound) {
      if (schema == schemas.front()) break;  // not installed: gnomeConfig says so below
      continue;
    }
    return unknownResult(d, label, Lit(keys.status().message()), cannotReadAdvice(p.user.name));
  }
  auto keys = d == Desktop::kGnome ? gnomeRelevantKeys(values) : cinnamonRelevantKeys(values);
  auto probe = d == Desktop::kGnome ? gnomeConfig(values, false) : cinnamonConfig(values, false);
  if (!probe.ok()) {
    if (probe.status().code() == StatusCode::kNotFound && !from_session) {
      DesktopResult res;
      res.desktop = d;
      res.label = label;
      res.absent = true;
      return res;
    }
    return unknownResult(d, label, Lit(probe.status().message()), cannotReadAdvice(p.user.name));
  }
  // Enforced = no relevant key is writable. Ask one key at a time and stop at the first
  // writable one (the usual case on an unmanaged machine costs one process).
  bool enforced = !keys.empty();
  for (const auto& [schema, key] : keys) {
    auto cmd = commandAs(r, p, {kGsettings, "writable", schema, key});
    if (!cmd.ok()) {
      enforced = false;
      break;
    }
    auto w = r.system.run(*cmd);
    if (!w.ok() || w->exit_code != 0 || text::trim(w->out) != "false") {
      enforced = false;
      break;
    }
  }
  LockConfig c = std::move(probe).value();
  c.enforced = enforced;
  return fromConfig(c, r.policy, adviceFor(r, c.desktop, c.label, c.grace_seconds_hint));
}

DesktopResult ScreenLockCheck::judgeKde(Run& r, Person& p) const {
  std::vector<std::string> dirs = configDirs(r, p);
  KConfigCascade cascade;
  json::Value read = json::Value::array();
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
    std::string path = *it + "/kscreenlockerrc";
    auto content = r.system.readFileAs(p.identity, path, kSettingsFileLimit);
    if (!content.ok()) continue;  // missing or unreadable for the user: KDE cannot see it either
    KConfigFile f = parseKConfig(*content);
    if (!adminOwned(r.system, path)) stripImmutability(f);
    cascade.merge(f, tildePath(p, path));
    read.push(tildePath(p, path));
  }
  std::string user_file = p.user.home + "/.config/kscreenlockerrc";
  if (!p.identity_problem.empty()) {
    return unknownResult(Desktop::kKde, "kde", Lit(p.identity_problem),
                         cannotReadAdvice(p.user.name));
  }
  auto content = r.system.readFileAs(p.identity, user_file, kSettingsFileLimit);
  if (content.ok()) {
    KConfigFile f = parseKConfig(*content);
    // The user's own [$i] marks bind nobody (nothing is read after this file).
    stripImmutability(f);
    cascade.merge(f, tildePath(p, user_file));
    read.push(tildePath(p, user_file));
  } else if (content.status().code() != StatusCode::kNotFound) {
    return unknownResult(Desktop::kKde, "kde",
                         Msg("cannot read {1}: {2}",
                             {Lit(tildePath(p, user_file)), Lit(content.status().message())}),
                         cannotReadAdvice(p.user.name));
  }
  LockConfig c = kdeConfig(cascade, r.policy.require_lock_on_resume);
  if (c.source.size() == 0) c.source.push("defaults (no kscreenlockerrc)");
  DesktopResult res =
      fromConfig(c, r.policy, adviceFor(r, c.desktop, c.label, c.grace_seconds_hint));
  res.evidence.set("files_read", read);
  return res;
}

DesktopResult ScreenLockCheck::judgeXfce(Run& r, Person& p) const {
  if (!p.identity_problem.empty()) {
    return unknownResult(Desktop::kXfce, "xfce", Lit(p.identity_problem),
                         cannotReadAdvice(p.user.name));
  }
  // The settings below belong to xfce4-screensaver. XFCE can lock with light-locker or
  // xscreensaver instead, whose settings Hearth does not read: without xfce4-screensaver the
  // answer is unknown, not its defaults.
  bool screensaver = false;
  for (const char* bin : {"/usr/bin/xfce4-screensaver", "/usr/local/bin/xfce4-screensaver"}) {
    screensaver = screensaver || r.system.stat(bin, true).ok();
  }
  if (!screensaver) {
    return unknownResult(Desktop::kXfce, "xfce",
                         Msg("xfce4-screensaver is not installed, so the screen locker in use "
                             "(light-locker or xscreensaver) is one Hearth cannot read"),
                         adviceFor(r, Desktop::kUnsupported, "XFCE without xfce4-screensaver", 0));
  }
  std::vector<std::string> dirs = configDirs(r, p);
  const std::string rel = "/xfce4/xfconf/xfce-perchannel-xml/";
  XfconfChannel channels[2];
  const char* names[2] = {"xfce4-screensaver", "xfce4-power-manager"};
  for (int i = 0; i < 2; ++i) {
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
      std::string path = *it + rel + names[i] + ".xml";
      auto content = r.system.readFileAs(p.identity, path, kSettingsFileLimit);
      if (!content.ok()) continue;
      auto file = parseXfconfXml(*content);
      if (!file.ok()) {
        r.notes.push("ignored " + path + ": " + file.status().message());
        continue;
      }
      if (!adminOwned(r.system, path)) {
        file->locked.clear();
        file->unlocked.clear();
        for (auto& prop : file->properties) {
          prop.locked.clear();
          prop.unlocked.clear();
        }
      }
      channels[i].merge(*file, true, tildePath(p, path), p.user.name, p.group_names);
    }
    std::string user_file = p.user.home + "/.config" + rel + names[i] + ".xml";
    auto content = r.system.readFileAs(p.identity, user_file, kSettingsFileLimit);
    if (content.ok()) {
      auto file = parseXfconfXml(*content);
      if (!file.ok()) {
        return unknownResult(Desktop::kXfce, "xfce",
                             Msg("cannot parse {1}: {2}",
                                 {Lit(tildePath(p, user_file)), Lit(file.status().message())}),
                             cannotReadAdvice(p.user.name));
      }
      channels[i].merge(*file, false, tildePath(p, user_file), p.user.name, p.group_names);
    } else if (content.status().code() != StatusCode::kNotFound) {
      return unknownResult(Desktop::kXfce, "xfce",
                           Msg("cannot read {1}: {2}",
                               {Lit(tildePath(p, user_file)), Lit(content.status().message())}),
                           cannotReadAdvice(p.user.name));
    }
  }
  LockConfig c = xfceConfig(channels[0], channels[1], r.policy.require_lock_on_resume);
  if (c.source.size() == 0) c.source.push("defaults (no xfconf files)");
  return fromConfig(c, r.policy, adviceFor(r, c.desktop, c.label, c.grace_seconds_hint));
}

std::vector<DesktopResult> ScreenLockCheck::judge(Run& r, Person& p) const {
  std::vector<DesktopResult> out;
  SchemaCache gsettings_cache;
  for (const auto& d : p.desktops) {
    switch (d.desktop) {
      case Desktop::kGnome:
      case Desktop::kCinnamon:
        out.push_back(judgeGSettings(r, p, d.desktop, d.from_session, gsettings_cache));
        break;
      case Desktop::kKde:
        out.push_back(judgeKde(r, p));
        break;
      case Desktop::kXfce:
        out.push_back(judgeXfce(r, p));
        break;
      case Desktop::kNone:
      case Desktop::kUnsupported:
        out.push_back(unknownResult(
            Desktop::kUnsupported, d.label,
            Msg("Hearth cannot read the screen-lock settings of {1} sessions", {Lit(d.label)}),
            adviceFor(r, Desktop::kUnsupported, d.label, 0)));
        break;
    }
  }
  out.erase(std::remove_if(out.begin(), out.end(), [](const DesktopResult& x) { return x.absent; }),
            out.end());
  return out;
}

}  // namespace hearth::checks::screen_lock
