// Issue 14 items 5 and 7: `hearth-server report compliance` and GET /api/v1/compliance-report
// against the real hearth-server, SQLite and (HEARTH_TEST_PG_URI) PostgreSQL: a stored half year
// of reports gives byte-identical output on every run, the API gives the same bytes as the
// command line, the API request is audited, a read token may read it, and wrong periods are
// refused.
#include <chrono>
#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/json.h"
#include "hearth/server/store.h"
#include "hearth/time.h"
#include "support/curl_cli.h"
#include "support/files.h"
#include "support/pg_schema.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace hearth {
namespace {

using server::TimePoint;

json::Value result(const std::string& vpn, const std::string& disk) {
  json::Value checks = json::Value::array();
  for (auto [id, verdict] : {std::pair<const char*, std::string>{"disk_encryption", disk},
                             std::pair<const char*, std::string>{"vpn", vpn}}) {
    json::Value c = json::Value::object();
    c.set("id", id);
    c.set("verdict", verdict);
    c.set("required", true);
    c.set("summary", "s");
    checks.push(std::move(c));
  }
  json::Value r = json::Value::object();
  r.set("compliant", vpn == "pass" && disk == "pass");
  r.set("checks", std::move(checks));
  return r;
}

class ComplianceReportCliTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      pg_ = std::make_unique<testing::PostgresSchema>("reportcli");
      if (pg_->uri().empty()) GTEST_SKIP() << "HEARTH_TEST_PG_URI not set: no PostgreSQL server";
      database_ = pg_->uri();
    }
    state_ = dir_.path() + "/state";
    server_ = std::make_unique<testing::TestServer>(state_, database_);
    auto r = server_->init();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_NO_FATAL_FAILURE(storeHistory());
  }

  // Three devices reporting every 6 hours through 181 days that ended a few weeks ago (within
  // retention: serve prunes what is older), their VPN failing now and then; one retired after
  // 73 days; one silent after 75 days and marked stale. Written through the store, as the
  // server's ingest writes it, with the times chosen.
  void storeHistory() {
    auto store = server::OpenStore(database_.empty() ? state_ + "/hearth.db" : database_);
    ASSERT_TRUE(store.ok()) << store.status().toString();
    server::SecretRecord secret;
    secret.level = "standard";
    secret.created_at = at(-86400);
    ASSERT_TRUE((*store)->createSecret("report-test", secret).ok());
    const int64_t start = start_;
    for (int n = 0; n < 3; ++n) {
      server::DeviceRecord d;
      d.device_id = "00000000-0000-4000-8000-00000000000" + std::to_string(n);
      d.hostname = n == 2 ? "=calc" : "pc-" + std::to_string(n);
      d.owner = "person" + std::to_string(n) + "@example.com";
      d.cert_serial = "0" + std::to_string(n);
      d.enrolled_at = TimePoint(std::chrono::seconds(start - 3600));
      ASSERT_TRUE((*store)->enrollDevice("report-test", d, d.enrolled_at).ok());
      std::vector<server::NewReport> batch;
      for (int k = 0; k < 4 * 181; ++k) {
        int64_t at = start + k * 6 * 3600 + n * 600;
        server::NewReport r;
        r.device_id = d.device_id;
        r.sequence = k + 1;
        r.report_id = d.device_id + "-" + std::to_string(k);
        r.sent_at = formatRfc3339(TimePoint(std::chrono::seconds(at)));
        r.received_at = TimePoint(std::chrono::seconds(at));
        r.agent_version = "0.1.0";
        bool vpn_fails = (k / (7 + n)) % 5 == 1;
        r.result = result(vpn_fails ? "fail" : "pass", k % 97 == 3 ? "unknown" : "pass");
        batch.push_back(std::move(r));
        if (n == 0 && k == 300) break;  // falls silent
      }
      ASSERT_TRUE((*store)->ingestReports(batch).ok());
    }
    ASSERT_TRUE((*store)->markStale(at(90 * 86400), std::chrono::hours(96)).ok());
    // An admin action within the period (the report gives it to admins only).
    server::AuditEntry action = server::NewAuditEntry("cli:root", "device.owner", "device:x");
    action.at = at(10 * 86400);
    ASSERT_TRUE((*store)->appendAudit(action).ok());
    ASSERT_TRUE((*store)
                    ->retireDevice("00000000-0000-4000-8000-000000000001", at(73 * 86400 + 43200))
                    .ok());
  }

  TimePoint at(int64_t offset) const { return TimePoint(std::chrono::seconds(start_ + offset)); }
  // The period's ends as dates.
  std::string day(int64_t days) const { return formatRfc3339(at(days * 86400)).substr(0, 10); }

  // 00:00 UTC 220 days ago.
  const int64_t start_ = (std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                                  .count() /
                              86400 -
                          220) *
                         86400;
  std::unique_ptr<testing::PostgresSchema> pg_;
  std::string database_;
  testing::TempDir dir_;
  std::string state_;
  std::unique_ptr<testing::TestServer> server_;
};

