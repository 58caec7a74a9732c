// screen_lock on Linux: finds the people on the machine (logind sessions, local users with desktop
// settings), reads each person's settings as that person (gsettings run with their identity, files
// read through SystemView::readFileAs) and judges them with the pure functions in screen_lock.cc.
#include <algorithm>
#include <map>
#include <set>
#include <unistd.h>

#include "common/text.h"
#include "screen_lock/screen_lock.h"

namespace hearth::checks {

namespace {

namespace sl = screen_lock;
using sl::Desktop;

constexpr char kGsettings[] = "/usr/bin/gsettings";
constexpr char kGetent[] = "/usr/bin/getent";
constexpr size_t kSettingsFileLimit = size_t{256} * 1024;
constexpr size_t kSystemFileLimit = 4 << 20;
constexpr size_t kMaxSessions = 1000;
constexpr size_t kMaxProcScan = 20000;

// A per-user file that marks someone as a person with a desktop, and which desktop it suggests.
struct Marker {
  const char* rel;  // under the home directory
  Desktop desktop;
  bool needs_installed_session;  // only counts if that desktop's session is installed
};
constexpr Marker kMarkers[] = {
    {".config/dconf/user", Desktop::kGnome, false},  // GNOME or Cinnamon, see desktopsFromMarkers
    {".config/kscreenlockerrc", Desktop::kKde, false},
    {".config/kdeglobals", Desktop::kKde, true},
    {".config/xfce4/xfconf/xfce-perchannel-xml/xfce4-screensaver.xml", Desktop::kXfce, false},
    {".config/xfce4/xfconf/xfce-perchannel-xml/xfce4-session.xml", Desktop::kXfce, true},
};

struct InstalledSessions {
  bool any_listed = false;
  std::set<Desktop> desktops;
};

struct DesktopToJudge {
  Desktop desktop = Desktop::kNone;
  std::string label;          // for unsupported desktops: the session's name
  bool from_session = false;  // a live session runs it (absence of its schemas is then unknown)
};

struct Person {
  sl::PasswdEntry user;
  UserIdentity identity;
  std::string identity_problem;  // non-empty: we cannot act as this user
  std::vector<sl::LogindSession> sessions;
  std::vector<std::string> markers;  // rel paths found
  std::vector<std::string> group_names;
  std::vector<DesktopToJudge> desktops;
  std::optional<std::string> session_config_dirs;  // XDG_CONFIG_DIRS of a live session
};

struct DesktopResult {
  Desktop desktop = Desktop::kNone;
  std::string label;
  Verdict verdict = Verdict::kUnknown;
  std::string reason;
  std::string remediation;
  json::Value evidence = json::Value::object();
  bool absent = false;  // the desktop is not installed: this result does not count
};

std::string tildePath(const Person& p, const std::string& path) {
  const std::string& home = p.user.home;
  if (!home.empty() && home != "/" && text::startsWith(path, home + "/")) {
    return "~" + path.substr(home.size());
  }
  return path;
}

std::string firstLine(std::string_view s) {
  std::string t = text::trim(s);
  size_t nl = t.find('\n');
  if (nl != std::string::npos) t = t.substr(0, nl);
  if (t.size() > 300) t = t.substr(0, 300) + "...";
  return t;
}

class ScreenLockCheck final : public Check {
 public:
  explicit ScreenLockCheck(uid_t effective_uid) : effective_uid_(effective_uid) {}

  std::string_view id() const override { return "screen_lock"; }

  StatusOr<CheckResult> run(const SystemView& system, const CheckParams& params) const override;

 private:
  // Context for one run.
  struct Run {
    const SystemView& system;
    ScreenLockSettings policy;
    std::vector<sl::PasswdEntry> passwd;
    std::vector<sl::GroupEntry> groups;
    sl::UidRange range;
    InstalledSessions installed;
    json::Value notes = json::Value::array();
  };

