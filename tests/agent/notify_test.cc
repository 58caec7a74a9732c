// Desktop notifications (agent/notify.cc) on an in-memory machine: who is told (logind sessions
// with a session bus), what they are told, and the once-a-day limit, with time from the fake
// clock. hearth-notify is answered by a fake that records what would have been shown (the real
// one, on a real session bus: tests/integration/agent_notify_dbus_test.cc).
#include "hearth/agent/notify.h"

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "fakes/fake_system_view.h"
#include "hearth/json.h"
#include "hearth/time.h"
#include "support/temp_dir.h"

namespace hearth::agent {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;

constexpr char kHelper[] = "/usr/lib/hearth/hearth-notify";

struct Shown {
  uint32_t uid = 0;
  std::string bus_address;
  std::string title;
  std::string body;
  std::vector<std::string> argv;
  std::string urgency;                       // the hint's value: "0" low, "1" normal, "2" critical
  std::map<std::string, std::string> flags;  // every --name=value hearth-notify was given
};

// A machine whose hearth-notify answers like one that showed the notification.
class BusMachine : public hearth::testing::FakeSystemView {
 public:
  BusMachine() {
    setNow(Clock::from_time_t(1795000000));  // 2026-11-18
    addFile(kHelper, "");
    addDir("/run/systemd/sessions");
  }

  // A person with a passwd entry, a logind session of `type`/`klass` and (if `bus`) a bus socket.
  BusMachine& person(const std::string& name, uint32_t uid, const std::string& session,
                     const std::string& type = "wayland", const std::string& klass = "user",
                     bool bus = true) {
    passwd_ += name + ":x:" + std::to_string(uid) + ":" + std::to_string(uid) + "::/home/" + name +
               ":/bin/bash\n";
    group_ += name + ":x:" + std::to_string(uid) + ":\n";
    addFile("/etc/passwd", passwd_);
    addFile("/etc/group", group_);
    addFile("/run/systemd/sessions/" + session,
            "# This is private data. Do not parse.\nUID=" + std::to_string(uid) + "\nUSER=" + name +
                "\nACTIVE=1\nSTATE=active\nREMOTE=0\nTYPE=" + type + "\nCLASS=" + klass +
                "\nSEAT=seat0\nLEADER=1234\n");
    addFifo("/run/systemd/sessions/" + session + ".ref");
    if (bus) busSocket(uid, uid);
    return *this;
  }
  BusMachine& busSocket(uint32_t dir_uid, uint32_t owner) {
    std::string path = "/run/user/" + std::to_string(dir_uid) + "/bus";
    addFile(path, "");
    FileInfo info;
    info.type = FileType::kSocket;
    info.uid = owner;
    info.gid = owner;
    info.mode = 0666;
    setFileInfo(path, info);
    return *this;
  }
  BusMachine& extraGroup(const std::string& line) {
    group_ += line + "\n";
    addFile("/etc/group", group_);
    return *this;
  }

  // Makes every notification for `uid` fail like hearth-notify does when nobody owns the name.
  void noServiceFor(uint32_t uid) {
    std::lock_guard<std::mutex> lock(mu_);
    no_service_.push_back(uid);
  }
  void serviceBack() {
    std::lock_guard<std::mutex> lock(mu_);
    no_service_.clear();
  }
  void failNotify(bool fail) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_notify_ = fail;
  }

  std::vector<Shown> shown() const {
    std::lock_guard<std::mutex> lock(mu_);
    return shown_;
  }
  std::vector<Command> busCalls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return bus_calls_;
  }

  StatusOr<CommandResult> run(const Command& c) const override {
    if (c.argv.empty() || c.argv[0] != kHelper) return FakeSystemView::run(c);
    std::lock_guard<std::mutex> lock(mu_);
    bus_calls_.push_back(c);
    uint32_t uid = c.as_user ? c.as_user->uid : 0;
    CommandResult r;
    if (std::find(no_service_.begin(), no_service_.end(), uid) != no_service_.end()) {
      r.exit_code = 1;
      r.err =
          "org.freedesktop.DBus.Error.ServiceUnknown: The name org.freedesktop.Notifications was "
          "not provided by any .service files\n";
      return r;
    }
    if (fail_notify_) {
      r.exit_code = 1;
      r.err = "org.freedesktop.DBus.Error.Timeout: Connection timed out\n";
      return r;
    }
    std::map<std::string, std::string> flags;
    for (size_t i = 1; i < c.argv.size(); ++i) {
      const std::string& a = c.argv[i];
      size_t eq = a.find('=');
      if (!a.starts_with("--") || eq == std::string::npos) {
        r.exit_code = 2;
        r.err = "fake hearth-notify: unexpected argument " + a + "\n";
        return r;
      }
      flags[a.substr(2, eq - 2)] = a.substr(eq + 1);
    }
    shown_.push_back(Shown{uid, flags["address"], flags["title"], flags["body"], c.argv,
                           flags["urgency"], flags});
    r.exit_code = 0;
    r.out = "id=" + std::to_string(shown_.size()) + " actions=1 markup=0\n";
    return r;
  }

  void advance(std::chrono::system_clock::duration d) { setNow(now() + d); }

 private:
  std::string passwd_ = "root:x:0:0:root:/root:/bin/bash\n";
  std::string group_ = "root:x:0:\n";
  mutable std::mutex mu_;
  std::vector<uint32_t> no_service_;
  bool fail_notify_ = false;
  mutable std::vector<Shown> shown_;
  mutable std::vector<Command> bus_calls_;
};

