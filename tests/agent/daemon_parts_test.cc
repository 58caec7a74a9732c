// The daemon's parts that do not need a server: agent.conf, the isolated check run (timeouts,
// merging a vpn-only run), change detection, and the uploader process (framing, deadlines,
// interruption, the privilege drop).
#include <arpa/inet.h>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <pwd.h>
#include <sched.h>
#include <sstream>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

#include "hearth/agent/check_process.h"
#include "hearth/agent/check_results.h"
#include "hearth/agent/config.h"
#include "hearth/agent/state_dir.h"
#include "hearth/agent/uploader.h"
#include "hearth/json.h"
#include "hearth/log.h"
#include "hearth/protocol/crypto.h"
#include "support/temp_dir.h"

namespace hearth::agent {
namespace {

using std::chrono::seconds;

// --- agent.conf ---------------------------------------------------------------------------------

TEST(AgentConfigTest, DefaultsWhenTheDefaultFileIsMissing) {
  auto c = LoadAgentConfig("/nonexistent/agent.conf", false);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->interval, seconds(900));
  EXPECT_EQ(c->splay_percent, 10);
  EXPECT_EQ(c->heartbeat, seconds(3600));
  EXPECT_EQ(c->service_user, "hearth");
  EXPECT_EQ(c->spool_max_reports, 10000u);
  EXPECT_EQ(c->spool_max_bytes, 20u << 20);
  EXPECT_EQ(c->sent_keep_reports, 500u);
  EXPECT_EQ(c->sent_keep_days, 7);
  EXPECT_FALSE(LoadAgentConfig("/nonexistent/agent.conf", true).ok());
}

TEST(AgentConfigTest, EveryKeyParses) {
  testing::TempDir dir;
  std::string path = dir.write("agent.conf",
                               "# comment\n"
                               "interval = 5m\nsplay = 20%\nheartbeat = 2h\ncheck_timeout = 90s\n"
                               "network_debounce = 0\nretry_cap = 1h\nproxy = none\n"
                               "policy = /etc/p.json\nenroll_file = /etc/e.conf\n"
                               "service_user = _hearth\nnotify = no\nspool_max_reports = 500\n"
                               "spool_max_bytes = 5MiB\nlog_level = debug\n"
                               "sent_keep_reports = 0\nsent_keep_days = 30\n");
  auto c = LoadAgentConfig(path, true);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->interval, seconds(300));
  EXPECT_EQ(c->splay_percent, 20);
  EXPECT_EQ(c->heartbeat, seconds(7200));
  EXPECT_EQ(c->check_timeout, seconds(90));
  EXPECT_EQ(c->network_debounce, seconds(0));
  EXPECT_EQ(c->retry_cap, seconds(3600));
  EXPECT_EQ(c->proxy, "none");
  EXPECT_EQ(c->fallback_policy, "/etc/p.json");
  EXPECT_EQ(c->enroll_file, "/etc/e.conf");
  EXPECT_EQ(c->service_user, "_hearth");
  EXPECT_FALSE(c->notify);
  EXPECT_EQ(c->spool_max_reports, 500u);
  EXPECT_EQ(c->spool_max_bytes, 5u << 20);
  EXPECT_EQ(c->log_level, LogLevel::kDebug);
  EXPECT_EQ(c->sent_keep_reports, 0u);
  EXPECT_EQ(c->sent_keep_days, 30);
}