  std::vector<sl::LogindSession> readSessions(Run& r) const;
  InstalledSessions readInstalledSessions(const SystemView& system) const;
  void fillIdentity(Run& r, Person& p) const;
  std::optional<std::map<std::string, std::string>> sessionEnvironment(
      const SystemView& system, const sl::LogindSession& s) const;
  void chooseDesktops(Run& r, Person& p) const;
  std::vector<DesktopResult> judge(Run& r, Person& p) const;
  // One `gsettings list-recursively SCHEMA` per schema, cached per person. NotFound: no such
  // schema; other errors: gsettings could not show the real settings.
  using SchemaCache = std::map<std::string, StatusOr<std::map<std::string, std::string>>>;
  StatusOr<std::map<std::string, std::string>> listSchema(Run& r, const Person& p,
                                                          const std::string& schema,
                                                          SchemaCache& cache) const;
  DesktopResult judgeGSettings(Run& r, Person& p, Desktop d, bool from_session,
                               SchemaCache& cache) const;
  DesktopResult judgeKde(Run& r, Person& p) const;
  DesktopResult judgeXfce(Run& r, Person& p) const;
  std::vector<std::string> configDirs(const Run& r, const Person& p) const;
  // The command to run as `p`, or the reason it cannot be run.
  StatusOr<Command> commandAs(const Run& r, const Person& p, std::vector<std::string> argv) const;

