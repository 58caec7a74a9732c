// The privacy filter applied to every report before it leaves the PC (docs/privacy.md):
//  - each check's own filter (its registry entry's privacy_filter) decides what of its evidence
//    may leave: os_patches sends counts and ages, and the names of pending *security* updates
//    only; screen_lock names the people it judged and removes their uids;
//  - usernames (those people and the PC's accounts) become "person 1", "person 2", ...
//    everywhere in the result (summaries, advice, evidence, paths such as /home/<name>).
// `hearth-agent status` (local) keeps the names; `show-report` prints exactly what was sent.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "hearth/accounts.h"
#include "hearth/json.h"

namespace hearth::agent {

// Returns the filtered copy of a `check --json` object, through the filters of Checks().
// `local_users` are the names of the PC's human accounts (they can appear in paths such as
// /home/<name> in any check's evidence); the people the checks report are always included.
json::Value ApplyPrivacyFilter(const json::Value& result,
                               const std::vector<std::string>& local_users = {});

// The accounts in /etc/passwd text whose uid is in `range` (regular users, login.defs), in file
// order.
std::vector<std::string> LocalUsersFromPasswd(std::string_view passwd,
                                              const accounts::UidRange& range = {});

}  // namespace hearth::agent
