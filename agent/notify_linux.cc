// The Linux part of the notifier (notify_platform.h): who is at the PC (logind sessions and their
// session-bus sockets, the accounts, the language each chose) and hearth-notify run as the
// person, each text its own argv element.
#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "agent_os.h"
#include "hearth/accounts.h"
#include "hearth/i18n.h"
#include "hearth/logind_sessions.h"
#include "hearth/text.h"
#include "notify_platform.h"

namespace hearth::agent {

namespace {

constexpr char kGetent[] = "/usr/bin/getent";
constexpr size_t kMaxSessions = 1000;
constexpr size_t kSystemFileLimit = 4 << 20;

// A D-Bus address value: bytes outside the optionally-escaped set become %XX.
std::string busAddressForPath(const std::string& path) {
  std::string out = "unix:path=";
  static constexpr char kHex[] = "0123456789abcdef";
  for (char ch : path) {
    auto c = static_cast<unsigned char>(ch);
    bool plain = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 c == '-' || c == '_' || c == '/' || c == '.' || c == '\\' || c == '*';
    if (plain) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

// --- who is at the PC ---------------------------------------------------------------------------

std::vector<uint32_t> graphicalUids(const SystemView& view, const std::string& dir,
                                    std::map<uint32_t, std::string>* session_user,
                                    std::map<uint32_t, std::vector<int64_t>>* leaders) {
  std::set<uint32_t> uids;
  auto names = view.listDir(dir);
  if (!names.ok()) return {};
  size_t seen = 0;
  for (const auto& name : *names) {
    if (++seen > kMaxSessions) break;
    // <id>.ref are FIFOs held by the session's processes: never opened.
    if (name.empty() || name[0] == '.' || name.ends_with(".ref")) continue;
    std::string path = dir + "/" + name;
    auto info = view.stat(path, false);
    if (!info.ok() || info->type != FileType::kRegular) continue;
    auto content = view.readFile(path, size_t{64} * 1024, false);
    if (!content.ok()) continue;
    auto s = accounts::parseLogindSession(name, *content);
    if (!s || !accounts::isLiveGraphicalSession(*s)) continue;
    uids.insert(s->uid);
    if (!s->user.empty()) session_user->emplace(s->uid, s->user);
    if (s->leader > 0) (*leaders)[s->uid].push_back(s->leader);
  }
  return {uids.begin(), uids.end()};
}

std::optional<accounts::PasswdEntry> accountOf(const SystemView& view,
                                               const std::vector<accounts::PasswdEntry>& passwd,
                                               uint32_t uid) {
  auto it = std::find_if(passwd.begin(), passwd.end(),
                         [&](const accounts::PasswdEntry& e) { return e.uid == uid; });
  if (it != passwd.end()) return *it;
  // Not a local account (LDAP, SSSD): ask NSS.
  Command c;
  c.argv = {kGetent, "passwd", std::to_string(uid)};
  c.timeout = std::chrono::seconds(10);
  auto res = view.run(c);
  if (!res.ok() || res->term_signal != 0 || res->exit_code != 0) return std::nullopt;
  auto entries = accounts::parsePasswd(res->out);
  if (entries.empty() || entries.front().uid != uid) return std::nullopt;
  return entries.front();
}

// The language the person chose: the environment of one of their sessions' leaders (a process
// of theirs: a leader that is gone and whose pid was reused by someone else is not asked), else
// AccountsService's record of the account; "" when neither says.
std::string personLanguages(const SystemView& view, uint32_t uid, const std::string& user,
                            const std::vector<int64_t>& leaders, const NotifyOptions& options) {
  for (int64_t pid : leaders) {
    const std::string proc = "/proc/" + std::to_string(pid);
    auto st = view.stat(proc, true);
    if (!st.ok() || st->uid != uid) continue;
    auto env = view.readFile(proc + "/environ", size_t{128} * 1024, true);
    if (!env.ok()) continue;
    std::map<std::string, std::string> kv;
    for (const auto& item : text::split(*env, '\0')) {
      size_t eq = item.find('=');
      if (eq != std::string::npos && eq > 0) kv[item.substr(0, eq)] = item.substr(eq + 1);
    }
    std::string chosen = i18n::Catalog::ChosenLanguages(kv);
    if (!chosen.empty()) return chosen;
  }
  if (user.empty() || user.find('/') != std::string::npos || user[0] == '.') return "";
  auto record = view.readFile(options.accounts_service_dir + "/" + user, 64 * 1024, false);
  if (!record.ok()) return "";
  for (const auto& line : text::splitLines(*record)) {
    if (line.starts_with("Language=")) return text::trim(line.substr(9));
  }
  return "";
}

}  // namespace

std::string DefaultNotifyProgram() {
  // Found as the uploader is (uploader.cc): beside this program in a build tree, else installed.
  const std::string dir = ExecutableDir();
  const std::string beside = dir + "/hearth-notify";
  if (IsProgram(beside)) return beside;
  return dir + "/../lib/hearth/hearth-notify";
}

// Shows `n` on the desktop `d`: hearth-notify run as the person, every text its own argv
// element. Unavailable with one line saying why when it could not be shown.
Status ShowNotice(const SystemView& view, const Desktop& d, const NotifyOptions& o,
                  const std::string& helper, const Notice& n, const i18n::Catalog* catalog) {
  Command c;
  const char* icon = n.urgency == Urgency::kLow ? "dialog-information" : "dialog-warning";
  c.argv = {helper,
            "--address=" + d.bus_address,
            "--title=" + n.title,
            "--body=" + n.body,
            "--urgency=" + std::to_string(static_cast<int>(n.urgency)),
            std::string("--icon=") + icon,
            "--timeout=" + std::to_string(o.timeout.count()),
            "--wait=" + std::to_string(o.action_wait.count())};
  if (n.actions) {
    if (!o.control_socket.empty()) {
      c.argv.push_back("--check-again=" + CheckAgainLabel(catalog));
      c.argv.push_back("--control-socket=" + o.control_socket);
    }
    c.argv.push_back("--details=" + ShowDetailsLabel(catalog));
    c.argv.push_back("--details-title=" + n.details_title);
    c.argv.push_back("--details-body=" + n.details_body);
  }
  c.timeout = o.timeout * 2 + std::chrono::seconds(6);
  c.max_output = 64 * 1024;
  c.as_user = d.identity;
  c.env["DBUS_SESSION_BUS_ADDRESS"] = d.bus_address;
  auto res = view.run(c);
  const std::string who = "showing a notification on the session bus of " + d.user;
  if (!res.ok()) return UnavailableError(who + " failed: " + res.status().message());
  if (res->term_signal != 0) {
    return UnavailableError(who + " failed: hearth-notify was ended by signal " +
                            std::to_string(res->term_signal));
  }
  if (res->exit_code != 0) {
    std::string err = text::firstLine(res->err, 300);
    if (err.find("ServiceUnknown") != std::string::npos ||
        err.find("not provided by any .service files") != std::string::npos) {
      return NotFoundError("no notification service runs in the desktop session of " + d.user +
                           " (showing a notification: " + err + ")");
    }
    return UnavailableError(who + " failed (hearth-notify exit " + std::to_string(res->exit_code) +
                            ")" + (err.empty() ? "" : ": " + err));
  }
  return OkStatus();
}

std::vector<Desktop> FindDesktops(const SystemView& view, const NotifyOptions& options) {
  std::vector<Desktop> out;
  if (view.isRooted()) return out;
  std::map<uint32_t, std::string> session_user;
  std::map<uint32_t, std::vector<int64_t>> leaders;
  std::vector<uint32_t> uids = graphicalUids(view, options.sessions_dir, &session_user, &leaders);
  if (uids.empty()) return out;
  std::vector<accounts::PasswdEntry> passwd;
  std::vector<accounts::GroupEntry> groups;
  if (auto pw = view.readFile("/etc/passwd", kSystemFileLimit, false); pw.ok()) {
    passwd = accounts::parsePasswd(*pw);
  }
  if (auto gr = view.readFile("/etc/group", kSystemFileLimit, false); gr.ok()) {
    groups = accounts::parseGroup(*gr);
  }
  for (uint32_t uid : uids) {
    // The per-user bus: a socket owned by the person (logind makes <root>/<uid> theirs, 0700).
    std::string bus = options.runtime_dir_root + "/" + std::to_string(uid) + "/bus";
    auto st = view.stat(bus, false);
    if (!st.ok() || st->type != FileType::kSocket || st->uid != uid) continue;
    auto account = accountOf(view, passwd, uid);
    if (!account) continue;
    Desktop d;
    d.user = account->name;
    d.uid = uid;
    d.bus_address = busAddressForPath(bus);
    d.identity.uid = account->uid;
    d.identity.gid = account->gid;
    d.identity.name = account->name;
    d.identity.home = account->home;
    d.identity.groups = accounts::groupsOf(groups, account->name, account->gid);
    d.languages = personLanguages(view, uid, account->name, leaders[uid], options);
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace hearth::agent