  uid_t effective_uid_;
};

// --- discovery ----------------------------------------------------------------------------------

std::vector<sl::LogindSession> ScreenLockCheck::readSessions(Run& r) const {
  std::vector<sl::LogindSession> out;
  const std::string dir = "/run/systemd/sessions";
  auto names = r.system.listDir(dir);
  if (!names.ok()) {
    if (names.status().code() != StatusCode::kNotFound) {
      r.notes.push("cannot list " + dir + ": " + names.status().message());
    }
    return out;
  }
  for (const auto& name : *names) {
    if (out.size() >= kMaxSessions) break;
    // <id>.ref are FIFOs held by the session's processes: never opened.
    if (name.empty() || name[0] == '.' || text::endsWith(name, ".ref")) continue;
    std::string path = dir + "/" + name;
    auto info = r.system.stat(path, false);
    if (!info.ok() || info->type != FileType::kRegular) continue;
    auto content = r.system.readFile(path, size_t{64} * 1024, false);
    if (!content.ok()) {
      r.notes.push("cannot read " + path + ": " + content.status().message());
      continue;
    }
    if (auto s = sl::parseLogindSession(name, *content)) out.push_back(std::move(*s));
  }
  return out;
}

InstalledSessions ScreenLockCheck::readInstalledSessions(const SystemView& system) const {
  InstalledSessions out;
  for (const char* dir : {"/usr/share/xsessions", "/usr/share/wayland-sessions"}) {
    auto names = system.listDir(dir);
    if (!names.ok()) continue;
    for (const auto& n : *names) {
      if (!text::endsWith(n, ".desktop")) continue;
      out.any_listed = true;
      out.desktops.insert(sl::classifyDesktop(n.substr(0, n.size() - 8)));
    }
  }
  return out;
}

void ScreenLockCheck::fillIdentity(Run& r, Person& p) const {
  p.identity.uid = p.user.uid;
  p.identity.gid = p.user.gid;
  p.identity.name = p.user.name;
  p.identity.home = p.user.home;
  p.identity.groups = sl::groupsOf(r.groups, p.user.name, p.user.gid);
  for (gid_t g : p.identity.groups) {
    for (const auto& ge : r.groups) {
      if (ge.gid == g) {
        p.group_names.push_back(ge.name);
        break;
      }
    }
  }
}

std::optional<std::map<std::string, std::string>> ScreenLockCheck::sessionEnvironment(
    const SystemView& system, const sl::LogindSession& s) const {
  if (system.isRooted()) return std::nullopt;
  auto parse = [&](const std::string& pid) -> std::optional<std::map<std::string, std::string>> {
    auto info = system.stat("/proc/" + pid, true);
    if (!info.ok() || info->uid != s.uid) return std::nullopt;
    auto env = system.readFile("/proc/" + pid + "/environ", size_t{128} * 1024, true);
    if (!env.ok()) return std::nullopt;
    std::map<std::string, std::string> kv;
    for (const auto& item : text::split(*env, '\0')) {
      size_t eq = item.find('=');
      if (eq != std::string::npos && eq > 0) kv[item.substr(0, eq)] = item.substr(eq + 1);
    }
    auto it = kv.find("XDG_SESSION_ID");
    if (it == kv.end() || it->second != s.id) return std::nullopt;
    return kv;
  };
  if (s.leader > 0) {
    if (auto kv = parse(std::to_string(s.leader))) return kv;
  }
  auto names = system.listDir("/proc");
  if (!names.ok()) return std::nullopt;
  size_t scanned = 0;
  for (const auto& n : *names) {
    if (n.empty() || !std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    if (++scanned > kMaxProcScan) break;
    if (auto kv = parse(n); kv && kv->count("XDG_CURRENT_DESKTOP") > 0) return kv;
  }
  return std::nullopt;
}

void ScreenLockCheck::chooseDesktops(Run& r, Person& p) const {
  std::set<std::string> seen;
  auto add = [&](DesktopToJudge d) {
    std::string key = std::string(sl::desktopName(d.desktop)) + "/" + d.label;
    if (seen.insert(key).second) p.desktops.push_back(std::move(d));
  };
  bool session_undetermined = false;
  for (const auto& s : p.sessions) {
    std::string name = s.desktop;
    Desktop d = sl::classifyDesktop(name);
    if (d == Desktop::kNone || d == Desktop::kKde || d == Desktop::kXfce) {
      if (auto env = sessionEnvironment(r.system, s)) {
        if (d == Desktop::kNone) {
          name = (*env)["XDG_CURRENT_DESKTOP"];
          d = sl::classifyDesktop(name);
        }
        if (auto it = env->find("XDG_CONFIG_DIRS"); it != env->end() && !it->second.empty()) {
          p.session_config_dirs = it->second;
        }
      }
    }
    if (d == Desktop::kNone) {
      session_undetermined = true;
      continue;
    }
    add(DesktopToJudge{d, d == Desktop::kUnsupported ? name : std::string(sl::desktopName(d)),
                       true});
  }
  if (!p.desktops.empty()) return;  // judge what the person actually runs
  for (const auto& m : kMarkers) {
    if (std::find(p.markers.begin(), p.markers.end(), m.rel) == p.markers.end()) continue;
    if (m.desktop == Desktop::kGnome) {
      // A dconf database serves GNOME and Cinnamon (and GTK apps anywhere): judge the dconf
      // desktops that are installed, or GNOME when the machine lists no sessions at all.
      if (!r.installed.any_listed) {
        add(DesktopToJudge{Desktop::kGnome, "gnome", false});
      } else {
        if (r.installed.desktops.count(Desktop::kGnome) > 0) {
          add(DesktopToJudge{Desktop::kGnome, "gnome", false});
        }
        if (r.installed.desktops.count(Desktop::kCinnamon) > 0) {
          add(DesktopToJudge{Desktop::kCinnamon, "cinnamon", false});
        }
      }
      continue;
    }
    if (m.needs_installed_session && r.installed.desktops.count(m.desktop) == 0) continue;
    add(DesktopToJudge{m.desktop, std::string(sl::desktopName(m.desktop)), false});
  }
  if (p.desktops.empty() && session_undetermined) {
    add(DesktopToJudge{Desktop::kUnsupported, "unidentified desktop", true});
  }
}

// --- reading settings ----------------------------------------------------------------------------

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

// Kiosk locks count only from files an administrator controls: owned by root and not writable by
// others (XDG_CONFIG_DIRS of a session is the user's to set). Under --root ownership of the copy
// means nothing, so every system file counts.
bool adminOwned(const SystemView& system, const std::string& path) {
  if (system.isRooted()) return true;
  auto st = system.stat(path, true);
  return st.ok() && st->uid == 0 && (st->mode & 0002) == 0;
}

void stripImmutability(sl::KConfigFile& f) {
  f.file_immutable = false;
  f.immutable_groups.clear();
  for (auto& e : f.entries) e.immutable = false;
}

DesktopResult unknownResult(Desktop d, std::string label, std::string reason,
                            std::string remediation) {
  DesktopResult res;
  res.desktop = d;
  res.label = std::move(label);
  res.verdict = Verdict::kUnknown;
  res.reason = std::move(reason);
  res.remediation = std::move(remediation);
  res.evidence.set("desktop", res.label);
  res.evidence.set("verdict", "unknown");
  res.evidence.set("reason", res.reason);
  return res;
}

std::string cannotReadAdvice(const std::string& user) {
  return "Hearth could not read the screen-lock settings of " + user +
         ". If this persists, contact your IT department and include the summary above.";
}

DesktopResult fromConfig(const sl::LockConfig& c, const ScreenLockSettings& policy) {
  sl::Assessment a = sl::assess(c, policy);
  DesktopResult res;
  res.desktop = c.desktop;
  res.label = c.label;
  res.verdict = a.verdict;
  res.reason = a.reason;
  if (a.verdict != Verdict::kPass) {
    res.remediation = sl::remediationFor(c.desktop, c.label, policy, c.grace_seconds_hint);
  }
  res.evidence.set("desktop", c.label);
  res.evidence.set("verdict", verdictName(a.verdict));
  res.evidence.set("idle_to_lock_seconds",
                   a.idle_to_lock_seconds ? json::Value(*a.idle_to_lock_seconds) : json::Value());
  res.evidence.set("lock_on_resume",
                   c.lock_on_resume ? json::Value(*c.lock_on_resume) : json::Value());
  res.evidence.set("enforced_by_administrator", c.enforced);
  res.evidence.set("source", c.source);
  res.evidence.set("settings", c.settings);
  res.evidence.set("reason", a.reason);
  return res;
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
                              ": " + firstLine(res->err));
    }
    if (std::string problem = sl::gsettingsBackendProblem(res->err); !problem.empty()) {
      return UnavailableError(problem);
    }
    if (res->out_truncated)
      return ResourceExhaustedError("gsettings printed more than Hearth reads");
    sl::GSettingsValues all = sl::parseGSettingsList(res->out);
    return all[schema];
  };
  auto result = compute();
  cache.emplace(schema, result);
  return result;
}

