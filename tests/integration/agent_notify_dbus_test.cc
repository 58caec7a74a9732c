// Desktop notifications over a real D-Bus session bus: a private dbus-daemon and a small fake
// org.freedesktop.Notifications service (fake_notification_service.py, python3-gi) run as a real
// temporary user; NotifyFailures goes through the live SystemView, so hearth-notify really runs as
// that user. Checks the exact text the service received, who sent it, the once-a-day limit, and
// the actions: the service plays the person clicking "Check again" and "Show details" and closing
// the notification, and the test stands in for the daemon's control socket.
// Root only: it creates a user with useradd (removed in teardown). The bus lives under the test's
// own runtime directory root (NotifyOptions.runtime_dir_root), and the person's logind session is
// a session file in the test's own sessions directory, so the host's sessions are never touched.
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <grp.h>
#include <poll.h>
#include <sstream>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "hearth/agent/notify.h"
#include "hearth/i18n.h"
#include "hearth/json.h"
#include "hearth/system_view.h"
#include "support/programs.h"
#include "support/temp_dir.h"

namespace hearth {
namespace {

using namespace std::chrono_literals;
using testing::RunProcess;

constexpr char kPython[] = "/usr/bin/python3";
constexpr char kDbusDaemon[] = "/usr/bin/dbus-daemon";

bool Executable(const std::string& p) { return ::access(p.c_str(), X_OK) == 0; }

// A process started as `uid`/`gid` in its own process group; its first stdout line is read with
// a deadline. Stopped (SIGTERM, then SIGKILL) on destruction.
class UserProcess {
 public:
  UserProcess(const std::vector<std::string>& argv, uid_t uid, gid_t gid,
              const std::string& stderr_file, const std::string& lang = "C.UTF-8") {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return;
    std::vector<std::string> env_strings = {"PATH=/usr/bin:/bin", "LANG=" + lang, "HOME=/"};
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = argv;
    std::vector<char*> cargv;
    for (auto& a : args) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      ::dup2(out[1], 1);
      int err = ::open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (err >= 0) ::dup2(err, 2);
      if (::setgroups(0, nullptr) != 0 || ::setresgid(gid, gid, gid) != 0 ||
          ::setresuid(uid, uid, uid) != 0) {
        ::_exit(126);
      }
      ::execve(cargv[0], cargv.data(), envp.data());
      ::_exit(127);
    }
    ::close(out[1]);
    out_ = out[0];
  }
  ~UserProcess() { stop(); }
  pid_t pid() const { return pid_; }
  UserProcess(const UserProcess&) = delete;
  UserProcess& operator=(const UserProcess&) = delete;

  // The first line the process prints, or "" if none came within `deadline`.
  std::string firstLine(std::chrono::milliseconds deadline) {
    std::string line;
    auto end = std::chrono::steady_clock::now() + deadline;
    while (line.find('\n') == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0 || out_ < 0) return "";
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return "";
      char buf[512];
      ssize_t n = ::read(out_, buf, sizeof buf);
      if (n <= 0) return "";
      line.append(buf, static_cast<size_t>(n));
    }
    return line.substr(0, line.find('\n'));
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      ::usleep(10000);
    }
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    if (out_ >= 0) ::close(out_);
    out_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
};

class NotifyDbusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::RunningAsRoot()) GTEST_SKIP() << "needs root: creates a user";
    for (const char* tool : {kDbusDaemon, kPython, "/usr/bin/busctl", "/usr/sbin/useradd",
                             "/usr/sbin/userdel", "/usr/bin/id"}) {
      if (!Executable(tool)) GTEST_SKIP() << tool << " is not installed";
    }
    if (RunProcess({kPython, "-c", "from gi.repository import Gio"}).exit_code != 0) {
      GTEST_SKIP() << "python3-gi is not installed";
    }
    ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
    user_ = "hearthnt" + std::to_string(::getpid());
    auto add = RunProcess(
        {"/usr/sbin/useradd", "-M", "-d", dir_.path() + "/home", "-s", "/bin/bash", user_});
    ASSERT_EQ(add.exit_code, 0) << add.err;
    created_ = true;
    auto id = RunProcess({"/usr/bin/id", "-u", user_});
    ASSERT_EQ(id.exit_code, 0);
    uid_ = static_cast<uid_t>(std::stoul(id.out));
    auto gid = RunProcess({"/usr/bin/id", "-g", user_});
    gid_ = static_cast<gid_t>(std::stoul(gid.out));

    // The person's runtime directory, as logind makes it: theirs, 0700.
    std::string run_dir = dir_.mkdir("run/" + std::to_string(uid_));
    ASSERT_EQ(::chown(run_dir.c_str(), uid_, gid_), 0);
    ASSERT_EQ(::chmod(run_dir.c_str(), 0700), 0);
    bus_path_ = run_dir + "/bus";
    // A graphical logind session of the person.
    dir_.write("sessions/7", "# This is private data. Do not parse.\nUID=" + std::to_string(uid_) +
                                 "\nUSER=" + user_ +
                                 "\nACTIVE=1\nIS_DISPLAY=1\nSTATE=active\nREMOTE=0\n"
                                 "TYPE=wayland\nCLASS=user\nDESKTOP=gnome\nSEAT=seat0\n");
    // Where the fake service records what it was asked to show (writable by the person only).
    std::string rec = dir_.mkdir("rec");
    ASSERT_EQ(::chown(rec.c_str(), uid_, gid_), 0);
    record_file_ = rec + "/notifications.jsonl";
    script_ =
        dir_.write("fake_notification_service.py",
                   RunProcess({"/bin/cat", std::string(HEARTH_SOURCE_DIR) +
                                               "/tests/integration/fake_notification_service.py"})
                       .out);
    // A private session bus with no service directories: nothing is ever activated from the host.
    config_ = dir_.write("bus.conf",
                         "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration "
                         "1.0//EN\" \"http://www.freedesktop.org/standards/dbus/1.0/"
                         "busconfig.dtd\">\n<busconfig>\n  <type>session</type>\n"
                         "  <listen>unix:path=" +
                             bus_path_ +
                             "</listen>\n  <auth>EXTERNAL</auth>\n"
                             "  <policy context=\"default\">\n"
                             "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
                             "    <allow eavesdrop=\"true\"/>\n    <allow own=\"*\"/>\n"
                             "  </policy>\n</busconfig>\n");
    ASSERT_TRUE(startBus());
  }

  void TearDown() override {
    for (pid_t p : helpers()) ::kill(p, SIGKILL);
    service_.reset();
    bus_.reset();
    if (created_) RunProcess({"/usr/sbin/userdel", user_});
  }

  bool startBus() {
    bus_ = std::make_unique<UserProcess>(
        std::vector<std::string>{kDbusDaemon, "--config-file=" + config_, "--nofork",
                                 "--print-address=1"},
        uid_, gid_, dir_.path() + "/bus.err");
    std::string address = bus_->firstLine(10s);
    EXPECT_NE(address.find(bus_path_), std::string::npos)
        << "dbus-daemon did not start: " << RunProcess({"/bin/cat", dir_.path() + "/bus.err"}).out;
    return address.find(bus_path_) != std::string::npos;
  }

  void startService(std::vector<std::string> capabilities) {
    std::vector<std::string> argv = {kPython, script_, "unix:path=" + bus_path_, record_file_};
    for (auto& c : capabilities) argv.push_back(c);
    service_ = std::make_unique<UserProcess>(argv, uid_, gid_, dir_.path() + "/service.err");
    ASSERT_EQ(service_->firstLine(10s), "ready")
        << RunProcess({"/bin/cat", dir_.path() + "/service.err"}).out;
  }

  agent::NotifyOptions options() const {
    agent::NotifyOptions o;
    o.state_file = dir_.path() + "/state/notified.json";
    o.runtime_dir_root = dir_.path() + "/run";
    o.sessions_dir = dir_.path() + "/sessions";
    // The real clock: no quiet hours here (notify_test.cc tests them on a fixed clock).
    o.quiet_from = o.quiet_to = 0;
    std::filesystem::create_directories(dir_.path() + "/state");
    return o;
  }

  // The Notify calls the service recorded, in order.
  std::vector<json::Value> recorded() const {
    std::vector<json::Value> out;
    std::ifstream f(record_file_);
    std::string line;
    while (std::getline(f, line)) {
      auto v = json::parse(line);
      EXPECT_TRUE(v.ok()) << line;
      if (v.ok()) out.push_back(*v);
    }
    return out;
  }

  // The person's hearth-notify processes still running.
  std::vector<pid_t> helpers() const {
    std::vector<pid_t> out;
    if (uid_ == 0) return out;
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
      const std::string name = e.path().filename();
      if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
      struct stat st {};
      if (::stat(e.path().c_str(), &st) != 0 || st.st_uid != uid_) continue;
      std::ifstream f(e.path() / "cmdline");
      std::string argv0;
      std::getline(f, argv0, '\0');
      if (argv0.ends_with("/hearth-notify")) out.push_back(static_cast<pid_t>(std::stol(name)));
    }
    return out;
  }

  bool helpersGoneWithin(std::chrono::milliseconds limit) const {
    auto end = std::chrono::steady_clock::now() + limit;
    while (!helpers().empty()) {
      if (std::chrono::steady_clock::now() > end) return false;
      ::usleep(20000);
    }
    return true;
  }

  // Plays the person at the notification: org.hearth.Test.METHOD on the fake service, called as
  // the person (only they may use their bus).
  testing::ProcessOutput person(const std::string& method, std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/setpriv",
                                     "--reuid=" + std::to_string(uid_),
                                     "--regid=" + std::to_string(gid_),
                                     "--clear-groups",
                                     "/usr/bin/busctl",
                                     "--address=unix:path=" + bus_path_,
                                     "call",
                                     "org.freedesktop.Notifications",
                                     "/org/hearth/Test",
                                     "org.hearth.Test",
                                     method};
    for (auto& a : args) argv.push_back(std::move(a));
    return RunProcess(argv);
  }

  // The recorded Notify calls once there are `n` of them (polled with a deadline).
  std::vector<json::Value> recordedWhen(size_t n) const {
    auto end = std::chrono::steady_clock::now() + 10s;
    auto calls = recorded();
    while (calls.size() < n && std::chrono::steady_clock::now() < end) {
      ::usleep(20000);
      calls = recorded();
    }
    return calls;
  }

  static Report failing(const std::string& remediation) {
    CheckResult c;
    c.id = "screen_lock";
    c.verdict = Verdict::kFail;
    c.required = true;
    c.summary = "the screen locks after 15 minutes (limit 5 minutes)";
    c.remediation = remediation;
    Report r;
    r.level = "standard";
    r.checks.push_back(c);
    return r;
  }

  // The person's graphical session again, its leader `leader` (a process of theirs).
  void sessionLedBy(pid_t leader) {
    dir_.write("sessions/7", "# This is private data. Do not parse.\nUID=" + std::to_string(uid_) +
                                 "\nUSER=" + user_ +
                                 "\nACTIVE=1\nIS_DISPLAY=1\nSTATE=active\nREMOTE=0\n"
                                 "TYPE=wayland\nCLASS=user\nDESKTOP=gnome\nSEAT=seat0\nLEADER=" +
                                 std::to_string(leader) + "\n");
  }

  // A failing screen_lock result whose texts are messages, as the check makes them.
  static Report failingWithSteps() {
    CheckResult c;
    c.id = "screen_lock";
    c.verdict = Verdict::kFail;
    c.required = true;
    c.setSummary(i18n::Msg("screen locks after {1} s of inactivity (limit {2} s)",
                           {i18n::Lit("900"), i18n::Lit("300")}));
    Advice a;
    a.code = "screen_lock.turn_on_auto_lock";
    a.steps.push_back(i18n::Msg("Open System Settings."));
    a.steps.push_back(
        i18n::Msg("Set Blank Screen Delay to {1}.",
                  {i18n::MsgN("{1} minute or less", "{1} minutes or less", 5, {i18n::Lit("5")})}));
    c.addAdvice(std::move(a));
    Report r;
    r.level = "standard";
    r.checks.push_back(c);
    return r;
  }

  testing::TempDir dir_;
  std::string user_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  bool created_ = false;
  std::string bus_path_, record_file_, script_, config_;
  std::unique_ptr<UserProcess> bus_;
  std::unique_ptr<UserProcess> service_;
};

