// Who has an account on this machine: pure parsers of /etc/passwd, /etc/group and /etc/login.defs
// (or `getent passwd|group` output), and the rule for a regular (human) user. No I/O here: the
// caller reads the files through its SystemView. Used by the screen_lock check and the agent
// (notifications, the uploader's unprivileged account).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/posix_ids.h"

namespace hearth::accounts {

// A uid or gid as written in these files: decimal, 0..4294967295; nullopt otherwise.
std::optional<uint32_t> parseId(std::string_view text);

// One line of /etc/passwd.
struct PasswdEntry {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string home;
  std::string shell;
};
// /etc/passwd (or `getent passwd` output), in file order. Skipped: comments, NIS compat lines
// (+/-), lines with fewer than 7 fields, an empty name, or a uid or gid that is not an id.
std::vector<PasswdEntry> parsePasswd(std::string_view file);

// One line of /etc/group.
struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};
// /etc/group (or `getent group` output), in file order. Skipped: comments, lines with fewer than
// 4 fields or a gid that is not an id. Member names are trimmed; empty ones dropped.
std::vector<GroupEntry> parseGroup(std::string_view file);
// The user's groups as initgroups() would set them: the primary gid first, then every group that
// lists the user as a member (each gid once, at most 1024).
std::vector<gid_t> groupsOf(const std::vector<GroupEntry>& groups, const std::string& user,
                            gid_t primary);

// The uids given to regular users.
struct UidRange {
  uint32_t min = 1000;
  uint32_t max = 60000;
};
// UID_MIN / UID_MAX from /etc/login.defs (defaults 1000..60000 for missing or invalid values).
UidRange parseLoginDefs(std::string_view file);
// False for nologin, false and similar non-login shells. An empty shell means /bin/sh.
bool isLoginShell(std::string_view shell);
// A local account that may belong to a person: a uid in `range`, a login shell and an absolute
// home directory other than "/".
bool isRegularUser(const PasswdEntry& entry, const UidRange& range);

}  // namespace hearth::accounts
