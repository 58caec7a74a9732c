// Issue 13, fault suite: the server's disk fills up. SQLite: the server runs with its state
// directory on a small tmpfs in a private mount namespace, which the test fills from inside that
// namespace (nsenter). PostgreSQL: the test's schema lives in a tablespace on a small tmpfs, which
// the test fills. Both root only (skipped with a message otherwise). While devices report, reports
// are answered 503, /healthz says the database cannot be written, and when space returns the
// server goes on by itself; every acknowledged report is stored, none twice.
#include <functional>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

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

  // With the server started: a device reports, `fill` fills the disk, reports are answered 503
  // and health says so; `free` gives the space back, reports are accepted again within 5 s and
  // health is back, without a restart; every acknowledged report is stored, none twice.
  void reportThroughAFullDisk(const std::function<void()>& fill,
                              const std::function<void()>& free) {
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

    fill();
    EXPECT_TRUE(waitFor([&] { return send() == 503; }, 30s)) << serverLog();
    EXPECT_TRUE(waitFor([&] { return healthz().status == 503; }, 20s)) << healthz().body;

    free();
    EXPECT_TRUE(waitFor([&] { return send() == 202; }, 5s)) << serverLog();
    EXPECT_TRUE(waitFor([&] { return healthz().status == 200; }, 20s)) << healthz().body;
    for (int i = 0; i < 5; ++i) EXPECT_EQ(send(), 202);

    auto history = historyIds(d.id);
    std::set<std::string> stored(history.begin(), history.end());
    EXPECT_EQ(stored.size(), history.size()) << "a report is stored twice";
    for (const auto& id : acknowledged) EXPECT_EQ(stored.count(id), 1u) << id << " is lost";
  }
};

class FaultPostgresDiskFullTest : public FaultDiskFullTest {
 protected:
  // psql on the test server (the schema's URI carries its search_path).
  ProcessOutput psql(const std::string& sql) {
    return RunProcess({"/usr/bin/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", database_, "-c", sql});
  }
  std::string schema() const {
    const std::string key = "search_path%3D";
    return database_.substr(database_.find(key) + key.size());
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
  // dd stops at ENOSPC.
  reportThroughAFullDisk(
      [&] {
        inServerNamespace({"/bin/dd", "if=/dev/zero", "of=" + mnt + "/filler", "bs=64k"});
      },
      [&] {
        inServerNamespace({"/bin/rm", "-f", mnt + "/filler"});
      });
  auto check = inServerNamespace({serverBinary(), "check-db", "--state-dir", mnt});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

// PostgreSQL's tables and indexes (this test's schema) in a tablespace on a 3 MB tmpfs: the disk
// that fills is the one holding the data. The WAL stays on the server's own disk (a full WAL disk
// stops PostgreSQL itself: a PANIC, not something hearth-server can answer for).
TEST_P(FaultPostgresDiskFullTest, FullTablespaceIsAnswered503AndTheServerGoesOnWhenSpaceReturns) {
  if (!RunningAsRoot()) GTEST_SKIP() << "needs root: a tmpfs for a tablespace";
  // PostgreSQL runs as `postgres`: it must reach and own the tablespace directory.
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
  const std::string mnt = dir_.mkdir("pgspace");
  const std::string space = "hearth_full_" + std::to_string(::getpid());
  auto mounted =
      RunProcess({"/bin/mount", "-t", "tmpfs", "-o", "size=3m,mode=0700", "hearth-fault", mnt});
  ASSERT_EQ(mounted.exit_code, 0) << mounted.err;
  struct Cleanup {
    std::function<void()> run;
    ~Cleanup() { run(); }
  } cleanup{[&] {
    if (server_) server_->stop();
    pg_.reset();  // drops the schema: the tablespace is empty again
    psql("DROP TABLESPACE IF EXISTS " + space);
    RunProcess({"/bin/umount", "-l", mnt});
  }};
  auto owned = RunProcess({"/bin/chown", "postgres:postgres", mnt});
  ASSERT_EQ(owned.exit_code, 0) << owned.err;
  auto created = psql("CREATE TABLESPACE " + space + " LOCATION '" + mnt + "'");
  ASSERT_EQ(created.exit_code, 0) << created.err;
  // Everything of the schema `init` made (SetUp) moves there.
  auto alterAll = [&](const std::string& kind, const std::string& catalog,
                      const std::string& column) {
    return "FOR r IN SELECT " + column + " AS name FROM " + catalog + " WHERE schemaname = '" +
           schema() + "' LOOP EXECUTE format('ALTER " + kind +
           " %I.%I SET TABLESPACE %I', r.schema, r.name, '" + space + "'); END LOOP; ";
  };
  auto moved = psql("DO $$ DECLARE r record; BEGIN " +
                    alterAll("TABLE", "pg_tables", "schemaname AS schema, tablename") +
                    alterAll("INDEX", "pg_indexes", "schemaname AS schema, indexname") + "END $$");
  ASSERT_EQ(moved.exit_code, 0) << moved.err;
  ASSERT_TRUE(start());
  // dd stops at ENOSPC; the filler is root's, beside PostgreSQL's directory.
  reportThroughAFullDisk(
      [&] {
        RunProcess({"/bin/dd", "if=/dev/zero", "of=" + mnt + "/filler", "bs=64k"});
      },
      [&] {
        RunProcess({"/bin/rm", "-f", mnt + "/filler"});
      });
  auto check = cli({"check-db"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

INSTANTIATE_TEST_SUITE_P(Backends, FaultDiskFullTest, ::testing::Values("sqlite"));
INSTANTIATE_TEST_SUITE_P(Backends, FaultPostgresDiskFullTest, ::testing::Values("postgresql"));

}  // namespace
}  // namespace hearth::testing