CheckResult Check(const std::string& id, Verdict v, const std::string& summary,
                  const std::string& remediation, bool required = true) {
  CheckResult c;
  c.id = id;
  c.verdict = v;
  c.required = required;
  c.summary = summary;
  c.remediation = remediation;
  return c;
}

Report ReportOf(std::vector<CheckResult> checks) {
  Report r;
  r.level = "standard";
  r.checks = std::move(checks);
  r.compliant = isCompliant(r.checks);
  return r;
}

const CheckResult kScreenLockFail =
    Check("screen_lock", Verdict::kFail, "alice: the screen locks after 15 min (limit 5 min)",
          "Open Settings > Privacy > Screen Lock and set Blank Screen Delay to 5 minutes.");

class NotifyTest : public ::testing::Test {
 protected:
  NotifyOptions options() const {
    NotifyOptions o;
    o.state_file = dir_.path() + "/notified.json";
    // A fixed zone (UTC): the fake clock starts at 11:06.
    o.minute_of_day = [](Clock::time_point t) {
      auto secs = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
      return static_cast<int>(((secs % 86400) + 86400) % 86400 / 60);
    };
    o.server_view = server_view_;
    o.helper = kHelper;
    o.control_socket = "/run/hearth/agent.sock";
    return o;
  }
  int notify(const Report& r) {
    auto sent = NotifyFailures(m_, r, options(), logger_);
    EXPECT_TRUE(sent.ok()) << sent.status().toString();
    return sent.ok() ? *sent : -1;
  }

  hearth::testing::TempDir dir_;
  json::Value server_view_;
  BusMachine m_;
  std::ostringstream log_;
  Logger logger_{log_, LogLevel::kDebug, LogFormat::Terminal("hearth-agent")};
};

// --- who is at the PC ---------------------------------------------------------------------------

TEST(FindDesktopsTest, PeopleWithAGraphicalSessionAndTheirOwnBus) {
  BusMachine m;
  m.person("alice", 1000, "2")
      .person("bob", 1001, "5", "x11")
      .person("carol", 1002, "7", "tty")               // ssh or console: not at a desktop
      .person("gdm", 120, "c1", "wayland", "greeter")  // the login screen
      .person("dave", 1003, "9", "wayland", "user", /*bus=*/false)
      .person("eve", 1004, "11", "x11", "user", /*bus=*/false)
      .extraGroup("audio:x:29:alice,bob")
      .busSocket(1004, 1000);  // eve's runtime dir holds a socket that is not hers
  m.addFile("/run/systemd/sessions/3",
            "UID=1000\nUSER=alice\nSTATE=active\nTYPE=x11\nCLASS=user\n");  // second session

  auto desktops = FindDesktops(m);
  ASSERT_EQ(desktops.size(), 2u);
  EXPECT_EQ(desktops[0].user, "alice");
  EXPECT_EQ(desktops[0].uid, 1000u);
  EXPECT_EQ(desktops[0].bus_address, "unix:path=/run/user/1000/bus");
  EXPECT_EQ(desktops[0].identity.uid, 1000u);
  EXPECT_EQ(desktops[0].identity.gid, 1000u);
  EXPECT_EQ(desktops[0].identity.home, "/home/alice");
  EXPECT_EQ(desktops[0].identity.groups, (std::vector<gid_t>{1000, 29}));
  EXPECT_EQ(desktops[1].user, "bob");
  EXPECT_EQ(desktops[1].bus_address, "unix:path=/run/user/1001/bus");
}

TEST(FindDesktopsTest, ClosingSessionsAndMissingSessionDirectoryMeanNobody) {
  BusMachine m;
  m.addFile("/etc/passwd", "alice:x:1000:1000::/home/alice:/bin/bash\n");
  m.addFile("/run/systemd/sessions/2",
            "UID=1000\nUSER=alice\nSTATE=closing\nTYPE=wayland\nCLASS=user\n");
  m.busSocket(1000, 1000);
  EXPECT_TRUE(FindDesktops(m).empty());
  NotifyOptions o;
  o.sessions_dir = "/nonexistent";
  EXPECT_TRUE(FindDesktops(m, o).empty());
}

