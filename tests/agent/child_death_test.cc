// Issue 13, defect 8: a child process outlived a SIGKILLed daemon by more than 200 ms (in 1 of 50
// kills). Every process the agent starts dies with it: its own children (ChildProcess: the check
// process, hearth-upload, hearth-verify, hearth-enroll; forked or exec'ed, as root or dropped to
// an account) and the commands the check process runs (RunCommand, in their own process group).
// A stand-in for the daemon starts one of each, with a command under the check process, and is
// killed with SIGKILL in the middle of their work, 50 times; 200 ms later none may be alive.
#include <chrono>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/agent/child_process.h"
#include "hearth/process.h"

namespace hearth::agent {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// Pids of the processes whose command line holds `marker` (a unique sleep duration).
std::vector<pid_t> processesWith(const std::string& marker) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    // read(2), not a stream: reading the command line of a process that exits meanwhile fails
    // with ESRCH, which libstdc++'s filebuf turns into an exception.
    std::string cmdline;
    int fd = ::open((std::string("/proc/") + e->d_name + "/cmdline").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof buf)) > 0) cmdline.append(buf, static_cast<size_t>(n));
      ::close(fd);
    }
    // A zombie has an empty command line: it is dead already.
    if (cmdline.find(marker) != std::string::npos) out.push_back(pid);
  }
  ::closedir(d);
  return out;
}

TEST(ChildDeathTest, Defect8NoChildOutlivesASigkilledDaemonBy200Ms) {
  const std::string sleep_bin =
      ::access("/usr/bin/sleep", X_OK) == 0 ? "/usr/bin/sleep" : "/bin/sleep";
  int failures = 0;
  std::string first_failure;
  for (int kill = 0; kill < 50; ++kill) {
    // A duration nothing else on the machine uses: how the survivors are found.
    const std::string marker = "7777." + std::to_string(::getpid()) + std::to_string(kill);
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    pid_t daemon = ::fork();
    ASSERT_GE(daemon, 0);
    if (daemon == 0) {
      ::close(ready[0]);
      // The check process: a forked child that runs a command, as hearth-check does.
      ChildSpec check;
      check.name = "hearth-check";
      check.run = [&](int) {
        Command c;
        c.argv = {sleep_bin, marker};
        c.timeout = std::chrono::seconds(60);
        (void)RunCommand(c);
        return 0;
      };
      // An exec'ed child, as hearth-upload is.
      ChildSpec upload;
      upload.name = "hearth-upload";
      upload.program = sleep_bin;
      upload.args = {marker};
      auto a = ChildProcess::Start(check);
      auto b = ChildProcess::Start(upload);
      char ok = (a.ok() && b.ok()) ? 'y' : 'n';
      // Wait until the command runs under the check process, then say so and work on.
      for (int i = 0; i < 500 && processesWith(marker).size() < 2; ++i) ::usleep(2000);
      (void)!::write(ready[1], &ok, 1);
      ::pause();
      ::_exit(0);
    }
    ::close(ready[1]);
    char ok = 'n';
    ASSERT_EQ(::read(ready[0], &ok, 1), 1);
    ::close(ready[0]);
    ASSERT_EQ(ok, 'y');
    ASSERT_EQ(processesWith(marker).size(), 2u) << "the command and the exec'ed child run";
    ::kill(daemon, SIGKILL);
    int status = 0;
    ::waitpid(daemon, &status, 0);
    std::this_thread::sleep_for(milliseconds(200));
    auto alive = processesWith(marker);
    if (!alive.empty()) {
      ++failures;
      if (first_failure.empty()) {
        first_failure = "kill " + std::to_string(kill) + ": " + std::to_string(alive.size()) +
                        " process(es) still alive 200 ms after the daemon was killed";
      }
      for (pid_t p : alive) ::kill(p, SIGKILL);
    }
  }
  EXPECT_EQ(failures, 0) << first_failure;
}

}  // namespace
}  // namespace hearth::agent