DesktopResult ScreenLockCheck::judgeGSettings(Run& r, Person& p, Desktop d, bool from_session,
                                              SchemaCache& cache) const {
  std::string label(sl::desktopName(d));
  std::string family = d == Desktop::kGnome ? "GNOME" : "Cinnamon";
  if (r.system.isRooted()) {
    return unknownResult(d, label, family + " settings need gsettings; not available under --root",
                         "Run hearth-agent check on the computer itself (without --root) to judge "
                         "these settings.");
  }
  // The session schema first: when it is missing, this desktop is not installed (one process).
  const std::vector<std::string> schemas =
      d == Desktop::kGnome
          ? std::vector<std::string>{"org.gnome.desktop.session", "org.gnome.desktop.screensaver",
                                     "org.gnome.desktop.lockdown"}
          : std::vector<std::string>{
                "org.cinnamon.desktop.session", "org.cinnamon.desktop.screensaver",
                "org.cinnamon.desktop.lockdown", "org.cinnamon.settings-daemon.plugins.power"};
  sl::GSettingsValues values;
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
    return unknownResult(d, label, keys.status().message(), cannotReadAdvice(p.user.name));
  }
  auto keys =
      d == Desktop::kGnome ? sl::gnomeRelevantKeys(values) : sl::cinnamonRelevantKeys(values);
  auto probe =
      d == Desktop::kGnome ? sl::gnomeConfig(values, false) : sl::cinnamonConfig(values, false);
  if (!probe.ok()) {
    if (probe.status().code() == StatusCode::kNotFound && !from_session) {
      DesktopResult res;
      res.desktop = d;
      res.label = label;
      res.absent = true;
      return res;
    }
    return unknownResult(d, label, probe.status().message(), cannotReadAdvice(p.user.name));
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
  sl::LockConfig c = std::move(probe).value();
  c.enforced = enforced;
  return fromConfig(c, r.policy);
}

