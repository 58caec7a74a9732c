// The shared account parsers (hearth/accounts.h, hearth/logind_sessions.h), table-tested on the
// shapes Debian, Fedora and NSS (`getent`) print. No SystemView: these are pure.
#include "hearth/accounts.h"

#include <gtest/gtest.h>

#include "hearth/logind_sessions.h"

namespace hearth::accounts {
namespace {

TEST(AccountsTest, ParseIdAcceptsOnlyDecimalIdsThatFitIn32Bits) {
  EXPECT_EQ(parseId("0"), 0u);
  EXPECT_EQ(parseId("1000"), 1000u);
  EXPECT_EQ(parseId("4294967295"), 4294967295u);
  EXPECT_FALSE(parseId("4294967296").has_value());
  EXPECT_FALSE(parseId("-1").has_value());
  EXPECT_FALSE(parseId("").has_value());
  EXPECT_FALSE(parseId("12a").has_value());
  EXPECT_FALSE(parseId("0x10").has_value());
}

TEST(AccountsTest, PasswdKeepsWellFormedEntriesInFileOrder) {
  auto pw = parsePasswd(
      "root:x:0:0:root:/root:/bin/bash\n"
      "hearth:x:998:998:Hearth agent:/nonexistent:/usr/sbin/nologin\n"
      "alice:x:1000:1000:Alice Example,,,:/home/alice:/bin/bash\n");
  ASSERT_EQ(pw.size(), 3u);
  EXPECT_EQ(pw[0].name, "root");
  EXPECT_EQ(pw[0].uid, 0u);
  EXPECT_EQ(pw[1].name, "hearth");
  EXPECT_EQ(pw[1].uid, 998u);
  EXPECT_EQ(pw[1].gid, 998u);
  EXPECT_EQ(pw[1].shell, "/usr/sbin/nologin");
  EXPECT_EQ(pw[2].name, "alice");
  EXPECT_EQ(pw[2].uid, 1000u);
  EXPECT_EQ(pw[2].gid, 1000u);
  EXPECT_EQ(pw[2].home, "/home/alice");
  EXPECT_EQ(pw[2].shell, "/bin/bash");
}

TEST(AccountsTest, PasswdSkipsCommentsCompatLinesAndMalformedEntries) {
  auto pw = parsePasswd(
      "# comment\n"
      "\n"
      "+@netgroup::::::\n"
      "-baduser::::::\n"
      "short:x:1001:1001\n"              // fewer than 7 fields
      ":x:1002:1002::/home/x:/bin/sh\n"  // no name
      "nouid:x::1003::/home/nouid:/bin/sh\n"
      "bigid:x:4294967296:1::/home/b:/bin/sh\n"
      "badgid:x:1004:g::/home/g:/bin/sh\n"
      "bob:x:1005:1005::/home/bob:\n");
  ASSERT_EQ(pw.size(), 1u);
  EXPECT_EQ(pw[0].name, "bob");
  EXPECT_EQ(pw[0].shell, "");
}

TEST(AccountsTest, PasswdReadsGetentOutputWithoutATrailingNewline) {
  // `getent passwd 1000` for an SSSD user: one line, no newline at the end.
  auto one = parsePasswd("jdoe@corp.example:*:1234567:1234567:John Doe:/home/jdoe:/bin/zsh");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].name, "jdoe@corp.example");
  EXPECT_EQ(one[0].uid, 1234567u);
  EXPECT_EQ(one[0].shell, "/bin/zsh");
  EXPECT_TRUE(parsePasswd("").empty());
}

TEST(AccountsTest, GroupMembersAreTrimmedAndEmptyOnesDropped) {
  auto groups = parseGroup(
      "# comment\n"
      "root:x:0:\n"
      "sudo:x:27: alice , bob,,\n"
      "broken:x:notanid:alice\n"
      "short:x:5\n"
      "users:x:100:alice\n");
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].name, "root");
  EXPECT_TRUE(groups[0].members.empty());
  EXPECT_EQ(groups[1].gid, 27u);
  EXPECT_EQ(groups[1].members, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(groups[2].name, "users");
}

