#include "hearth/protocol/wire.h"

#include <gtest/gtest.h>

namespace hearth::protocol {
namespace {

std::string validReport() {
  return R"({"report_id":"3f2b8c1e-5d6a-4b7c-8d9e-0a1b2c3d4e5f","sequence":17,
    "sent_at":"2026-11-26T10:00:05Z","agent_version":"0.1.0",
    "machine_id":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    "result":{"compliant":false,"level":"standard","policy_version":3,
      "evaluated_at":"2026-11-26T10:00:00Z","host":{"hostname":"pc1"},
      "checks":[{"id":"disk_encryption","verdict":"fail","required":true,"summary":"x",
                 "evidence":{},"remediation":"y","duration_ms":3,"future_field":1}]}})";
}

TEST(WireTest, ReportEnvelopeRoundTrips) {
  auto r = ReportEnvelope::parse(validReport());
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->sequence, 17);
  EXPECT_EQ(r->result.find("checks")->asArray()[0].find("verdict")->asString(), "fail");
  auto again = ReportEnvelope::parse(json::write(r->toJson()));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->toJson(), r->toJson());
}

TEST(WireTest, ReportEnvelopeRefusesBadFields) {
  struct Case {
    std::string from, to, message;
  } cases[] = {
      {"3f2b8c1e-5d6a-4b7c-8d9e-0a1b2c3d4e5f", "not-a-uuid", "report_id"},
      {"\"sequence\":17", "\"sequence\":0", "sequence"},
      {"\"sequence\":17", "\"sequence\":\"17\"", "sequence"},
      {"2026-11-26T10:00:05Z", "yesterday", "sent_at"},
      {"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "plain-machine-id",
       "machine_id"},
      {"\"verdict\":\"fail\"", "\"verdict\":\"ok\"", "verdict"},
      {"\"compliant\":false", "\"compliant\":\"no\"", "compliant"},
      {"\"required\":true", "\"required\":1", "required"},
      {"\"agent_version\"", "\"agent_versoin\"", "unknown field"},
  };
  for (const auto& c : cases) {
    std::string body = validReport();
    size_t pos = body.find(c.from);
    ASSERT_NE(pos, std::string::npos) << c.from;
    body.replace(pos, c.from.size(), c.to);
    auto r = ReportEnvelope::parse(body);
    ASSERT_FALSE(r.ok()) << c.to;
    EXPECT_NE(r.status().message().find(c.message), std::string::npos)
        << c.to << ": " << r.status().message();
  }
}

TEST(WireTest, BodiesAreBoundedInSizeAndDepth) {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_FALSE(ReportEnvelope::parse(deep).ok());
  std::string big = "{\"x\":\"" + std::string(kMaxBodyBytes, 'a') + "\"}";
  auto r = ReportEnvelope::parse(big);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("limit"), std::string::npos);
  EXPECT_FALSE(ReportEnvelope::parse("{\"report_id\": \"\xff\"}").ok());
  EXPECT_FALSE(ReportEnvelope::parse("{\"report_id\": ").ok());
}

// Issue 12, defect 5: a 1 MiB result of `[{},{},...]` (349,000 values, 35 MB parsed) was stored
// and parsed again on every read. A result is bounded in values and depth at ingest:
// ResourceExhausted (the server answers 413 result_too_large), naming the bound. Its bytes are the
// body's (1 MiB).
TEST(WireTest, ReportResultsAreBoundedInValuesDepthAndBytes) {
  auto withEvidence = [](const std::string& evidence) {
    std::string body = validReport();
    body.replace(body.find("\"evidence\":{}"), 13, "\"evidence\":" + evidence);
    return body;
  };
  std::string many = "[{}";
  for (size_t i = 1; i < kMaxResultValues; ++i) many += ",{}";
  many += "]";
  std::string deep = std::string(kMaxResultDepth, '[') + std::string(kMaxResultDepth, ']');
  struct Case {
    std::string evidence, message;
  } cases[] = {{many, "JSON values"}, {deep, "nests deeper"}};
  for (const auto& c : cases) {
    auto r = ReportEnvelope::parse(withEvidence(c.evidence));
    ASSERT_FALSE(r.ok()) << c.message;
    EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted) << r.status().toString();
    EXPECT_NE(r.status().message().find(c.message), std::string::npos) << r.status().toString();
  }
  // Just within every bound: stored.
  std::string within = "[{}";
  for (size_t i = 1; i < kMaxResultValues - 40; ++i) within += ",{}";
  within += "]";
  for (const auto& evidence :
       {within, std::string(kMaxResultDepth - 4, '[') + std::string(kMaxResultDepth - 4, ']'),
        "\"" + std::string(kMaxBodyBytes - 1000, 'a') + "\""}) {
    auto r = ReportEnvelope::parse(withEvidence(evidence));
    EXPECT_TRUE(r.ok()) << r.status().toString();
  }
}

