// The command runner: no shell, a clean environment, bounded output on both pipes, a deadline
// that kills the process group, and the privilege drop.
#include "hearth/process.h"

#include <chrono>
#include <cstdlib>
#include <unistd.h>

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace hearth {
namespace {

using std::chrono::milliseconds;

TEST(ProcessTest, RunCapturesOutputAndExitCodeWithoutAShell) {
  Command c;
  c.argv = {"/bin/echo", "a;b", "$HOME", "`id`"};
  auto r = RunCommand(c);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->out, "a;b $HOME `id`\n");  // no shell interpreted anything

  c.argv = {"/bin/false"};
  r = RunCommand(c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 1);
}

TEST(ProcessTest, RunGivesACleanEnvironmentWithCLocale) {
  ::setenv("HEARTH_SECRET_TEST_VAR", "leak", 1);
  Command c;
  c.argv = {"/usr/bin/env"};
  c.env["EXTRA"] = "x";
  auto r = RunCommand(c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out.find("HEARTH_SECRET_TEST_VAR"), std::string::npos);
  EXPECT_NE(r->out.find("LC_ALL=C\n"), std::string::npos);
  EXPECT_NE(r->out.find("EXTRA=x\n"), std::string::npos);
  ::unsetenv("HEARTH_SECRET_TEST_VAR");
}

TEST(ProcessTest, RunRefusesRelativeProgramAndReportsMissingOne) {
  Command c;
  c.argv = {"echo", "x"};
  EXPECT_EQ(RunCommand(c).status().code(), StatusCode::kInvalidArgument);
  c.argv = {"/nonexistent/bin/tool"};
  auto r = RunCommand(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("not installed"), std::string::npos);
}

TEST(ProcessTest, RunKillsTheWholeProcessGroupAtTheDeadline) {
  Command c;
  // A child that forks a grandchild holding the pipes open: both must die at the deadline.
  c.argv = {"/bin/sh", "-c", "sleep 30 & sleep 30"};
  c.timeout = milliseconds(300);
  auto start = std::chrono::steady_clock::now();
  auto r = RunCommand(c);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST(ProcessTest, RunBoundsOutputAndDrainsBothStreams) {
  Command c;
  // 1 MiB on stderr and stdout each: would deadlock if only one pipe were drained.
  c.argv = {"/bin/sh", "-c",
            "head -c 1048576 /dev/zero >&2; head -c 1048576 /dev/zero; echo done >&2"};
  c.max_output = 4096;
  auto r = RunCommand(c);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->out.size(), 4096u);
  EXPECT_TRUE(r->out_truncated);
  EXPECT_TRUE(r->err_truncated);
}

TEST(ProcessTest, RunAsUserDropsPrivileges) {
  if (!testing::RunningAsRoot()) GTEST_SKIP() << "needs root: switches to another uid";
  Command c;
  c.argv = {"/usr/bin/id"};
  c.as_user = UserIdentity{65534, 65534, {65534}, "nobody", "/nonexistent"};
  auto r = RunCommand(c);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_TRUE(r->out.starts_with("uid=65534")) << r->out;
  EXPECT_EQ(r->out.find("groups=0"), std::string::npos) << r->out;
}

TEST(ProcessTest, RunAsOurselvesWorksWithoutRootAndOthersIsRefused) {
  Command c;
  c.argv = {"/usr/bin/id", "-u"};
  c.as_user = UserIdentity{::geteuid(), ::getegid(), {}, "me", "/"};
  auto r = RunCommand(c);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->out, std::to_string(::geteuid()) + "\n");
  if (testing::RunningAsRoot()) return;  // as root any uid works (tested below)
  c.as_user->uid = ::geteuid() + 1;
  EXPECT_EQ(RunCommand(c).status().code(), StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace hearth
