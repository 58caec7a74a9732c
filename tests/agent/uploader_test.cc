// The uploader process: framing across the process boundary, deadlines, interruption, the privilege
// drop.
#include "hearth/agent/uploader.h"

#include <arpa/inet.h>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

#include "hearth/log.h"
#include "support/temp_dir.h"

namespace hearth::agent {
namespace {

using std::chrono::seconds;

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
    if (line.starts_with("Groups:")) {
      EXPECT_EQ(line.find_first_not_of(" \t", 7), std::string::npos) << line;
    }
    if (line.starts_with("NoNewPrivs:")) {
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
  // Generous: the child must still be connected while this test looks at /proc (on a busy
  // machine, or under ASan, that took longer than 3 s and the socket had gone to TIME_WAIT, owned
  // by uid 0). Closing `conn` below ends the handshake at once, so this does not slow the test.
  o.connect_timeout = std::chrono::milliseconds(60000);
  o.total_timeout = std::chrono::milliseconds(60000);
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

}  // namespace
}  // namespace hearth::agent
