// Children of the agent: start, frames, deadlines, kill and reap (see child_process.h).
#include "hearth/agent/child_process.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "hearth/accounts.h"
#include "hearth/files.h"

extern char** environ;

namespace hearth::agent {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kChannelFd = 3;
constexpr int kStartErrorFd = 4;  // close-on-exec: end of file means "started"

// What a child reports on kStartErrorFd when it could not become what was asked.
enum class StartStage : int32_t { kDrop = 1, kExec = 2, kSetup = 3 };

// Children killed but not reaped yet (stuck in the kernel): reaped later, never waited for.
std::vector<pid_t>& unreaped() {
  static auto* v = new std::vector<pid_t>();
  return *v;
}

// Reaps what exited of the children left for later; `pid` too when it is among them (its wait
// status then goes to `status`, and true is returned).
bool reapLeftovers(pid_t pid, int* status) {
  bool found = false;
  auto& left = unreaped();
  for (size_t i = 0; i < left.size();) {
    int st = 0;
    pid_t r = ::waitpid(left[i], &st, WNOHANG);
    if (r == left[i] || (r < 0 && errno == ECHILD)) {
      if (left[i] == pid) {
        if (status != nullptr) *status = st;
        found = true;
      }
      left.erase(left.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
  return found;
}

// Milliseconds left until `deadline` for poll() (-1: none), 0 when it passed.
int pollTimeout(std::optional<SteadyTime> deadline) {
  if (!deadline) return -1;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now());
  if (left.count() <= 0) return 0;
  return static_cast<int>(std::min<int64_t>(left.count(), 1 << 30));
}

// Waits until `fd` is ready for `events`. OK, DeadlineExceeded, or Unavailable("interrupted").
Status waitReady(int fd, short events, std::optional<SteadyTime> deadline, int interrupt_fd,
                 const std::string& late) {
  while (true) {
    int timeout = pollTimeout(deadline);
    if (timeout == 0) return DeadlineExceededError(late);
    pollfd fds[2] = {{fd, events, 0}, {interrupt_fd, POLLIN, 0}};
    int r = ::poll(fds, interrupt_fd >= 0 ? 2 : 1, timeout);
    if (r < 0) {
      if (errno == EINTR) continue;
      return InternalError(std::string("poll: ") + std::strerror(errno));
    }
    if (r == 0) continue;  // the deadline check above ends it
    if (interrupt_fd >= 0 && (fds[1].revents & POLLIN) != 0) {
      return UnavailableError("interrupted");
    }
    return OkStatus();
  }
}

std::string header(size_t n) {
  const auto v = static_cast<uint32_t>(n);
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

uint32_t lengthOf(const std::string& head) {
  return (static_cast<uint32_t>(static_cast<unsigned char>(head[0])) << 24) |
         (static_cast<uint32_t>(static_cast<unsigned char>(head[1])) << 16) |
         (static_cast<uint32_t>(static_cast<unsigned char>(head[2])) << 8) |
         static_cast<uint32_t>(static_cast<unsigned char>(head[3]));
}

Status frameTooLong(uint32_t n, size_t max_bytes) {
  return DataLossError("a frame of " + std::to_string(n) + " bytes (at most " +
                       std::to_string(max_bytes) + ")");
}

// Reads one frame from `fd`. With `when_empty` the reads do not block: it is called whenever
// there is nothing to read yet, and says whether to go on (OK) or why to give up.
StatusOr<std::string> readFrame(int fd, size_t max_bytes, const std::string& who,
                                const std::function<Status()>& when_empty) {
  std::string head, body;
  std::string* buf = &head;
  size_t want = 4;
  while (true) {
    if (buf->size() == want) {
      if (buf == &body) return body;
      const uint32_t n = lengthOf(head);
      if (n > max_bytes) return frameTooLong(n, max_bytes);
      buf = &body;
      want = n;
      body.reserve(n);
      continue;
    }
    char chunk[65536];
    ssize_t got = ::recv(fd, chunk, std::min(sizeof(chunk), want - buf->size()),
                         when_empty ? MSG_DONTWAIT : 0);
    if (got > 0) {
      buf->append(chunk, static_cast<size_t>(got));
      continue;
    }
    if (got == 0) return UnavailableError(who + " ended without a complete answer");
    if (errno == EINTR) continue;
    if (errno == EAGAIN && when_empty) {
      HEARTH_RETURN_IF_ERROR(when_empty());
      continue;
    }
    return UnavailableError(who + " channel: " + std::strerror(errno));
  }
}

// --- in the child, between fork() and exec()/_exit(): async-signal-safe calls only -------------

[[noreturn]] void startFailed(StartStage stage, int err) {
  int32_t report[2] = {static_cast<int32_t>(stage), err};
  (void)!::write(kStartErrorFd, report, sizeof report);
  ::_exit(stage == StartStage::kExec ? 127 : 126);
}

void becomeChild(pid_t parent, const char* name, int channel, int start_error) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(0);  // the parent died before the signal was armed
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGTERM, SIG_DFL);
  ::signal(SIGHUP, SIG_DFL);
  ::prctl(PR_SET_NAME, name);
  // The channel on 3, the start report on 4, nothing else beyond stdio. Moved above 4 first so
  // that neither lands on the other.
  int c = ::fcntl(channel, F_DUPFD_CLOEXEC, kStartErrorFd + 1);
  int e = ::fcntl(start_error, F_DUPFD_CLOEXEC, kStartErrorFd + 1);
  if (c < 0 || e < 0 || ::dup3(e, kStartErrorFd, O_CLOEXEC) < 0) ::_exit(126);
  if (::dup2(c, kChannelFd) < 0) startFailed(StartStage::kSetup, errno);  // (not close-on-exec)
  ::close_range(kStartErrorFd + 1, ~0U, 0);
}

void dropTo(pid_t parent, const ChildAccount& a) {
  if (::setgroups(0, nullptr) != 0 || ::setgid(a.gid) != 0 || ::setuid(a.uid) != 0) {
    startFailed(StartStage::kDrop, errno);
  }
  if (::setuid(0) == 0) startFailed(StartStage::kDrop, EPERM);  // could regain root
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);                           // setuid() cleared it
  if (::getppid() != parent) ::_exit(0);
}

}  // namespace

