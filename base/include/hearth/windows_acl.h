// Windows only: the ACL that stands for a POSIX mode, so that the agent's files and directories
// are protected as on Linux (a 0600 secret: SYSTEM, Administrators and its owner only; a 0644
// status file: everyone may read it). Used by the file layer (createFile, createDir) and the
// state directory (agent_os_windows.cc).
#pragma once

#include <string>
#include <sys/types.h>

#include "hearth/status.h"

namespace hearth::windows {

// The SDDL of a protected DACL (no inherited entries) for `mode`: full control for SYSTEM (SY),
// the Administrators group (BA) and the object's owner (OW); read (files) or read and list
// (directories) for the local Users group (BU) when `mode` lets others read (0004). On a
// directory, the entries of SY, BA and OW are inherited by what is created in it without an
// ACL of its own; the Users' entry is not.
std::string SddlForMode(mode_t mode, bool directory);

// Sets that DACL on the existing file or directory `path` (SetNamedSecurityInfoW).
Status ApplyModeAcl(const std::string& path, mode_t mode, bool directory);

}  // namespace hearth::windows
