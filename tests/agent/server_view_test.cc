// The company's view of this PC after its latest report (server_view.h): taken from the
// acknowledgement and checked (on the network side and again on the root side), carried across
// hearth-upload's answer frame, and shown by `hearth-agent status` in stable words.
#include "hearth/agent/server_view.h"

#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "hearth/agent/http_transport.h"
#include "hearth/agent/status_commands.h"
#include "hearth/agent/uploader_protocol.h"
#include "hearth/json.h"
#include "hearth/time.h"
#include "support/programs.h"
#include "support/temp_dir.h"

namespace hearth::agent {
namespace {

// The acknowledgement hearth-server sends for a report stored as the device's latest.
constexpr const char* kAck =
    R"({"report_id":"r","status":"stored","previous_sequence":3,"device_status":"at_risk",)"
    R"("checks":[{"id":"vpn","fix_by":"2026-12-12T17:00:00Z","exempt_until":null},)"
    R"({"id":"disk_encryption","fix_by":null,"exempt_until":"2026-12-20T00:00:00Z"}]})";

PostResult acknowledged(const std::string& body) {
  HttpResponse r;
  r.status = 202;
  r.body = body;
  return ClassifyPost(r);
}

TEST(ServerViewTest, TheAcknowledgementsViewCrossesTheUploaderFrame) {
  PostResult r = acknowledged(kAck);
  ASSERT_EQ(r.kind, PostResult::Kind::kAccepted);
  EXPECT_EQ(r.server_view_json,
            R"({"device_status":"at_risk","checks":[{"id":"vpn","fix_by":"2026-12-12T17:00:00Z",)"
            R"("exempt_until":null},{"id":"disk_encryption","fix_by":null,)"
            R"("exempt_until":"2026-12-20T00:00:00Z"}]})");
  PostResult back = uploader::PostFromAnswer(uploader::PostAnswer(r));
  EXPECT_EQ(back.server_view_json, r.server_view_json);
  // A duplicate's answer (or an older server's) carries none.
  EXPECT_TRUE(
      acknowledged(R"({"status":"duplicate","previous_sequence":2})").server_view_json.empty());
  // The root side checks what the network side hands it again.
  PostResult hostile = r;
  hostile.server_view_json = R"({"device_status":"owned","checks":[]})";
  EXPECT_TRUE(uploader::PostFromAnswer(uploader::PostAnswer(hostile)).server_view_json.empty());
}

TEST(ServerViewTest, OnlyKnownStatusesCheckIdsAndTimesAreKept) {
  auto bad_status = json::parse(R"({"device_status":"\u001b[2Jpwned","checks":[]})");
  EXPECT_FALSE(ServerViewFromAck(*bad_status));
  auto mixed = json::parse(
      R"({"device_status":"noncompliant","checks":[{"id":"Bad Id!","fix_by":"2026-12-12T17:00:00Z"},)"
      R"({"id":"vpn","fix_by":"next week","exempt_until":null},)"
      R"({"id":"screen_lock","fix_by":"2026-12-12T18:00:00+01:00"},"x",{"id":5}]})");
  auto view = ServerViewFromAck(*mixed);
  ASSERT_TRUE(view);
  EXPECT_EQ(json::write(*view), R"({"device_status":"noncompliant","checks":[{"id":"screen_lock",)"
                                R"("fix_by":"2026-12-12T17:00:00Z","exempt_until":null}]})");
  // At most kMaxServerViewChecks.
  json::Value many = json::Value::array();
  for (size_t i = 0; i < kMaxServerViewChecks + 10; ++i) {
    json::Value c = json::Value::object();
    c.set("id", "c" + std::to_string(i));
    c.set("fix_by", "2026-12-12T17:00:00Z");
    many.push(std::move(c));
  }
  json::Value ack = json::Value::object();
  ack.set("device_status", "at_risk");
  ack.set("checks", std::move(many));
  EXPECT_EQ(ServerViewFromAck(ack)->find("checks")->size(), kMaxServerViewChecks);
}

TEST(ServerViewTest, DatesAreWrittenForPeopleInEnglishAndUtc) {
  EXPECT_EQ(PersonDate(*parseRfc3339("2026-12-12T17:00:00Z")),
            "Saturday 12 December 2026, 17:00 UTC");
  EXPECT_EQ(PersonDate(*parseRfc3339("2027-01-04T08:05:59Z")), "Monday 4 January 2027, 08:05 UTC");
}

// The PC's time zone for one test: a fixed UTC+1 without summer time (no tzdata needed).
class FixedZone {
 public:
  FixedZone() {
    if (const char* tz = std::getenv("TZ")) saved_ = tz;
    ::setenv("TZ", "CET-1", 1);
    ::tzset();
  }
  ~FixedZone() {
    if (saved_) {
      ::setenv("TZ", saved_->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }
  FixedZone(const FixedZone&) = delete;
  FixedZone& operator=(const FixedZone&) = delete;

 private:
  std::optional<std::string> saved_;
};

// Issue 16: `status` shows times as a person reads them, in the PC's zone and their language;
// the year only when it is not this year.
TEST(ServerViewTest, StatusTimesAreWrittenForPeopleInTheirLanguageAndTheLocalZone) {
  FixedZone zone;
  const auto now = *parseRfc3339("2026-12-07T21:00:00Z");
  const auto friday = *parseRfc3339("2026-12-11T13:03:00Z");
  const auto last_year = *parseRfc3339("2025-12-12T13:03:59Z");
  EXPECT_EQ(PersonTime(friday, now), "Friday 11 December 14:03");
  EXPECT_EQ(PersonTime(last_year, now), "Friday 12 December 2025, 14:03");
  ASSERT_EQ(::setenv("HEARTH_LOCALEDIR", testing::BuiltLocaleDir().c_str(), 1), 0);
  auto da = i18n::Catalog::ForLanguages("da_DK.UTF-8");
  ASSERT_NE(da, nullptr);
  EXPECT_EQ(PersonTime(friday, now, da.get()), "fredag 11. december 14:03");
  EXPECT_EQ(PersonTime(last_year, now, da.get()), "fredag 12. december 2025 14:03");
  ::unsetenv("HEARTH_LOCALEDIR");
}

// `hearth-agent status` as the person at the PC reads it: the view's lines, exactly.
TEST(ServerViewTest, StatusShowsTheDeviceStatusDeadlinesAndExemptions) {
  FixedZone zone;
  const auto now = *parseRfc3339("2026-12-08T12:00:00Z");
  testing::TempDir dir;
  json::Value status = json::Value::object();
  status.set("server", "https://hearth.example:8443");
  status.set("device_id", "dev-1");
  status.set("level", "standard");
  status.set("policy_version", 2);
  status.set("last_check", "2026-12-08T09:00:00Z");
  status.set("compliant", false);
  status.set("last_delivery", "2026-12-08T09:00:01Z");
  status.set("spool_depth", 0);
  status.set("server_view", *ServerViewFromAck(*json::parse(kAck)));
  dir.write("status.json", json::write(status));
  std::ostringstream out, err;
  ASSERT_EQ(PrintStatus(dir.path(), false, out, err, now), 0) << err.str();
  EXPECT_EQ(out.str(),
            "Enrolled to https://hearth.example:8443 as device dev-1\n"
            "Security level: standard (policy version 2)\n"
            "Last check: Tuesday 8 December 10:00 - does not meet the agreed level\n"
            "The company's view after the last report: at risk: a required check fails; fix it "
            "by the date below, or this PC counts as not meeting the agreed level\n"
            "  VPN: fix by Saturday 12 December 18:00\n"
            "  Disk encryption: exempted by IT until Sunday 20 December 01:00\n"
            "Last delivery to the company: Tuesday 8 December 10:00\n"
            "Reports waiting to be sent: 0\n");
  // --json keeps the times as stored.
  std::ostringstream js;
  ASSERT_EQ(PrintStatus(dir.path(), true, js, err, now), 0);
  EXPECT_NE(js.str().find("\"last_check\":\"2026-12-08T09:00:00Z\""), std::string::npos)
      << js.str();
  // Each status in its words; a check with both a deadline and an exemption on one line.
  for (const auto& [code, words] : {std::pair{"compliant", "meets the agreed level"},
                                    std::pair{"noncompliant", "does not meet the agreed level"},
                                    std::pair{"unknown", "not known yet"}}) {
    auto view = json::parse(std::string(R"({"device_status":")") + code +
                            R"(","checks":[{"id":"vpn","fix_by":"2026-12-12T17:00:00Z",)"
                            R"("exempt_until":"2026-12-14T00:00:00Z"}]})");
    std::ostringstream shown;
    PrintServerView(*view, shown, now);
    EXPECT_EQ(shown.str(), std::string("The company's view after the last report: ") + words +
                               "\n  VPN: fix by Saturday 12 December 18:00; exempted by "
                               "IT until Monday 14 December 01:00\n");
  }
  // A view that is not one (a hand-edited status.json) shows nothing.
  std::ostringstream none;
  PrintServerView(*json::parse(R"({"device_status":"hacked"})"), none);
  EXPECT_EQ(none.str(), "");
}

}  // namespace
}  // namespace hearth::agent
