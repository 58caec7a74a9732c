// os_patches: ages of updates already pending at this PC's first sight (issue 14 item 6): the
// fleet's first-seen dates, the unknown_age policy, and which date the evidence says an age
// counts from. Fixed clocks throughout.
#include <gtest/gtest.h>

#include "hearth/policy.h"
#include "hearth/time.h"
#include "os_patches/os_patches.h"
#include "support/temp_dir.h"

namespace hearth::checks::os_patches {
namespace {

using std::chrono::hours;

TimePoint at(const char* rfc3339) { return *parseRfc3339(rfc3339); }

const TimePoint kDay0 = at("2026-11-02T09:00:00Z");
const TimePoint kEnrolled = kDay0 + hours(24 * 10);  // this PC's first check

PatchFacts factsWith(std::vector<PendingUpdate> pending, TimePoint now) {
  PatchFacts f;
  f.manager = "apt";
  f.pending = std::move(pending);
  f.lists_fresh_at = now - hours(1);
  f.lists_source = "test";
  return f;
}

PendingUpdate security(const char* name, const char* candidate, TimePoint seen) {
  PendingUpdate p;
  p.name = name;
  p.installed = "1.0-1";
  p.candidate = candidate;
  p.security = true;
  p.first_seen = seen;
  p.security_since = seen;
  return p;
}

const json::Value& pendingEntry(const CheckResult& r, size_t i) {
  return r.evidence.find("pending")->asArray()[i];
}

TEST(OsPatchesFleetTest, FleetDateOlderThanFirstSightAgesTheUpdateFromIt) {
  std::vector<PendingUpdate> pending = {security("openssl", "3.0.15-1~deb12u1", kEnrolled)};
  FleetFirstSeen fleet = {{{"openssl", "3.0.15-1~deb12u1"}, kDay0}};
  applyFleetFirstSeen(pending, fleet, kEnrolled);
  ASSERT_EQ(pending[0].age_source, AgeSource::kFleet);

  CheckResult r = judgePatches(factsWith(pending, kEnrolled), OsPatchesSettings{}, kEnrolled);
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_EQ(r.summary,
            "1 security update pending for 10 days (limit 7, counted from the fleet's first sight "
            "2026-11-02)");
  EXPECT_EQ(pendingEntry(r, 0).find("age_counts_from")->asString(), "fleet first seen 2026-11-02");
  EXPECT_EQ(pendingEntry(r, 0).find("age_from")->asString(), "2026-11-02T09:00:00Z");
  // This PC's own first sight stays in the evidence beside it.
  EXPECT_EQ(pendingEntry(r, 0).find("first_seen")->asString(), "2026-11-12T09:00:00Z");
  EXPECT_EQ(r.evidence.find("oldest_security_days")->asInt(), 10);

  // Within the limit the same date passes: 10 days under a limit of 14.
  OsPatchesSettings lax;
  lax.max_security_update_age_days = 14;
  EXPECT_EQ(judgePatches(factsWith(pending, kEnrolled), lax, kEnrolled).verdict, Verdict::kPass);
}

TEST(OsPatchesFleetTest, FleetDateOfAnotherCandidateOrNewerThanFirstSightIsIgnored) {
  std::vector<PendingUpdate> pending = {security("openssl", "3.0.15-1~deb12u1", kDay0)};
  FleetFirstSeen fleet = {{{"openssl", "3.0.14-1~deb12u2"}, kDay0 - hours(24 * 30)},
                          {{"libc6", "3.0.15-1~deb12u1"}, kDay0 - hours(24 * 30)}};
  applyFleetFirstSeen(pending, fleet, kDay0 - hours(24));
  EXPECT_EQ(pending[0].age_source, AgeSource::kThisPc);
  EXPECT_FALSE(pending[0].fleet_first_seen.has_value());

  // This PC saw it first: the fleet's later date (its own report, received after) changes
  // nothing, and an update seen while watching has a known age.
  fleet = {{{"openssl", "3.0.15-1~deb12u1"}, kDay0 + hours(1)}};
  applyFleetFirstSeen(pending, fleet, kDay0 - hours(24));
  EXPECT_EQ(pending[0].age_source, AgeSource::kThisPc);
  // Half an hour earlier is clock noise (this PC's own report, a server clock behind), not an
  // older sighting.
  fleet = {{{"openssl", "3.0.15-1~deb12u1"}, kDay0 - std::chrono::minutes(30)}};
  applyFleetFirstSeen(pending, fleet, kDay0 - hours(24));
  EXPECT_EQ(pending[0].age_source, AgeSource::kThisPc);
  CheckResult r = judgePatches(factsWith(pending, kDay0 + hours(48)), {}, kDay0 + hours(48));
  EXPECT_EQ(r.verdict, Verdict::kPass);
  EXPECT_EQ(pendingEntry(r, 0).find("age_counts_from")->asString(),
            "first seen on this PC 2026-11-02");
}

TEST(OsPatchesFleetTest, UnknownAgeGraceCountsFromFirstSightAndFailFailsAtOnce) {
  // Freshly enrolled: both pending at this PC's first check; the fleet knows neither.
  std::vector<PendingUpdate> pending = {security("openssl", "3.0.15-1~deb12u1", kEnrolled),
                                        security("curl", "7.88.1-10+deb12u8", kEnrolled)};
  pending[1].security = false;  // a plain update: unknown_age fails security updates only
  pending[1].security_since.reset();
  applyFleetFirstSeen(pending, {}, std::nullopt);  // no state dir: not "unknown"
  EXPECT_EQ(pending[0].age_source, AgeSource::kThisPc);
  applyFleetFirstSeen(pending, {}, kEnrolled);
  EXPECT_EQ(pending[0].age_source, AgeSource::kUnknown);

  OsPatchesSettings grace;
  CheckResult g = judgePatches(factsWith(pending, kEnrolled), grace, kEnrolled);
  EXPECT_EQ(g.verdict, Verdict::kPass);
  EXPECT_EQ(pendingEntry(g, 0).find("age_counts_from")->asString(),
            "first seen on this PC 2026-11-12, already pending at its first check (age unknown)");
  EXPECT_EQ(g.evidence.find("unknown_age")->asString(), "grace");

  OsPatchesSettings fail;
  fail.unknown_age = OsPatchesSettings::UnknownAge::kFail;
  CheckResult f = judgePatches(factsWith(pending, kEnrolled), fail, kEnrolled);
  EXPECT_EQ(f.verdict, Verdict::kFail);
  EXPECT_EQ(f.summary,
            "1 security update already pending when this PC was first checked, for an unknown "
            "time (policy: unknown_age fail)");
  EXPECT_NE(f.remediation.find("sudo apt update && sudo apt full-upgrade"), std::string::npos)
      << f.remediation;
  EXPECT_EQ(f.advice.at(0).code, "os_patches.install_updates");

  // Only the plain update pending: nothing for unknown_age to fail.
  std::vector<PendingUpdate> plain = {pending[1]};
  EXPECT_EQ(judgePatches(factsWith(plain, kEnrolled), fail, kEnrolled).verdict, Verdict::kPass);
}

TEST(OsPatchesFleetTest, AnUpdateThatAppearsWhileWatchingHasAKnownAge) {
  // Watching since day 0; the update appeared on day 3: unknown_age fail does not apply.
  std::vector<PendingUpdate> pending = {security("openssl", "3.0.15-1~deb12u1", kDay0 + hours(72))};
  applyFleetFirstSeen(pending, {}, kDay0);
  EXPECT_EQ(pending[0].age_source, AgeSource::kThisPc);
  OsPatchesSettings fail;
  fail.unknown_age = OsPatchesSettings::UnknownAge::kFail;
  TimePoint now = kDay0 + hours(96);
  EXPECT_EQ(judgePatches(factsWith(pending, now), fail, now).verdict, Verdict::kPass);

  // A fleet date rescues an update pending at first sight from "unknown".
  std::vector<PendingUpdate> first = {security("openssl", "3.0.15-1~deb12u1", kEnrolled)};
  applyFleetFirstSeen(first, {{{"openssl", "3.0.15-1~deb12u1"}, kEnrolled - hours(2)}}, kEnrolled);
  EXPECT_EQ(first[0].age_source, AgeSource::kFleet);
  EXPECT_EQ(judgePatches(factsWith(first, kEnrolled), fail, kEnrolled).verdict, Verdict::kPass);
}

TEST(OsPatchesFleetTest, FleetDocumentEarliestWinsAndMalformedEntriesAreSkipped) {
  auto doc = json::parse(R"({"os_patches":{"first_seen":[
      {"name":"openssl","candidate":"3.0.15","first_seen":"2026-11-05T00:00:00Z"},
      {"name":"openssl","candidate":"3.0.15","first_seen":"2026-11-02T00:00:00Z"},
      {"name":"curl","candidate":"7.88","first_seen":"yesterday"},
      {"name":"bash","first_seen":"2026-11-02T00:00:00Z"},
      {"name":1,"candidate":"x","first_seen":"2026-11-02T00:00:00Z"}]},
      "vpn":{"first_seen":[]}})");
  ASSERT_TRUE(doc.ok());
  FleetFirstSeen fleet = fleetFromJson(*doc);
  ASSERT_EQ(fleet.size(), 1u);
  EXPECT_EQ(fleet.at({"openssl", "3.0.15"}), at("2026-11-02T00:00:00Z"));
  EXPECT_TRUE(fleetFromJson(json::Value("x")).empty());

  testing::TempDir dir;
  EXPECT_TRUE(loadFleetFirstSeen(dir.path()).empty());  // no file: no fleet dates
  dir.write("fleet.json", json::write(*doc));
  EXPECT_EQ(loadFleetFirstSeen(dir.path()).size(), 1u);
  dir.write("fleet.json", "{not json");
  EXPECT_TRUE(loadFleetFirstSeen(dir.path()).empty());
}