TEST(FindDesktopsTest, DirectoryUsersAreLookedUpWithGetent) {
  BusMachine m;
  m.addFile("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
  m.addFile("/run/systemd/sessions/4",
            "UID=580001\nUSER=jdoe\nSTATE=active\nTYPE=wayland\nCLASS=user\n");
  m.busSocket(580001, 580001);
  CommandResult getent;
  getent.exit_code = 0;
  getent.out = "jdoe:*:580001:580001:J Doe:/home/jdoe:/bin/bash\n";
  m.addCommand({"/usr/bin/getent", "passwd", "580001"}, getent);
  auto desktops = FindDesktops(m);
  ASSERT_EQ(desktops.size(), 1u);
  EXPECT_EQ(desktops[0].user, "jdoe");
  EXPECT_EQ(desktops[0].identity.home, "/home/jdoe");
}

TEST(FindDesktopsTest, RuntimeDirectoryRootIsAnOption) {
  BusMachine m;
  m.person("alice", 1000, "2", "wayland", "user", /*bus=*/false);
  m.addFile("/tmp/t/run/1000/bus", "");
  FileInfo info;
  info.type = FileType::kSocket;
  info.uid = 1000;
  m.setFileInfo("/tmp/t/run/1000/bus", info);
  NotifyOptions o;
  o.runtime_dir_root = "/tmp/t/run";
  auto desktops = FindDesktops(m, o);
  ASSERT_EQ(desktops.size(), 1u);
  EXPECT_EQ(desktops[0].bus_address, "unix:path=/tmp/t/run/1000/bus");
}

TEST(FindDesktopsTest, NobodyUnderRoot) {
  BusMachine m;
  m.person("alice", 1000, "2");
  m.setRooted(true);
  EXPECT_TRUE(FindDesktops(m).empty());
}

// --- what is sent, and how
// ------------------------------------------------------------------------

TEST_F(NotifyTest, FailingRequiredCheckIsShownToThePersonAsThePerson) {
  m_.person("alice", 1000, "2");
  EXPECT_EQ(notify(ReportOf({kScreenLockFail})), 1);
  auto shown = m_.shown();
  ASSERT_EQ(shown.size(), 1u);
  EXPECT_EQ(shown[0].uid, 1000u);
  EXPECT_EQ(shown[0].bus_address, "unix:path=/run/user/1000/bus");
  EXPECT_EQ(shown[0].title, "Hearth: Screen lock needs attention");
  // Plain text: hearth-notify escapes it for services that announce body-markup.
  EXPECT_EQ(shown[0].body,
            "Open Settings > Privacy > Screen Lock and set Blank Screen Delay to 5 minutes.");
  // The exact call: no shell, every text its own argv element; the actions and what "Show
  // details" shows.
  EXPECT_EQ(
      shown[0].argv,
      (std::vector<std::string>{
          kHelper, "--address=unix:path=/run/user/1000/bus", "--title=" + shown[0].title,
          "--body=" + shown[0].body, "--urgency=2", "--icon=dialog-warning", "--timeout=5",
          "--wait=3600", "--check-again=Check again", "--control-socket=/run/hearth/agent.sock",
          "--details=Show details", "--details-title=Hearth: The security checks on this PC",
          "--details-body=\u2718 Screen lock: alice: the screen locks after 15 min (limit 5 "
          "min)\n\nWhat to do about Screen lock:\nOpen Settings > Privacy > Screen Lock and "
          "set Blank Screen Delay to 5 minutes."}));
  for (const auto& c : m_.busCalls()) {
    ASSERT_TRUE(c.as_user.has_value());
    EXPECT_EQ(c.as_user->uid, 1000u);  // never root on the person's bus
    EXPECT_EQ(c.as_user->gid, 1000u);
    EXPECT_LE(c.timeout, 16s);
  }
  EXPECT_NE(log_.str().find("notified alice: Hearth: Screen lock needs attention"),
            std::string::npos)
      << log_.str();
}

TEST_F(NotifyTest, TextWithQuotesBackslashesNewlinesAndDashesArrivesUnchanged) {
  m_.person("alice", 1000, "2");
  std::string advice = "-n Run: sudo apt update && sudo apt upgrade\n'quoted' \"double\" \\back";
  EXPECT_EQ(notify(ReportOf({Check("os_patches", Verdict::kFail, "3 updates pending", advice)})),
            1);
  ASSERT_EQ(m_.shown().size(), 1u);
  EXPECT_EQ(m_.shown()[0].body, advice);
  EXPECT_EQ(m_.shown()[0].title, "Hearth: System updates need attention");
}

// The body is plain text; hearth-notify escapes it for markup servers (notify_session_test,
// NotifyDbusTest.MarkupServersReceiveEscapedText).
TEST_F(NotifyTest, TheBodyIsPlainText) {
  m_.person("alice", 1000, "2");
  CheckResult c = Check("os_patches", Verdict::kFail, "3 updates pending",
                        "Run: sudo apt update && sudo apt upgrade <now>");
  EXPECT_EQ(NotificationBody(c), "Run: sudo apt update && sudo apt upgrade <now>");
}

TEST(NotificationTextTest, BodyIsValidUtf8WithoutControlCharactersAndBounded) {
  CheckResult c = Check("vpn", Verdict::kFail, "s",
                        std::string("a\x01"
                                    "b\xff"
                                    "c\x7f"
                                    "d\tе\n"));
  EXPECT_EQ(NotificationBody(c),
            "a b\xef\xbf\xbd"
            "c d\t\xd0\xb5");  // trimmed at the end
  c.remediation = std::string(3000, 'x');
  std::string body = NotificationBody(c);
  EXPECT_LE(body.size(), 1000u);
  EXPECT_EQ(body.substr(body.size() - 3), "\xe2\x80\xa6");
  // Cut on a character boundary.
  c.remediation.clear();
  for (int i = 0; i < 600; ++i) c.remediation += "\xc3\xa9";
  body = NotificationBody(c);
  EXPECT_LE(body.size(), 1000u);
  EXPECT_EQ(body.substr(body.size() - 5), "\xc3\xa9\xe2\x80\xa6");
  // No remediation: the summary says what is wrong.
  c.remediation = "";
  c.summary = "Root filesystem / is not encrypted";
  EXPECT_EQ(NotificationBody(c), "Root filesystem / is not encrypted");
}

// Every sequence that is not valid UTF-8 (overlong, a surrogate, above U+10FFFF, cut short, a
// lone continuation byte) becomes U+FFFD byte by byte; C1 controls become spaces; other characters
// of any length arrive unchanged (the rules of text::decodeUtf8).
TEST(NotificationTextTest, BodyReplacesEachInvalidByteAndBlanksC1Controls) {
  const std::string r = "\xef\xbf\xbd";  // U+FFFD
  CheckResult c = Check("vpn", Verdict::kFail, "s",
                        std::string("1\xc0\xaf|2\xe0\x80\xaf|3\xed\xa0\x80|4\xf4\x90\x80\x80|"
                                    "5\xe2\x82y|6\x80|7\xc2\x85|8\xe2\x82\xac|9\xf0\x9f\x94\x92|"
                                    "0\xc2\xa0\xf4\x8f\xbf\xbf"));
  EXPECT_EQ(NotificationBody(c), "1" + r + r + "|2" + r + r + r + "|3" + r + r + r + "|4" + r + r +
                                     r + r + "|5" + r + r + "y|6" + r +
                                     "|7 |8\xe2\x82\xac|9\xf0\x9f\x94\x92|"
                                     "0\xc2\xa0\xf4\x8f\xbf\xbf");
}

TEST(NotificationTextTest, TitlesNameTheCheckInPlainWords) {
  EXPECT_EQ(NotificationTitle("disk_encryption"), "Hearth: Disk encryption needs attention");
  EXPECT_EQ(NotificationTitle("vpn"), "Hearth: VPN needs attention");
  EXPECT_EQ(NotificationTitle("screen_lock"), "Hearth: Screen lock needs attention");
  EXPECT_EQ(NotificationTitle("antivirus_status"), "Hearth: Antivirus status needs attention");
}

TEST(NotificationTextTest, FingerprintIgnoresNumbersButNotWords) {
  EXPECT_EQ(ProblemFingerprint("os_patches", "3 security updates pending for 9 days"),
            ProblemFingerprint("os_patches", "4 security updates pending for 10 days"));
  EXPECT_NE(ProblemFingerprint("os_patches", "3 updates pending for 9 days"),
            ProblemFingerprint("os_patches", "Restart pending for 9 days"));
  EXPECT_NE(ProblemFingerprint("vpn", "x"), ProblemFingerprint("disk_encryption", "x"));
  EXPECT_EQ(ProblemFingerprint("vpn", "x").size(), 16u);
}

// --- once per day per problem
// ---------------------------------------------------------------------

TEST_F(NotifyTest, OncePerDayPerProblem) {
  m_.person("alice", 1000, "2");
  Report r = ReportOf({kScreenLockFail});
  EXPECT_EQ(notify(r), 1);  // first failure
  m_.advance(1h);
  EXPECT_EQ(notify(r), 0);  // same failure an hour later
  m_.advance(22h);
  EXPECT_EQ(notify(r), 0);  // 23 h after
  m_.advance(2h);
  EXPECT_EQ(notify(r), 1);  // 25 h after: told again
  EXPECT_EQ(m_.shown().size(), 2u);
}

TEST_F(NotifyTest, ADifferentProblemIsToldAtOnceButChangingNumbersAreNot) {
  m_.person("alice", 1000, "2");
  EXPECT_EQ(notify(ReportOf({Check("os_patches", Verdict::kFail,
                                   "3 security updates pending for 9 days", "Update.")})),
            1);
  m_.advance(1h);
  EXPECT_EQ(notify(ReportOf({Check("os_patches", Verdict::kFail,
                                   "4 security updates pending for 10 days", "Update.")})),
            0);
  EXPECT_EQ(notify(ReportOf({Check("os_patches", Verdict::kFail, "Restart pending for 4 days",
                                   "Restart the computer.")})),
            1);
  ASSERT_EQ(m_.shown().size(), 2u);
  EXPECT_EQ(m_.shown()[1].body, "Restart the computer.");
}

TEST_F(NotifyTest, APassClearsSoTheNextFailureIsToldAtOnce) {
  m_.person("alice", 1000, "2");
  EXPECT_EQ(notify(ReportOf({kScreenLockFail})), 1);
  m_.advance(1h);
  // (The pass itself says "fixed – thank you": AFixedFailureIsThankedOnce.)
  EXPECT_EQ(
      notify(ReportOf({Check("screen_lock", Verdict::kPass, "alice: locks after 5 min", "")})), 1);
  m_.advance(1h);
  EXPECT_EQ(notify(ReportOf({kScreenLockFail})), 1);
}

// Issue 16 item 5: a required check that could not tell makes the PC non-compliant for IT, so
// the person is told too, with what they can do; once a day, and without resetting the failure's
// own daily limit.
TEST_F(NotifyTest, UnknownRequiredCheckIsToldWithWhatToDoOnceADay) {
  m_.person("alice", 1000, "2");
  EXPECT_EQ(notify(ReportOf({Check("vpn", Verdict::kUnknown, "No company address configured",
                                   "Contact your IT department.")})),
            1);
  ASSERT_EQ(m_.shown().size(), 1u);
  EXPECT_EQ(m_.shown()[0].title, "Hearth: VPN: could not check");
  EXPECT_EQ(m_.shown()[0].body,
            "Contact your IT department.\nUntil Hearth can check it, this PC counts as not "
            "meeting the agreed security level.");
  EXPECT_EQ(m_.shown()[0].urgency, "1");
  EXPECT_EQ(notify(ReportOf({Check("vpn", Verdict::kFail, "10.20.0.1 is not routed through a VPN",
                                   "Connect the company VPN.")})),
            1);
  m_.advance(1h);
  EXPECT_EQ(notify(ReportOf({Check("vpn", Verdict::kUnknown, "No company address configured",
                                   "Contact your IT department.")})),
            0);  // that unknown was told today
  m_.advance(1h);
  EXPECT_EQ(notify(ReportOf({Check("vpn", Verdict::kFail, "10.20.0.1 is not routed through a VPN",
                                   "Connect the company VPN.")})),
            0);  // still within the day: the flicker through unknown did not reset it
  // An optional check that could not tell says nothing.
  EXPECT_EQ(notify(ReportOf({Check("screen_lock", Verdict::kUnknown, "no session", "Log in.",
                                   /*required=*/false)})),
            0);
}

// Issue 16 item 5: an unknown result of a required check can be checked again too; without the
// daemon's control socket (control_socket = off) only "Show details" is offered.
TEST_F(NotifyTest, UnknownResultsCarryTheActionsAndCheckAgainNeedsTheControlSocket) {
  m_.person("alice", 1000, "2");
  EXPECT_EQ(notify(ReportOf({Check("vpn", Verdict::kUnknown, "no company address configured",
                                   "Ask IT to add the company addresses.")})),
            1);
  ASSERT_EQ(m_.shown().size(), 1u);
  EXPECT_EQ(m_.shown()[0].flags.at("check-again"), "Check again");
  EXPECT_EQ(m_.shown()[0].flags.at("control-socket"), "/run/hearth/agent.sock");
  EXPECT_EQ(m_.shown()[0].flags.at("details"), "Show details");
  EXPECT_NE(m_.shown()[0].flags.at("details-body").find("? VPN: no company address configured"),
            std::string::npos)
      << m_.shown()[0].flags.at("details-body");

  NotifyOptions o = options();
  o.control_socket.clear();
  auto sent = NotifyFailures(m_, ReportOf({kScreenLockFail}), o, logger_);
  ASSERT_TRUE(sent.ok()) << sent.status().toString();
  EXPECT_EQ(*sent, 1);
  ASSERT_EQ(m_.shown().size(), 2u);
  EXPECT_EQ(m_.shown()[1].flags.count("check-again"), 0u);
  EXPECT_EQ(m_.shown()[1].flags.count("control-socket"), 0u);
  EXPECT_EQ(m_.shown()[1].flags.at("details"), "Show details");
}

// Issue 16 item 5: a person who asks for a check (`check-now`, "Check again") hears the answer
// even when they were told the same problem today; the others are not told twice.
TEST_F(NotifyTest, WhoeverAskedForTheCheckIsToldAgain) {
  m_.person("alice", 1000, "2").person("bob", 1001, "3");
  EXPECT_EQ(notify(ReportOf({kScreenLockFail})), 2);
  m_.advance(2min);
  EXPECT_EQ(notify(ReportOf({kScreenLockFail})), 0);  // once a day
  NotifyOptions o = options();
  o.asked_by = 1001;
  auto sent = NotifyFailures(m_, ReportOf({kScreenLockFail}), o, logger_);
  ASSERT_TRUE(sent.ok()) << sent.status().toString();
  EXPECT_EQ(*sent, 1);
  ASSERT_EQ(m_.shown().size(), 3u);
  EXPECT_EQ(m_.shown()[2].uid, 1001u);
  EXPECT_EQ(m_.shown()[2].title, "Hearth: Screen lock needs attention");
  // Asked again a minute later (the daemon allows one request a minute): told again; the state
  // file holds one entry per person and problem, not one per request.
  m_.advance(1min);
  sent = NotifyFailures(m_, ReportOf({kScreenLockFail}), o, logger_);
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(*sent, 1);
  auto state = json::parse(hearth::testing::RunProcess({"/bin/cat", o.state_file}).out);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->find("told")->size(), 2u) << json::write(*state);
  // Without a request: nothing new for anyone.
  m_.advance(1min);
  EXPECT_EQ(notify(ReportOf({kScreenLockFail})), 0);
}