// The daemon's control socket as `hearth-agent check-now` finds it: a Unix socket anyone may
// connect to. Records who asked (SO_PEERCRED) and answers as the daemon does.
class ControlSocket {
 public:
  explicit ControlSocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path.c_str());
    ok_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0 &&
          ::chmod(path.c_str(), 0666) == 0 && ::listen(fd_, 4) == 0;
  }
  ~ControlSocket() {
    if (fd_ >= 0) ::close(fd_);
    ::unlink(path_.c_str());
  }
  ControlSocket(const ControlSocket&) = delete;
  ControlSocket& operator=(const ControlSocket&) = delete;
  bool ok() const { return ok_; }

  // The uid of the next caller, or -1 when nobody asked within `limit`.
  int64_t nextCaller(std::chrono::milliseconds limit) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return -1;
    int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return -1;
    ucred cred{};
    socklen_t len = sizeof(cred);
    int64_t uid = ::getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 ? cred.uid : -1;
    const char answer[] = "ok: checking now; see `hearth-agent status` in a moment\n";
    (void)!::send(c, answer, sizeof(answer) - 1, MSG_NOSIGNAL);
    ::close(c);
    return uid;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool ok_ = false;
};

std::vector<std::string> Strings(const json::Value& v, const char* key) {
  std::vector<std::string> out;
  const json::Value* f = v.find(key);
  if (f == nullptr || !f->isArray()) return {"<missing>"};
  for (const auto& e : f->asArray()) out.push_back(e.isString() ? e.asString() : "<not a string>");
  return out;
}

