// `hearth-server device owners-import` against a real server's database, SQLite and (when
// HEARTH_TEST_PG_URI is set) PostgreSQL: devices enrolled over HTTPS, then a spreadsheet's CSV
// (extra columns, RFC 4180 quoting, CRLF, hostnames in another case) imported with --dry-run and
// for real: the summary, every change audited as device.owner, unknown rows counted; a hostname
// shared by two active devices, a bad owner and a device given two owners are errors naming
// their lines and change nothing; device_id names a device unambiguously.
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/json.h"
#include "hearth/time.h"
#include "support/curl_cli.h"
#include "support/files.h"
#include "support/https_client.h"
#include "support/pg_schema.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace hearth {
namespace {

using testing::ReadFile;

class OwnersImportTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      pg_ = std::make_unique<testing::PostgresSchema>("owners");
      if (pg_->uri().empty()) GTEST_SKIP() << "HEARTH_TEST_PG_URI not set: no PostgreSQL server";
      database_ = pg_->uri();
    }
    server_ = std::make_unique<testing::TestServer>(dir_.path() + "/state", database_);
    auto r = server_->init();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::string log = dir_.path() + "/server.log";
    ASSERT_TRUE(server_->serve(log)) << ReadFile(log);
    for (const char* host : {"pc-1", "pc-2", "dup", "dup", "pc-4"}) {
      auto d = testing::EnrolDevice("https://" + server_->address("devices"), server_->caFile(),
                                    server_->enrollSecret(), host);
      ASSERT_TRUE(d.ok()) << d.error;
    }
    for (const auto& [id, d] : devices()) ids_[d.find("hostname")->asString()].push_back(id);
    ASSERT_EQ(ids_["dup"].size(), 2u);
    ASSERT_EQ(server_->cli({"device", "owner", ids_["pc-4"][0], "olga"}).exit_code, 0);
  }

  void TearDown() override {
    if (server_) server_->stop();
  }

  // device id -> its JSON in `device list --json`.
  std::map<std::string, json::Value> devices() {
    auto r = server_->cli({"device", "list", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto v = json::parse(r.out);
    std::map<std::string, json::Value> out;
    if (!v.ok()) return out;
    for (const auto& d : v->find("devices")->asArray()) out[d.find("device_id")->asString()] = d;
    return out;
  }

  std::string ownerOf(const std::string& id) {
    auto all = devices();
    const json::Value* o = all.count(id) ? all[id].find("owner") : nullptr;
    return o != nullptr && o->isString() ? o->asString() : "-";
  }

  // The device.owner entries of the audit log.
  std::vector<json::Value> ownerAudits() {
    auto r = server_->cli({"audit", "list", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<json::Value> out;
    auto v = json::parse(r.out);
    if (!v.ok()) return out;
    for (const auto& e : v->find("entries")->asArray()) {
      if (e.find("action")->asString() == "device.owner") out.push_back(e);
    }
    return out;
  }

  testing::ProcessOutput import(const std::string& csv, std::vector<std::string> extra = {}) {
    std::string path = dir_.write("owners-" + std::to_string(++files_) + ".csv", csv);
    std::vector<std::string> args = {"device", "owners-import", path};
    args.insert(args.end(), extra.begin(), extra.end());
    return server_->cli(args);
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::PostgresSchema> pg_;
  std::string database_;
  std::unique_ptr<testing::TestServer> server_;
  std::map<std::string, std::vector<std::string>> ids_;  // hostname -> device ids
  int files_ = 0;
};

TEST_P(OwnersImportTest, DryRunThenImportChangesAuditsAndCounts) {
  std::string csv =
      "Name,Hostname,Owner,Notes\r\n"
      "Jane,PC-1,\"Doe, Jane\",\"laptop, \"\"new\"\"\"\r\n"
      "Bob,pc-2, bob@example.com ,\r\n"
      "Olga,pc-4,olga,same as before\r\n"
      "Nobody,pc-99,ghost,not enrolled\r\n";
  size_t audits_before = ownerAudits().size();  // olga's from SetUp
  auto dry = import(csv, {"--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.err.find("2 changed, 1 unchanged, 1 unknown (dry run: nothing was changed)"),
            std::string::npos)
      << dry.err;
  EXPECT_NE(dry.out.find("unknown"), std::string::npos) << dry.out;
  EXPECT_EQ(ownerOf(ids_["pc-1"][0]), "-");
  EXPECT_EQ(ownerAudits().size(), audits_before);

  auto real = import(csv, {"--json"});
  ASSERT_EQ(real.exit_code, 0) << real.err;
  EXPECT_NE(real.err.find("2 changed, 1 unchanged, 1 unknown"), std::string::npos) << real.err;
  EXPECT_EQ(real.err.find("dry run"), std::string::npos);
  auto summary = json::parse(real.out);
  ASSERT_TRUE(summary.ok()) << real.out;
  EXPECT_EQ(summary->find("changed")->asInt(), 2);
  EXPECT_EQ(summary->find("unchanged")->asInt(), 1);
  EXPECT_EQ(summary->find("unknown")->asInt(), 1);
  EXPECT_FALSE(summary->find("dry_run")->asBool());
  const auto& rows = summary->find("rows")->asArray();
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].find("line")->asInt(), 2);
  EXPECT_EQ(rows[0].find("device_id")->asString(), ids_["pc-1"][0]);
  EXPECT_EQ(rows[0].find("result")->asString(), "changed");
  EXPECT_TRUE(rows[3].find("device_id")->isNull());
  EXPECT_EQ(rows[3].find("result")->asString(), "unknown");

  EXPECT_EQ(ownerOf(ids_["pc-1"][0]), "Doe, Jane");
  EXPECT_EQ(ownerOf(ids_["pc-2"][0]), "bob@example.com");  // spaces around a value trimmed
  EXPECT_EQ(ownerOf(ids_["pc-4"][0]), "olga");
  auto audits = ownerAudits();
  ASSERT_EQ(audits.size(), audits_before + 2);
  std::map<std::string, json::Value> by_target;
  for (size_t i = audits_before; i < audits.size(); ++i) {
    EXPECT_EQ(audits[i].find("actor")->asString().rfind("cli:", 0), 0u);
    by_target[audits[i].find("target")->asString()] = audits[i];
  }
  ASSERT_EQ(by_target.count("device:" + ids_["pc-1"][0]), 1u);
  const json::Value* detail = by_target["device:" + ids_["pc-1"][0]].find("detail");
  ASSERT_TRUE(detail != nullptr && detail->isObject());
  EXPECT_EQ(detail->find("owner")->asString(), "Doe, Jane");
  EXPECT_TRUE(detail->find("previous_owner")->isNull());
  EXPECT_EQ(detail->find("import_line")->asInt(), 2);

  // The same file again: nothing to change, nothing audited.
  auto again = import(csv);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("0 changed, 3 unchanged, 1 unknown"), std::string::npos) << again.err;
  EXPECT_EQ(ownerAudits().size(), audits.size());
}

TEST_P(OwnersImportTest, AnAmbiguousHostnameOrABadRowNamesItsLineAndChangesNothing) {
  size_t audits_before = ownerAudits().size();
  auto ambiguous = import("hostname,owner\npc-1,alice\nDUP,bob\n");
  EXPECT_EQ(ambiguous.exit_code, 2);
  EXPECT_NE(ambiguous.err.find(":3: hostname \"DUP\" matches 2 active devices"), std::string::npos)
      << ambiguous.err;
  EXPECT_NE(ambiguous.err.find(ids_["dup"][0]), std::string::npos);
  EXPECT_NE(ambiguous.err.find("nothing was changed"), std::string::npos);
  EXPECT_EQ(ownerOf(ids_["pc-1"][0]), "-");  // line 2 was fine, and still nothing changed

  auto bad =
      import("hostname,owner\npc-1,alice\npc-2,\"bad\x1b[31m\"\npc-1,carol\npc-4\n\"open,quote\n");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("line 6: a quoted field is not closed"), std::string::npos) << bad.err;
  auto rows = import("hostname,owner\npc-1,alice\npc-2,\"bad\x1b[31m\"\npc-1,carol\npc-4\n");
  EXPECT_EQ(rows.exit_code, 2);
  EXPECT_NE(rows.err.find(":3: the owner of \"pc-2\" contains the control character"),
            std::string::npos)
      << rows.err;
  EXPECT_NE(rows.err.find(":4: device " + ids_["pc-1"][0] + " was given another owner on line 2"),
            std::string::npos)
      << rows.err;
  EXPECT_NE(rows.err.find(":5: 1 fields, the header has 2"), std::string::npos) << rows.err;
  EXPECT_EQ(import("name,owner\nx,y\n").exit_code, 2);  // no hostname or device_id column
  EXPECT_EQ(ownerOf(ids_["pc-1"][0]), "-");
  EXPECT_EQ(ownerAudits().size(), audits_before);

  // By device id, the two machines named "dup" are told apart.
  auto by_id =
      import("device_id,owner\n" + ids_["dup"][0] + ",erin\n" + ids_["dup"][1] + ",frank\n");
  ASSERT_EQ(by_id.exit_code, 0) << by_id.err;
  EXPECT_NE(by_id.err.find("2 changed, 0 unchanged, 0 unknown"), std::string::npos) << by_id.err;
  EXPECT_EQ(ownerOf(ids_["dup"][0]), "erin");
  EXPECT_EQ(ownerOf(ids_["dup"][1]), "frank");
}

TEST_P(OwnersImportTest, ARetiredDeviceNoLongerMakesItsHostnameAmbiguous) {
  // The old "dup" is retired (replaced by a reinstall): the hostname names the new one.
  testing::HttpsClient admin({.ca_file = server_->caFile()});
  auto retired = admin.postJson(
      "https://" + server_->address("admin") + "/api/v1/devices/" + ids_["dup"][0] + "/retire", "",
      {"Authorization: Bearer " + server_->adminToken()});
  ASSERT_TRUE(retired.completed());
  ASSERT_EQ(retired.status, 200) << retired.body;
  auto r = import("hostname,owner\ndup,gina\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ownerOf(ids_["dup"][1]), "gina");
}

// GET /api/v1/exemptions is bounded (issue 14): a page of `limit` (at most 1000), newest first,
// with `next` for the following page; `exemption list` reads every page.
TEST_P(OwnersImportTest, ExemptionsAreListedAPageAtATime) {
  std::vector<int64_t> made;
  const std::string until =
      formatRfc3339(std::chrono::system_clock::now() + std::chrono::hours(240));
  for (const char* check : {"vpn", "screen_lock", "disk_encryption"}) {
    auto r = server_->cli({"exemption", "add", "--device", ids_["pc-1"][0], "--check", check,
                           "--until", until, "--reason", "r", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    made.push_back(json::parse(r.out)->find("exemption_id")->asInt());
  }
  auto get = [&](const std::string& query) {
    return testing::CurlAdminJson(server_->address("admin"), server_->caFile(),
                                  server_->adminToken(), "/api/v1/exemptions" + query);
  };
  auto first = get("?limit=2");
  ASSERT_EQ(first.find("exemptions")->size(), 2u) << json::write(first);
  EXPECT_EQ(first.find("exemptions")->asArray()[0].find("exemption_id")->asInt(), made[2]);
  EXPECT_EQ(first.find("exemptions")->asArray()[1].find("exemption_id")->asInt(), made[1]);
  ASSERT_TRUE(first.find("next")->isString()) << json::write(first);
  auto second = get("?limit=2&after=" + first.find("next")->asString());
  ASSERT_EQ(second.find("exemptions")->size(), 1u) << json::write(second);
  EXPECT_EQ(second.find("exemptions")->asArray()[0].find("exemption_id")->asInt(), made[0]);
  EXPECT_TRUE(second.find("next")->isNull());
  // Without a limit: the default page; beyond the maximum: refused.
  EXPECT_EQ(get("").find("exemptions")->size(), 3u);
  auto too_many = get("?limit=1001");
  ASSERT_NE(too_many.find("error"), nullptr) << json::write(too_many);
  // The command line lists them all.
  auto listed = server_->cli({"exemption", "list", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(json::parse(listed.out)->find("exemptions")->size(), 3u);
}

// exemption_expiring from the maintenance pass of a real server (issue 14): an exemption that
// lapses within the default 3 days is announced once, per device it covers; one lapsing later
// is not (yet).
TEST_P(OwnersImportTest, AnExemptionAboutToLapseIsAnnouncedByTheRunningServer) {
  server_->stop();
  auto now = std::chrono::system_clock::now();
  for (const auto& [host, days] : {std::pair{"pc-1", 2}, std::pair{"pc-2", 10}}) {
    auto r =
        server_->cli({"exemption", "add", "--device", ids_[host][0], "--check", "vpn", "--until",
                      formatRfc3339(now + std::chrono::hours(24 * days)), "--reason", "r"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::string log = dir_.path() + "/server2.log";
  ASSERT_TRUE(server_->serve(log)) << ReadFile(log);
  auto expiring = [&] {
    std::vector<std::string> out;
    auto feed = testing::CurlAdminJson(server_->address("admin"), server_->caFile(),
                                       server_->adminToken(), "/api/v1/feed?limit=1000");
    for (const auto& e : feed.find("events")->asArray()) {
      if (e.find("type")->asString() == "exemption_expiring") {
        out.push_back(e.find("device_id")->asString() + " " + e.find("check")->asString());
      }
    }
    return out;
  };
  ASSERT_TRUE(testing::PollUntil([&] { return !expiring().empty(); }, std::chrono::seconds(20)))
      << ReadFile(log);
  EXPECT_EQ(expiring(), std::vector<std::string>{ids_["pc-1"][0] + " vpn"});
}

INSTANTIATE_TEST_SUITE_P(Backends, OwnersImportTest, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace hearth