// Issue 16 item 5: "Fixed – thank you", once, to the person who was told of the failure.
TEST_F(NotifyTest, AFixedFailureIsThankedOnce) {
  m_.person("alice", 1000, "2");
  EXPECT_EQ(notify(ReportOf({kScreenLockFail})), 1);
  m_.advance(2h);
  CheckResult pass = Check("screen_lock", Verdict::kPass, "alice: locks after 5 min", "");
  EXPECT_EQ(notify(ReportOf({pass})), 1);
  ASSERT_EQ(m_.shown().size(), 2u);
  EXPECT_EQ(m_.shown()[1].title, "Hearth: Screen lock is fixed \u2013 thank you");
  EXPECT_EQ(m_.shown()[1].body, "alice: locks after 5 min");
  EXPECT_EQ(m_.shown()[1].urgency, "0");
  // Nothing to act on: no actions, so no process stays for them.
  EXPECT_EQ(m_.shown()[1].flags.count("check-again"), 0u);
  EXPECT_EQ(m_.shown()[1].flags.count("details"), 0u);
  EXPECT_EQ(m_.shown()[1].flags.at("icon"), "dialog-information");
  m_.advance(15min);
  EXPECT_EQ(notify(ReportOf({pass})), 0);  // once
  // A check that passes without anyone having been told of a failure says nothing.
  EXPECT_EQ(notify(ReportOf({Check("vpn", Verdict::kPass, "Routed through wg0", "")})), 0);
  // Neither does one that stops applying after a failure (nothing was fixed).
  EXPECT_EQ(notify(ReportOf({kScreenLockFail})), 1);
  EXPECT_EQ(notify(ReportOf({Check("screen_lock", Verdict::kNotApplicable, "nobody", "")})), 0);
  EXPECT_EQ(notify(ReportOf({pass})), 0);
}

