// Every entry point of person-given text on a real hearth-server (issue 12, defects 3 and 9):
// enrolment's owner and hostname, POST /api/v1/devices/{id}/owner, the names the command line
// gives secrets, tokens and devices, the tables `hearth-server ... list` print (a hostile value
// already stored in an old database is escaped, not sent to the terminal), the CSV export's cells,
// and what an export records of its query in the audit log. On SQLite and, with
// HEARTH_TEST_PG_URI, on PostgreSQL.
#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <gtest/gtest.h>

#include "hearth/json.h"
#include "hearth/protocol/crypto.h"
#include "hearth/protocol/wire.h"
#include "hearth/server/store.h"
#include "support/curl_cli.h"
#include "support/files.h"
#include "support/pg_schema.h"
#include "support/programs.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace hearth {
namespace {

using testing::RunProcess;

const std::string kServer = hearth::testing::ServerProgram();

std::string firstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

using Answer = testing::CurlAnswer;

class PersonTextApiTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      pg_ = std::make_unique<testing::PostgresSchema>("persontext");
      if (pg_->uri().empty()) GTEST_SKIP() << "HEARTH_TEST_PG_URI not set: no PostgreSQL server";
      database_ = pg_->uri();
    }
    state_ = dir_.path() + "/state";
    auto init = RunProcess(cli({"init"}));
    ASSERT_EQ(init.exit_code, 0) << init.err;
    std::vector<std::string> serve =
        cli({"serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--enroll-burst",
             "1000", "--enroll-address-burst", "1000"});
    server_ = std::make_unique<testing::ServerProcess>(serve, dir_.path() + "/server.log");
    ASSERT_TRUE(server_->started()) << testing::ReadFile(dir_.path() + "/server.log");
    admin_token_ = firstLine(testing::ReadFile(state_ + "/admin-token"));
    secret_ = firstLine(testing::ReadFile(state_ + "/enroll-secret"));
  }

  // hearth-server argv with the state dir (and database) of this test.
  std::vector<std::string> cli(std::vector<std::string> args) {
    args.insert(args.begin(), kServer);
    args.insert(args.end(), {"--state-dir", state_});
    if (!database_.empty()) args.insert(args.end(), {"--database", database_});
    return args;
  }

  Answer curl(const std::string& url, std::vector<std::string> extra) {
    return testing::Curl(url, {.ca_file = state_ + "/ca.pem", .extra = std::move(extra)});
  }

  Answer postJson(const std::string& url, const json::Value& body,
                  std::vector<std::string> extra = {}) {
    return testing::Curl(
        url,
        {.ca_file = state_ + "/ca.pem", .extra = std::move(extra), .json_body = json::write(body)});
  }

  Answer admin(const std::string& path, const json::Value* body = nullptr,
               const std::string& token = "") {
    std::string url = "https://" + server_->address("admin") + path;
    std::vector<std::string> auth = {
        "-H", "Authorization: Bearer " + (token.empty() ? admin_token_ : token)};
    return body != nullptr ? postJson(url, *body, auth) : curl(url, auth);
  }

  // POST /api/v1/enroll with a fresh key; `owner` absent when nullptr.
  Answer enroll(const std::string& hostname, const std::string* owner) {
    auto key = protocol::Key::generateP256();
    protocol::EnrollRequest req;
    req.enroll_secret = secret_;
    req.csr = *protocol::MakeCsr(*key, "pc");
    req.hostname = hostname;
    if (owner != nullptr) req.owner = *owner;
    return postJson("https://" + server_->address("devices") + "/api/v1/enroll", req.toJson());
  }

  std::string enrolledId(const std::string& hostname) {
    Answer a = enroll(hostname, nullptr);
    EXPECT_EQ(a.status, 201) << a.body;
    auto v = json::parse(a.body);
    return v.ok() && v->find("device_id") != nullptr ? v->find("device_id")->asString() : "";
  }

  // A 400 with the JSON error body the API promises.
  static void expectRefused(const Answer& a, const std::string& what) {
    EXPECT_EQ(a.status, 400) << what << ": " << a.body;
    auto v = json::parse(a.body);
    ASSERT_TRUE(v.ok() && v->isObject() && v->find("error") != nullptr) << what << ": " << a.body;
  }

  // Writes straight into the database under the server (what an older server let through).
  void exec(const std::string& sql, const std::string& value, const std::string& id) {
    std::string v = value, i = id;
    if (GetParam() == "postgresql") {
      Poco::Data::PostgreSQL::Connector::registerConnector();
      Poco::Data::Session s("PostgreSQL", *server::PostgresUriToConninfo(database_));
      std::string pg = sql;
      pg.replace(pg.find('?'), 1, "$1");
      pg.replace(pg.find('?'), 1, "$2");
      s << pg, Poco::Data::Keywords::use(v), Poco::Data::Keywords::use(i),
          Poco::Data::Keywords::now;
    } else {
      Poco::Data::SQLite::Connector::registerConnector();
      Poco::Data::Session s("SQLite", state_ + "/hearth.db");
      s << sql, Poco::Data::Keywords::use(v), Poco::Data::Keywords::use(i),
          Poco::Data::Keywords::now;
    }
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::PostgresSchema> pg_;
  std::string database_, state_, admin_token_, secret_;
  std::unique_ptr<testing::ServerProcess> server_;
};

