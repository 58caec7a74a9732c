#include <chrono>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "hearth/system_view.h"
#include "support/temp_dir.h"

namespace hearth {
namespace {

using std::chrono::milliseconds;

TEST(LiveSystemViewTest, RunCapturesOutputAndExitCodeWithoutAShell) {
  auto sys = NewLiveSystemView();
  Command c;
  c.argv = {"/bin/echo", "a;b", "$HOME", "`id`"};
  auto r = sys->run(c);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->out, "a;b $HOME `id`\n");  // no shell interpreted anything

  c.argv = {"/bin/false"};
  r = sys->run(c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 1);
}

TEST(LiveSystemViewTest, RunGivesACleanEnvironmentWithCLocale) {
  ::setenv("HEARTH_SECRET_TEST_VAR", "leak", 1);
  auto sys = NewLiveSystemView({.command_env = {{"FROM_OPTIONS", "1"}}});
  Command c;
  c.argv = {"/usr/bin/env"};
  c.env["EXTRA"] = "x";
  auto r = sys->run(c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out.find("HEARTH_SECRET_TEST_VAR"), std::string::npos);
  EXPECT_NE(r->out.find("LC_ALL=C\n"), std::string::npos);
  EXPECT_NE(r->out.find("EXTRA=x\n"), std::string::npos);
  EXPECT_NE(r->out.find("FROM_OPTIONS=1\n"), std::string::npos);
  ::unsetenv("HEARTH_SECRET_TEST_VAR");
}

TEST(LiveSystemViewTest, RunRefusesRelativeProgramAndReportsMissingOne) {
  auto sys = NewLiveSystemView();
  Command c;
  c.argv = {"echo", "x"};
  EXPECT_EQ(sys->run(c).status().code(), StatusCode::kInvalidArgument);
  c.argv = {"/nonexistent/bin/tool"};
  auto r = sys->run(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("not installed"), std::string::npos);
}

TEST(LiveSystemViewTest, RunKillsTheWholeProcessGroupAtTheDeadline) {
  auto sys = NewLiveSystemView();
  Command c;
  // A child that forks a grandchild holding the pipes open: both must die at the deadline.
  c.argv = {"/bin/sh", "-c", "sleep 30 & sleep 30"};
  c.timeout = milliseconds(300);
  auto start = std::chrono::steady_clock::now();
  auto r = sys->run(c);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST(LiveSystemViewTest, RunBoundsOutputAndDrainsBothStreams) {
  auto sys = NewLiveSystemView();
  Command c;
  // 1 MiB on stderr and stdout each: would deadlock if only one pipe were drained.
  c.argv = {"/bin/sh", "-c",
            "head -c 1048576 /dev/zero >&2; head -c 1048576 /dev/zero; echo done >&2"};
  c.max_output = 4096;
  auto r = sys->run(c);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->out.size(), 4096u);
  EXPECT_TRUE(r->out_truncated);
  EXPECT_TRUE(r->err_truncated);
}

TEST(LiveSystemViewTest, RunAsUserDropsPrivileges) {
  if (!testing::RunningAsRoot()) GTEST_SKIP() << "needs root: switches to another uid";
  auto sys = NewLiveSystemView();
  Command c;
  c.argv = {"/usr/bin/id"};
  c.as_user = UserIdentity{65534, 65534, {65534}, "nobody", "/nonexistent"};
  auto r = sys->run(c);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->out.rfind("uid=65534", 0), 0u) << r->out;
  EXPECT_EQ(r->out.find("groups=0"), std::string::npos) << r->out;
}

TEST(LiveSystemViewTest, RunAsOurselvesWorksWithoutRootAndOthersIsRefused) {
  auto sys = NewLiveSystemView();
  Command c;
  c.argv = {"/usr/bin/id", "-u"};
  c.as_user = UserIdentity{::geteuid(), ::getegid(), {}, "me", "/"};
  auto r = sys->run(c);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->out, std::to_string(::geteuid()) + "\n");
  if (testing::RunningAsRoot()) return;  // as root any uid works (tested below)
  c.as_user->uid = ::geteuid() + 1;
  EXPECT_EQ(sys->run(c).status().code(), StatusCode::kPermissionDenied);
}

TEST(LiveSystemViewTest, ReadFileAsUserAppliesTheUsersPermissions) {
  if (!testing::RunningAsRoot()) GTEST_SKIP() << "needs root: switches to another uid";
  testing::TempDir dir;
  ::chmod(dir.path().c_str(), 0755);
  std::string secret = dir.write("secret", "root only");
  ::chmod(secret.c_str(), 0600);
  std::string open = dir.write("open", "hello");
  ::chmod(open.c_str(), 0644);
  auto sys = NewLiveSystemView();
  UserIdentity nobody{65534, 65534, {}, "nobody", "/"};
  auto denied = sys->readFileAs(nobody, secret, 1024);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), StatusCode::kPermissionDenied);
  auto ok = sys->readFileAs(nobody, open, 1024);
  ASSERT_TRUE(ok.ok()) << ok.status().toString();
  EXPECT_EQ(*ok, "hello");
  EXPECT_EQ(sys->readFileAs(nobody, dir.path() + "/missing", 10).status().code(),
            StatusCode::kNotFound);
}

TEST(LiveSystemViewTest, ReadFileNeverBlocksOnAFifoAndIsBounded) {
  testing::TempDir dir;
  std::string fifo = dir.path() + "/session.ref";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto sys = NewLiveSystemView();
  auto r = sys->readFile(fifo, 1024, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);

  std::string big = dir.write("big", std::string(5000, 'x'));
  EXPECT_EQ(sys->readFile(big, 100, false).status().code(), StatusCode::kResourceExhausted);
  auto head = sys->readFile(big, 100, true);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->size(), 100u);
}

TEST(LiveSystemViewTest, ListDirStatAndReadLink) {
  testing::TempDir dir;
  dir.write("b", "");
  dir.write("a", "12345");
  dir.symlink("link", "a");
  auto sys = NewLiveSystemView();
  auto names = sys->listDir(dir.path());
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b", "link"}));
  auto st = sys->stat(dir.path() + "/link", false);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->type, FileType::kSymlink);
  st = sys->stat(dir.path() + "/link", true);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->type, FileType::kRegular);
  EXPECT_EQ(st->size, 5u);
  auto target = sys->readLink(dir.path() + "/link");
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(*target, "a");
  EXPECT_EQ(sys->stat(dir.path() + "/none", true).status().code(), StatusCode::kNotFound);
}

TEST(IpAddressTest, ParsesAndFormatsBothFamilies) {
  auto v4 = IpAddress::parse("10.20.0.1");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->toString(), "10.20.0.1");
  auto v6 = IpAddress::parse("fd00:20:0:0::1");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->toString(), "fd00:20::1");
  EXPECT_FALSE(IpAddress::parse("10.20.0.1/24").ok());
  EXPECT_FALSE(IpAddress::parse("host.example").ok());
  EXPECT_FALSE(IpAddress::parse("").ok());
}

}  // namespace
}  // namespace hearth
