// The few questions the agent's shared code asks the OS that differ between Linux and Windows
// (agent_os_linux.cc, agent_os_windows.cc). The state directory's lock is LockStateDir
// (state_dir.h), also defined there.
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>

#include "hearth/status.h"

namespace hearth::agent {

// True when the network side must be started as the unprivileged service_user: the agent runs as
// root on Linux. False on Windows, where there is no account to switch to: every child there runs
// with a restricted token instead (child_token_windows.h; docs/windows-build.md).
bool ChildrenRunAsServiceUser();

// The directory of the running executable; "" when it cannot be told.
std::string ExecutableDir();

// True when `path` is a program this process may start.
bool IsProgram(const std::string& path);

// Creates `dir` (and its parents) or takes the existing one, which must be ours, and restricts it
// to `mode`: on Linux the owner must be this process's user (another user who owns the state
// directory could replace the device key) and the mode is set; on Windows the directory gets the
// ACL equivalent of `mode` (SYSTEM and Administrators full control, and the creator; everyone
// read when `mode` lets others read).
Status EnsureOwnDir(const std::string& dir, mode_t mode);

// The permission bits of `path` when the OS has them (Linux), nullopt on Windows (its ACL
// decides; see EnsureOwnDir) or when `path` cannot be examined.
std::optional<mode_t> FileModeBits(const std::string& path);

}  // namespace hearth::agent
