// What the agent makes of each server answer and client error (ClassifyPost), and the HTTP
// transport's requests and policy verification, against a hand-written HttpClient fake.
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hearth/agent/http_transport.h"
#include "hearth/agent/uploader_protocol.h"
#include "hearth/json.h"
#include "hearth/protocol/crypto.h"
#include "hearth/protocol/wire.h"

namespace hearth::agent {
namespace {

using Kind = PostResult::Kind;

HttpResponse answer(long status, std::string body = "", long retry_after = -1) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.retry_after_seconds = retry_after;
  return r;
}

TEST(ClassifyPostTest, AcknowledgedReportsAreAccepted) {
  for (long status : {200L, 202L}) {
    PostResult r = ClassifyPost(answer(status, R"({"status":"stored"})"));
    EXPECT_EQ(r.kind, Kind::kAccepted) << status;
    EXPECT_EQ(r.http_status, status);
    EXPECT_TRUE(r.error.empty());
  }
}

TEST(ClassifyPostTest, AnAcknowledgementCarriesTheServersPreviousSequenceWhenItSaysSo) {
  PostResult r =
      ClassifyPost(answer(202, R"({"report_id":"x","status":"stored","previous_sequence":41})"));
  EXPECT_EQ(r.kind, Kind::kAccepted);
  ASSERT_TRUE(r.previous_sequence.has_value());
  EXPECT_EQ(*r.previous_sequence, 41);
  EXPECT_EQ(*ClassifyPost(answer(200, R"({"status":"duplicate","previous_sequence":0})"))
                 .previous_sequence,
            0);
  // An older server (no field) or a value that is not a non-negative integer: nothing.
  for (const char* body :
       {R"({"report_id":"x","status":"stored"})", R"({"previous_sequence":-1})",
        R"({"previous_sequence":"7"})", R"({"previous_sequence":1.5})", "not json", ""}) {
    PostResult old = ClassifyPost(answer(202, body));
    EXPECT_EQ(old.kind, Kind::kAccepted) << body;
    EXPECT_FALSE(old.previous_sequence.has_value()) << body;
  }
  // Never taken from an answer that is not an acknowledgement.
  EXPECT_FALSE(
      ClassifyPost(answer(503, R"({"error":"busy","previous_sequence":3})")).previous_sequence);
}

TEST(ClassifyPostTest, AnAcknowledgementCarriesTheFleetsDatesAcrossTheUploaderFrame) {
  const std::string fleet =
      R"({"os_patches":{"first_seen":[{"name":"openssl","candidate":"3.0.15-1~deb12u1",)"
      R"("first_seen":"2026-11-02T09:00:00Z"}]}})";
  PostResult r = ClassifyPost(answer(
      202, R"({"report_id":"x","status":"stored","previous_sequence":4,"fleet":)" + fleet + "}"));
  EXPECT_EQ(r.kind, Kind::kAccepted);
  EXPECT_EQ(*r.previous_sequence, 4);
  EXPECT_EQ(r.fleet_json, json::write(*json::parse(fleet)));
  // Through hearth-upload's answer frame to the root side (frames nest 4 deep: it goes as text).
  PostResult back = uploader::PostFromAnswer(uploader::PostAnswer(r));
  EXPECT_EQ(back.fleet_json, r.fleet_json);
  EXPECT_EQ(*back.previous_sequence, 4);
  // An older server (no field), or something else than an object: nothing, the rest as before.
  for (const char* body : {R"({"status":"stored","previous_sequence":2})",
                           R"({"status":"stored","previous_sequence":2,"fleet":[1]})",
                           R"({"status":"stored","previous_sequence":2,"fleet":"x"})"}) {
    PostResult old = ClassifyPost(answer(202, body));
    EXPECT_EQ(old.kind, Kind::kAccepted) << body;
    EXPECT_EQ(*old.previous_sequence, 2) << body;
    EXPECT_TRUE(old.fleet_json.empty()) << body;
  }
  // Never taken from an answer that is not an acknowledgement.
  PostResult busy = ClassifyPost(answer(503, R"({"error":"busy","fleet":{}})"));
  EXPECT_TRUE(uploader::PostFromAnswer(uploader::PostAnswer(busy)).fleet_json.empty());
}

TEST(ClassifyPostTest, OverloadAndServerErrorsAreRetriedLaterWithRetryAfter) {
  for (long status : {429L, 500L, 502L, 503L, 504L}) {
    PostResult r = ClassifyPost(answer(status, R"({"error":"busy"})", 30));
    EXPECT_EQ(r.kind, Kind::kRetryLater) << status;
    EXPECT_EQ(r.retry_after_seconds, 30) << status;
    EXPECT_EQ(r.error, "HTTP " + std::to_string(status) + ": busy");
  }
  PostResult absent = ClassifyPost(answer(503, ""));
  EXPECT_EQ(absent.kind, Kind::kRetryLater);
  EXPECT_EQ(absent.retry_after_seconds, -1);
  EXPECT_EQ(ClassifyPost(answer(429, "", 999999)).retry_after_seconds, 3600);
}

TEST(ClassifyPostTest, ReportsTheServerWillNeverTakeAreRefused) {
  for (long status : {400L, 413L, 422L}) {
    PostResult r = ClassifyPost(answer(status, R"({"error":"sequence must be positive"})"));
    EXPECT_EQ(r.kind, Kind::kRefused) << status;
    EXPECT_NE(r.error.find("sequence must be positive"), std::string::npos);
  }
}

TEST(ClassifyPostTest, RetiredDeviceIsRecognisedByCodeOrByTheOlderMessage) {
  EXPECT_EQ(ClassifyPost(answer(403, R"({"error":"gone","code":"retired"})")).kind, Kind::kRetired);
  EXPECT_EQ(
      ClassifyPost(answer(403, R"({"error":"device is retired; enrol again to report"})")).kind,
      Kind::kRetired);
}

TEST(ClassifyPostTest, OtherAuthorisationAnswersAreAuthFailures) {
  EXPECT_EQ(ClassifyPost(answer(401, R"({"error":"client certificate required"})")).kind,
            Kind::kAuthFailed);
  PostResult r = ClassifyPost(answer(403, R"({"error":"unknown device","code":"unknown_device"})"));
  EXPECT_EQ(r.kind, Kind::kAuthFailed);
  EXPECT_EQ(r.error, "HTTP 403: unknown device");
  // "retired" only counts in the server's own fields, not anywhere in the body.
  EXPECT_EQ(ClassifyPost(answer(401, R"({"error":"device is retired"})")).kind, Kind::kAuthFailed);
}

TEST(ClassifyPostTest, UnexpectedAnswersKeepTheReport) {
  for (long status : {201L, 204L, 301L, 404L, 408L, 409L}) {
    EXPECT_EQ(ClassifyPost(answer(status)).kind, Kind::kRetryLater) << status;
  }
}

TEST(ClassifyPostTest, ClientErrorsMapToTlsOrNetwork) {
  PostResult tls = ClassifyPost(PermissionDeniedError("https://x: TLS failed: unknown CA"));
  EXPECT_EQ(tls.kind, Kind::kTlsFailure);
  EXPECT_NE(tls.error.find("TLS failed"), std::string::npos);
  EXPECT_EQ(ClassifyPost(PermissionDeniedError("key does not match the pinned key")).kind,
            Kind::kTlsFailure);
  EXPECT_EQ(ClassifyPost(UnavailableError("Connection refused")).kind, Kind::kNetwork);
  EXPECT_EQ(ClassifyPost(DeadlineExceededError("timed out")).kind, Kind::kNetwork);
  EXPECT_EQ(ClassifyPost(ResourceExhaustedError("response too large")).kind, Kind::kNetwork);
}

TEST(ClassifyPostTest, ServerTextInErrorsIsBoundedAndPrintable) {
  std::string body(5000, 'x');
  body[10] = '\n';
  body[11] = '\x1b';
  PostResult r = ClassifyPost(answer(500, body));
  EXPECT_LE(r.error.size(), 220u);
  EXPECT_EQ(r.error.find('\n'), std::string::npos);
  EXPECT_EQ(r.error.find('\x1b'), std::string::npos);
}

TEST(PostKindNameTest, NamesEveryKind) {
  EXPECT_STREQ(PostKindName(Kind::kAccepted), "accepted");
  EXPECT_STREQ(PostKindName(Kind::kRetryLater), "retry_later");
  EXPECT_STREQ(PostKindName(Kind::kRefused), "refused");
  EXPECT_STREQ(PostKindName(Kind::kRetired), "retired");
  EXPECT_STREQ(PostKindName(Kind::kAuthFailed), "auth_failed");
  EXPECT_STREQ(PostKindName(Kind::kTlsFailure), "tls_failure");
  EXPECT_STREQ(PostKindName(Kind::kNetwork), "network");
}

// Records requests; answers from a queue.
class FakeHttpClient : public HttpClient {
 public:
  struct Request {
    std::string method, url, body;
  };
  std::vector<Request>* requests;
  std::deque<StatusOr<HttpResponse>>* answers;