TEST(AgentConfigTest, ErrorsNameFileLineKeyAndWhatWasExpected) {
  testing::TempDir dir;
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"interval = 15x\n", "agent.conf:1: interval: unknown duration unit \"x\""},
      {"\ninterval = 1s\n", "agent.conf:2: interval: expected between 10s and 604800s"},
      {"splay = 80%\n", "splay: expected a percentage from 0 to 50"},
      {"notify = maybe\n", "notify: expected true or false"},
      {"log_level = loud\n", "log_level: expected error, warning, info or debug"},
      {"spool_max_bytes = 10\n", "spool_max_bytes: expected at least 1MiB"},
      {"policy = relative.json\n", "policy: expected an absolute path"},
      {"sent_keep_reports = -1\n", "sent_keep_reports: expected a number from 0 (keep none)"},
      {"sent_keep_reports = 200000\n", "sent_keep_reports: expected a number from 0"},
      {"sent_keep_days = 0\n", "sent_keep_days: expected a number of days from 1 to 365"},
      {"sent_keep_days = 1w\n", "sent_keep_days: expected a number of days from 1 to 365"},
      {"service_user = a b\n", "service_user: expected a user name"},
      {"intervall = 5m\n", "intervall: unknown key (expected one of"},
      {"interval = 5m\ninterval = 6m\n", "agent.conf:2: interval: set twice (first on line 1)"},
      {"just words\n", "expected `key = value`"},
  };
  for (const auto& c : cases) {
    std::string path = dir.write("agent.conf", c.text);
    auto r = LoadAgentConfig(path, true);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos)
        << c.text << " → " << r.status().message();
  }
}

TEST(AgentConfigTest, DurationsAndSizes) {
  EXPECT_EQ(*ParseDuration("90s"), seconds(90));
  EXPECT_EQ(*ParseDuration("15m"), seconds(900));
  EXPECT_EQ(*ParseDuration("2d"), seconds(172800));
  EXPECT_EQ(*ParseDuration("600"), seconds(600));
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("-5s").ok());
  EXPECT_FALSE(ParseDuration("99999999999999999999d").ok());
  EXPECT_EQ(*ParseSize("512KiB"), 512u * 1024);
  EXPECT_EQ(*ParseSize("1048576"), 1048576u);
  EXPECT_FALSE(ParseSize("5MB").ok());
}

// --- logging -------------------------------------------------------------------------------------

TEST(AgentLogTest, JournalPrioritiesAndNoControlCharacters) {
  std::ostringstream out;
  Logger journal(out, LogLevel::kInfo, LogFormat::Journal());
  journal.warning("spool \x1b[31mred\nsecond line");
  journal.debug("not shown at info");
  EXPECT_EQ(out.str(), "<4>spool \\x1b[31mred\\x0asecond line\n");
  std::ostringstream plain;
  Logger term(plain, LogLevel::kDebug, LogFormat::Terminal("hearth-agent"));
  term.error("x");
  term.debug("y");
  EXPECT_EQ(plain.str(), "hearth-agent: error: x\nhearth-agent: debug: y\n");
}

// --- the isolated check run ----------------------------------------------------------------------

Policy twoChecks() {
  auto p = ParsePolicy(
      R"({"level":"standard","version":3,"checks":{"disk_encryption":{"required":true},)"
      R"("vpn":{"required":true,"company_addresses":["10.0.0.1"]}}})",
      "test");
  EXPECT_TRUE(p.ok()) << p.status().message();
  return *p;
}

// A check with a chosen id that passes, or hangs far past any timeout.
class ScriptedCheck : public Check {
 public:
  ScriptedCheck(std::string id, bool hang) : id_(std::move(id)), hang_(hang) {}
  std::string_view id() const override { return id_; }
  StatusOr<CheckResult> run(const SystemView&, const CheckParams&) const override {
    if (hang_) std::this_thread::sleep_for(std::chrono::hours(1));
    CheckResult r;
    r.verdict = Verdict::kPass;
    r.summary = id_ + " is fine";
    return r;
  }

 private:
  std::string id_;
  bool hang_;
};

CheckProcessOptions scripted(bool disk_hangs, const std::string& state_dir) {
  CheckProcessOptions o;
  o.state_dir = state_dir;
  o.check_timeout = seconds(1);
  o.make_checks = [disk_hangs] {
    std::vector<std::unique_ptr<Check>> v;
    v.push_back(std::make_unique<ScriptedCheck>("disk_encryption", disk_hangs));
    v.push_back(std::make_unique<ScriptedCheck>("vpn", false));
    return v;
  };
  return o;
}

