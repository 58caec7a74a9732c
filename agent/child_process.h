// What every process the agent forks (check run, uploader, one-off request, preseeded enrolment)
// does first, in one place. Call only between fork() and _exit(): async-signal-safe calls only.
#pragma once

#include <sys/types.h>

namespace hearth::agent {

// Dies with `parent` (and exits at once if it is already gone), takes default signal handling with
// nothing blocked (the daemon blocks SIGTERM/SIGHUP for its signalfd), and names itself `name`
// (ps, /proc/PID/comm).
void BecomeChildOf(pid_t parent, const char* name);

// Drops to uid/gid with no supplementary groups and makes sure root cannot be regained; then, as
// setuid() cleared it, re-arms the parent-death signal, and sets no_new_privs and non-dumpable (the
// device key may be in memory). False when any step failed.
bool DropPrivileges(pid_t parent, uid_t uid, gid_t gid);

// waitpid() that retries on EINTR.
void Reap(pid_t pid, int* status = nullptr);

}  // namespace hearth::agent
