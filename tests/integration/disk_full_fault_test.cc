// Issue 13, fault suite: the server's disk fills up. The server runs with its state directory on
// a small tmpfs in a private mount namespace (root only; skipped with a message otherwise), which
// the test fills from inside that namespace (nsenter) while devices report: reports are answered
// 503, /healthz says the database cannot be written, and when space returns the server goes on
// by itself; every acknowledged report is stored, none twice. SQLite only (PostgreSQL keeps its
// data elsewhere).
#include <set>

#include "server_fault_fixture.h"

namespace hearth::testing {
namespace {

using namespace std::chrono_literals;

class FaultDiskFullTest : public FaultServerTest {
 protected:
  // Runs argv inside the server's mount namespace.
  ProcessOutput inServerNamespace(std::vector<std::string> argv) {
    argv.insert(argv.begin(),
                {"/usr/bin/nsenter", "-t", std::to_string(server_->pid()), "-m", "--"});
    return RunProcess(argv);
  }
};

TEST_P(FaultDiskFullTest, FullDiskIsAnswered503AndTheServerGoesOnWhenSpaceReturns) {
  if (!RunningAsRoot()) GTEST_SKIP() << "needs root: a small tmpfs in a private mount namespace";
  const std::string mnt = dir_.mkdir("tmpfs");
  const std::string script = "mount -t tmpfs -o size=3m hearth-fault " + mnt + " && cp -a " +
                             state_ + "/. " + mnt + "/ && exec " + serverBinary() +
                             " serve --state-dir " + mnt +
                             " --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0";
  server_ = std::make_unique<ServerProcess>(
      std::vector<std::string>{"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh",
                               "-c", script},
      dir_.path() + "/server-tmpfs.log");
  ASSERT_TRUE(server_->started()) << serverLog();
  devices_ = server_->address("devices");
  admin_ = server_->address("admin");

  FaultDevice d = enroll("full-disk");
  ASSERT_FALSE(d.id.empty());
  std::set<std::string> acknowledged;
  int64_t seq = 1;
  auto send = [&] {
    std::string id = "r" + std::to_string(seq);
    HttpAnswer a = report(d, id, seq);
    if (a.status == 202 || a.status == 200) {
      acknowledged.insert(reportId(id));
      ++seq;
    }
    return a.status;
  };
  ASSERT_EQ(send(), 202);

  // Fill the file system (dd stops at ENOSPC), then report until the server says 503.
  inServerNamespace({"/bin/dd", "if=/dev/zero", "of=" + mnt + "/filler", "bs=64k"});
  EXPECT_TRUE(waitFor([&] { return send() == 503; }, 30s)) << serverLog();
  EXPECT_TRUE(waitFor([&] { return healthz().status == 503; }, 20s)) << healthz().body;

  // Space returns: within a few seconds reports are accepted again and health is back.
  inServerNamespace({"/bin/rm", "-f", mnt + "/filler"});
  EXPECT_TRUE(waitFor([&] { return send() == 202; }, 5s)) << serverLog();
  EXPECT_TRUE(waitFor([&] { return healthz().status == 200; }, 20s)) << healthz().body;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(send(), 202);

  auto history = historyIds(d.id);
  std::set<std::string> stored(history.begin(), history.end());
  EXPECT_EQ(stored.size(), history.size()) << "a report is stored twice";
  for (const auto& id : acknowledged) EXPECT_EQ(stored.count(id), 1u) << id << " is lost";
  auto check = inServerNamespace({serverBinary(), "check-db", "--state-dir", mnt});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

INSTANTIATE_TEST_SUITE_P(Backends, FaultDiskFullTest, ::testing::Values("sqlite"));

}  // namespace
}  // namespace hearth::testing
