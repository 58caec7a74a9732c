// Running a program without a shell (process_linux.cc; process_windows.cc: CreateProcessW in a
// job object, no fork and no privilege drop): fork/exec with a clean environment, optional
// privilege drop, bounded output on both pipes drained concurrently, and a deadline that kills the
// process group. The checks run commands through SystemView::run (which uses this on the live
// machine); the server runs pg_dump and pg_restore with it directly.
//
// For code that forks a child of its own (reading a file as another user), the steps the runner
// takes in its child are here too: they are async-signal-safe, for use between fork and exec.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hearth/fd.h"
#include "hearth/posix_ids.h"  // uid_t, gid_t (Windows: as_user is refused)
#include "hearth/status.h"

namespace hearth {

// The credentials a command (or a file read) runs with after dropping privileges.
struct UserIdentity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups (initgroups); empty = only gid
  std::string name;           // for USER/LOGNAME
  std::string home;           // for HOME and the working directory
};

struct Command {
  // argv[0] must be an absolute path. No shell is involved.
  std::vector<std::string> argv;
  // The complete environment of the child (nothing is inherited). RunCommand adds LC_ALL=C,
  // LANG=C and PATH=/usr/sbin:/usr/bin:/sbin:/bin unless set here.
  std::map<std::string, std::string> env;
  std::chrono::milliseconds timeout{30000};
  size_t max_output = 8 * 1024 * 1024;  // per stream; output beyond is discarded and flagged
  // When set, the child drops to this identity (setgroups, setresgid, setresuid) before exec,
  // and starts in its home directory (or / if that fails).
  std::optional<UserIdentity> as_user;
};

struct CommandResult {
  int exit_code = -1;   // valid when term_signal == 0
  int term_signal = 0;  // the signal that ended the process, if any
  std::string out;
  std::string err;
  bool out_truncated = false;
  bool err_truncated = false;
};

// Runs `command`. A non-zero exit is not an error (see CommandResult); errors are: argv[0] is not
// an absolute path (InvalidArgument), the program does not exist (NotFound "... is not
// installed"), it cannot be started, as_user names another user and we are not root
// (PermissionDenied), or it ran past its timeout (DeadlineExceeded; the whole process group is
// killed).
StatusOr<CommandResult> RunCommand(const Command& command);

// A pipe whose both ends are close-on-exec.
struct Pipe {
  Fd read;
  Fd write;
};
StatusOr<Pipe> OpenPipe();

// The groups a child of `user` holds: user.groups, or only user.gid when that is empty. Computed
// before fork (it allocates).
std::vector<gid_t> ChildGroups(const UserIdentity& user);

// In a child after fork: becomes `user` with `groups` (setgroups, setresgid, setresuid) and makes
// sure root cannot be regained. False, with errno set, when any step fails.
bool DropPrivilegesInChild(const UserIdentity& user, const std::vector<gid_t>& groups);

// In a child after fork: closes every descriptor from `lowfd` up.
void CloseDescriptorsFrom(int lowfd);

}  // namespace hearth