DesktopResult ScreenLockCheck::judgeKde(Run& r, Person& p) const {
  std::vector<std::string> dirs = configDirs(r, p);
  sl::KConfigCascade cascade;
  json::Value read = json::Value::array();
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
    std::string path = *it + "/kscreenlockerrc";
    auto content = r.system.readFileAs(p.identity, path, kSettingsFileLimit);
    if (!content.ok()) continue;  // missing or unreadable for the user: KDE cannot see it either
    sl::KConfigFile f = sl::parseKConfig(*content);
    if (!adminOwned(r.system, path)) stripImmutability(f);
    cascade.merge(f, tildePath(p, path));
    read.push(tildePath(p, path));
  }
  std::string user_file = p.user.home + "/.config/kscreenlockerrc";
  if (!p.identity_problem.empty()) {
    return unknownResult(Desktop::kKde, "kde", p.identity_problem, cannotReadAdvice(p.user.name));
  }
  auto content = r.system.readFileAs(p.identity, user_file, kSettingsFileLimit);
  if (content.ok()) {
    sl::KConfigFile f = sl::parseKConfig(*content);
    // The user's own [$i] marks bind nobody (nothing is read after this file).
    stripImmutability(f);
    cascade.merge(f, tildePath(p, user_file));
    read.push(tildePath(p, user_file));
  } else if (content.status().code() != StatusCode::kNotFound) {
    return unknownResult(
        Desktop::kKde, "kde",
        "cannot read " + tildePath(p, user_file) + ": " + content.status().message(),
        cannotReadAdvice(p.user.name));
  }
  sl::LockConfig c = sl::kdeConfig(cascade, r.policy.require_lock_on_resume);
  if (c.source.size() == 0) c.source.push("defaults (no kscreenlockerrc)");
  DesktopResult res = fromConfig(c, r.policy);
  res.evidence.set("files_read", read);
  return res;
}

DesktopResult ScreenLockCheck::judgeXfce(Run& r, Person& p) const {
  if (!p.identity_problem.empty()) {
    return unknownResult(Desktop::kXfce, "xfce", p.identity_problem, cannotReadAdvice(p.user.name));
  }
  // The settings below belong to xfce4-screensaver. XFCE can lock with light-locker or
  // xscreensaver instead, whose settings Hearth does not read: without xfce4-screensaver the
  // answer is unknown, not its defaults.
  bool screensaver = false;
  for (const char* bin : {"/usr/bin/xfce4-screensaver", "/usr/local/bin/xfce4-screensaver"}) {
    screensaver = screensaver || r.system.stat(bin, true).ok();
  }
  if (!screensaver) {
    return unknownResult(
        Desktop::kXfce, "xfce",
        "xfce4-screensaver is not installed, so the screen locker in use "
        "(light-locker or xscreensaver) is one Hearth cannot read",
        sl::remediationFor(Desktop::kUnsupported, "XFCE without xfce4-screensaver", r.policy, 0));
  }
  std::vector<std::string> dirs = configDirs(r, p);
  const std::string rel = "/xfce4/xfconf/xfce-perchannel-xml/";
  sl::XfconfChannel channels[2];
  const char* names[2] = {"xfce4-screensaver", "xfce4-power-manager"};
  for (int i = 0; i < 2; ++i) {
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
      std::string path = *it + rel + names[i] + ".xml";
      auto content = r.system.readFileAs(p.identity, path, kSettingsFileLimit);
      if (!content.ok()) continue;
      auto file = sl::parseXfconfXml(*content);
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
      auto file = sl::parseXfconfXml(*content);
      if (!file.ok()) {
        return unknownResult(
            Desktop::kXfce, "xfce",
            "cannot parse " + tildePath(p, user_file) + ": " + file.status().message(),
            cannotReadAdvice(p.user.name));
      }
      channels[i].merge(*file, false, tildePath(p, user_file), p.user.name, p.group_names);
    } else if (content.status().code() != StatusCode::kNotFound) {
      return unknownResult(
          Desktop::kXfce, "xfce",
          "cannot read " + tildePath(p, user_file) + ": " + content.status().message(),
          cannotReadAdvice(p.user.name));
    }
  }
  sl::LockConfig c = sl::xfceConfig(channels[0], channels[1], r.policy.require_lock_on_resume);
  if (c.source.size() == 0) c.source.push("defaults (no xfconf files)");
  return fromConfig(c, r.policy);
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
        out.push_back(
            unknownResult(Desktop::kUnsupported, d.label,
                          "Hearth cannot read the screen-lock settings of " + d.label + " sessions",
                          sl::remediationFor(Desktop::kUnsupported, d.label, r.policy, 0)));
        break;
    }
  }
  out.erase(std::remove_if(out.begin(), out.end(), [](const DesktopResult& x) { return x.absent; }),
            out.end());
  return out;
}