// Issue 16 item 5: no notification 20:00-08:00 (the fixed clock's zone is UTC); what still holds
// at 08:00 is told then, thanks included.
TEST_F(NotifyTest, NothingIsShownInQuietHours) {
  m_.person("alice", 1000, "2");
  m_.advance(9h);  // 20:06
  EXPECT_EQ(notify(ReportOf({kScreenLockFail})), 0);
  m_.advance(11h);  // 07:06
  EXPECT_EQ(notify(ReportOf({kScreenLockFail})), 0);
  m_.advance(1h);  // 08:06
  EXPECT_EQ(notify(ReportOf({kScreenLockFail})), 1);
  m_.advance(12h);  // 20:06: fixed in the evening, thanked in the morning
  CheckResult pass = Check("screen_lock", Verdict::kPass, "alice: locks after 5 min", "");
  EXPECT_EQ(notify(ReportOf({pass})), 0);
  m_.advance(12h);  // 08:06
  EXPECT_EQ(notify(ReportOf({pass})), 1);
  EXPECT_EQ(m_.shown().back().title, "Hearth: Screen lock is fixed \u2013 thank you");

  // A policy may move them (here: none at all).
  NotifyOptions o = options();
  o.quiet_from = o.quiet_to = 0;
  m_.advance(13h);  // 21:06
  auto sent = NotifyFailures(m_, ReportOf({Check("vpn", Verdict::kFail, "not routed", "Connect.")}),
                             o, logger_);
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(*sent, 1);
}