  StatusOr<HttpResponse> get(const std::string& url) override { return next({"GET", url, ""}); }
  StatusOr<HttpResponse> postJson(const std::string& url, const std::string& body) override {
    return next({"POST", url, body});
  }

 private:
  StatusOr<HttpResponse> next(Request r) {
    requests->push_back(std::move(r));
    if (answers->empty()) return UnavailableError("no answer queued");
    auto a = std::move(answers->front());
    answers->pop_front();
    return a;
  }
};

class HttpTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = protocol::Key::generateEd25519();
    ASSERT_TRUE(key.ok());
    signing_ = std::move(key).value();
    public_pem_ = *signing_.publicPem();
    auto client = std::make_unique<FakeHttpClient>();
    client->requests = &requests_;
    client->answers = &answers_;
    transport_ = NewHttpTransport(std::move(client), "https://hearth.example:8443/", public_pem_);
  }

  std::string signedPolicy(int64_t version, const protocol::Key& key) {
    std::string doc = R"({"level":"standard","version":)" + std::to_string(version) +
                      R"(,"checks":{"disk_encryption":{"required":true}}})";
    protocol::SignedPolicy sp;
    sp.level = "standard";
    sp.version = version;
    sp.policy_b64 = protocol::Base64Encode(doc);
    sp.signature_b64 = *protocol::SignEd25519(key, doc);
    return json::write(sp.toJson());
  }

  protocol::Key signing_;
  std::string public_pem_;
  std::vector<FakeHttpClient::Request> requests_;
  std::deque<StatusOr<HttpResponse>> answers_;
  std::unique_ptr<Transport> transport_;
};