std::optional<std::pair<uid_t, gid_t>> FindAccount(const std::string& name) {
  // A system account (the package's `hearth`, `nobody`) is in /etc/passwd: read it there first,
  // so that the daemon does not load NSS modules (libnss_systemd, about 0.3 MiB) just for this.
  if (auto passwd = ReadFileBounded("/etc/passwd", 4 << 20); passwd.ok()) {
    for (const auto& e : accounts::parsePasswd(*passwd)) {
      if (e.name != name) continue;
      if (e.uid > 0xFFFFFFFE || e.gid > 0xFFFFFFFE) break;  // (uid_t)-1 means "no change"
      return std::make_pair(static_cast<uid_t>(e.uid), static_cast<gid_t>(e.gid));
    }
  }
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
    return std::make_pair(pw.pw_uid, pw.pw_gid);
  }
  return std::nullopt;
}

StatusOr<ChildAccount> UnprivilegedAccount(const std::string& user) {
  for (const std::string& name : {user, std::string("nobody")}) {
    if (name.empty()) continue;
    if (auto ids = FindAccount(name)) {
      if (ids->first == 0 || ids->second == 0) {
        return FailedPreconditionError("service_user \"" + name +
                                       "\" is root or in group root; the network side must run "
                                       "unprivileged");
      }
      return ChildAccount{ids->first, ids->second};
    }
  }
  return FailedPreconditionError("neither \"" + user + "\" nor \"nobody\" exists");
}

StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(const ChildSpec& spec) {
  if (spec.program.empty() == !spec.run) {
    return InvalidArgumentError("a child runs either a program or a function");
  }
  reapLeftovers(-1, nullptr);
  // Everything the child needs is made before fork(): after it, no allocation.
  std::vector<std::string> env_strings;
  std::vector<char*> argv, envp;
  if (!spec.program.empty()) {
    argv.push_back(const_cast<char*>(spec.name.c_str()));
    for (const auto& a : spec.args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      std::string_view var(*e);
      bool replaced = std::any_of(spec.extra_env.begin(), spec.extra_env.end(), [&](auto& x) {
        return var.substr(0, var.find('=') + 1) == std::string_view(x).substr(0, x.find('=') + 1);
      });
      if (!replaced) env_strings.emplace_back(var);
    }
    for (const auto& x : spec.extra_env) env_strings.push_back(x);
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return InternalError(std::string("socketpair: ") + std::strerror(errno));
  }
  int ep[2];
  if (::pipe2(ep, O_CLOEXEC) != 0) {
    int e = errno;
    ::close(sv[0]);
    ::close(sv[1]);
    return InternalError(std::string("pipe: ") + std::strerror(e));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    for (int fd : {sv[0], sv[1], ep[0], ep[1]}) ::close(fd);
    return InternalError(std::string("fork: ") + std::strerror(e));
  }
  if (pid == 0) {
    becomeChild(parent, spec.name.c_str(), sv[1], ep[1]);
    if (spec.account) {
      dropTo(parent, *spec.account);
      ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
      ::prctl(PR_SET_DUMPABLE, 0);
    }
    if (!spec.program.empty()) {
      ::execve(spec.program.c_str(), argv.data(), envp.data());
      startFailed(StartStage::kExec, errno);
    }
    ::close(kStartErrorFd);  // started
    ::_exit(spec.run(kChannelFd));
  }
  ::close(sv[1]);
  ::close(ep[1]);
  int32_t report[2] = {0, 0};
  size_t got = 0;
  while (got < sizeof report) {
    ssize_t n = ::read(ep[0], reinterpret_cast<char*>(report) + got, sizeof report - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(ep[0]);
  auto child = std::unique_ptr<ChildProcess>(new ChildProcess(pid, sv[0], spec.name));
  if (got != 0) {
    child->kill();
    const int e = got == sizeof report ? report[1] : 0;
    const std::string why = e != 0 ? std::strerror(e) : "it exited at once";
    switch (static_cast<StartStage>(report[0])) {
      case StartStage::kDrop:
        return PermissionDeniedError(
            "cannot start " + spec.name + ": cannot drop privileges to uid " +
            std::to_string(spec.account ? spec.account->uid : 0) + ": " + why);
      case StartStage::kExec:
        return UnavailableError("cannot start " + spec.name + " (" + spec.program + "): " + why);
      default:
        return InternalError("cannot start " + spec.name + ": " + why);
    }
  }
  ::fcntl(sv[0], F_SETFL, ::fcntl(sv[0], F_GETFL) | O_NONBLOCK);
  return child;
}

ChildProcess::~ChildProcess() {
  closeChannel();
  if (pid_ > 0) kill();
}

void ChildProcess::closeChannel() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status ChildProcess::send(std::string_view payload, SteadyTime deadline, int interrupt_fd) {
  if (fd_ < 0) return UnavailableError(name_ + ": the channel is closed");
  std::string data = header(payload.size());
  data.append(payload);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t w = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      off += static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno != EAGAIN) {
      return UnavailableError(name_ + " channel: " + std::strerror(errno));
    }
    HEARTH_RETURN_IF_ERROR(waitReady(fd_, POLLOUT, deadline, interrupt_fd,
                                     name_ + " did not take the request in time"));
  }
  return OkStatus();
}