// Issue 16 item 5: the server's deadline and IT's exemption (the acknowledgement's view, kept in
// status.json) are named, and set the urgency.
TEST_F(NotifyTest, TheDeadlineAndAnExemptionAreNamed) {
  // In the PC's time zone, as `status` shows them (a fixed UTC+1 without summer time).
  struct FixedZone {
    std::optional<std::string> saved;
    FixedZone() {
      if (const char* tz = std::getenv("TZ")) saved = tz;
      ::setenv("TZ", "CET-1", 1);
      ::tzset();
    }
    ~FixedZone() {
      if (saved) {
        ::setenv("TZ", saved->c_str(), 1);
      } else {
        ::unsetenv("TZ");
      }
      ::tzset();
    }
  } zone;
  m_.person("alice", 1000, "2");
  auto view = json::parse(R"({"device_status":"at_risk","checks":[
      {"id":"screen_lock","fix_by":"2026-11-20T16:00:00Z","exempt_until":null},
      {"id":"vpn","fix_by":"2026-11-01T16:00:00Z","exempt_until":null},
      {"id":"os_patches","fix_by":null,"exempt_until":"2026-12-12T00:00:00Z"}]})");
  ASSERT_TRUE(view.ok());
  server_view_ = *view;
  EXPECT_EQ(
      notify(ReportOf({kScreenLockFail, Check("vpn", Verdict::kFail, "not routed", "Connect."),
                       Check("os_patches", Verdict::kFail, "3 updates", "Update."),
                       Check("disk_encryption", Verdict::kFail, "not encrypted", "Ask IT.")})),
      4);
  std::map<std::string, Shown> by_title;
  for (const auto& s : m_.shown()) by_title[s.title] = s;
  const Shown& lock = by_title["Hearth: Screen lock needs attention"];
  EXPECT_TRUE(lock.body.starts_with("Fix it by Friday 20 November 17:00.\nOpen Settings"))
      << lock.body;
  EXPECT_EQ(lock.urgency, "1");  // within its grace
  const Shown& vpn = by_title["Hearth: VPN needs attention"];
  EXPECT_EQ(vpn.body, "Fix it now: the deadline was Sunday 1 November 17:00.\nConnect.");
  EXPECT_EQ(vpn.urgency, "2");
  const Shown& patches = by_title["Hearth: System updates need attention"];
  EXPECT_EQ(patches.body, "Exempted by IT until Saturday 12 December 01:00.\nUpdate.");
  EXPECT_EQ(patches.urgency, "0");
  EXPECT_EQ(by_title["Hearth: Disk encryption needs attention"].urgency, "2");  // no deadline
}