const json::Value& checkById(const json::Value& result, const std::string& id) {
  for (const auto& c : result.find("checks")->asArray()) {
    if (c.find("id")->asString() == id) return c;
  }
  static json::Value none;
  ADD_FAILURE() << "no check " << id << " in " << json::write(result);
  return none;
}

TEST(CheckProcessTest, AHangingCheckIsUnknownAndTheOthersStillRun) {
  testing::TempDir dir;
  std::ostringstream log;
  Logger logger(log, LogLevel::kDebug, LogFormat::Terminal("hearth-agent"));
  auto start = std::chrono::steady_clock::now();
  auto r = RunChecksIsolated(twoChecks(), scripted(true, dir.path()), logger);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_LT(took, seconds(5));  // the hung check is abandoned, not waited for
  const auto& disk = checkById(*r, "disk_encryption");
  EXPECT_EQ(disk.find("verdict")->asString(), "unknown");
  EXPECT_NE(disk.find("summary")->asString().find("did not finish within 1 s"), std::string::npos);
  EXPECT_EQ(checkById(*r, "vpn").find("verdict")->asString(), "pass");
  EXPECT_FALSE(r->find("compliant")->asBool());  // unknown is never a pass
  EXPECT_NE(log.str().find("disk_encryption did not finish"), std::string::npos);
}

TEST(CheckProcessTest, OnlyRunsTheNamedChecks) {
  testing::TempDir dir;
  std::ostringstream log;
  Logger logger(log, LogLevel::kDebug, LogFormat::Terminal("hearth-agent"));
  auto o = scripted(true, dir.path());  // the disk check would hang: it must not even start
  o.only = {"vpn"};
  auto r = RunChecksIsolated(twoChecks(), o, logger);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->find("checks")->size(), 1u);
  EXPECT_EQ(checkById(*r, "vpn").find("verdict")->asString(), "pass");
}

TEST(CheckProcessTest, InterruptAbandonsTheRun) {
  testing::TempDir dir;
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  ASSERT_EQ(::write(p[1], "x", 1), 1);
  auto o = scripted(true, dir.path());
  o.check_timeout = seconds(30);
  o.interrupt_fd = p[0];
  std::ostringstream log;
  Logger logger(log, LogLevel::kDebug, LogFormat::Terminal("hearth-agent"));
  auto start = std::chrono::steady_clock::now();
  auto r = RunChecksIsolated(twoChecks(), o, logger);
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(1));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "interrupted");
  ::close(p[0]);
  ::close(p[1]);
}

TEST(CheckProcessTest, MergeKeepsOtherChecksAndRecomputesCompliance) {
  auto full =
      json::parse(R"({"compliant":true,"evaluated_at":"2026-11-26T10:00:00Z","checks":[)"
                  R"({"id":"disk_encryption","verdict":"pass","required":true,"summary":"ok"},)"
                  R"({"id":"vpn","verdict":"pass","required":true,"summary":"through tun0"}]})");
  auto vpn = json::parse(R"({"compliant":false,"evaluated_at":"2026-11-26T10:05:00Z","checks":[)"
                         R"({"id":"vpn","verdict":"fail","required":true,"summary":"via eth0"}]})");
  json::Value m = MergeCheckResults(*full, *vpn);
  ASSERT_EQ(m.find("checks")->size(), 2u);
  EXPECT_EQ(checkById(m, "disk_encryption").find("verdict")->asString(), "pass");
  EXPECT_EQ(checkById(m, "vpn").find("verdict")->asString(), "fail");
  EXPECT_FALSE(m.find("compliant")->asBool());
  EXPECT_EQ(m.find("evaluated_at")->asString(), "2026-11-26T10:05:00Z");
}

