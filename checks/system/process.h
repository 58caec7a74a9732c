// Reading a file with another user's rights (SystemView::readFileAs on the live machine). Running
// commands is base's (hearth/process.h).
#pragma once

#include <cstddef>
#include <string>

#include "hearth/process.h"
#include "hearth/status.h"

namespace hearth::internal {

// Reads `path` in a child process running as `user` (no shell, no exec): the user's own
// permissions apply. The result is bounded by `limit` and a 10 s deadline.
StatusOr<std::string> ReadFileAsUser(const UserIdentity& user, const std::string& path,
                                     size_t limit);

}  // namespace hearth::internal