TEST(WireTest, EnrollRequestValidation) {
  auto ok = EnrollRequest::parse(
      R"({"enroll_secret":"s3cret","csr":"-----BEGIN CERTIFICATE REQUEST-----","hostname":"pc1","owner":"alice@example.com"})");
  ASSERT_TRUE(ok.ok()) << ok.status().toString();
  EXPECT_EQ(ok->owner.value_or(""), "alice@example.com");
  EXPECT_FALSE(EnrollRequest::parse(R"({"enroll_secret":"s","csr":"c"})").ok());
  EXPECT_FALSE(EnrollRequest::parse(R"({"enroll_secret":"","csr":"c","hostname":"h"})").ok());
  EXPECT_FALSE(
      EnrollRequest::parse(R"({"enroll_secret":"s","csr":"c","hostname":"a\u0007b"})").ok());
  EXPECT_FALSE(
      EnrollRequest::parse(R"({"enroll_secret":"s","csr":"c","hostname":"h","admin":true})").ok());
  auto back = EnrollRequest::parse(json::write(ok->toJson()));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->hostname, "pc1");
}

TEST(WireTest, PolicyAnnouncementAndRenewalRoundTrip) {
  SignedPolicy p{"standard", 3, "eyJ9", "c2ln", "YW5u", "c2ln"};
  auto back = SignedPolicy::parse(json::write(p.toJson()));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->announcement_b64, "YW5u");
  EXPECT_EQ(back->announcement_signature_b64, "c2ln");
  // One without the other is refused.
  EXPECT_FALSE(SignedPolicy::parse(
                   R"({"level":"x","version":1,"policy":"a","signature":"b","announcement":"c"})")
                   .ok());
  PolicyAnnouncement a;
  a.next_policy_key = "-----BEGIN PUBLIC KEY-----";
  a.server_pins = {"sha256//" + std::string(44, 'A')};
  auto ab = PolicyAnnouncement::parse(json::write(a.toJson()));
  ASSERT_TRUE(ab.ok()) << ab.status().toString();
  EXPECT_EQ(ab->server_pins, a.server_pins);
  EXPECT_FALSE(PolicyAnnouncement::parse(R"({"server_pins":["md5//x"]})").ok());
  RenewResponse r{"cert", "ca", "2027-11-26T00:00:00Z", "device-ca"};
  auto rb = RenewResponse::parse(json::write(r.toJson()));
  ASSERT_TRUE(rb.ok());
  EXPECT_EQ(rb->device_ca_certificate, "device-ca");
  EXPECT_FALSE(RenewRequest::parse(R"({"csr":"x","extra":1})").ok());
}

TEST(WireTest, SignedPolicyAndEnrollResponseRoundTrip) {
  SignedPolicy p{"standard", 3, "eyJ9", "c2ln"};
  auto back = SignedPolicy::parse(json::write(p.toJson()));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->version, 3);
  EXPECT_FALSE(
      SignedPolicy::parse(R"({"level":"x","version":0,"policy":"a","signature":"b"})").ok());
  EnrollResponse e{"id", "cert", "ca", "key"};
  auto eb = EnrollResponse::parse(json::write(e.toJson()));
  ASSERT_TRUE(eb.ok());
  EXPECT_EQ(eb->policy_public_key, "key");
}

}  // namespace
}  // namespace hearth::protocol