TEST_P(ComplianceReportCliTest, SameStoredDataSameBytesFromCliAndApi) {
  std::vector<std::string> args = {"report", "compliance", "--from", day(0), "--to", day(181)};
  auto first = server_->cli(args);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto second = server_->cli(args);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(first.out, second.out);
  ASSERT_EQ(first.out.rfind("record,device_id,hostname,owner,level,check,", 0), 0u) << first.out;
  EXPECT_NE(first.out.find("\r\nperiod,,,,,,," + formatRfc3339(at(0)) + "," +
                           formatRfc3339(at(181 * 86400)) + ","),
            std::string::npos);
  EXPECT_NE(first.out.find("\r\nincident,"), std::string::npos);
  EXPECT_NE(first.out.find("\r\nstale,00000000-0000-4000-8000-000000000000,"), std::string::npos);
  EXPECT_NE(first.out.find(",\"'=calc\","), std::string::npos);  // formula-safe

  // JSON to a file, twice: the same bytes, readable by its owner only.
  std::string a = dir_.path() + "/a.json", b = dir_.path() + "/b.json";
  for (const auto& file : {a, b}) {
    auto r = server_->cli({"report", "compliance", "--from", formatRfc3339(at(0)), "--to", day(181),
                           "--format", "json", "--output", file});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  EXPECT_EQ(testing::ReadFile(a), testing::ReadFile(b));
  auto parsed = json::parse(testing::ReadFile(a));
  ASSERT_TRUE(parsed.ok()) << parsed.status().toString();
  EXPECT_EQ(parsed->find("devices")->asArray().size(), 3u);
  struct stat st {};
  ASSERT_EQ(::stat(a.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // The API gives the same bytes to an admin token, and records each request; a read token
  // gets the report without the admin actions of the audit log (which needs the admin scope).
  EXPECT_NE(first.out.find("\r\nadmin_action,"), std::string::npos);
  std::string log = dir_.path() + "/server.log";
  ASSERT_TRUE(server_->serve(log)) << testing::ReadFile(log);
  auto token = server_->cli({"token", "create", "--name", "auditor", "--scope", "read"});
  ASSERT_EQ(token.exit_code, 0) << token.err;
  auto admin = server_->cli({"token", "create", "--name", "it", "--scope", "admin"});
  ASSERT_EQ(admin.exit_code, 0) << admin.err;
  auto get = [&](const std::string& t, const char* format) {
    return testing::Curl("https://" + server_->address("admin") +
                             "/api/v1/compliance-report?from=" + day(0) + "&to=" + day(181) +
                             "&format=" + format,
                         {.ca_file = server_->caFile(),
                          .extra = {"-H", "Authorization: Bearer " + testing::Trimmed(t)}});
  };
  auto api = get(admin.out, "csv");
  ASSERT_EQ(api.exit_code, 0) << api.err;
  EXPECT_EQ(api.status, 200) << api.body;
  auto read = get(token.out, "csv");
  ASSERT_EQ(read.exit_code, 0) << read.err;
  EXPECT_EQ(read.status, 200) << read.body;
  auto read_json = get(token.out, "json");
  EXPECT_EQ(read_json.status, 200) << read_json.body;
  auto admin_json = get(admin.out, "json");
  EXPECT_EQ(admin_json.status, 200) << admin_json.body;
  // serve applied retention when it started (the device retired months ago is gone with its
  // history): the API gives what the command line gives from the same stored data now, and
  // says the period is no longer covered by stored history.
  auto now_stored = server_->cli(args);
  ASSERT_EQ(now_stored.exit_code, 0) << now_stored.err;
  EXPECT_EQ(api.body, now_stored.out);
  EXPECT_NE(first.out.find(",pc-1,"), std::string::npos);  // observed until its retirement
  EXPECT_EQ(now_stored.out.find(",pc-1,"), std::string::npos);
  EXPECT_NE(first.out.find(",complete\r\n"), std::string::npos);
  EXPECT_NE(now_stored.out.find(",\"incomplete: retention deleted history before "),
            std::string::npos);
  EXPECT_NE(api.body.find("\r\nadmin_action,"), std::string::npos);
  EXPECT_EQ(read.body.find("admin_action"), std::string::npos) << read.body;
  // Without them, the same bytes otherwise.
  std::string admin_rows;
  for (size_t at = 0, next; at < api.body.size(); at = next) {
    next = api.body.find("\r\n", at) + 2;
    if (api.body.compare(at, 13, "admin_action,") != 0)
      admin_rows += api.body.substr(at, next - at);
  }
  EXPECT_EQ(read.body, admin_rows);
  auto rj = json::parse(read_json.body, {.max_depth = 16, .max_bytes = 64 << 20});
  auto aj = json::parse(admin_json.body, {.max_depth = 16, .max_bytes = 64 << 20});
  ASSERT_TRUE(rj.ok() && aj.ok()) << read_json.body;
  EXPECT_EQ(rj->find("admin_actions"), nullptr);
  ASSERT_NE(aj->find("admin_actions"), nullptr);
  EXPECT_EQ(aj->find("admin_actions")->asArray().size(), 1u);
  EXPECT_FALSE(aj->find("history_complete")->asBool());
  auto audit = server_->cli({"audit", "list", "--json"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  EXPECT_NE(audit.out.find("\"report.compliance\""), std::string::npos) << audit.out;
  EXPECT_NE(audit.out.find("\"actor\":\"auditor\""), std::string::npos) << audit.out;
}

// Review: --output creates the file 0600 whatever the umask, never through a symbolic link
// planted at the path and never over an existing file; --force writes beside it and renames over
// the path (a link there is replaced, its target left alone).
TEST_P(ComplianceReportCliTest, OutputFileIsPrivateNeverFollowsALinkAndReplacesOnlyWithForce) {
  std::string victim = dir_.path() + "/victim", link = dir_.path() + "/report.csv";
  testing::WriteFile(victim, "keep me\n");
  ASSERT_EQ(::chmod(victim.c_str(), 0644), 0);
  ASSERT_EQ(::symlink(victim.c_str(), link.c_str()), 0);
  mode_t old_umask = ::umask(0);
  auto planted =
      server_->cli({"report", "compliance", "--from", day(0), "--to", day(30), "--output", link});
  EXPECT_NE(planted.exit_code, 0);
  EXPECT_NE(planted.err.find("already exists"), std::string::npos) << planted.err;
  EXPECT_EQ(testing::ReadFile(victim), "keep me\n");
  struct stat st {};
  ASSERT_EQ(::stat(victim.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);

  // A dangling link: still refused, nothing created where it points.
  std::string nowhere = dir_.path() + "/nowhere", dangling = dir_.path() + "/dangling.csv";
  ASSERT_EQ(::symlink(nowhere.c_str(), dangling.c_str()), 0);
  auto d = server_->cli(
      {"report", "compliance", "--from", day(0), "--to", day(30), "--output", dangling});
  EXPECT_NE(d.exit_code, 0);
  EXPECT_NE(::access(nowhere.c_str(), F_OK), 0);

  // --force: the link is replaced by a new private file; the target is untouched.
  auto forced = server_->cli(
      {"report", "compliance", "--from", day(0), "--to", day(30), "--output", link, "--force"});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(testing::ReadFile(victim), "keep me\n");
  ASSERT_EQ(::lstat(link.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(testing::ReadFile(link).rfind("record,device_id,", 0), 0u);

  // A new path: created 0600 under umask 0.
  std::string fresh = dir_.path() + "/fresh.csv";
  auto made =
      server_->cli({"report", "compliance", "--from", day(0), "--to", day(30), "--output", fresh});
  ::umask(old_umask);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  ASSERT_EQ(::lstat(fresh.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(testing::ReadFile(fresh), testing::ReadFile(link));
  // No temporary file is left beside them.
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
  }
  auto r = server_->cli({"report", "compliance", "--from", day(0), "--to", day(30), "--force"});
  EXPECT_EQ(r.exit_code, 2);  // --force without --output
}

TEST_P(ComplianceReportCliTest, WrongPeriodsAreRefused) {
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"2025-07-01", "2025-01-01"},    // backwards
           {"2024-01-01", "2025-07-01"},    // longer than 366 days
           {"2025-01-01", "2099-01-01"},    // not ended
           {"last week", "2025-01-01"}}) {  // not a date
    auto r = server_->cli({"report", "compliance", "--from", from, "--to", to});
    EXPECT_EQ(r.exit_code, 2) << from << " " << to << ": " << r.err;
    EXPECT_TRUE(r.out.empty());
  }
  auto r = server_->cli(
      {"report", "compliance", "--from", "2025-01-01", "--to", "2025-02-01", "--format", "xml"});
  EXPECT_EQ(r.exit_code, 2);
  r = server_->cli({"report", "--from", "2025-01-01", "--to", "2025-02-01"});
  EXPECT_EQ(r.exit_code, 2);
}

INSTANTIATE_TEST_SUITE_P(Backends, ComplianceReportCliTest,
                         ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace hearth