const std::vector<std::pair<std::string, std::string>> kHostile = {
    {"CR LF (a forged row)", "alice\r\nffff  forged  row"},
    {"ESC (a terminal escape)", "alice\x1b[2J"},
    {"BEL", "alice\x07"},
    {"NUL", std::string("alice\0root", 10)},
    {"DEL", "alice\x7f"},
    {"C1 CSI U+009B",
     "alice\xC2\x9B"
     "2J"},
    {"line separator U+2028", "alice\xE2\x80\xA8x"},
    {"paragraph separator U+2029", "alice\xE2\x80\xA9x"},
    {"right-to-left override U+202E", "alice\xE2\x80\xAEtxt.exe"},
    {"isolate U+2066", "alice\xE2\x81\xA6x"},
};

TEST_P(PersonTextApiTest, EnrolmentRefusesControlsSeparatorsAndBidiInOwnerAndHostname) {
  for (const auto& [what, value] : kHostile) {
    expectRefused(enroll("pc", &value), "owner with " + what);
    expectRefused(enroll(value, nullptr), "hostname with " + what);
  }
  // Characters, not bytes: 129 x "é" (258 bytes) is a valid owner; 257 characters are not.
  std::string e129 = repeat("\xC3\xA9", 129);
  EXPECT_EQ(enroll("pc", &e129).status, 201);
  std::string e256 = repeat("\xC3\xA9", 256);
  EXPECT_EQ(enroll("pc", &e256).status, 201);
  std::string e257 = repeat("\xC3\xA9", 257);
  expectRefused(enroll("pc", &e257), "257 characters");
  EXPECT_EQ(enroll(repeat("\xC3\xA9", 253), nullptr).status, 201);
  expectRefused(enroll(repeat("\xC3\xA9", 254), nullptr), "hostname of 254 characters");
}

TEST_P(PersonTextApiTest, OwnerEndpointRefusesControlsSeparatorsAndBidi) {
  std::string id = enrolledId("pc");
  ASSERT_FALSE(id.empty());
  for (const auto& [what, value] : kHostile) {
    json::Value body = json::Value::object();
    body.set("owner", value);
    expectRefused(admin("/api/v1/devices/" + id + "/owner", &body), "owner with " + what);
  }
  json::Value body = json::Value::object();
  body.set("owner", repeat("\xC3\xA9", 129));
  Answer ok = admin("/api/v1/devices/" + id + "/owner", &body);
  EXPECT_EQ(ok.status, 200) << ok.body;
  body.set("owner", repeat("\xC3\xA9", 257));
  expectRefused(admin("/api/v1/devices/" + id + "/owner", &body), "257 characters");
}

TEST_P(PersonTextApiTest, CommandLineRefusesHostileNamesOwnersAndDeviceOwners) {
  std::string id = enrolledId("pc");
  for (const auto& [what, value] : kHostile) {
    if (value.find('\0') != std::string::npos) continue;  // no NUL in an argv
    auto token = RunProcess(cli({"token", "create", "--name", value}));
    EXPECT_EQ(token.exit_code, 2) << what << ": " << token.out << token.err;
    auto secret = RunProcess(cli({"secret", "create", "--owner", value}));
    EXPECT_EQ(secret.exit_code, 2) << what << ": " << secret.out << secret.err;
    auto owner = RunProcess(cli({"device", "owner", id, value}));
    EXPECT_EQ(owner.exit_code, 2) << what << ": " << owner.err;
  }
  EXPECT_EQ(RunProcess(cli({"device", "owner", id, repeat("\xC3\xA9", 129)})).exit_code, 0);
  EXPECT_EQ(RunProcess(cli({"token", "create", "--name", "Zoë's laptop script"})).exit_code, 0);
}

