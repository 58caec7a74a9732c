// The one way the agent runs part of its work in another process and talks to it. Every child
// of the agent starts, talks, times out, dies and is reaped here:
//   hearth-check   the checks of one cycle (forked: it runs this executable's checks)
//   hearth-upload  the network side: the uploader, and enrolment's requests (exec'ed, unprivileged)
//   hearth-verify  the root side's own check of a new policy's signature (exec'ed, unprivileged)
//   hearth-enroll  preseeded enrolment, so that the daemon can stop while it waits (forked)
//
// Starting. An exec'ed child is `program` started with argv[0] = `name` (the program names
// itself after it). A forked child runs `run` and exits with what it returns. Before that, in the
// child: the parent-death signal (SIGKILL), exit at once if the parent is already gone, default
// signal handling with nothing blocked (the daemon blocks SIGTERM/SIGHUP for its signalfd), the
// channel on descriptor 3 and every other descriptor beyond stdio closed (nothing the daemon holds,
// its control socket, netlink socket or agent.lock, reaches a child), then, with an `account`,
// the privilege drop: no supplementary groups, setgid, setuid, root cannot be regained, the
// parent-death signal re-armed (setuid cleared it), no_new_privs and not dumpable. A child that
// cannot be started or cannot drop its privileges makes Start() fail with the reason; nothing
// runs in it then.
//
// Frames. The channel is a stream; each message on it is a frame: 4 bytes of length (big-endian)
// and that many bytes. A frame longer than the reader's limit ends the conversation (DataLoss);
// a reader stops at the declared length, never waiting for end of file (a command a check
// started may still hold the other end).
//
// Deadlines. send(), receive() and wait() never block past their deadline and give up when
// `interrupt_fd` (the daemon's signalfd) becomes readable: DeadlineExceeded, or
// Unavailable("interrupted"). A child that closed its end without a complete frame: Unavailable.
// The caller then usually kill()s it.
//
// Ending. finish() closes the channel and lets the child exit by itself for a moment; kill()
// sends SIGKILL and reaps the child, waiting at most `grace`: a child stuck in the kernel (a hard
// NFS mount) is reaped later, by a later kill() or wait() of any child, and never blocks the
// daemon. The destructor kills a child that is still running.
//
// Windows (child_process_windows.cc) implements the same class over CreateProcessAsUser: the
// exec'ed form only (there is no fork: Start() with `run` is Unimplemented), always with a
// restricted token (child_token_windows.h: no privileges, the agent's user, SYSTEM and
// Administrators deny-only, restricting SIDs with the child's own random SID, Low integrity), the
// channel one instance of a named pipe with a random name and a DACL for the agent's user and the
// child's SID only, connected by the agent (its own end checked to be its own) before the child
// starts and given to it as its standard input (ChildChannel()), the only handle it inherits
// beside stderr; the same frames; deadlines with overlapped I/O on the parent's end; kill() as
// TerminateProcess; dying with the parent, and starting no process, through a job object. Not on
// Windows: `interrupt_fd` (ignored), and `account` (the restricted token stands for it).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <utility>
#include <vector>

#include "hearth/posix_ids.h"
#include "hearth/status.h"

namespace hearth::agent {

using SteadyTime = std::chrono::steady_clock::time_point;

// The account a child runs as (when the agent is root).
struct ChildAccount {
  uid_t uid = 0;
  gid_t gid = 0;
};

// The uid and gid of a local account: from /etc/passwd when it is there (no NSS modules loaded
// into the daemon for a system account), else through NSS.
std::optional<std::pair<uid_t, gid_t>> FindAccount(const std::string& name);
// The account a network-facing child runs as: `user`, or "nobody" when `user` does not exist.
// FailedPrecondition when neither exists or the account is root or in group root.
StatusOr<ChildAccount> UnprivilegedAccount(const std::string& user);

struct ChildSpec {
  std::string name;  // what ps and /proc/PID/comm show: "hearth-check", "hearth-upload", ...
  // Exec'ed: the program, its arguments after argv[0], and variables added to this process's
  // environment.
  std::string program;
  std::vector<std::string> args;
  std::vector<std::string> extra_env;
  // Forked (POSIX only; tests, and the check process): runs in the child, with the channel's
  // descriptor; the child exits with its return value and never returns into the caller.
  std::function<int(int channel)> run;
  // Drop to this account first (the agent must be root).
  std::optional<ChildAccount> account;
};

class ChildProcess {
 public:
  static StatusOr<std::unique_ptr<ChildProcess>> Start(const ChildSpec& spec);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }

  // One frame to the child.
  Status send(std::string_view payload, SteadyTime deadline, int interrupt_fd = -1);
  // One frame from the child, at most `max_bytes` long; no deadline waits for ever.
  StatusOr<std::string> receive(size_t max_bytes, std::optional<SteadyTime> deadline,
                                int interrupt_fd = -1);
  // Waits for the child to exit by itself; returns its wait status (see waitpid).
  StatusOr<int> wait(std::optional<SteadyTime> deadline, int interrupt_fd = -1);
  // SIGKILL, then reap within `grace`; the wait status when reaped, nullopt when it is left to be
  // reaped later (or was reaped before).
  std::optional<int> kill(std::chrono::milliseconds grace = std::chrono::milliseconds(500));
  // Closes this end of the channel (the child sees end of file).
  void closeChannel();
  // The work is done: closes the channel and gives the child `grace` to exit by itself (it sees
  // end of file, and cleans up as a program does), then kill()s it if it is still there. The
  // wait status when reaped.
  std::optional<int> finish(std::chrono::milliseconds grace = std::chrono::seconds(1));

 private:
  ChildProcess(pid_t pid, int fd, std::string name) : pid_(pid), fd_(fd), name_(std::move(name)) {}

  pid_t pid_ = -1;  // -1 once reaped or handed to the reaper
  int fd_ = -1;
  std::string name_;
  // Windows: the process, its job and the parent's end of the channel (HANDLEs; fd_ unused).
  void* process_ = nullptr;
  void* job_ = nullptr;
  void* pipe_ = nullptr;
};

// The child's side of the channel: blocking, whole frames.
Status WriteFrame(int fd, std::string_view payload);
StatusOr<std::string> ReadFrame(int fd, size_t max_bytes);

// What an exec'ed child program does first (hearth-upload's main): names itself after argv[0]
// (hearth-upload, hearth-verify), takes no_new_privs (also when the agent is not root) and makes
// itself not dumpable again (exec resets the flag, and the device key arrives after it), and
// ignores SIGPIPE (a closed channel is an error, not a death).
void HardenExecedChild(const char* argv0);

// In an exec'ed child: the channel's descriptor (3 on Linux, standard input on Windows), or -1
// when this program was not started by the agent (someone ran it by hand).
int ChildChannel();

}  // namespace hearth::agent