TEST(AccountsTest, GroupsOfPutsThePrimaryGroupFirstAndListsEachGroupOnce) {
  auto groups = parseGroup(
      "alice:x:1000:\n"
      "sudo:x:27:alice,bob\n"
      "audio:x:29:bob\n"
      "again:x:1000:alice\n"  // the primary gid again, as a member
      "users:x:100:alice\n"
      "sudo2:x:27:alice\n");  // a second group line with the same gid
  EXPECT_EQ(groupsOf(groups, "alice", 1000), (std::vector<gid_t>{1000, 27, 100}));
  EXPECT_EQ(groupsOf(groups, "bob", 1001), (std::vector<gid_t>{1001, 27, 29}));
  EXPECT_EQ(groupsOf(groups, "carol", 1002), (std::vector<gid_t>{1002}));
  EXPECT_EQ(groupsOf({}, "alice", 1000), (std::vector<gid_t>{1000}));
}

TEST(AccountsTest, GroupsOfStopsAt1024Groups) {
  std::string file;
  for (int g = 0; g < 2000; ++g)
    file += "g" + std::to_string(g) + ":x:" + std::to_string(g + 5000) + ":alice\n";
  auto list = groupsOf(parseGroup(file), "alice", 1000);
  ASSERT_EQ(list.size(), 1024u);
  EXPECT_EQ(list.front(), 1000u);
  EXPECT_EQ(list.back(), 6022u);
}

TEST(AccountsTest, LoginDefsRangeWithDefaultsForMissingOrInvalidValues) {
  auto r = parseLoginDefs(
      "# UID_MIN 5\n"
      "MAIL_DIR /var/mail\n"
      "UID_MIN\t\t\t 2000\n"
      "  UID_MAX  3000  # trailing words are ignored\n"
      "SYS_UID_MIN 100\n");
  EXPECT_EQ(r.min, 2000u);
  EXPECT_EQ(r.max, 3000u);
  auto d = parseLoginDefs("");
  EXPECT_EQ(d.min, 1000u);
  EXPECT_EQ(d.max, 60000u);
  auto bad = parseLoginDefs("UID_MIN -5\nUID_MAX lots\nUID_MIN\n");
  EXPECT_EQ(bad.min, 1000u);
  EXPECT_EQ(bad.max, 60000u);
  auto last = parseLoginDefs("UID_MIN 500\nUID_MIN 1500\n");
  EXPECT_EQ(last.min, 1500u);
}

TEST(AccountsTest, LoginShells) {
  EXPECT_TRUE(isLoginShell("/bin/bash"));
  EXPECT_TRUE(isLoginShell("/usr/bin/fish"));
  EXPECT_TRUE(isLoginShell(""));  // /bin/sh
  EXPECT_FALSE(isLoginShell("/usr/sbin/nologin"));
  EXPECT_FALSE(isLoginShell("/sbin/nologin"));
  EXPECT_FALSE(isLoginShell("/bin/false"));
  EXPECT_FALSE(isLoginShell("/usr/bin/false"));
  EXPECT_FALSE(isLoginShell("nologin"));
}

TEST(AccountsTest, RegularUsersAreInTheRangeWithALoginShellAndARealHome) {
  UidRange range;  // 1000..60000
  auto pw = parsePasswd(
      "root:x:0:0:root:/root:/bin/bash\n"
      "alice:x:1000:1000::/home/alice:/bin/bash\n"
      "svc:x:1001:1001::/var/lib/svc:/usr/sbin/nologin\n"
      "nohome:x:1002:1002:::/bin/bash\n"
      "slash:x:1003:1003::/:/bin/bash\n"
      "relative:x:1004:1004::home/rel:/bin/bash\n"
      "nobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n"
      "last:x:60000:60000::/home/last:\n"
      "over:x:60001:60001::/home/over:/bin/bash\n");
  std::vector<std::string> regular;
  for (const auto& e : pw) {
    if (isRegularUser(e, range)) regular.push_back(e.name);
  }
  EXPECT_EQ(regular, (std::vector<std::string>{"alice", "last"}));
  EXPECT_TRUE(isRegularUser(pw[0], UidRange{0, 0}));  // a range from login.defs decides
}

