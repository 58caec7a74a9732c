// IT's own PC reaches the admin listener through an SSH tunnel (docs/server.md "The admin API from
// IT's own PC"), tested for real on loopback: a real sshd (openssh-server) started on a free
// loopback port with a host key and an authorized key made in a temporary directory, allowed to
// forward only to the admin listener (PermitOpen), and `ssh -N -L` from the test as IT would run
// it on its PC; the admin API answers through the tunnel with the server's CA and an admin token,
// refuses a request without the token, and a forward to any other port is refused by sshd. Root
// only (sshd needs it for its privilege separation); skipped with a message elsewhere or when
// openssh-server is not installed (scripts/install-deps installs it).
#include <arpa/inet.h>
#include <csignal>
#include <fcntl.h>
#include <memory>
#include <netinet/in.h>
#include <spawn.h>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/json.h"
#include "support/files.h"
#include "support/https_client.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

extern char** environ;

namespace hearth {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ReadFile;

constexpr const char* kSshd = "/usr/sbin/sshd";
constexpr const char* kSsh = "/usr/bin/ssh";
constexpr const char* kSshKeygen = "/usr/bin/ssh-keygen";

// A program running in the background (stdout and stderr to `log`), ended with SIGTERM (then
// SIGKILL) when destroyed.
class Background {
 public:
  Background(const std::vector<std::string>& argv, const std::string& log) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Background() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    if (!testing::PollUntil([&] { return ::waitpid(pid_, nullptr, WNOHANG) == pid_; },
                            seconds(5))) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  bool running() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }

 private:
  pid_t pid_ = -1;
};

// A TCP port free on 127.0.0.1 right now (the kernel's choice).
int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

// Whether something accepts TCP connections on 127.0.0.1:`port`.
bool accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

std::string portOf(const std::string& host_port) {
  return host_port.substr(host_port.rfind(':') + 1);
}

class AdminTunnelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::RunningAsRoot()) {
      GTEST_SKIP() << "root only: sshd needs root for its privilege separation";
    }
    if (::access(kSshd, X_OK) != 0 || ::access(kSsh, X_OK) != 0) {
      GTEST_SKIP() << kSshd << " or " << kSsh
                   << " is missing: install openssh-server and openssh-client "
                      "(scripts/install-deps)";
    }
    server_ = std::make_unique<testing::TestServer>(dir_.path() + "/state");
    auto init = server_->init();
    ASSERT_EQ(init.exit_code, 0) << init.err;
    std::string log = dir_.path() + "/server.log";
    ASSERT_TRUE(server_->serve(log)) << ReadFile(log);
    admin_port_ = portOf(server_->address("admin"));
    ASSERT_EQ(server_->address("admin").rfind("127.0.0.1:", 0), 0u);  // loopback only

    // The server's side: a host key, IT's public key, sshd allowing this key to forward to the
    // admin listener and nowhere else.
    std::string ssh_dir = dir_.mkdir("ssh");
    for (const char* key : {"host_key", "it_key"}) {
      auto k = testing::RunProcess(
          {kSshKeygen, "-q", "-t", "ed25519", "-N", "", "-f", ssh_dir + "/" + key});
      ASSERT_EQ(k.exit_code, 0) << k.err;
    }
    dir_.write("ssh/authorized_keys", ReadFile(ssh_dir + "/it_key.pub"));
    ::mkdir("/run/sshd", 0755);  // sshd's privilege separation directory (Debian's path)
    ssh_port_ = freePort();
    ASSERT_GT(ssh_port_, 0);
    std::string config =
        dir_.write("ssh/sshd_config",
                   "ListenAddress 127.0.0.1:" + std::to_string(ssh_port_) + "\n" +  //
                       "HostKey " + ssh_dir + "/host_key\n" +                       //
                       "PidFile " + ssh_dir + "/sshd.pid\n" +                       //
                       "AuthorizedKeysFile " + ssh_dir + "/authorized_keys\n" +     //
                       "PubkeyAuthentication yes\n"
                       "PasswordAuthentication no\n"
                       "KbdInteractiveAuthentication no\n"
                       "PermitRootLogin prohibit-password\n"
                       "UsePAM no\n"
                       "StrictModes no\n"
                       "AllowAgentForwarding no\n"
                       "X11Forwarding no\n"
                       "PermitTTY no\n"
                       "AllowTcpForwarding local\n"
                       "PermitOpen 127.0.0.1:" +
                       admin_port_ + "\n");
    auto check = testing::RunProcess({kSshd, "-t", "-f", config});
    ASSERT_EQ(check.exit_code, 0) << check.err;
    sshd_ = std::make_unique<Background>(std::vector<std::string>{kSshd, "-D", "-e", "-f", config},
                                         ssh_dir + "/sshd.log");
    ASSERT_TRUE(testing::PollUntil([&] { return accepts(ssh_port_); }, seconds(10)))
        << ReadFile(ssh_dir + "/sshd.log");
    // IT's side: its key, and the server's host key pinned (no trust on first use).
    std::string host_pub = ReadFile(ssh_dir + "/host_key.pub");
    known_hosts_ =
        dir_.write("ssh/known_hosts", "[127.0.0.1]:" + std::to_string(ssh_port_) + " " + host_pub);
    it_key_ = ssh_dir + "/it_key";
    ssh_log_ = ssh_dir + "/ssh.log";
  }

  void TearDown() override {
    tunnel_.reset();
    sshd_.reset();
    if (server_) server_->stop();
  }

  // `ssh -N -L LOCAL:127.0.0.1:TARGET` as in docs/server.md; the local port, or 0 when the
  // tunnel did not come up.
  int openTunnel(const std::string& target_port) {
    int local = freePort();
    tunnel_ = std::make_unique<Background>(
        std::vector<std::string>{kSsh,
                                 "-N",
                                 "-L",
                                 "127.0.0.1:" + std::to_string(local) + ":127.0.0.1:" + target_port,
                                 "-p",
                                 std::to_string(ssh_port_),
                                 "-i",
                                 it_key_,
                                 "-o",
                                 "BatchMode=yes",
                                 "-o",
                                 "IdentitiesOnly=yes",
                                 "-o",
                                 "StrictHostKeyChecking=yes",
                                 "-o",
                                 "UserKnownHostsFile=" + known_hosts_,
                                 "-o",
                                 "ExitOnForwardFailure=yes",
                                 "-F",
                                 "/dev/null",
                                 "root@127.0.0.1"},
        ssh_log_);
    bool up = testing::PollUntil([&] { return accepts(local); }, seconds(15));
    return up ? local : 0;
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::TestServer> server_;
  std::unique_ptr<Background> sshd_, tunnel_;
  std::string admin_port_, known_hosts_, it_key_, ssh_log_;
  int ssh_port_ = 0;
};