// A database written by an older server may hold anything: the tables escape it.
TEST_P(PersonTextApiTest, ListTablesEscapeStoredHostileValues) {
  std::string id = enrolledId("pc");
  exec("UPDATE devices SET owner = ? WHERE device_id = ?",
       "eve\r\n" + id +
           "  forged-host  -  standard  compliant\x1b]0;pwned\x07\xC2\x9B"
           "2J",
       id);
  exec("UPDATE admin_tokens SET name = ? WHERE CAST(id AS TEXT) = ?", "ops\x1b[31m\nfake 99", "1");
  auto list = RunProcess(cli({"device", "list"}));
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto tokens = RunProcess(cli({"token", "list"}));
  ASSERT_EQ(tokens.exit_code, 0) << tokens.err;
  for (const auto& out : {list.out, tokens.out}) {
    EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
    EXPECT_EQ(out.find('\x07'), std::string::npos) << out;
    EXPECT_EQ(out.find('\r'), std::string::npos) << out;
    EXPECT_EQ(out.find("\xC2\x9B"), std::string::npos) << out;
    // A header line and one line per row: no forged row.
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
  }
  EXPECT_NE(list.out.find("eve\\x0D\\x0A"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("\\x1B]0;pwned\\x07\\x9B2J"), std::string::npos) << list.out;
  EXPECT_NE(tokens.out.find("ops\\x1B[31m\\x0Afake 99"), std::string::npos) << tokens.out;
}

TEST_P(PersonTextApiTest, CsvQuotesSemicolonsAndNeutralisesTabAndCrStarts) {
  std::string semi = enrolledId("pc;=1+1");
  std::string tab = enrolledId("pc-tab");
  exec("UPDATE devices SET owner = ? WHERE device_id = ?", "\t=cmd|' /c calc'!A0", tab);
  std::string cr = enrolledId("pc-cr");
  exec("UPDATE devices SET owner = ? WHERE device_id = ?", "\r@SUM(1)", cr);
  Answer csv = admin("/api/v1/devices.csv");
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_NE(csv.body.find(",\"pc;=1+1\","), std::string::npos) << csv.body;
  EXPECT_NE(csv.body.find(",\"'\t=cmd|' /c calc'!A0\","), std::string::npos) << csv.body;
  EXPECT_NE(csv.body.find(",\"'\r@SUM(1)\","), std::string::npos) << csv.body;
}

// Defect 9: a read token's export records only the parameters the export reads, each bounded.
TEST_P(PersonTextApiTest, ExportRecordsOnlyKnownQueryParametersAndBoundsTheirValues) {
  auto made = RunProcess(cli({"token", "create", "--name", "reader", "--scope", "read"}));
  ASSERT_EQ(made.exit_code, 0) << made.err;
  std::string reader = firstLine(made.out);
  std::string junk = repeat("x", 3000);
  Answer csv = admin("/api/v1/devices.csv?status=compliant&junk=" + junk +
                         "&level=" + repeat("L", 300) + "&other=1",
                     nullptr, reader);
  ASSERT_EQ(csv.status, 200) << csv.body;
  auto audit = admin("/api/v1/audit");
  ASSERT_EQ(audit.status, 200) << audit.body;
  auto v = json::parse(audit.body);
  ASSERT_TRUE(v.ok()) << audit.body;
  const json::Value* entry = nullptr;
  for (const auto& e : v->find("entries")->asArray()) {
    if (e.find("action")->asString() == "export.csv") entry = &e;
  }
  ASSERT_NE(entry, nullptr) << audit.body;
  std::string detail = json::write(*entry);
  EXPECT_EQ(detail.find("junk"), std::string::npos) << detail;
  EXPECT_EQ(detail.find("other"), std::string::npos) << detail;
  EXPECT_NE(detail.find("compliant"), std::string::npos) << detail;
  EXPECT_NE(detail.find(repeat("L", 64) + "..."), std::string::npos) << detail;
  EXPECT_EQ(detail.find(repeat("L", 65)), std::string::npos) << detail;
  EXPECT_LT(detail.size(), 600u) << detail;
}

INSTANTIATE_TEST_SUITE_P(Backends, PersonTextApiTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace hearth