TEST(LogindSessionsTest, ParsesASessionFile) {
  // /run/systemd/sessions/3 on Fedora 40 KDE (systemd 255).
  auto s = parseLogindSession("3",
                              "# This is private data. Do not parse.\n"
                              "UID=1000\nUSER=bob\nACTIVE=1\nIS_DISPLAY=1\nSTATE=active\n"
                              "REMOTE=0\nTYPE=wayland\nCLASS=user\nSEAT=seat0\n"
                              "DESKTOP=KDE\nLEADER=2211\n");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->id, "3");
  EXPECT_EQ(s->uid, 1000u);
  EXPECT_TRUE(s->has_uid);
  EXPECT_EQ(s->user, "bob");
  EXPECT_EQ(s->state, "active");
  EXPECT_EQ(s->type, "wayland");
  EXPECT_EQ(s->klass, "user");
  EXPECT_EQ(s->desktop, "KDE");
  EXPECT_EQ(s->seat, "seat0");
  EXPECT_TRUE(s->active);
  EXPECT_FALSE(s->remote);
  EXPECT_EQ(s->leader, 2211);
}

TEST(LogindSessionsTest, ASessionWithoutAUsableUidIsNone) {
  EXPECT_FALSE(parseLogindSession("1", "USER=alice\nTYPE=x11\n").has_value());
  EXPECT_FALSE(parseLogindSession("1", "UID=\nTYPE=x11\n").has_value());
  EXPECT_FALSE(parseLogindSession("1", "UID=-1\nTYPE=x11\n").has_value());
  EXPECT_FALSE(parseLogindSession("1", "UID=alice\n").has_value());
  auto bad_leader = parseLogindSession("1", "UID=1000\nLEADER=abc\n");
  ASSERT_TRUE(bad_leader.has_value());
  EXPECT_EQ(bad_leader->leader, 0);
}

TEST(LogindSessionsTest, LiveGraphicalSessions) {
  auto session = [](const std::string& body) {
    auto s = parseLogindSession("9", "UID=1000\n" + body);
    EXPECT_TRUE(s.has_value());
    return s.value_or(LogindSession{});
  };
  EXPECT_TRUE(isLiveGraphicalSession(session("CLASS=user\nTYPE=x11\nSTATE=online\n")));
  EXPECT_TRUE(isLiveGraphicalSession(session("CLASS=user\nTYPE=wayland\nSTATE=active\n")));
  EXPECT_TRUE(isLiveGraphicalSession(session("CLASS=user\nTYPE=mir\n")));
  // xrdp and some display managers leave TYPE=unspecified but name the desktop.
  EXPECT_TRUE(isLiveGraphicalSession(session("CLASS=user\nTYPE=unspecified\nDESKTOP=xfce\n")));
  EXPECT_FALSE(isLiveGraphicalSession(session("CLASS=user\nTYPE=unspecified\n")));
  EXPECT_FALSE(isLiveGraphicalSession(session("CLASS=user\nTYPE=tty\nSTATE=active\n")));
  EXPECT_FALSE(isLiveGraphicalSession(session("CLASS=user\nTYPE=x11\nSTATE=closing\n")));
  EXPECT_FALSE(isLiveGraphicalSession(session("CLASS=greeter\nTYPE=wayland\nDESKTOP=gnome\n")));
  EXPECT_FALSE(isLiveGraphicalSession(session("CLASS=lock-screen\nTYPE=x11\n")));
  EXPECT_FALSE(isLiveGraphicalSession(session("CLASS=background\nTYPE=unspecified\n")));
}

}  // namespace
}  // namespace hearth::accounts
