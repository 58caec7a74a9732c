// The compliance workflow's standing, as pure functions (issue 14): deadlines from grace
// periods, at_risk at the exact boundary, exemptions, failing_since and the device events.
#include "hearth/server/standing.h"

#include <gtest/gtest.h>

#include "hearth/time.h"

namespace hearth::server {
namespace {

TimePoint T(const char* s) { return *parseRfc3339(s); }

CheckStanding failing(const char* id, TimePoint since, int64_t grace_days) {
  CheckStanding c;
  c.id = id;
  c.verdict = "fail";
  c.since = since;
  c.grace_from = since;
  c.fix_by = FixBy(c, grace_days);
  return c;
}

TEST(StandingTest, AFailingRequiredCheckGetsSincePlusGraceAsDeadline) {
  CheckStanding c = failing("vpn", T("2026-12-01T10:00:00Z"), 3);
  ASSERT_TRUE(c.fix_by);
  EXPECT_EQ(formatRfc3339(*c.fix_by), "2026-12-04T10:00:00Z");
  c.required = false;
  EXPECT_FALSE(FixBy(c, 3));
  c.required = true;
  c.verdict = "unknown";
  c.grace_from.reset();  // unknown with no failure before it: no deadline
  EXPECT_FALSE(FixBy(c, 3));
}

// Finding 2 of the standing review: fail -> unknown -> fail restarted the grace period (the
// check's since moved to the second failure), so a device alternating stayed at_risk forever.
TEST(StandingTest, AnUnknownBetweenFailuresKeepsTheGraceClockOnlyAPassEndsIt) {
  TimePoint t0 = T("2026-12-01T10:00:00Z"), t1 = T("2026-12-02T10:00:00Z"),
            t2 = T("2026-12-03T10:00:00Z"), t5 = T("2026-12-06T10:00:00Z");
  CheckStanding c;
  c.id = "vpn";
  c.verdict = "fail";
  auto clock = GraceFrom(c, std::nullopt, t0);
  EXPECT_EQ(clock, t0);
  c.verdict = "unknown";
  clock = GraceFrom(c, clock, t1);
  EXPECT_EQ(clock, t0);
  c.grace_from = clock;
  c.since = t1;
  c.fix_by = FixBy(c, 3);
  ASSERT_TRUE(c.fix_by);
  EXPECT_EQ(*c.fix_by, t0 + std::chrono::hours(72));
  // While unknown within the deadline: unknown, with the deadline; past it: noncompliant.
  auto within = DecideStanding({c}, false, t1);
  EXPECT_EQ(within.status, "unknown");
  EXPECT_EQ(within.deadline, c.fix_by);
  EXPECT_EQ(DecideStanding({c}, false, t5).status, "noncompliant");
  c.verdict = "fail";
  clock = GraceFrom(c, clock, t2);
  EXPECT_EQ(clock, t0);
  c.grace_from = clock;
  EXPECT_EQ(*FixBy(c, 3), t0 + std::chrono::hours(72));
  // A pass (or not_applicable) ends the incident: the next failure starts a new clock.
  c.verdict = "pass";
  EXPECT_FALSE(GraceFrom(c, clock, t2));
  c.verdict = "not_applicable";
  EXPECT_FALSE(GraceFrom(c, clock, t2));
  // An unknown with no failure before it starts nothing.
  c.verdict = "unknown";
  EXPECT_FALSE(GraceFrom(c, std::nullopt, t2));
}

// Finding 1 of the standing review: a check that became required on a device already failing
// it got its deadline from when it started failing, possibly already past: no grace at all.
TEST(StandingTest, ACheckBecomingRequiredWhileFailingCountsItsGraceFromThen) {
  TimePoint t0 = T("2026-12-01T10:00:00Z"), t9 = T("2026-12-10T10:00:00Z");
  CheckStanding c;
  c.id = "vpn";
  c.verdict = "fail";
  c.required = false;
  c.since = t0;
  auto clock = GraceFrom(c, std::nullopt, t0);
  EXPECT_FALSE(clock);  // not required: no clock
  c.required = true;
  clock = GraceFrom(c, clock, t9);
  EXPECT_EQ(clock, t9);
  c.grace_from = clock;
  c.fix_by = FixBy(c, 3);
  EXPECT_EQ(*c.fix_by, t9 + std::chrono::hours(72));
  EXPECT_EQ(DecideStanding({c}, false, t9).status, "at_risk");
  // No longer required: the clock stops; required again later starts a new one.
  c.required = false;
  EXPECT_FALSE(GraceFrom(c, clock, t9));
}

TEST(StandingTest, WithinGraceIsAtRiskUntilTheDeadlineAndNoncompliantFromIt) {
  std::vector<CheckStanding> checks{failing("vpn", T("2026-12-01T10:00:00Z"), 3)};
  auto before = DecideStanding(checks, false, T("2026-12-04T09:59:59Z"));
  EXPECT_EQ(before.status, "at_risk");
  ASSERT_TRUE(before.deadline);
  EXPECT_EQ(formatRfc3339(*before.deadline), "2026-12-04T10:00:00Z");
  EXPECT_EQ(StatusAt(before.status, before.deadline, T("2026-12-04T09:59:59Z")), "at_risk");
  EXPECT_EQ(StatusAt(before.status, before.deadline, T("2026-12-04T10:00:00Z")), "noncompliant");
  auto at = DecideStanding(checks, false, T("2026-12-04T10:00:00Z"));
  EXPECT_EQ(at.status, "noncompliant");
  EXPECT_FALSE(at.deadline);
}

TEST(StandingTest, NoGraceIsNoncompliantAtOnceAndTheEarliestDeadlineCounts) {
  TimePoint t = T("2026-12-01T10:00:00Z");
  EXPECT_EQ(DecideStanding({failing("vpn", t, 0)}, false, t).status, "noncompliant");
  auto two = DecideStanding({failing("vpn", t, 5), failing("os_patches", t, 2)}, false, t);
  EXPECT_EQ(two.status, "at_risk");
  EXPECT_EQ(formatRfc3339(*two.deadline), "2026-12-03T10:00:00Z");
}

TEST(StandingTest, AnExemptedFailureDoesNotCountWhileTheExemptionLasts) {
  TimePoint t = T("2026-12-01T10:00:00Z");
  CheckStanding c = failing("vpn", t, 0);
  c.exempt_until = T("2026-12-02T00:00:00Z");
  EXPECT_EQ(DecideStanding({c}, false, t).status, "compliant");
  EXPECT_EQ(DecideStanding({c}, false, T("2026-12-02T00:00:00Z")).status, "noncompliant");
  // An exemption of one check leaves the others counting.
  EXPECT_EQ(DecideStanding({c, failing("screen_lock", t, 0)}, false, t).status, "noncompliant");
}

TEST(StandingTest, UnknownOutranksAtRiskButKeepsTheDeadline) {
  TimePoint t = T("2026-12-01T10:00:00Z");
  CheckStanding unknown;
  unknown.id = "disk_encryption";
  unknown.verdict = "unknown";
  auto s = DecideStanding({unknown, failing("vpn", t, 2)}, false, t);
  EXPECT_EQ(s.status, "unknown");
  ASSERT_TRUE(s.deadline);
  EXPECT_EQ(StatusAt(s.status, s.deadline, T("2026-12-03T10:00:00Z")), "noncompliant");
  EXPECT_EQ(DecideStanding({}, true, t).status, "compliant");
}

TEST(StandingTest, FailingSinceHoldsUntilCompliantAndEventsFireOncePerCrossing) {
  TimePoint t0 = T("2026-12-01T10:00:00Z"), t1 = T("2026-12-02T10:00:00Z");
  auto first = FailingSince("at_risk", std::nullopt, t0);
  EXPECT_EQ(first, t0);
  EXPECT_EQ(FailingSince("noncompliant", first, t1), t0);
  EXPECT_FALSE(FailingSince("compliant", first, t1));
  EXPECT_STREQ(DeviceEventFor("noncompliant", false), "device_noncompliant");
  EXPECT_EQ(DeviceEventFor("noncompliant", true), nullptr);
  EXPECT_EQ(DeviceEventFor("at_risk", false), nullptr);
  EXPECT_EQ(DeviceEventFor("unknown", true), nullptr);
  EXPECT_STREQ(DeviceEventFor("compliant", true), "device_compliant");
  EXPECT_EQ(DeviceEventFor("compliant", false), nullptr);
}

TEST(StandingTest, TheSummaryCarriesTheStandingAndReadsBack) {
  TimePoint t = T("2026-12-01T10:00:00Z");
  auto summary =
      json::parse(R"([{"id":"vpn","verdict":"fail","summary":"s","required":true},)"
                  R"({"id":"screen_lock","verdict":"pass","summary":"p","required":true}])");
  ASSERT_TRUE(summary.ok());
  CheckStanding vpn = failing("vpn", t, 1);
  vpn.exempt_until = T("2026-12-05T00:00:00Z");
  json::Value out = SummaryWithStanding(*summary, {vpn});
  EXPECT_EQ(out.asArray()[0].find("fix_by")->asString(), "2026-12-02T10:00:00Z");
  EXPECT_EQ(out.asArray()[0].find("exempt_until")->asString(), "2026-12-05T00:00:00Z");
  EXPECT_TRUE(out.asArray()[1].find("since")->isNull());
  auto back = StandingFromSummary(out);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].since, t);
  EXPECT_EQ(back[0].fix_by, vpn.fix_by);
  EXPECT_EQ(back[0].exempt_until, vpn.exempt_until);
  EXPECT_FALSE(back[1].since);
}

}  // namespace
}  // namespace hearth::server