TEST_F(NotifyTest, APartialRunDoesNotForgetTheOtherChecks) {
  m_.person("alice", 1000, "2");
  CheckResult disk = Check("disk_encryption", Verdict::kFail, "Root filesystem / is not encrypted",
                           "Ask IT to encrypt this computer.");
  EXPECT_EQ(notify(ReportOf({disk, kScreenLockFail})), 2);
  m_.advance(10min);
  // The network changed: only the vpn check ran, and it passes.
  EXPECT_EQ(notify(ReportOf({Check("vpn", Verdict::kPass, "Routed through wg0", "")})), 0);
  m_.advance(10min);
  EXPECT_EQ(notify(ReportOf({disk, kScreenLockFail})), 0);
}

TEST_F(NotifyTest, OnlyRequiredProblemsNotify) {
  m_.person("alice", 1000, "2");
  Report r = ReportOf({
      Check("screen_lock", Verdict::kFail, "alice: 15 min", "Set 5 minutes.", /*required=*/false),
      Check("vpn", Verdict::kUnknown, "No VPN", "Contact IT.", /*required=*/false),
      Check("disk_encryption", Verdict::kPass, "Encrypted: /", ""),
      Check("os_patches", Verdict::kNotApplicable, "n/a", ""),
  });
  EXPECT_EQ(notify(r), 0);
  // Nothing to say: not a single process was started, and no state file was written.
  EXPECT_TRUE(m_.commandsRun().empty());
  EXPECT_FALSE(std::filesystem::exists(options().state_file));
}

TEST_F(NotifyTest, EachPersonIsToldOnceAndSeparately) {
  m_.person("alice", 1000, "2").person("bob", 1001, "3", "x11");
  EXPECT_EQ(notify(ReportOf({kScreenLockFail})), 2);
  auto shown = m_.shown();
  ASSERT_EQ(shown.size(), 2u);
  EXPECT_EQ(shown[0].uid, 1000u);
  EXPECT_EQ(shown[1].uid, 1001u);
  EXPECT_EQ(shown[1].bus_address, "unix:path=/run/user/1001/bus");
  m_.advance(1h);
  EXPECT_EQ(notify(ReportOf({kScreenLockFail})), 0);
  // Carol logs in later the same day: she has not been told yet.
  m_.person("carol", 1002, "4");
  EXPECT_EQ(notify(ReportOf({kScreenLockFail})), 1);
  EXPECT_EQ(m_.shown().back().uid, 1002u);
}