TEST(OsPatchesFleetTest, WatchingSinceIsKeptAndAnOlderStateWatchedAllAlong) {
  PatchState st;
  st.watching_since = kEnrolled;
  auto back = stateFromJson(stateToJson(st));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->watching_since, kEnrolled);
  // A state written before the field: its updates count as seen while watching.
  auto legacy = stateFromJson(*json::parse(R"({"version":1,"seen":[]})"));
  ASSERT_TRUE(legacy.ok());
  ASSERT_TRUE(legacy->watching_since.has_value());
  EXPECT_EQ(*legacy->watching_since, TimePoint{});
}

TEST(OsPatchesFleetTest, PolicyUnknownAgeIsValidatedByName) {
  const char* good = R"({"level":"l","version":1,"checks":{"os_patches":{"unknown_age":"fail"}}})";
  auto p = ParsePolicy(good, "policy.json");
  ASSERT_TRUE(p.ok()) << p.status().toString();
  EXPECT_EQ(p->settingsOr<OsPatchesSettings>(kOsPatchesCheckId).unknown_age,
            OsPatchesSettings::UnknownAge::kFail);
  auto d = ParsePolicy(R"({"level":"l","version":1,"checks":{"os_patches":{}}})", "p");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->settingsOr<OsPatchesSettings>(kOsPatchesCheckId).unknown_age,
            OsPatchesSettings::UnknownAge::kGrace);
  for (const char* bad : {R"("never")", "true"}) {
    auto b = ParsePolicy(
        std::string(R"({"level":"l","version":1,"checks":{"os_patches":{"unknown_age":)") + bad +
            "}}}",
        "policy.json");
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_NE(b.status().message().find("checks.os_patches.unknown_age"), std::string::npos)
        << b.status().message();
  }
}

}  // namespace
}  // namespace hearth::checks::os_patches