TEST_F(HttpTransportTest, PostsTheEnvelopeUnchangedToTheReportsEndpoint) {
  answers_.push_back(answer(202, R"({"status":"stored"})"));
  const std::string envelope = R"({"report_id":"x","sequence":1})";
  PostResult r = transport_->postReport(envelope);
  EXPECT_EQ(r.kind, Kind::kAccepted);
  ASSERT_EQ(requests_.size(), 1u);
  EXPECT_EQ(requests_[0].method, "POST");
  EXPECT_EQ(requests_[0].url, "https://hearth.example:8443/api/v1/reports");
  EXPECT_EQ(requests_[0].body, envelope);
}

TEST_F(HttpTransportTest, FetchPolicyReturnsTheVerifiedEnvelope) {
  std::string envelope = signedPolicy(3, signing_);
  answers_.push_back(answer(200, envelope));
  auto p = transport_->fetchPolicy(2);
  ASSERT_TRUE(p.ok()) << p.status().toString();
  EXPECT_EQ(*p, envelope);
  ASSERT_EQ(requests_.size(), 1u);
  EXPECT_EQ(requests_[0].method, "GET");
  EXPECT_EQ(requests_[0].url, "https://hearth.example:8443/api/v1/policy");
}

TEST_F(HttpTransportTest, FetchPolicyRefusesWrongKeyTamperedAndOlderPolicies) {
  auto other = protocol::Key::generateEd25519();
  ASSERT_TRUE(other.ok());
  answers_.push_back(answer(200, signedPolicy(3, *other)));
  auto wrong_key = transport_->fetchPolicy(1);
  EXPECT_EQ(wrong_key.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(wrong_key.status().message().find("signature"), std::string::npos);

  std::string tampered = signedPolicy(3, signing_);
  auto v = *json::parse(tampered);
  std::string doc = R"({"level":"standard","version":3,"checks":{}})";
  v.set("policy", protocol::Base64Encode(doc));
  answers_.push_back(answer(200, json::write(v)));
  EXPECT_EQ(transport_->fetchPolicy(1).status().code(), StatusCode::kPermissionDenied);

  answers_.push_back(answer(200, signedPolicy(2, signing_)));
  auto older = transport_->fetchPolicy(3);
  EXPECT_EQ(older.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(older.status().message().find("older"), std::string::npos);
}

TEST_F(HttpTransportTest, FetchPolicyMapsServerAnswers) {
  answers_.push_back(answer(404, R"({"error":"no policy"})"));
  EXPECT_EQ(transport_->fetchPolicy(0).status().code(), StatusCode::kNotFound);
  answers_.push_back(answer(403, R"({"error":"device is retired","code":"retired"})"));
  auto retired = transport_->fetchPolicy(0);
  EXPECT_EQ(retired.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(retired.status().message(), "retired");
  answers_.push_back(answer(403, R"({"error":"unknown device"})"));
  EXPECT_EQ(transport_->fetchPolicy(0).status().code(), StatusCode::kPermissionDenied);
  answers_.push_back(answer(503, R"({"error":"database unavailable"})", 5));
  EXPECT_EQ(transport_->fetchPolicy(0).status().code(), StatusCode::kUnavailable);
  answers_.push_back(PermissionDeniedError("TLS failed: unknown CA"));
  EXPECT_EQ(transport_->fetchPolicy(0).status().code(), StatusCode::kPermissionDenied);
  answers_.push_back(DeadlineExceededError("timed out"));
  EXPECT_EQ(transport_->fetchPolicy(0).status().code(), StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace hearth::agent
