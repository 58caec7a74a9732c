// Several servers on one PostgreSQL database (issue 18): `hearth-server join` gives a second
// server the keys and certificates of the first (from its state directory or from a backup), so a
// device enrolled through either is accepted by both; after a rotation of the device CA on the
// first, `join --again` brings the second along, and devices of both CAs are accepted by both. Real
// servers on loopback with a PostgreSQL schema of their own (skipped without HEARTH_TEST_PG_URI).
#include <memory>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "support/files.h"
#include "support/https_client.h"
#include "support/pg_schema.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace hearth::testing {
namespace {

class ClusterJoinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pg_ = std::make_unique<PostgresSchema>("cluster_join");
    if (pg_->uri().empty()) GTEST_SKIP() << "HEARTH_TEST_PG_URI not set: no PostgreSQL server";
    a_ = std::make_unique<TestServer>(dir_.path() + "/a", pg_->uri());
    b_ = std::make_unique<TestServer>(dir_.path() + "/b", pg_->uri());
    auto init = a_->init();
    ASSERT_EQ(init.exit_code, 0) << init.err;
  }

  void serveBoth() {
    ASSERT_TRUE(a_->serve(dir_.path() + "/a.log")) << ReadFile(dir_.path() + "/a.log");
    ASSERT_TRUE(b_->serve(dir_.path() + "/b.log")) << ReadFile(dir_.path() + "/b.log");
  }

  struct Device {
    std::string cert, key;
  };
  // A device enrolled through `server` with the first enrolment secret (both servers have it).
  Device enrol(TestServer& server, const std::string& name) {
    auto d = EnrolDevice("https://" + server.address("devices"), server.caFile(),
                         a_->enrollSecret(), name);
    EXPECT_TRUE(d.ok()) << d.error;
    Device out{dir_.path() + "/" + name + ".pem", dir_.path() + "/" + name + ".key"};
    EXPECT_TRUE(WriteFile(out.cert, d.cert_pem));
    EXPECT_TRUE(WriteFile(out.key, d.key_pem));
    return out;
  }

  // The HTTP status of the device's policy request to `server` (its certificate checked there).
  long policyStatus(TestServer& server, const Device& d) {
    HttpsClient client({.ca_file = server.caFile(), .cert_file = d.cert, .key_file = d.key});
    return client.get("https://" + server.address("devices") + "/api/v1/policy").status;
  }

  TempDir dir_;
  std::unique_ptr<PostgresSchema> pg_;
  std::unique_ptr<TestServer> a_, b_;
};