TEST(CheckProcessTest, FingerprintIgnoresTimingButNotVerdicts) {
  auto a = json::parse(
      R"({"level":"standard","policy_version":1,"compliant":false,"evaluated_at":"A","checks":[)"
      R"({"id":"vpn","verdict":"fail","required":true,"summary":"via eth0","duration_ms":3}]})");
  auto b = json::parse(
      R"({"level":"standard","policy_version":1,"compliant":false,"evaluated_at":"B","checks":[)"
      R"({"id":"vpn","verdict":"fail","required":true,"summary":"via eth0","duration_ms":9}]})");
  auto c = json::parse(
      R"({"level":"standard","policy_version":1,"compliant":true,"evaluated_at":"B","checks":[)"
      R"({"id":"vpn","verdict":"pass","required":true,"summary":"through tun0"}]})");
  EXPECT_EQ(ResultFingerprint(*a), ResultFingerprint(*b));
  EXPECT_NE(ResultFingerprint(*a), ResultFingerprint(*c));
}

// --- the uploader process ------------------------------------------------------------------------

// Answers every post with the uid it runs as; fetchPolicy hangs (or answers) on request.
class IdentityTransport : public Transport {
 public:
  PostResult postReport(const std::string& envelope) override {
    PostResult r;
    if (envelope == "hang") std::this_thread::sleep_for(std::chrono::hours(1));
    r.kind = envelope == "retry" ? PostResult::Kind::kRetryLater : PostResult::Kind::kAccepted;
    r.http_status = envelope == "retry" ? 503 : 200;
    r.retry_after_seconds = envelope == "retry" ? 7 : -1;
    r.error = "uid=" + std::to_string(::getuid()) + " gid=" + std::to_string(::getgid()) +
              " bytes=" + std::to_string(envelope.size());
    if (envelope == "restored") r.previous_sequence = 12;
    if (envelope == "forged") r.previous_sequence = -5;
    return r;
  }
  StatusOr<std::string> fetchPolicy(int64_t min_version) override {
    if (min_version > 5)
      return NotFoundError("no policy newer than " + std::to_string(min_version));
    return std::string("{\"signed\":true}");
  }
};

UploaderOptions fakeUploader(const std::string& user = "") {
  UploaderOptions o;
  o.user = user;
  o.request_deadline = std::chrono::milliseconds(1500);
  o.make_transport = [] { return std::make_unique<IdentityTransport>(); };
  return o;
}

TEST(UploaderTest, CarriesReportsAndPoliciesAcrossTheProcessBoundary) {
  auto t = ProcessTransport::start(fakeUploader());
  ASSERT_TRUE(t.ok()) << t.status().message();
  std::string big(900 * 1024, 'x');  // a report near the 1 MiB limit crosses intact
  PostResult r = (*t)->postReport(big);
  EXPECT_EQ(r.kind, PostResult::Kind::kAccepted);
  EXPECT_NE(r.error.find("bytes=921600"), std::string::npos) << r.error;
  PostResult retry = (*t)->postReport("retry");
  EXPECT_EQ(retry.kind, PostResult::Kind::kRetryLater);
  EXPECT_EQ(retry.http_status, 503);
  EXPECT_EQ(retry.retry_after_seconds, 7);
  EXPECT_FALSE(retry.previous_sequence.has_value());
  EXPECT_FALSE(r.previous_sequence.has_value());  // not said: not made up on the way
  PostResult restored = (*t)->postReport("restored");
  ASSERT_TRUE(restored.previous_sequence.has_value());
  EXPECT_EQ(*restored.previous_sequence, 12);
  // The root side takes nothing but a non-negative integer from the uploader.
  EXPECT_FALSE((*t)->postReport("forged").previous_sequence.has_value());
  auto p = (*t)->fetchPolicy(1);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, "{\"signed\":true}");
  auto none = (*t)->fetchPolicy(9);
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(none.status().message(), "no policy newer than 9");
}

