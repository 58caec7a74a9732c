// The agent's children (child_process.h): frames both ways and their bound, deadlines and
// interruption, start failures said plainly, the privilege drop, dying with the parent, reaping.
#include "hearth/agent/child_process.h"

#include <chrono>
#include <fstream>
#include <signal.h>
#include <sstream>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

#include "support/files.h"

namespace hearth::agent {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;
using testing::PollUntil;

ChildSpec forked(std::function<int(int)> run) {
  ChildSpec spec;
  spec.name = "hearth-test";
  spec.run = std::move(run);
  return spec;
}

// Answers each frame with the same bytes until the channel closes.
int echo(int fd) {
  while (true) {
    auto frame = ReadFrame(fd, 2 << 20);
    if (!frame.ok()) return 0;
    if (!WriteFrame(fd, *frame).ok()) return 1;
  }
}

// The process's state letter from /proc (R, S, Z, ...), or '-' when it is gone.
char stateOf(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(f, stat)) return '-';
  size_t close = stat.rfind(')');
  return close == std::string::npos || close + 2 >= stat.size() ? '-' : stat[close + 2];
}

TEST(ChildProcessTest, FramesCrossBothWaysWhole) {
  auto child = ChildProcess::Start(forked(echo));
  ASSERT_TRUE(child.ok()) << child.status().message();
  const auto deadline = Clock::now() + seconds(10);
  for (const std::string& payload :
       {std::string("hello"), std::string(), std::string(1 << 20, 'x')}) {
    ASSERT_TRUE((*child)->send(payload, deadline).ok());
    auto back = (*child)->receive(2 << 20, deadline);
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(*back, payload);
  }
  (*child)->closeChannel();
  auto ended = (*child)->wait(Clock::now() + seconds(5));
  ASSERT_TRUE(ended.ok()) << ended.status().message();
  EXPECT_TRUE(WIFEXITED(*ended));
  EXPECT_EQ(WEXITSTATUS(*ended), 0);
}

TEST(ChildProcessTest, AFrameOverTheLimitEndsTheConversation) {
  auto child = ChildProcess::Start(forked([](int fd) {
    (void)WriteFrame(fd, std::string(4096, 'x'));
    ::pause();
    return 0;
  }));
  ASSERT_TRUE(child.ok()) << child.status().message();
  auto frame = (*child)->receive(1024, Clock::now() + seconds(10));
  EXPECT_EQ(frame.status().code(), StatusCode::kDataLoss) << frame.status().message();
  pid_t pid = (*child)->pid();
  (*child)->kill();
  EXPECT_EQ(stateOf(pid), '-') << "killed and reaped";
}

