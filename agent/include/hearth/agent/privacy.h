// The privacy filter applied to every report before it leaves the PC (docs/privacy.md):
//  - usernames become "person 1", "person 2", ... everywhere in the result (summaries, advice,
//    evidence, paths such as /home/<name>), and uids are removed;
//  - os_patches sends counts and ages, and the names of pending *security* updates only.
// `hearth-agent status` (local) keeps the names; `show-report` prints exactly what was sent.
#pragma once

#include <string>
#include <vector>

#include "hearth/json.h"

namespace hearth::agent {

// Returns the filtered copy of a `check --json` object. `local_users` are the names of the PC's
// human accounts (they can appear in paths such as /home/<name> in any check's evidence); the
// people screen_lock reports are always included.
json::Value ApplyPrivacyFilter(const json::Value& result,
                               const std::vector<std::string>& local_users = {});

// Human accounts from /etc/passwd text (uid 1000..59999).
std::vector<std::string> LocalUsersFromPasswd(const std::string& passwd);

}  // namespace hearth::agent