TEST_F(NotifyTest, OnePersonWithoutANotificationServiceDoesNotStopTheOthers) {
  m_.person("alice", 1000, "2").person("bob", 1001, "3");
  m_.noServiceFor(1000);
  EXPECT_EQ(notify(ReportOf({kScreenLockFail})), 1);
  ASSERT_EQ(m_.shown().size(), 1u);
  EXPECT_EQ(m_.shown()[0].uid, 1001u);
  EXPECT_NE(log_.str().find("no notification service runs in the desktop session of alice "
                            "(showing a notification: org.freedesktop.DBus.Error.ServiceUnknown: "
                            "The name org.freedesktop.Notifications was not provided"),
            std::string::npos)
      << log_.str();
  // Tried again on the next cycle (alice has not been told), but the log says it once a day.
  m_.advance(15min);
  log_.str("");
  EXPECT_EQ(notify(ReportOf({kScreenLockFail})), 0);
  EXPECT_EQ(log_.str(), "");
  // Her notification service is back: she is told now.
  m_.advance(15min);
  m_.serviceBack();
  EXPECT_EQ(notify(ReportOf({kScreenLockFail})), 1);
  ASSERT_EQ(m_.shown().size(), 2u);
  EXPECT_EQ(m_.shown()[1].uid, 1000u);
}

TEST_F(NotifyTest, AFailedSendIsNotCountedAsTold) {
  m_.person("alice", 1000, "2");
  m_.failNotify(true);
  EXPECT_EQ(notify(ReportOf({kScreenLockFail})), 0);
  EXPECT_NE(log_.str().find("showing a notification on the session bus of alice failed"),
            std::string::npos)
      << log_.str();
  m_.failNotify(false);
  m_.advance(15min);
  EXPECT_EQ(notify(ReportOf({kScreenLockFail})), 1);
}

TEST_F(NotifyTest, MissingHelperIsLoggedOnceAndNothingBreaks) {
  m_.person("alice", 1000, "2");
  m_.failPath(kHelper, NotFoundError("/usr/lib/hearth/hearth-notify: No such file or directory"));
  EXPECT_EQ(notify(ReportOf({kScreenLockFail})), 0);
  EXPECT_NE(log_.str().find("/usr/lib/hearth/hearth-notify is missing"), std::string::npos)
      << log_.str();
  log_.str("");
  m_.advance(1h);
  EXPECT_EQ(notify(ReportOf({kScreenLockFail})), 0);
  EXPECT_EQ(log_.str(), "");
  EXPECT_TRUE(m_.busCalls().empty());
}

TEST_F(NotifyTest, StateFileIsPrivateJsonAndADamagedOneIsReplaced) {
  m_.person("alice", 1000, "2");
  EXPECT_EQ(notify(ReportOf({kScreenLockFail})), 1);
  struct stat st {};
  ASSERT_EQ(::stat(options().state_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  auto text = hearth::testing::RunProcess({"/bin/cat", options().state_file}).out;
  auto v = json::parse(text);
  ASSERT_TRUE(v.ok()) << text;
  const json::Value* told = v->find("told");
  ASSERT_TRUE(told != nullptr && told->size() == 1u) << text;
  EXPECT_EQ(told->asArray()[0].find("user")->asString(), "alice");
  EXPECT_EQ(told->asArray()[0].find("check")->asString(), "screen_lock");
  EXPECT_EQ(told->asArray()[0].find("at")->asString(), formatRfc3339(m_.now()));
  // The summary itself is not stored, only its fingerprint.
  EXPECT_EQ(text.find("15 min"), std::string::npos);

  dir_.write("notified.json", "{not json");
  m_.advance(1h);
  EXPECT_EQ(notify(ReportOf({kScreenLockFail})), 1);  // forgotten: told again rather than never
  EXPECT_NE(log_.str().find("ignoring damaged"), std::string::npos) << log_.str();
  EXPECT_TRUE(
      json::parse(hearth::testing::RunProcess({"/bin/cat", options().state_file}).out).ok());
}

TEST_F(NotifyTest, ClockSetBackDoesNotSilenceForever) {
  m_.person("alice", 1000, "2");
  EXPECT_EQ(notify(ReportOf({kScreenLockFail})), 1);
  m_.advance(-24h * 30);  // the clock was wrong, and is fixed a month back
  EXPECT_EQ(notify(ReportOf({kScreenLockFail})), 1);
}

TEST_F(NotifyTest, NoStateFileIsAnError) {
  NotifyOptions o;
  auto sent = NotifyFailures(m_, ReportOf({kScreenLockFail}), o, logger_);
  EXPECT_EQ(sent.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(NotifyTest, AnUnwritableStateFileIsReported) {
  m_.person("alice", 1000, "2");
  NotifyOptions o = options();
  o.state_file = dir_.path() + "/missing-dir/notified.json";
  auto sent = NotifyFailures(m_, ReportOf({kScreenLockFail}), o, logger_);
  EXPECT_FALSE(sent.ok());
  EXPECT_NE(sent.status().message().find("saving what the notifications said"), std::string::npos);
}

}  // namespace
}  // namespace hearth::agent