TEST(ChildProcessTest, ASilentChildMeetsTheDeadlineOrTheInterrupt) {
  auto child = ChildProcess::Start(forked([](int) {
    ::pause();
    return 0;
  }));
  ASSERT_TRUE(child.ok()) << child.status().message();
  auto start = Clock::now();
  auto late = (*child)->receive(1024, start + milliseconds(200));
  EXPECT_EQ(late.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(late.status().message().find("did not answer in time"), std::string::npos);
  EXPECT_LT(Clock::now() - start, seconds(2));

  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  std::thread later([&] {
    std::this_thread::sleep_for(milliseconds(100));
    (void)!::write(p[1], "x", 1);
  });
  auto interrupted = (*child)->receive(1024, std::nullopt, p[0]);
  later.join();
  EXPECT_EQ(interrupted.status().message(), "interrupted");
  auto waited = (*child)->wait(std::nullopt, p[0]);
  EXPECT_EQ(waited.status().message(), "interrupted");
  ::close(p[0]);
  ::close(p[1]);
}

TEST(ChildProcessTest, WaitGivesTheExitStatus) {
  auto child = ChildProcess::Start(forked([](int) { return 3; }));
  ASSERT_TRUE(child.ok()) << child.status().message();
  auto ended = (*child)->wait(Clock::now() + seconds(10));
  ASSERT_TRUE(ended.ok()) << ended.status().message();
  ASSERT_TRUE(WIFEXITED(*ended));
  EXPECT_EQ(WEXITSTATUS(*ended), 3);
}

TEST(ChildProcessTest, AProgramGetsTheChannelItsNameAndItsEnvironment) {
  ChildSpec spec;
  spec.name = "hearth-test";
  spec.program = "/bin/sh";
  // One frame by hand: 4 bytes of length, then "$0 $HEARTH_TEST_VAR" (11 + 1 + 5 bytes).
  spec.args = {"-c", R"(printf '\000\000\000\021%s %s' "$0" "$HEARTH_TEST_VAR" >&3)"};
  spec.extra_env = {"HEARTH_TEST_VAR=hello"};
  auto child = ChildProcess::Start(spec);
  ASSERT_TRUE(child.ok()) << child.status().message();
  auto frame = (*child)->receive(1024, Clock::now() + seconds(10));
  ASSERT_TRUE(frame.ok()) << frame.status().message();
  EXPECT_EQ(*frame, "hearth-test hello");
}

TEST(ChildProcessTest, AProgramThatCannotStartSaysWhy) {
  ChildSpec spec;
  spec.name = "hearth-test";
  spec.program = "/nonexistent/hearth-upload";
  auto child = ChildProcess::Start(spec);
  ASSERT_FALSE(child.ok());
  EXPECT_NE(child.status().message().find("/nonexistent/hearth-upload"), std::string::npos)
      << child.status().message();
  EXPECT_NE(child.status().message().find("No such file"), std::string::npos)
      << child.status().message();
}

TEST(ChildProcessTest, TheAccountIsTakenBeforeAnythingRuns) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (the privilege drop)";
  auto nobody = FindAccount("nobody");
  ASSERT_TRUE(nobody.has_value());
  ChildSpec spec = forked([](int fd) {
    std::ifstream f("/proc/self/status");
    std::stringstream all;
    all << f.rdbuf();
    std::string facts = "uid=" + std::to_string(::getuid()) + " gid=" + std::to_string(::getgid());
    std::string line;
    while (std::getline(all, line)) {
      if (line.starts_with("Groups:") || line.starts_with("NoNewPrivs:")) facts += "\n" + line;
    }
    facts += "\ndumpable=" + std::to_string(::prctl(PR_GET_DUMPABLE));
    return WriteFrame(fd, facts).ok() ? 0 : 1;
  });
  spec.account = ChildAccount{nobody->first, nobody->second};
  auto child = ChildProcess::Start(spec);
  ASSERT_TRUE(child.ok()) << child.status().message();
  auto facts = (*child)->receive(4096, Clock::now() + seconds(10));
  ASSERT_TRUE(facts.ok()) << facts.status().message();
  EXPECT_NE(facts->find("uid=" + std::to_string(nobody->first) +
                        " gid=" + std::to_string(nobody->second)),
            std::string::npos)
      << *facts;
  EXPECT_NE(facts->find("NoNewPrivs:\t1"), std::string::npos) << *facts;
  EXPECT_NE(facts->find("dumpable=0"), std::string::npos) << *facts;
  std::string groups = facts->substr(facts->find("Groups:") + 7);
  groups = groups.substr(0, groups.find('\n'));
  EXPECT_EQ(groups.find_first_not_of(" \t"), std::string::npos) << "no supplementary groups";

  ChildSpec impossible = forked([](int) { return 0; });
  impossible.account = ChildAccount{static_cast<uid_t>(-1), nobody->second};  // setuid(-1) fails
  auto refused = ChildProcess::Start(impossible);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("cannot drop privileges"), std::string::npos)
      << refused.status().message();
}

TEST(ChildProcessTest, AChildDiesWithItsParent) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  pid_t middle = ::fork();
  ASSERT_GE(middle, 0);
  if (middle == 0) {
    // A parent that starts a child, says its pid and dies at once.
    auto child = ChildProcess::Start(forked([](int) {
      ::pause();
      return 0;
    }));
    pid_t pid = child.ok() ? (*child)->pid() : -1;
    (void)!::write(p[1], &pid, sizeof pid);
    ::_exit(0);
  }
  ::close(p[1]);
  pid_t grandchild = -1;
  ASSERT_EQ(::read(p[0], &grandchild, sizeof grandchild), static_cast<ssize_t>(sizeof grandchild));
  ::close(p[0]);
  ASSERT_GT(grandchild, 0);
  int status = 0;
  ::waitpid(middle, &status, 0);
  PollUntil([&] { return stateOf(grandchild) == '-' || stateOf(grandchild) == 'Z'; }, seconds(10),
            milliseconds(10));
  char state = stateOf(grandchild);
  EXPECT_TRUE(state == '-' || state == 'Z') << "still running: " << state;
}

TEST(ChildProcessTest, KillReapsAndTheDestructorKills) {
  pid_t pid = -1;
  {
    auto child = ChildProcess::Start(forked([](int) {
      ::pause();
      return 0;
    }));
    ASSERT_TRUE(child.ok()) << child.status().message();
    pid = (*child)->pid();
    EXPECT_EQ(stateOf(pid) == '-', false);
  }
  EXPECT_EQ(stateOf(pid), '-') << "killed and reaped when its owner went";
  auto child = ChildProcess::Start(forked([](int) {
    ::pause();
    return 0;
  }));
  ASSERT_TRUE(child.ok()) << child.status().message();
  pid = (*child)->pid();
  auto status = (*child)->kill();
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFSIGNALED(*status));
  EXPECT_EQ(WTERMSIG(*status), SIGKILL);
  EXPECT_EQ(stateOf(pid), '-');
  EXPECT_EQ((*child)->pid(), -1);
}

}  // namespace
}  // namespace hearth::agent
