// The command runner on Linux: fork, execve, poll on both pipes, kill the group at the deadline.
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "hearth/process.h"

namespace hearth {

namespace {

using Clock = std::chrono::steady_clock;

void killGroupAndReap(pid_t pid) {
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  int st;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

void CloseDescriptorsFrom(int lowfd) {
#ifdef SYS_close_range
  if (::syscall(SYS_close_range, lowfd, ~0U, 0) == 0) return;
#endif
  for (int fd = lowfd; fd < 4096; ++fd) ::close(fd);
}

std::vector<gid_t> ChildGroups(const UserIdentity& user) {
  std::vector<gid_t> groups = user.groups;
  if (groups.empty()) groups.push_back(user.gid);
  return groups;
}

bool DropPrivilegesInChild(const UserIdentity& user, const std::vector<gid_t>& groups) {
  if (::setgroups(groups.size(), groups.data()) != 0) return false;
  if (::setresgid(user.gid, user.gid, user.gid) != 0) return false;
  if (::setresuid(user.uid, user.uid, user.uid) != 0) return false;
  // Paranoia: regaining root must be impossible.
  if (user.uid != 0 && ::setuid(0) == 0) return false;
  return true;
}

StatusOr<Pipe> OpenPipe() {
  int fd[2];
  if (::pipe2(fd, O_CLOEXEC) != 0) return ErrnoToStatus(errno, "pipe");
  return Pipe{Fd(fd[0]), Fd(fd[1])};
}

StatusOr<CommandResult> RunCommand(const Command& command) {
  if (command.argv.empty() || command.argv[0].empty() || command.argv[0][0] != '/') {
    return InvalidArgumentError("command must start with an absolute program path");
  }
  // Everything the child needs is prepared before fork (no allocation after it).
  std::vector<std::string> env_strings;
  std::map<std::string, std::string> env = command.env;
  env.emplace("LC_ALL", "C");
  env.emplace("LANG", "C");
  env.emplace("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
  if (command.as_user) {
    env.emplace("HOME", command.as_user->home.empty() ? "/" : command.as_user->home);
    if (!command.as_user->name.empty()) {
      env.emplace("USER", command.as_user->name);
      env.emplace("LOGNAME", command.as_user->name);
    }
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = command.argv;
  std::vector<char*> argv;
  for (auto& s : argv_copy) argv.push_back(s.data());
  argv.push_back(nullptr);
  // Dropping privileges needs root. Not root: running "as" ourselves needs no drop; running as
  // anyone else is impossible, and said so instead of failing in the child.
  bool drop = command.as_user.has_value() && ::geteuid() == 0;
  if (command.as_user && !drop && command.as_user->uid != ::geteuid()) {
    return PermissionDeniedError("cannot run " + command.argv[0] + " as uid " +
                                 std::to_string(command.as_user->uid) + " without root");
  }
  std::vector<gid_t> groups;
  if (command.as_user) groups = ChildGroups(*command.as_user);
  std::string workdir =
      command.as_user && !command.as_user->home.empty() ? command.as_user->home : std::string("/");

  HEARTH_ASSIGN_OR_RETURN(Pipe out, OpenPipe());
  HEARTH_ASSIGN_OR_RETURN(Pipe err, OpenPipe());
  HEARTH_ASSIGN_OR_RETURN(Pipe errpipe, OpenPipe());

  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoToStatus(errno, "fork");
  if (pid == 0) {
    ::setpgid(0, 0);
    // Dies with its parent (the agent's check process, itself dying with the daemon): a command
    // never outlives a killed agent (issue 13). Armed again after a privilege drop, which clears
    // it; a parent already gone is noticed right after arming.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    // Default signal dispositions and an empty mask for the new program.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGPIPE, SIGCHLD, SIGTERM, SIGINT, SIGHUP}) ::signal(sig, SIG_DFL);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull < 0 || ::dup2(devnull, 0) < 0 || ::dup2(out.write.get(), 1) < 0 ||
        ::dup2(err.write.get(), 2) < 0) {
      int e = errno;
      (void)!::write(errpipe.write.get(), &e, sizeof e);
      ::_exit(127);
    }
    int keep = errpipe.write.get();
    if (keep != 3) {
      if (::dup3(keep, 3, O_CLOEXEC) < 0) ::_exit(127);
    }
    CloseDescriptorsFrom(4);
    if (drop && !DropPrivilegesInChild(*command.as_user, groups)) {
      int e = errno ? errno : EPERM;
      (void)!::write(3, &e, sizeof e);
      ::_exit(126);
    }
    if (drop) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
    }
    if (::chdir(workdir.c_str()) != 0 && ::chdir("/") != 0) {
      // Nothing sensible remains; run anyway.
    }
    ::execve(argv[0], argv.data(), envp.data());
    int e = errno;
    (void)!::write(3, &e, sizeof e);
    ::_exit(127);
  }

  out.write.reset();
  err.write.reset();
  errpipe.write.reset();

  // Did exec succeed? The error pipe closes on exec (CLOEXEC) or carries errno.
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(errpipe.read.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    int st;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    Status s = ErrnoToStatus(child_errno, "cannot run " + command.argv[0]);
    if (child_errno == ENOENT) return NotFoundError(command.argv[0] + " is not installed");
    return s;
  }

  CommandResult result;
  auto deadline = Clock::now() + command.timeout;
  struct pollfd fds[2] = {{out.read.get(), POLLIN, 0}, {err.read.get(), POLLIN, 0}};
  std::string* bufs[2] = {&result.out, &result.err};
  bool* truncated[2] = {&result.out_truncated, &result.err_truncated};
  int open_count = 2;
  char buf[65536];
  while (open_count > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      killGroupAndReap(pid);
      return DeadlineExceededError(command.argv[0] + " did not finish within " +
                                   std::to_string(command.timeout.count()) + " ms");
    }
    int pr = ::poll(fds, 2, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (pr < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      killGroupAndReap(pid);
      return ErrnoToStatus(e, "poll");
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t r = ::read(fds[i].fd, buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        fds[i].fd = -1;
        --open_count;
        continue;
      }
      size_t room = command.max_output > bufs[i]->size() ? command.max_output - bufs[i]->size() : 0;
      size_t take = std::min(room, static_cast<size_t>(r));
      bufs[i]->append(buf, take);
      if (take < static_cast<size_t>(r)) *truncated[i] = true;
    }
  }
  // Both pipes closed: wait for the exit, still bounded by the deadline.
  int st = 0;
  while (true) {
    pid_t w = ::waitpid(pid, &st, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) return ErrnoToStatus(errno, "waitpid");
    if (Clock::now() >= deadline) {
      killGroupAndReap(pid);
      return DeadlineExceededError(command.argv[0] + " did not exit within " +
                                   std::to_string(command.timeout.count()) + " ms");
    }
    ::usleep(1000);
  }
  // Leftover processes in the group (daemonised grandchildren) are not ours to keep.
  ::kill(-pid, SIGKILL);
  if (WIFEXITED(st)) {
    result.exit_code = WEXITSTATUS(st);
  } else if (WIFSIGNALED(st)) {
    result.term_signal = WTERMSIG(st);
  }
  return result;
}

}  // namespace hearth
