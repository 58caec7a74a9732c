// Running commands without a shell: fork/exec with a clean environment, optional privilege drop,
// bounded output on both pipes drained concurrently, and a deadline that kills the process group.
#pragma once

#include <functional>
#include <string>

#include "hearth/status.h"
#include "hearth/system_view.h"

namespace hearth::internal {

StatusOr<CommandResult> RunCommand(const Command& command);

// Reads `path` in a child process running as `user` (no shell, no exec): the user's own
// permissions apply. The result is bounded by `limit` and a 10 s deadline.
StatusOr<std::string> ReadFileAsUser(const UserIdentity& user, const std::string& path,
                                     size_t limit);

}  // namespace hearth::internal
