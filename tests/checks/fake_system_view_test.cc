#include "fakes/fake_system_view.h"

#include <gtest/gtest.h>

namespace hearth::testing {
namespace {

TEST(FakeSystemViewTest, ResolvesRelativeSymlinksLikeSysfs) {
  FakeSystemView sys;
  sys.addFile("/sys/devices/virtual/block/dm-0/dm/name", "root\n");
  sys.addSymlink("/sys/dev/block/254:0", "../../devices/virtual/block/dm-0");
  auto r = sys.readFile("/sys/dev/block/254:0/dm/name", 100, false);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(*r, "root\n");
  auto names = sys.listDir("/sys/dev/block/254:0");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"dm"});
}

TEST(FakeSystemViewTest, FifosAreNeverRead) {
  FakeSystemView sys;
  sys.addFifo("/run/systemd/sessions/2.ref");
  EXPECT_EQ(sys.readFile("/run/systemd/sessions/2.ref", 100, false).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(sys.stat("/run/systemd/sessions/2.ref", false)->type, FileType::kFifo);
}

TEST(FakeSystemViewTest, UserFilesAreOnlyReadableByTheirUser) {
  FakeSystemView sys;
  sys.addUserFile(1000, "/home/alice/.config/kscreenlockerrc", "[Daemon]\n");
  UserIdentity alice{1000, 1000, {}, "alice", "/home/alice"};
  UserIdentity bob{1001, 1001, {}, "bob", "/home/bob"};
  EXPECT_TRUE(sys.readFileAs(alice, "/home/alice/.config/kscreenlockerrc", 100).ok());
  EXPECT_EQ(sys.readFileAs(bob, "/home/alice/.config/kscreenlockerrc", 100).status().code(),
            StatusCode::kPermissionDenied);
}

TEST(FakeSystemViewTest, CommandsMatchArgvAndUidAndAreLogged) {
  FakeSystemView sys;
  CommandResult ok;
  ok.exit_code = 0;
  ok.out = "uint32 300\n";
  sys.addCommand({"/usr/bin/gsettings", "get", "org.gnome.desktop.session", "idle-delay"}, ok,
                 1000);
  Command c;
  c.argv = {"/usr/bin/gsettings", "get", "org.gnome.desktop.session", "idle-delay"};
  EXPECT_FALSE(sys.run(c).ok());
  c.as_user = UserIdentity{1000, 1000, {}, "alice", "/home/alice"};
  auto r = sys.run(c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "uint32 300\n");
  EXPECT_EQ(sys.commandsRun().size(), 2u);
}

TEST(FakeSystemViewTest, InjectedFailures) {
  FakeSystemView sys;
  sys.addFile("/sys/block/vda/removable", "0\n");
  sys.failPath("/sys/block", PermissionDeniedError("sysfs not readable"));
  EXPECT_EQ(sys.listDir("/sys/block").status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(sys.readFile("/sys/block/vda/removable", 10, false).status().code(),
            StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace hearth::testing