// --- the check ----------------------------------------------------------------------------------

StatusOr<CheckResult> ScreenLockCheck::run(const SystemView& system,
                                           const CheckParams& params) const {
  Run r{system, params.policy.screen_lock.value_or(ScreenLockSettings{}), {}, {}, {}, {}, {}};
  if (auto defs = system.readFile("/etc/login.defs", kSystemFileLimit, false); defs.ok()) {
    r.range = sl::parseLoginDefs(*defs);
  }
  if (auto pw = system.readFile("/etc/passwd", kSystemFileLimit, false); pw.ok()) {
    r.passwd = sl::parsePasswd(*pw);
  } else {
    r.notes.push("cannot read /etc/passwd: " + pw.status().message());
  }
  if (auto gr = system.readFile("/etc/group", kSystemFileLimit, false); gr.ok()) {
    r.groups = sl::parseGroup(*gr);
  }
  r.installed = readInstalledSessions(system);

  std::map<uint32_t, Person> people;
  json::Value not_inspected = json::Value::array();

  // 1. Everyone with a live graphical session.
  for (auto& s : readSessions(r)) {
    if (!sl::isLiveGraphicalSession(s)) continue;
    auto [it, inserted] = people.try_emplace(s.uid);
    Person& p = it->second;
    if (inserted) {
      auto pw = std::find_if(r.passwd.begin(), r.passwd.end(),
                             [&](const sl::PasswdEntry& e) { return e.uid == s.uid; });
      if (pw != r.passwd.end()) {
        p.user = *pw;
      } else {
        // Not a local account (LDAP, SSSD): ask NSS.
        Command c;
        c.argv = {kGetent, "passwd", std::to_string(s.uid)};
        c.timeout = std::chrono::seconds(10);
        auto res = system.run(c);
        auto entries = res.ok() && res->exit_code == 0 ? sl::parsePasswd(res->out)
                                                       : std::vector<sl::PasswdEntry>{};
        if (!entries.empty()) {
          p.user = entries.front();
        } else {
          p.user.uid = s.uid;
          p.user.name = s.user.empty() ? "uid " + std::to_string(s.uid) : s.user;
          p.identity_problem = "no account entry for uid " + std::to_string(s.uid) +
                               " (its home directory is unknown)";
        }
      }
      fillIdentity(r, p);
    }
    p.sessions.push_back(std::move(s));
  }

  // 2. Local users (login.defs range, login shell) with desktop settings in their home.
  for (const auto& e : r.passwd) {
    if (e.uid < r.range.min || e.uid > r.range.max || !sl::isLoginShell(e.shell)) continue;
    if (e.home.empty() || e.home[0] != '/' || e.home == "/") continue;
    auto config = system.stat(e.home + "/.config", false);
    if (!config.ok()) {
      if (config.status().code() == StatusCode::kPermissionDenied) {
        json::Value n = json::Value::object();
        n.set("user", e.name);
        n.set("reason", "cannot look into the home directory: " + config.status().message());
        not_inspected.push(std::move(n));
      }
      continue;
    }
    std::vector<std::string> found;
    for (const auto& m : kMarkers) {
      auto st = system.stat(e.home + "/" + m.rel, false);
      if (st.ok() && (st->type == FileType::kRegular || st->type == FileType::kSymlink)) {
        found.emplace_back(m.rel);
      }
    }
    if (found.empty()) continue;
    auto [it, inserted] = people.try_emplace(e.uid);
    if (inserted) {
      it->second.user = e;
      fillIdentity(r, it->second);
    }
    it->second.markers = std::move(found);
  }

  // 3. Judge each person on each desktop they use.
  struct Judged {
    Person person;
    std::vector<DesktopResult> results;
    size_t worst = 0;
  };
  std::vector<Judged> judged;
  for (auto& [uid, p] : people) {
    chooseDesktops(r, p);
    auto results = judge(r, p);
    if (results.empty()) continue;  // only desktops that are not installed: not a person
    size_t worst = 0;
    for (size_t i = 1; i < results.size(); ++i) {
      if (sl::verdictSeverity(results[i].verdict) > sl::verdictSeverity(results[worst].verdict)) {
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
    result.summary = "No one on this computer has a graphical desktop session or desktop settings";
    result.evidence.set("people", json::Value::array());
    if (r.notes.size() > 0) result.evidence.set("notes", r.notes);
    return result;
  }

  Verdict overall = not_inspected.size() > 0 ? Verdict::kUnknown : Verdict::kPass;
  json::Value people_json = json::Value::array();
  int n = 0;
  for (auto& j : judged) {
    const DesktopResult& w = j.results[j.worst];
    if (sl::verdictSeverity(w.verdict) > sl::verdictSeverity(overall)) overall = w.verdict;
    json::Value pj = json::Value::object();
    pj.set("person", "person " + std::to_string(++n));
    pj.set("user", j.person.user.name);
    pj.set("uid", j.person.user.uid);
    pj.set("verdict", verdictName(w.verdict));
    pj.set("reason", w.reason);
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
    return sl::verdictSeverity(a->results[a->worst].verdict) >
           sl::verdictSeverity(b->results[b->worst].verdict);
  });
  std::vector<std::string> phrases;
  std::vector<std::string> advice;
  for (const auto* j : order) {
    phrases.push_back(j->person.user.name + ": " + j->results[j->worst].reason);
    for (const auto& d : j->results) {
      if (d.verdict == Verdict::kPass || d.remediation.empty()) continue;
      // With several people on the PC, say whose account the advice is for.
      std::string a =
          order.size() > 1 ? "For " + j->person.user.name + ": " + d.remediation : d.remediation;
      if (std::find(advice.begin(), advice.end(), a) == advice.end()) advice.push_back(a);
    }
  }
  for (const auto& ni : not_inspected.asArray()) {
    phrases.push_back(ni.find("user")->asString() + ": could not look at the desktop settings (" +
                      ni.find("reason")->asString() + ")");
  }
  if (not_inspected.size() > 0) {
    advice.push_back("Run hearth-agent as root so it can read every person's desktop settings.");
  }
  result.summary = text::join(phrases, "; ");
  result.remediation = overall == Verdict::kPass ? "" : text::join(advice, " ");
  return result;
}

}  // namespace

std::unique_ptr<Check> NewScreenLockCheck(uid_t effective_uid) {
  return std::make_unique<ScreenLockCheck>(effective_uid);
}

std::unique_ptr<Check> NewScreenLockCheck() { return NewScreenLockCheck(::geteuid()); }

}  // namespace hearth::checks