TEST_F(AdminTunnelTest, TheAdminApiAnswersThroughAnSshTunnelAndNothingElseIsForwarded) {
  int local = openTunnel(admin_port_);
  ASSERT_GT(local, 0) << ReadFile(ssh_log_);
  std::string base = "https://127.0.0.1:" + std::to_string(local);
  testing::HttpsClient it({.ca_file = server_->caFile()});
  std::string bearer = "Authorization: Bearer " + server_->adminToken();

  auto devices = it.get(base + "/api/v1/devices", {bearer});
  ASSERT_TRUE(devices.completed()) << devices.error();
  EXPECT_EQ(devices.status, 200) << devices.body;
  auto parsed = json::parse(devices.body);
  ASSERT_TRUE(parsed.ok()) << devices.body;
  EXPECT_NE(parsed->find("devices"), nullptr);
  // A write through the tunnel, audited like any other.
  auto hook = it.postJson(base + "/api/v1/webhooks",
                          R"({"url":"https://hooks.example.com/through-the-tunnel",)"
                          R"("secret":"0123456789abcdef-tunnel","events":["stale"]})",
                          {bearer});
  ASSERT_TRUE(hook.completed()) << hook.error();
  EXPECT_EQ(hook.status, 201) << hook.body;
  auto audit = server_->cli({"audit", "list", "--json"});
  EXPECT_NE(audit.out.find("webhook.create"), std::string::npos) << audit.out;
  // The tunnel carries TLS end to end: without a token the API still refuses.
  auto anonymous = it.get(base + "/api/v1/devices");
  ASSERT_TRUE(anonymous.completed()) << anonymous.error();
  EXPECT_EQ(anonymous.status, 401);

  // sshd forwards to the admin listener only: a tunnel to the devices' listener is refused.
  tunnel_.reset();
  int other = openTunnel(portOf(server_->address("devices")));
  if (other > 0) {
    // ssh listens before it asks sshd for the channel: the refusal comes on first use.
    testing::HttpsClient probe({.ca_file = server_->caFile(), .timeout_seconds = 5});
    auto refused = probe.get("https://127.0.0.1:" + std::to_string(other) + "/healthz");
    EXPECT_FALSE(refused.completed());
  }
  EXPECT_TRUE(testing::PollUntil(
      [&] { return ReadFile(ssh_log_).find("administratively prohibited") != std::string::npos; },
      seconds(5)))
      << ReadFile(ssh_log_);
}

}  // namespace
}  // namespace hearth