TEST_F(ClusterJoinTest, AJoinedServerAcceptsTheSameDevicesAlsoAfterADeviceCaRotation) {
  auto joined = b_->cli({"join", "--from", a_->stateDir()});
  ASSERT_EQ(joined.exit_code, 0) << joined.err;
  EXPECT_EQ(ReadFile(b_->caFile()), ReadFile(a_->caFile()));
  EXPECT_EQ(b_->adminToken(), a_->adminToken());
  serveBoth();
  Device first = enrol(*a_, "first");
  EXPECT_EQ(policyStatus(*a_, first), 200);
  EXPECT_EQ(policyStatus(*b_, first), 200);
  Device second = enrol(*b_, "second");
  EXPECT_EQ(policyStatus(*a_, second), 200);

  // A new device CA on the first server; the second takes its files again; both restart.
  a_->stop();
  b_->stop();
  auto rotated = a_->cli({"rotate", "device-ca"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  // Before the second takes the new files, it does not trust the new CA's devices.
  serveBoth();
  Device early = enrol(*a_, "early");  // issued by the new CA
  EXPECT_EQ(policyStatus(*a_, early), 200);
  EXPECT_NE(policyStatus(*b_, early), 200);
  a_->stop();
  b_->stop();
  auto again = b_->cli({"join", "--from", a_->stateDir(), "--again"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  serveBoth();
  Device third = enrol(*b_, "third");  // issued by the new CA
  EXPECT_EQ(policyStatus(*a_, third), 200);
  EXPECT_EQ(policyStatus(*b_, third), 200);
  EXPECT_EQ(policyStatus(*b_, first), 200);  // the previous CA's, still trusted
  EXPECT_EQ(policyStatus(*a_, second), 200);
  EXPECT_EQ(policyStatus(*b_, early), 200);

  // The CA rotation finished on the first: the second drops the old CA too.
  a_->stop();
  b_->stop();
  ASSERT_EQ(a_->cli({"rotate", "device-ca", "--finish"}).exit_code, 0);
  auto finished = b_->cli({"join", "--from", a_->stateDir(), "--again"});
  ASSERT_EQ(finished.exit_code, 0) << finished.err;
  EXPECT_NE(finished.out.find("device-ca.old.pem"), std::string::npos) << finished.out;
  serveBoth();
  EXPECT_EQ(policyStatus(*a_, third), 200);
  EXPECT_EQ(policyStatus(*b_, third), 200);
  EXPECT_NE(policyStatus(*b_, first), 200);
  EXPECT_NE(policyStatus(*a_, first), 200);

  // Both joins are in the audit log.
  auto audit = a_->cli({"audit", "list"});
  EXPECT_NE(audit.out.find("server.join"), std::string::npos) << audit.out;
  EXPECT_NE(audit.out.find("server.join_again"), std::string::npos) << audit.out;
}

TEST_F(ClusterJoinTest, JoinRefusesWhatWouldNotMakeAServerOfTheCluster) {
  // Twice without --again: the files there are not overwritten.
  ASSERT_EQ(b_->cli({"join", "--from", a_->stateDir()}).exit_code, 0);
  auto twice = b_->cli({"join", "--from", a_->stateDir()});
  EXPECT_EQ(twice.exit_code, 2);
  EXPECT_NE(twice.err.find("--again"), std::string::npos) << twice.err;
  // From a directory that is not a server's.
  TestServer c(dir_.path() + "/c", pg_->uri());
  auto empty = c.cli({"join", "--from", dir_.path()});
  EXPECT_EQ(empty.exit_code, 2);
  EXPECT_NE(empty.err.find("not a usable server state directory"), std::string::npos) << empty.err;
  // On SQLite there is nothing to join.
  TestServer d(dir_.path() + "/d");
  auto sqlite = d.cli({"join", "--from", a_->stateDir()});
  EXPECT_EQ(sqlite.exit_code, 2);
  EXPECT_NE(sqlite.err.find("PostgreSQL"), std::string::npos) << sqlite.err;
  // The secrets keep their mode.
  struct stat st {};
  ASSERT_EQ(::stat((b_->stateDir() + "/device-ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

// The backup the operator already has (hearth-server backup, encrypted) is enough to join: the
// keys come out of it, its database is left alone.
TEST_F(ClusterJoinTest, AServerJoinsFromABackupOfAServerOfTheCluster) {
  const std::string pass = dir_.path() + "/passphrase";
  ASSERT_TRUE(WriteFile(pass, "correct horse battery staple\n"));
  const std::string file = dir_.path() + "/a.hbk";
  auto backup = a_->cli({"backup", "--out", file, "--passphrase-file", pass});
  ASSERT_EQ(backup.exit_code, 0) << backup.err;

  auto joined = b_->cli({"join", "--from", file, "--passphrase-file", pass});
  ASSERT_EQ(joined.exit_code, 0) << joined.err;
  EXPECT_NE(joined.out.find(file), std::string::npos) << joined.out;
  EXPECT_EQ(ReadFile(b_->caFile()), ReadFile(a_->caFile()));
  EXPECT_EQ(ReadFile(b_->stateDir() + "/device-ca.key"),
            ReadFile(a_->stateDir() + "/device-ca.key"));
  EXPECT_EQ(b_->adminToken(), a_->adminToken());
  struct stat st {};
  ASSERT_EQ(::stat((b_->stateDir() + "/policy-signing.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  // Nothing of the backup is left beside the state directory (the private copy is gone).
  auto left = RunProcess({"/bin/sh", "-c", "ls -a " + dir_.path()});
  EXPECT_EQ(left.out.find(".join-"), std::string::npos) << left.out;
  // A second time only with --again (after a rotation, from a backup taken after it).
  auto twice = b_->cli({"join", "--from", file, "--passphrase-file", pass});
  EXPECT_EQ(twice.exit_code, 2);
  EXPECT_NE(twice.err.find("--again"), std::string::npos) << twice.err;
  EXPECT_EQ(twice.err.find(".join-"), std::string::npos) << twice.err;
  ASSERT_EQ(a_->cli({"rotate", "signing-key"}).exit_code, 0);
  const std::string later = dir_.path() + "/a-later.hbk";
  ASSERT_EQ(a_->cli({"backup", "--out", later, "--passphrase-file", pass}).exit_code, 0);
  auto again = b_->cli({"join", "--from", later, "--passphrase-file", pass, "--again"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(ReadFile(b_->stateDir() + "/policy-signing.next.pub"),
            ReadFile(a_->stateDir() + "/policy-signing.next.pub"));
  serveBoth();
  Device first = enrol(*a_, "first");
  EXPECT_EQ(policyStatus(*b_, first), 200);
  Device second = enrol(*b_, "second");
  EXPECT_EQ(policyStatus(*a_, second), 200);
  auto audit = a_->cli({"audit", "list"});
  EXPECT_NE(audit.out.find("server.join"), std::string::npos) << audit.out;
}

TEST_F(ClusterJoinTest, JoinFromABackupSaysWhatIsWrongWithIt) {
  const std::string pass = dir_.path() + "/passphrase";
  ASSERT_TRUE(WriteFile(pass, "correct horse battery staple\n"));
  const std::string file = dir_.path() + "/a.hbk";
  ASSERT_EQ(a_->cli({"backup", "--out", file, "--passphrase-file", pass}).exit_code, 0);
  // Without the passphrase.
  auto none = b_->cli({"join", "--from", file});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("--passphrase-file"), std::string::npos) << none.err;
  // A wrong passphrase.
  const std::string wrong = dir_.path() + "/wrong";
  ASSERT_TRUE(WriteFile(wrong, "not it\n"));
  auto refused = b_->cli({"join", "--from", file, "--passphrase-file", wrong});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("wrong passphrase"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find(file), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("nothing was written"), std::string::npos) << refused.err;
  // A file that is no backup.
  const std::string other = dir_.path() + "/notes.txt";
  ASSERT_TRUE(WriteFile(other, "not a backup\n"));
  auto not_backup = b_->cli({"join", "--from", other, "--passphrase-file", pass});
  EXPECT_EQ(not_backup.exit_code, 2);
  EXPECT_NE(not_backup.err.find("not a Hearth backup"), std::string::npos) << not_backup.err;
  EXPECT_NE(not_backup.err.find(other), std::string::npos) << not_backup.err;
  EXPECT_NE(not_backup.err.find("hearth-server backup"), std::string::npos) << not_backup.err;
  // A truncated one.
  std::string whole = ReadFile(file);
  const std::string cut = dir_.path() + "/cut.hbk";
  ASSERT_TRUE(WriteFile(cut, whole.substr(0, whole.size() / 2)));
  auto truncated = b_->cli({"join", "--from", cut, "--passphrase-file", pass});
  EXPECT_EQ(truncated.exit_code, 1);
  EXPECT_NE(truncated.err.find(cut), std::string::npos) << truncated.err;
  // A backup of a server on SQLite holds no key of the cluster.
  TestServer lone(dir_.path() + "/lone");
  ASSERT_EQ(lone.init().exit_code, 0);
  const std::string lone_file = dir_.path() + "/lone.hbk";
  ASSERT_EQ(lone.cli({"backup", "--out", lone_file, "--passphrase-file", pass}).exit_code, 0);
  auto sqlite = b_->cli({"join", "--from", lone_file, "--passphrase-file", pass});
  EXPECT_EQ(sqlite.exit_code, 2);
  EXPECT_NE(sqlite.err.find("SQLite"), std::string::npos) << sqlite.err;
  // None of them left anything behind.
  EXPECT_NE(::access(b_->stateDir().c_str(), F_OK), 0);
}

}  // namespace
}  // namespace hearth::testing
