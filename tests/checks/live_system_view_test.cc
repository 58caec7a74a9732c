#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "hearth/system_view.h"
#include "support/temp_dir.h"

namespace hearth {
namespace {

TEST(LiveSystemViewTest, RunAddsTheViewsCommandEnvironmentBelowTheCommandsOwn) {
  auto sys = NewLiveSystemView({.command_env = {{"FROM_OPTIONS", "1"}, {"EXTRA", "options"}}});
  Command c;
  c.argv = {"/usr/bin/env"};
  c.env["EXTRA"] = "x";
  auto r = sys->run(c);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_NE(r->out.find("FROM_OPTIONS=1\n"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("EXTRA=x\n"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("LC_ALL=C\n"), std::string::npos) << r->out;
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

}  // namespace
}  // namespace hearth