TEST(UploaderTest, AStuckUploaderIsKilledAtTheDeadlineAndReplaced) {
  auto t = ProcessTransport::start(fakeUploader());
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ((*t)->pid(), -1) << "no uploader until there is something to send";
  EXPECT_EQ((*t)->postReport("ok").kind, PostResult::Kind::kAccepted);
  pid_t first = (*t)->pid();
  ASSERT_GT(first, 0);
  auto start = std::chrono::steady_clock::now();
  PostResult r = (*t)->postReport("hang");
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(4));
  EXPECT_EQ(r.kind, PostResult::Kind::kNetwork);
  EXPECT_NE(r.error.find("did not answer in time"), std::string::npos) << r.error;
  EXPECT_NE(::kill(first, 0), 0);                                       // gone (reaped)
  EXPECT_EQ((*t)->postReport("ok").kind, PostResult::Kind::kAccepted);  // a new one answers
  EXPECT_NE((*t)->pid(), first);
  pid_t second = (*t)->pid();
  (*t)->release();
  EXPECT_NE(::kill(second, 0), 0) << "released: the uploader is gone";
  EXPECT_EQ((*t)->postReport("ok").kind, PostResult::Kind::kAccepted);  // and comes back
}

TEST(UploaderTest, ASignalInterruptsTheWait) {
  auto t = ProcessTransport::start(fakeUploader());
  ASSERT_TRUE(t.ok());
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  (*t)->setInterruptFd(p[0]);
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    (void)!::write(p[1], "x", 1);
  });
  auto start = std::chrono::steady_clock::now();
  PostResult r = (*t)->postReport("hang");
  later.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1000));
  EXPECT_EQ(r.error, "interrupted");
  ::close(p[0]);
  ::close(p[1]);
}

TEST(UploaderTest, AsRootTheUploaderRunsAsTheServiceUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (the privilege drop)";
  passwd* nobody = ::getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  auto t = ProcessTransport::start(fakeUploader("nobody"));
  ASSERT_TRUE(t.ok()) << t.status().message();
  PostResult r = (*t)->postReport("ok");
  ASSERT_GT((*t)->pid(), 0);
  EXPECT_NE(r.error.find("uid=" + std::to_string(nobody->pw_uid) +
                         " gid=" + std::to_string(nobody->pw_gid)),
            std::string::npos)
      << r.error;
  // No supplementary groups either.
  std::ifstream status("/proc/" + std::to_string((*t)->pid()) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Groups:", 0) == 0) {
      EXPECT_EQ(line.find_first_not_of(" \t", 7), std::string::npos) << line;
    }
    if (line.rfind("NoNewPrivs:", 0) == 0) {
      EXPECT_NE(line.find('1'), std::string::npos) << line;
    }
  }
}

