#include <gtest/gtest.h>

#include "hearth/system_view.h"
#include "hearth/time.h"
#include "support/temp_dir.h"

namespace hearth {
namespace {

TEST(RootedSystemViewTest, AbsoluteSymlinksAndDotDotStayInsideTheTree) {
  testing::TempDir outside;
  outside.write("etc/secret", "host secret");
  testing::TempDir root;
  root.write("etc/hostname", "inside\n");
  root.write("sys/devices/virtual/block/dm-1/dm/uuid", "CRYPT-LUKS2-abc-root\n");
  root.symlink("sys/dev/block/253:1", "../../devices/virtual/block/dm-1");
  root.symlink("abs", "/etc/hostname");                    // absolute: resolved in the tree
  root.symlink("escape", outside.path() + "/etc/secret");  // points outside: stays inside
  auto sys = NewRootedSystemView(root.path());
  ASSERT_TRUE(sys.ok()) << sys.status().toString();
  auto uuid = (*sys)->readFile("/sys/dev/block/253:1/dm/uuid", 4096, false);
  ASSERT_TRUE(uuid.ok()) << uuid.status().toString();
  EXPECT_EQ(*uuid, "CRYPT-LUKS2-abc-root\n");
  auto abs = (*sys)->readFile("/abs", 4096, false);
  ASSERT_TRUE(abs.ok());
  EXPECT_EQ(*abs, "inside\n");
  EXPECT_FALSE((*sys)->readFile("/escape", 4096, false).ok());
  EXPECT_FALSE((*sys)->readFile("/../../../../etc/passwd", 4096, false).ok());
  auto link = (*sys)->readLink("/sys/dev/block/253:1");
  ASSERT_TRUE(link.ok());
  EXPECT_EQ(*link, "../../devices/virtual/block/dm-1");
  auto names = (*sys)->listDir("/sys/dev/block");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"253:1"});
  EXPECT_TRUE((*sys)->isRooted());
}

TEST(RootedSystemViewTest, UserFilesNeverLeadOutOfTheHomeThroughSymlinks) {
  testing::TempDir root;
  root.write("etc/shadow", "root:$6$secret:::\n");
  root.write("etc/secret/kscreenlockerrc", "[Daemon]\nTimeout=1\n");
  root.write("home/bob/dotfiles/kscreenlockerrc", "[Daemon]\nTimeout=5\n");
  root.mkdir("home/bob/.config");
  root.symlink("home/bob/.config/kscreenlockerrc", "../dotfiles/kscreenlockerrc");  // stays in
  root.symlink("home/bob/.config/xfce4.xml", "/etc/shadow");                        // leaves
  root.symlink("home/carol/.config", "/etc/secret");  // the whole directory points away
  auto sys = NewRootedSystemView(root.path());
  ASSERT_TRUE(sys.ok());
  UserIdentity bob{1000, 1000, {}, "bob", "/home/bob"};
  UserIdentity carol{1001, 1001, {}, "carol", "/home/carol"};
  auto own = (*sys)->readFileAs(bob, "/home/bob/.config/kscreenlockerrc", 4096);
  ASSERT_TRUE(own.ok()) << own.status().toString();
  EXPECT_EQ(*own, "[Daemon]\nTimeout=5\n");
  auto shadow = (*sys)->readFileAs(bob, "/home/bob/.config/xfce4.xml", 4096);
  ASSERT_FALSE(shadow.ok());
  EXPECT_EQ(shadow.status().code(), StatusCode::kPermissionDenied);
  EXPECT_FALSE((*sys)->readFileAs(carol, "/home/carol/.config/kscreenlockerrc", 4096).ok());
  EXPECT_FALSE((*sys)->readFileAs(bob, "/home/bob/../../etc/shadow", 4096).ok());
  // System files (outside any home) are read normally.
  EXPECT_TRUE((*sys)->readFileAs(bob, "/etc/secret/kscreenlockerrc", 4096).ok());
}

TEST(RootedSystemViewTest, CommandsAndRoutesComeFromRecordings) {
  testing::TempDir root;
  root.write(".hearth/commands.json", R"({"commands": [
    {"argv": ["/usr/sbin/zfs", "get", "encryption"], "exit": 0, "stdout_file": "zfs.txt"},
    {"argv": ["/usr/bin/gsettings", "get", "a", "b"], "as_uid": 1000, "exit": 1,
     "stderr": "No such schema"}
  ]})");
  root.write(".hearth/zfs.txt", "rpool\tencryption\taes-256-gcm\n");
  root.write(".hearth/routes.json", R"({"routes": [
    {"destination": "10.20.0.1", "interface": "tun0", "table": 51820, "matched_prefix": "default"}
  ]})");
  root.write(".hearth/now", "2026-01-02T03:04:05Z\n");
  auto sys = NewRootedSystemView(root.path());
  ASSERT_TRUE(sys.ok()) << sys.status().toString();
  Command c;
  c.argv = {"/usr/sbin/zfs", "get", "encryption"};
  auto r = (*sys)->run(c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "rpool\tencryption\taes-256-gcm\n");
  c.argv = {"/usr/bin/gsettings", "get", "a", "b"};
  EXPECT_EQ((*sys)->run(c).status().code(), StatusCode::kUnavailable);  // recorded for uid 1000
  c.as_user = UserIdentity{1000, 1000, {}, "alice", "/home/alice"};
  r = (*sys)->run(c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 1);
  c.argv = {"/usr/bin/apt-get", "-s", "dist-upgrade"};
  c.as_user.reset();
  auto missing = (*sys)->run(c);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no recorded output for: /usr/bin/apt-get -s"),
            std::string::npos);
  auto route = (*sys)->routeTo(*IpAddress::parse("10.20.0.1"));
  ASSERT_TRUE(route.ok());
  EXPECT_EQ(route->interface, "tun0");
  EXPECT_EQ(route->table, 51820u);
  EXPECT_FALSE((*sys)->routeTo(*IpAddress::parse("10.20.0.2")).ok());
  EXPECT_EQ(formatRfc3339((*sys)->now()), "2026-01-02T03:04:05Z");
}

TEST(RootedSystemViewTest, BrokenRecordingIsAClearError) {
  testing::TempDir root;
  root.write(".hearth/commands.json", "{\"commands\": [}");
  auto sys = NewRootedSystemView(root.path());
  ASSERT_FALSE(sys.ok());
  EXPECT_NE(sys.status().message().find(".hearth/commands.json"), std::string::npos);
  EXPECT_NE(sys.status().message().find("line 1"), std::string::npos);
}

TEST(RootedSystemViewTest, MissingRootIsAnError) {
  auto sys = NewRootedSystemView("/nonexistent/hearth-root");
  ASSERT_FALSE(sys.ok());
  EXPECT_NE(sys.status().message().find("/nonexistent/hearth-root"), std::string::npos);
}

}  // namespace
}  // namespace hearth
