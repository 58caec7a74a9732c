// Connections that never start TLS (issue 12, defect 4) against a real hearth-server: each held
// a worker thread for 10 s (Poco ran the handshake lazily inside the worker's first read), so a
// few hundred cut legitimate clients off. Now a connection waits for its ClientHello in the
// listener's gate, without a worker: bounded per source address (the address's oldest waiting
// connection is closed for a new one) and closed at --handshake-timeout. These tests assert that
// behaviour; the bench `hearth_server_bench idle-flood` measures the legitimate client's share.
#include <cstdlib>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "support/files.h"
#include "support/https_client.h"
#include "support/server_process.h"
#include "support/temp_dir.h"
#include "support/tls_socket.h"

namespace hearth {
namespace {

using namespace std::chrono_literals;
using testing::TlsSocket;

// Whether the server closed the silent TCP connection `fd` (it is readable: end of stream or a
// reset), waiting at most `timeout`.
bool closedByServer(int fd, std::chrono::milliseconds timeout) {
  pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char c;
  return ::recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

class HandshakeGateTest : public ::testing::Test {
 protected:
  void serve(std::vector<std::string> extra) {
    ASSERT_EQ(server_.init().exit_code, 0);
    ASSERT_TRUE(server_.serve(dir_.path() + "/server.log", {.extra = std::move(extra)}))
        << testing::ReadFile(dir_.path() + "/server.log");
  }
  ~HandshakeGateTest() override {
    for (int fd : silent_) ::close(fd);
  }

  // A plain TCP connection to the devices' listener from `from` that never sends a byte.
  int silent(const std::string& from) {
    int fd = testing::ConnectTcp(server_.address("devices"), from);
    EXPECT_GE(fd, 0) << from;
    silent_.push_back(fd);
    return fd;
  }

  // How many accepted connections wait in the devices' gate (hearth_connections_pending).
  int pendingInGate() {
    testing::HttpsClient client({.ca_file = server_.caFile()});
    auto reply = client.get("https://" + server_.address("admin") + "/metrics");
    const std::string key = "hearth_connections_pending{listener=\"devices\"} ";
    size_t at = reply.body.find(key);
    return at == std::string::npos ? -1 : std::atoi(reply.body.c_str() + at + key.size());
  }

  // A legitimate client's request on a new TLS connection to the devices' listener: GET on the
  // enrolment path, answered 405 once the handshake and the request went through.
  int legitimate(const std::string& from = "127.0.0.1") {
    TlsSocket s(server_.address("devices"), "", "", from);
    if (!s.ok() || !s.send("GET /api/v1/enroll HTTP/1.1\r\nHost: hearth\r\n\r\n")) return 0;
    return s.readAnswer(10s).status;
  }

  testing::TempDir dir_;
  testing::TestServer server_{dir_.path() + "/state"};
  std::vector<int> silent_;
};

// The 5th silent connection from one address, with a bound of 4, closes that address's oldest;
// the others of that address, and other addresses, are untouched; a client that speaks gets in
// from the same address (a NAT address shared with an attacker) and from another.
TEST_F(HandshakeGateTest, Defect4PerAddressBoundClosesTheAddresssOldestSilentConnection) {
  serve({"--pending-per-address", "4", "--handshake-timeout", "600"});
  ASSERT_TRUE(testing::PollUntil([&] { return legitimate() == 405; }, 10s)) << "server ready";
  // The kernel hands a silent connection over after a second or so (TCP_DEFER_ACCEPT), those of
  // the same second in any order: one at a time, so that the gate's order is the order here.
  std::vector<int> a;
  for (int i = 0; i < 4; ++i) {
    a.push_back(silent("127.0.0.2"));
    ASSERT_TRUE(testing::PollUntil([&] { return pendingInGate() == i + 1; }, 20s)) << i;
  }
  int other = silent("127.0.0.3");
  ASSERT_TRUE(testing::PollUntil([&] { return pendingInGate() == 5; }, 20s)) << pendingInGate();
  for (int fd : a) EXPECT_FALSE(closedByServer(fd, 0ms)) << "within the bound";
  int fifth = silent("127.0.0.2");
  EXPECT_TRUE(closedByServer(a[0], 20s)) << "the oldest of 127.0.0.2 is closed";
  for (size_t i = 1; i < a.size(); ++i) EXPECT_FALSE(closedByServer(a[i], 0ms)) << i;
  EXPECT_FALSE(closedByServer(fifth, 0ms));
  EXPECT_FALSE(closedByServer(other, 0ms)) << "another address is not affected";
  // A client that speaks is served, from an address at its bound too.
  EXPECT_EQ(legitimate(), 405);
  EXPECT_EQ(legitimate("127.0.0.2"), 405);
}

// A connection that stays silent is closed at the handshake deadline, without the request
// deadline (60 s here) or a worker being involved.
TEST_F(HandshakeGateTest, Defect4SilentConnectionIsClosedAtTheHandshakeDeadline) {
  serve({"--handshake-timeout", "1", "--request-timeout", "60"});
  int fd = silent("127.0.0.2");
  EXPECT_TRUE(closedByServer(fd, 30s)) << "closed at the 1 s handshake deadline";
  // A client that completes its handshake is not bound by it: its request is answered.
  EXPECT_EQ(legitimate(), 405);
}

// Silent connections hold no worker thread: with 2 workers and 60 silent connections (from 4
// addresses, within the per-address bound), a legitimate request is answered while they are all
// still open. Before, each held a worker for the 10 s read timeout (60 / 2 x 10 s = 5 minutes).
TEST_F(HandshakeGateTest, Defect4SilentConnectionsHoldNoWorkerThread) {
  serve({"--threads", "2", "--request-timeout", "600"});
  std::vector<int> fds;
  for (int i = 0; i < 60; ++i) fds.push_back(silent("127.0.0." + std::to_string(2 + i % 4)));
  for (int round = 0; round < 5; ++round) {
    TlsSocket s(server_.address("devices"));
    ASSERT_TRUE(s.ok()) << "round " << round;
    ASSERT_TRUE(s.send("GET /api/v1/enroll HTTP/1.1\r\nHost: hearth\r\n\r\n"));
    EXPECT_EQ(s.readAnswer(5s).status, 405) << "round " << round;
  }
  int still_open = 0;
  for (int fd : fds) still_open += closedByServer(fd, 0ms) ? 0 : 1;
  EXPECT_EQ(still_open, 60) << "none was closed to make room";
}

}  // namespace
}  // namespace hearth
