// Parsers of /etc/passwd, /etc/group and /etc/login.defs (hearth/accounts.h). No I/O here.
#include "hearth/accounts.h"

#include <algorithm>

#include "hearth/text.h"

namespace hearth::accounts {

std::optional<uint32_t> parseId(std::string_view text) { return text::parseU32(text); }

std::vector<PasswdEntry> parsePasswd(std::string_view file) {
  std::vector<PasswdEntry> out;
  for (const auto& line : text::splitLines(file)) {
    if (line.empty() || line[0] == '#' || line[0] == '+' || line[0] == '-') continue;
    auto f = text::split(line, ':');
    if (f.size() < 7 || f[0].empty()) continue;
    auto uid = parseId(f[2]);
    auto gid = parseId(f[3]);
    if (!uid || !gid) continue;
    out.push_back(PasswdEntry{f[0], *uid, *gid, f[5], f[6]});
  }
  return out;
}

std::vector<GroupEntry> parseGroup(std::string_view file) {
  std::vector<GroupEntry> out;
  for (const auto& line : text::splitLines(file)) {
    if (line.empty() || line[0] == '#') continue;
    auto f = text::split(line, ':');
    if (f.size() < 4) continue;
    auto gid = parseId(f[2]);
    if (!gid) continue;
    GroupEntry g{f[0], *gid, {}};
    for (auto& m : text::split(f[3], ',')) {
      std::string t = text::trim(m);
      if (!t.empty()) g.members.push_back(t);
    }
    out.push_back(std::move(g));
  }
  return out;
}

std::vector<gid_t> groupsOf(const std::vector<GroupEntry>& groups, const std::string& user,
                            gid_t primary) {
  std::vector<gid_t> out{primary};
  for (const auto& g : groups) {
    if (std::find(g.members.begin(), g.members.end(), user) == g.members.end()) continue;
    if (std::find(out.begin(), out.end(), g.gid) == out.end()) out.push_back(g.gid);
    if (out.size() >= 1024) break;
  }
  return out;
}

UidRange parseLoginDefs(std::string_view file) {
  UidRange r;
  for (const auto& raw : text::splitLines(file)) {
    std::string line = text::trim(raw);
    if (line.empty() || line[0] == '#') continue;
    auto w = text::splitWhitespace(line);
    if (w.size() < 2) continue;
    if (w[0] == "UID_MIN") {
      if (auto v = parseId(w[1])) r.min = *v;
    } else if (w[0] == "UID_MAX") {
      if (auto v = parseId(w[1])) r.max = *v;
    }
  }
  return r;
}

bool isLoginShell(std::string_view shell) {
  if (shell.empty()) return true;  // /bin/sh
  std::string_view base =
      shell.substr(shell.rfind('/') == std::string_view::npos ? 0 : shell.rfind('/') + 1);
  return base != "nologin" && base != "false";
}

bool isRegularUser(const PasswdEntry& entry, const UidRange& range) {
  if (entry.uid < range.min || entry.uid > range.max || !isLoginShell(entry.shell)) return false;
  return !entry.home.empty() && entry.home[0] == '/' && entry.home != "/";
}

}  // namespace hearth::accounts