std::string Str(const json::Value& v, const char* key) {
  const json::Value* f = v.find(key);
  return f != nullptr && f->isString() ? f->asString() : "<missing>";
}
int64_t Int(const json::Value& v, const char* key) {
  const json::Value* f = v.find(key);
  return f != nullptr && f->isInt() ? f->asInt() : -999;
}

TEST_F(NotifyDbusTest, ThePersonGetsTheExactTextOnceADayFromTheirOwnAccount) {
  startService({"body", "persistence"});
  const std::string advice =
      "-x Open Settings \xe2\x86\x92 Privacy; set \"Blank Screen Delay\" to 5 min.\n"
      "Then: 'Automatic Screen Lock' on & C:\\not\\a\\path <b>not bold</b>";
  auto view = NewLiveSystemView();
  std::ostringstream log;
  Logger logger(log, LogLevel::kDebug, LogFormat::Terminal("hearth-agent"));
  auto sent = agent::NotifyFailures(*view, failing(advice), options(), logger);
  ASSERT_TRUE(sent.ok()) << sent.status().toString();
  EXPECT_EQ(*sent, 1) << log.str();
  auto calls = recorded();
  ASSERT_EQ(calls.size(), 1u) << log.str();
  EXPECT_EQ(Str(calls[0], "app_name"), "Hearth");
  EXPECT_EQ(Str(calls[0], "app_icon"), "dialog-warning");
  EXPECT_EQ(Str(calls[0], "summary"), "Hearth: Screen lock needs attention");
  EXPECT_EQ(Str(calls[0], "body"), advice);  // no markup capability: byte for byte
  EXPECT_EQ(Int(calls[0], "expire_timeout"), 0);
  EXPECT_EQ(Int(calls[0], "sender_uid"), static_cast<int64_t>(uid_));  // as the person, not root
  // A required failure without a deadline: critical (the freedesktop urgency hint, a byte).
  const json::Value* hints = calls[0].find("hints");
  ASSERT_NE(hints, nullptr);
  EXPECT_EQ(Str(*hints, "urgency"), "2") << json::write(*hints);

  struct stat st {};
  ASSERT_EQ(::stat(options().state_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, 0u);

  // The same problem again within the day: nothing is sent.
  auto again = agent::NotifyFailures(*view, failing(advice), options(), logger);
  ASSERT_TRUE(again.ok()) << again.status().toString();
  EXPECT_EQ(*again, 0);
  EXPECT_EQ(recorded().size(), 1u);
}

// Issue 16: the daemon runs in the C locale, the person's session in Danish; the notification
// reaches them in Danish (read from their session leader's environment), and the daemon's own
// locale is left alone.
TEST_F(NotifyDbusTest, ThePersonReadsTheirSessionsLanguageNotTheDaemons) {
  ASSERT_EQ(::setenv("HEARTH_LOCALEDIR", testing::BuiltLocaleDir().c_str(), 1), 0);
  UserProcess leader({"/bin/sh", "-c", "echo ready; exec sleep 60"}, uid_, gid_,
                     dir_.path() + "/leader.err", "da_DK.UTF-8");
  ASSERT_EQ(leader.firstLine(10s), "ready");
  sessionLedBy(leader.pid());
  startService({"body"});
  auto view = NewLiveSystemView();
  auto desktops = agent::FindDesktops(*view, options());
  ASSERT_EQ(desktops.size(), 1u);
  EXPECT_EQ(desktops[0].languages, "da_DK.UTF-8");
  std::ostringstream log;
  Logger logger(log, LogLevel::kDebug, LogFormat::Terminal("hearth-agent"));
  auto sent = agent::NotifyFailures(*view, failingWithSteps(), options(), logger);
  ASSERT_TRUE(sent.ok()) << sent.status().toString();
  EXPECT_EQ(*sent, 1) << log.str();
  auto calls = recorded();
  ASSERT_EQ(calls.size(), 1u) << log.str();
  EXPECT_EQ(Str(calls[0], "summary"), "Hearth: Skærmlåsen kræver din opmærksomhed");
  EXPECT_EQ(Str(calls[0], "body"),
            "1. Åbn Systemindstillinger.\n2. Sæt Forsinkelse før tom skærm til 5 minutter eller "
            "mindre.");
  // The process's own language did not change: C, English.
  EXPECT_EQ(agent::NotificationTitle("screen_lock"), "Hearth: Screen lock needs attention");
  ::unsetenv("HEARTH_LOCALEDIR");
}

// Issue 16 items 3 and 5 on the real bus: the company's helpdesk in the person's Danish, and
// "fixed – thank you" once the check passes.
TEST_F(NotifyDbusTest, TheHelpdeskIsNamedAndAFixIsThankedInThePersonsLanguage) {
  ASSERT_EQ(::setenv("HEARTH_LOCALEDIR", testing::BuiltLocaleDir().c_str(), 1), 0);
  dir_.write("accounts/" + user_, "[User]\nLanguage=da_DK.UTF-8\n");
  startService({"body"});
  auto view = NewLiveSystemView();
  agent::NotifyOptions o = options();
  o.accounts_service_dir = dir_.path() + "/accounts";
  std::ostringstream log;
  Logger logger(log, LogLevel::kDebug, LogFormat::Terminal("hearth-agent"));
  Report r = failingWithSteps();
  r.helpdesk = i18n::Msg("Questions? Contact {1}",
                         {i18n::Joined({i18n::Local({{"en", "IT support"}, {"da", "IT-support"}}),
                                        i18n::Msg("phone {1}", {i18n::Lit("70 20 30 40")})},
                                       ", ")});
  auto sent = agent::NotifyFailures(*view, r, o, logger);
  ASSERT_TRUE(sent.ok()) << sent.status().toString();
  EXPECT_EQ(*sent, 1) << log.str();
  r.checks[0].verdict = Verdict::kPass;
  r.checks[0].setSummary(i18n::Msg("Locks after {1} of inactivity", {i18n::Lit("5 min")}));
  sent = agent::NotifyFailures(*view, r, o, logger);
  ASSERT_TRUE(sent.ok()) << sent.status().toString();
  EXPECT_EQ(*sent, 1) << log.str();
  auto calls = recorded();
  ASSERT_EQ(calls.size(), 2u) << log.str();
  EXPECT_NE(Str(calls[0], "body").find("\nSpørgsmål? Kontakt IT-support, tlf. 70 20 30 40"),
            std::string::npos)
      << Str(calls[0], "body");
  EXPECT_EQ(Str(calls[1], "summary"), "Hearth: Skærmlås er i orden nu \u2013 tak");
  EXPECT_EQ(Str(*calls[1].find("hints"), "urgency"), "0");  // low
  ::unsetenv("HEARTH_LOCALEDIR");
}

TEST_F(NotifyDbusTest, AccountsServiceSaysTheLanguageWhenTheSessionDoesNot) {
  ASSERT_EQ(::setenv("HEARTH_LOCALEDIR", testing::BuiltLocaleDir().c_str(), 1), 0);
  dir_.write("accounts/" + user_, "[User]\nLanguage=da_DK.UTF-8\nXSession=gnome\n");
  startService({"body"});
  auto view = NewLiveSystemView();
  agent::NotifyOptions o = options();
  o.accounts_service_dir = dir_.path() + "/accounts";
  std::ostringstream log;
  Logger logger(log, LogLevel::kDebug, LogFormat::Terminal("hearth-agent"));
  auto sent = agent::NotifyFailures(*view, failingWithSteps(), o, logger);
  ASSERT_TRUE(sent.ok()) << sent.status().toString();
  EXPECT_EQ(*sent, 1) << log.str();
  auto calls = recorded();
  ASSERT_EQ(calls.size(), 1u) << log.str();
  EXPECT_EQ(Str(calls[0], "summary"), "Hearth: Skærmlåsen kræver din opmærksomhed");
  ::unsetenv("HEARTH_LOCALEDIR");
}

TEST_F(NotifyDbusTest, MarkupServersReceiveEscapedText) {
  startService({"body", "body-markup"});
  auto view = NewLiveSystemView();
  std::ostringstream log;
  Logger logger(log, LogLevel::kDebug, LogFormat::Terminal("hearth-agent"));
  auto sent = agent::NotifyFailures(
      *view, failing("Run: sudo apt update && sudo apt upgrade <then restart>"), options(), logger);
  ASSERT_TRUE(sent.ok()) << sent.status().toString();
  EXPECT_EQ(*sent, 1) << log.str();
  auto calls = recorded();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(Str(calls[0], "body"),
            "Run: sudo apt update &amp;&amp; sudo apt upgrade &lt;then restart&gt;");
}

TEST_F(NotifyDbusTest, WithoutANotificationServiceItSaysWhyAndTellsWhenOneAppears) {
  auto view = NewLiveSystemView();
  std::ostringstream log;
  Logger logger(log, LogLevel::kDebug, LogFormat::Terminal("hearth-agent"));
  auto sent = agent::NotifyFailures(*view, failing("Set 5 minutes."), options(), logger);
  ASSERT_TRUE(sent.ok()) << sent.status().toString();
  EXPECT_EQ(*sent, 0);
  EXPECT_NE(log.str().find("no notification service runs in the desktop session of " + user_),
            std::string::npos)
      << log.str();
  EXPECT_NE(log.str().find("org.freedesktop.Notifications"), std::string::npos) << log.str();

  startService({"body"});
  auto later = agent::NotifyFailures(*view, failing("Set 5 minutes."), options(), logger);
  ASSERT_TRUE(later.ok()) << later.status().toString();
  EXPECT_EQ(*later, 1) << log.str();
  ASSERT_EQ(recorded().size(), 1u);
  EXPECT_EQ(Str(recorded()[0], "body"), "Set 5 minutes.");
}

// Issue 16 item 5: a failing required check carries "Check again" and "Show details" (in the
// person's Danish); "Check again" asks the daemon for a check as the person, "Show details"
// replaces the notification with every check and the steps, and closing it ends hearth-notify.
TEST_F(NotifyDbusTest, CheckAgainAsksForACheckDetailsReplaceItAndClosingEndsTheHelper) {
  ASSERT_EQ(::setenv("HEARTH_LOCALEDIR", testing::BuiltLocaleDir().c_str(), 1), 0);
  dir_.write("accounts/" + user_, "[User]\nLanguage=da_DK.UTF-8\n");
  ControlSocket daemon(dir_.path() + "/agent.sock");
  ASSERT_TRUE(daemon.ok()) << std::strerror(errno);
  startService({"body", "actions"});
  auto view = NewLiveSystemView();
  agent::NotifyOptions o = options();
  o.accounts_service_dir = dir_.path() + "/accounts";
  o.control_socket = dir_.path() + "/agent.sock";
  std::ostringstream log;
  Logger logger(log, LogLevel::kDebug, LogFormat::Terminal("hearth-agent"));
  Report r = failingWithSteps();
  CheckResult disk;
  disk.id = "disk_encryption";
  disk.verdict = Verdict::kPass;
  disk.required = true;
  disk.setSummary(i18n::Lit("/ is on LUKS2"));
  r.checks.insert(r.checks.begin(), disk);
  auto sent = agent::NotifyFailures(*view, r, o, logger);
  ASSERT_TRUE(sent.ok()) << sent.status().toString();
  EXPECT_EQ(*sent, 1) << log.str();
  auto calls = recorded();
  ASSERT_EQ(calls.size(), 1u) << log.str();
  EXPECT_EQ(Strings(calls[0], "actions"),
            (std::vector<std::string>{"check-again", "Tjek igen", "details", "Vis detaljer"}));
  EXPECT_EQ(Int(calls[0], "sender_uid"), static_cast<int64_t>(uid_));
  const std::string id = std::to_string(Int(calls[0], "id"));
  // NotifyFailures returned: the daemon did not wait; the person's helper stays for the actions.
  ASSERT_EQ(helpers().size(), 1u);

  auto click = person("Invoke", {"us", id, "check-again"});
  ASSERT_EQ(click.exit_code, 0) << click.err;
  EXPECT_EQ(daemon.nextCaller(10s), static_cast<int64_t>(uid_)) << "no check was asked for";

  click = person("Invoke", {"us", id, "details"});
  ASSERT_EQ(click.exit_code, 0) << click.err;
  calls = recordedWhen(2);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(std::to_string(Int(calls[1], "replaces_id")), id);
  EXPECT_EQ(Str(calls[1], "summary"), "Hearth: Sikkerhedstjek på denne pc");
  EXPECT_EQ(Str(calls[1], "body"),
            "\u2714 Diskkryptering: / is on LUKS2\n"
            "\u2718 Skærmlås: skærmen låser efter 900 s uden aktivitet (grænse 300 s)\n"
            "\n"
            "Sådan løser du det – Skærmlås:\n"
            "1. Åbn Systemindstillinger.\n"
            "2. Sæt Forsinkelse før tom skærm til 5 minutter eller mindre.");
  EXPECT_EQ(Strings(calls[1], "actions"), (std::vector<std::string>{"check-again", "Tjek igen"}));
  EXPECT_EQ(helpers().size(), 1u);

  // Dismissed: the helper's work is done.
  click = person("Close", {"u", id});
  ASSERT_EQ(click.exit_code, 0) << click.err;
  EXPECT_TRUE(helpersGoneWithin(10s)) << "hearth-notify still runs after the notification closed";
  ::unsetenv("HEARTH_LOCALEDIR");
}

// A service that cannot show actions gets the notification without them, and nothing stays
// running.
TEST_F(NotifyDbusTest, WithoutTheActionsCapabilityThereAreNoActionsAndNoProcessStays) {
  startService({"body"});
  auto view = NewLiveSystemView();
  agent::NotifyOptions o = options();
  o.control_socket = dir_.path() + "/agent.sock";
  std::ostringstream log;
  Logger logger(log, LogLevel::kDebug, LogFormat::Terminal("hearth-agent"));
  auto sent = agent::NotifyFailures(*view, failing("Set 5 minutes."), o, logger);
  ASSERT_TRUE(sent.ok()) << sent.status().toString();
  EXPECT_EQ(*sent, 1) << log.str();
  auto calls = recorded();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(Strings(calls[0], "actions"), std::vector<std::string>{});
  EXPECT_TRUE(helpersGoneWithin(5s));
}

}  // namespace
}  // namespace hearth