StatusOr<std::string> ChildProcess::receive(size_t max_bytes, std::optional<SteadyTime> deadline,
                                            int interrupt_fd) {
  if (fd_ < 0) return UnavailableError(name_ + ": the channel is closed");
  return readFrame(fd_, max_bytes, name_, [&] {
    return waitReady(fd_, POLLIN, deadline, interrupt_fd, name_ + " did not answer in time");
  });
}

StatusOr<int> ChildProcess::wait(std::optional<SteadyTime> deadline, int interrupt_fd) {
  if (pid_ <= 0) return FailedPreconditionError(name_ + " was reaped already");
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      if (pidfd >= 0) ::close(pidfd);
      pid_ = -1;
      return status;
    }
    // Without a pidfd (kernels before 5.3) look again every 50 ms.
    std::optional<SteadyTime> until = deadline;
    if (pidfd < 0) {
      auto soon = Clock::now() + std::chrono::milliseconds(50);
      if (!until || *until > soon) until = soon;
    }
    Status ready = waitReady(pidfd, POLLIN, until, interrupt_fd, "");
    if (ready.code() == StatusCode::kDeadlineExceeded && pollTimeout(deadline) != 0) continue;
    if (!ready.ok()) {
      if (pidfd >= 0) ::close(pidfd);
      if (ready.code() == StatusCode::kDeadlineExceeded) {
        return DeadlineExceededError(name_ + " did not finish in time");
      }
      return ready;
    }
  }
}

std::optional<int> ChildProcess::finish(std::chrono::milliseconds grace) {
  closeChannel();
  if (pid_ <= 0) return std::nullopt;
  auto ended = wait(Clock::now() + grace);
  if (ended.ok()) return *ended;
  return kill();
}

std::optional<int> ChildProcess::kill(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return std::nullopt;
  ::kill(pid_, SIGKILL);
  const pid_t pid = pid_;
  pid_ = -1;
  unreaped().push_back(pid);
  const auto end = Clock::now() + grace;
  int status = 0;
  while (true) {
    if (reapLeftovers(pid, &status)) return status;
    if (Clock::now() >= end) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

Status WriteFrame(int fd, std::string_view payload) {
  std::string data = header(payload.size());
  data.append(payload);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t w = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return UnavailableError(std::string("channel: ") + std::strerror(errno));
    off += static_cast<size_t>(w);
  }
  return OkStatus();
}

StatusOr<std::string> ReadFrame(int fd, size_t max_bytes) {
  return readFrame(fd, max_bytes, "the other side", nullptr);
}

int ChildChannel() {
  struct stat st {};
  if (::fstat(kChannelFd, &st) != 0 || !S_ISSOCK(st.st_mode)) return -1;
  return kChannelFd;
}

void HardenExecedChild(const char* argv0) {
  if (argv0 != nullptr) {
    const char* base = std::strrchr(argv0, '/');
    ::prctl(PR_SET_NAME, base != nullptr ? base + 1 : argv0);
  }
  ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);  // (set before exec already when it was dropped)
  ::prctl(PR_SET_DUMPABLE, 0);
  ::signal(SIGPIPE, SIG_IGN);
}

}  // namespace hearth::agent