// Enrolment happens before there is an uploader: its one-off requests also leave root first. The
// kernel says who owns the client's socket (/proc/net/tcp's uid column).
TEST(UploaderTest, OneOffRequestsAreMadeUnprivileged) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (the privilege drop)";
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  socklen_t len = sizeof(sa);
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&sa), &len);
  HttpOptions o;
  o.pin = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  o.connect_timeout = std::chrono::milliseconds(3000);
  o.total_timeout = std::chrono::milliseconds(3000);
  std::string url = "https://127.0.0.1:" + std::to_string(ntohs(sa.sin_port)) + "/api/v1/enroll";
  // A file the parent holds open (as the daemon holds its control socket and agent.lock).
  char marker[] = "/tmp/hearth-fd-marker-XXXXXX";
  int held = ::mkstemp(marker);
  ASSERT_GE(held, 0);
  StatusOr<HttpResponse> result = InternalError("not run");
  std::thread client([&] { result = HttpRequestUnprivileged(o, "nobody", url, nullptr); });
  int conn = ::accept(listener, reinterpret_cast<sockaddr*>(&sa), &len);
  EXPECT_GE(conn, 0) << std::strerror(errno);
  // The child holds nothing of the parent's but stdio and its socketpair end.
  std::vector<std::string> child_fds;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::ifstream st(e.path() / "stat");
    std::string stat;
    if (!std::getline(st, stat) || stat.find("(hearth-upload)") == std::string::npos) continue;
    std::istringstream rest(stat.substr(stat.rfind(')') + 2));
    std::string state;
    long ppid = 0;
    rest >> state >> ppid;
    if (ppid != ::getpid()) continue;
    for (const auto& fd : std::filesystem::directory_iterator(e.path() / "fd")) {
      std::error_code ec;
      child_fds.push_back(std::filesystem::read_symlink(fd.path(), ec).string());
    }
  }
  ASSERT_FALSE(child_fds.empty()) << "the unprivileged child was not found";
  for (const auto& target : child_fds) EXPECT_NE(target, marker) << "inherited the parent's file";
  ::close(held);
  ::unlink(marker);
  unsigned client_port = ntohs(sa.sin_port);
  std::ifstream tcp("/proc/net/tcp");
  std::string line;
  long owner = -1;
  while (std::getline(tcp, line)) {
    std::istringstream f(line);
    std::string sl, local, remote, st, queues, tr, retr;
    long uid = -1;
    f >> sl >> local >> remote >> st >> queues >> tr >> retr >> uid;
    size_t colon = local.find(':');
    if (colon == std::string::npos ||
        local.find_first_not_of("0123456789ABCDEF:") != std::string::npos) {
      continue;  // the header line
    }
    if (std::stoul(local.substr(colon + 1), nullptr, 16) == client_port) {
      owner = uid;
    }
  }
  ::close(conn);  // the handshake fails: fine, the request is refused as a network/TLS error
  client.join();
  ::close(listener);
  EXPECT_EQ(owner, static_cast<long>(::getpwnam("nobody")->pw_uid))
      << "the enrolment request's socket belongs to the unprivileged account";
  EXPECT_FALSE(result.ok());
}

TEST(UploaderTest, AMissingOrRootServiceUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (the account is only used as root)";
  auto missing = ProcessTransport::start(fakeUploader("no-such-user-hearth"));
  EXPECT_EQ(missing.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(missing.status().message().find("no-such-user-hearth\" does not exist"),
            std::string::npos);
  auto root = ProcessTransport::start(fakeUploader("root"));
  EXPECT_EQ(root.status().code(), StatusCode::kFailedPrecondition);
}

// The machine id hash: the server flags devices that report the same one (cloned disks), so PCs
// without /etc/machine-id must not all send the same value (they used to: the hash of nothing).
TEST(MachineIdTest, APcWithoutAMachineIdGetsItsOwnStableValue) {
  std::string machine_id;
  {
    std::ifstream f("/etc/machine-id");
    std::getline(f, machine_id);
  }
  testing::TempDir dir;
  if (!machine_id.empty()) {
    EXPECT_EQ(MachineIdHash(dir.path()), protocol::Sha256Hex("hearth-machine-id:" + machine_id));
  }
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (hides /etc/machine-id in a mount namespace)";
  std::string empty = dir.write("empty", "");
  std::string a = dir.path() + "/a", b = dir.path() + "/b";
  ASSERT_EQ(::mkdir(a.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir(b.c_str(), 0700), 0);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      ::_exit(3);
    }
    for (const char* p : {"/etc/machine-id", "/var/lib/dbus/machine-id"}) {
      if (::access(p, F_OK) == 0 && ::mount(empty.c_str(), p, nullptr, MS_BIND, nullptr) != 0) {
        ::_exit(4);
      }
    }
    std::string out = MachineIdHash(a) + " " + MachineIdHash(a) + " " + MachineIdHash(b) + " " +
                      protocol::Sha256Hex("hearth-machine-id:");
    (void)!::write(fds[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  std::istringstream words(out);
  std::string a1, a2, b1, nothing;
  words >> a1 >> a2 >> b1 >> nothing;
  EXPECT_EQ(a1.size(), 64u);
  EXPECT_EQ(a1, a2) << "stable across reports";
  EXPECT_NE(a1, b1) << "two PCs without a machine id look like two PCs";
  EXPECT_NE(a1, nothing) << "not the hash every such PC used to send";
}

}  // namespace
}  // namespace hearth::agent
