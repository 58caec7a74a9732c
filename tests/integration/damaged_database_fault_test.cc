// Issue 13, defect 2: a 0-byte database was accepted as a new one (check-db wrote a fresh schema
// into it and said ok; serve started empty). Only init makes a database: serve and check-db
// refuse a missing or empty one, naming the file and saying to run init or restore a backup,
// and check-db never writes. Defect 8 (server part): a damaged page in the devices table left
// serve healthy while lists answered 503 and history a misleading 404. SQLite only: PostgreSQL
// has no database file (and checks its own pages).
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>

#include "server_fault_fixture.h"

namespace hearth::testing {
namespace {

using namespace std::chrono_literals;
using Poco::Data::Keywords::into;
using Poco::Data::Keywords::now;

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

class FaultDatabaseFileTest : public FaultServerTest {
 protected:
  // serve with this state directory: it must not start; what it logged.
  std::string serveMustRefuse() {
    std::string log = dir_.path() + "/refused.log";
    {
      ServerProcess p({serverBinary(), "serve", "--state-dir", state_, "--listen", "127.0.0.1:0",
                       "--admin-listen", "127.0.0.1:0"},
                      log, 10s);
      EXPECT_FALSE(p.started()) << "serve started on a database it must refuse";
    }
    return fileText(log);
  }
  void emptyTheDatabase() {
    ::unlink((dbFile() + "-wal").c_str());
    ::unlink((dbFile() + "-shm").c_str());
    ASSERT_EQ(::truncate(dbFile().c_str(), 0), 0);
  }
};

TEST_P(FaultDatabaseFileTest, Defect2ServeRefusesAnEmptyDatabase) {
  emptyTheDatabase();
  std::string log = serveMustRefuse();
  EXPECT_NE(log.find(dbFile()), std::string::npos) << log;
  EXPECT_NE(log.find("empty (0 bytes)"), std::string::npos) << log;
  EXPECT_NE(log.find("hearth-server init"), std::string::npos) << log;
  EXPECT_NE(log.find("restore"), std::string::npos) << log;
  EXPECT_TRUE(fileText(dbFile()).empty()) << "the empty database was written to";
}

TEST_P(FaultDatabaseFileTest, Defect2CheckDbRefusesAnEmptyDatabaseAndWritesNothing) {
  emptyTheDatabase();
  auto r = cli({"check-db"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out.find("ok"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find(dbFile()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("empty (0 bytes)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("hearth-server init"), std::string::npos) << r.err;
  EXPECT_TRUE(fileText(dbFile()).empty()) << "check-db wrote a schema into the empty file";
  EXPECT_FALSE(exists(dbFile() + "-wal"));
}

TEST_P(FaultDatabaseFileTest, Defect2ServeAndCheckDbRefuseAMissingDatabase) {
  ::unlink(dbFile().c_str());
  ::unlink((dbFile() + "-wal").c_str());
  ::unlink((dbFile() + "-shm").c_str());
  std::string log = serveMustRefuse();
  EXPECT_NE(log.find("does not exist"), std::string::npos) << log;
  EXPECT_NE(log.find("hearth-server init"), std::string::npos) << log;
  auto r = cli({"check-db"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(dbFile()), std::string::npos) << r.err;
  EXPECT_FALSE(exists(dbFile())) << "a database was created";
}

TEST_P(FaultDatabaseFileTest, Defect2CheckDbNeverWrites) {
  // A database with a write-ahead log still to apply, as a crash leaves it: check-db reads it
  // (in memory) and changes neither file.
  ASSERT_TRUE(start());
  ASSERT_FALSE(enroll("pc-1").id.empty());
  server_->kill9();
  server_.reset();
  std::string db = fileText(dbFile());
  std::string wal = fileText(dbFile() + "-wal");
  struct stat before {};
  ASSERT_EQ(::stat(dbFile().c_str(), &before), 0);
  auto r = cli({"check-db"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "ok\n");
  EXPECT_TRUE(fileText(dbFile()) == db) << "check-db changed the database file";
  EXPECT_TRUE(fileText(dbFile() + "-wal") == wal) << "check-db changed the write-ahead log";
}

// Overwrites the first bytes of the devices table's root page (its b-tree page header), as a
// bad disk sector would: every read of the table meets SQLITE_CORRUPT.
void damageDevicesTable(const std::string& db_file) {
  Poco::Data::SQLite::Connector::registerConnector();
  Poco::Int64 root = 0, page_size = 0;
  {
    Poco::Data::Session s("SQLite", db_file);
    s << "PRAGMA wal_checkpoint(TRUNCATE)", now;
    s << "SELECT rootpage FROM sqlite_schema WHERE type = 'table' AND name = 'devices'", into(root),
        now;
    s << "PRAGMA page_size", into(page_size), now;
  }
  ASSERT_GT(root, 1);
  std::fstream f(db_file, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp((root - 1) * page_size);
  const char garbage[16] = {'\x77', '\x77', '\x77', '\x77', '\x77', '\x77', '\x77', '\x77',
                            '\x77', '\x77', '\x77', '\x77', '\x77', '\x77', '\x77', '\x77'};
  f.write(garbage, sizeof garbage);
}

TEST_P(FaultDatabaseFileTest, Defect8DamagedDevicesPageIsReportedByHealthCheckDbAndHistory) {
  ASSERT_TRUE(start());
  FaultDevice d = enroll("pc-1");
  ASSERT_FALSE(d.id.empty());
  for (int i = 2; i <= 4; ++i) ASSERT_FALSE(enroll("pc-" + std::to_string(i)).id.empty());
  ASSERT_EQ(report(d, "r1", 1).status, 202);
  server_->stop();
  damageDevicesTable(dbFile());

  auto check = cli({"check-db"});
  EXPECT_EQ(check.exit_code, 1) << check.out << check.err;
  EXPECT_NE(check.err.find("restore it from a backup"), std::string::npos) << check.err;

  ASSERT_TRUE(start());
  EXPECT_EQ(admin("/api/v1/devices").status, 503);
  HttpAnswer history = admin("/api/v1/devices/" + d.id + "/history");
  EXPECT_EQ(history.status, 503) << history.body;
  EXPECT_TRUE(waitFor([&] { return healthz().status == 503; }, 15s)) << healthz().body;
  HttpAnswer health = healthz();
  EXPECT_NE(health.body.find("damaged"), std::string::npos) << health.body;
  EXPECT_NE(health.body.find("check-db"), std::string::npos) << health.body;
}

INSTANTIATE_TEST_SUITE_P(Backends, FaultDatabaseFileTest, ::testing::Values("sqlite"));

}  // namespace
}  // namespace hearth::testing
