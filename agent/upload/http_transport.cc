// The network side's Transport over HttpClient, and the mapping of HTTP answers and client errors
// to what the delivery loop does next (see http_transport.h).
#include "hearth/agent/http_transport.h"

#include <algorithm>
#include <utility>

#include "hearth/agent/network_side.h"
#include "hearth/agent/server_view.h"
#include "hearth/json.h"
#include "hearth/protocol/crypto.h"
#include "hearth/protocol/wire.h"

namespace hearth::agent {

namespace {

// 409 {"error": "sequence_reused", "next_sequence": N}: N (> 0), else 0.
int64_t sequenceReused(const std::string& body) {
  auto v = json::parse(body, {.max_depth = 8, .max_bytes = 64 * 1024});
  if (!v.ok() || !v->isObject()) return 0;
  const json::Value* code = v->find("code");
  const json::Value* error = v->find("error");
  bool reused = (code != nullptr && code->isString() && code->asString() == "sequence_reused") ||
                (error != nullptr && error->isString() && error->asString() == "sequence_reused");
  const json::Value* next = v->find("next_sequence");
  if (!reused || next == nullptr || !next->isInt() || next->asInt() < 1) return 0;
  return next->asInt();
}

bool isRetired(const ServerError& e) {
  // "code" is the contract; the message text is what servers before it said.
  return e.code == "retired" || e.message.find("device is retired") != std::string::npos;
}

CertValidity validityOf(const protocol::CertificateInfo& info) {
  CertValidity v;
  v.not_before =
      std::chrono::duration_cast<std::chrono::seconds>(info.not_before.time_since_epoch()).count();
  v.not_after =
      std::chrono::duration_cast<std::chrono::seconds>(info.not_after.time_since_epoch()).count();
  return v;
}

// Which request failed: they read some answers differently.
enum class Request { kPolicy, kRenewal };

// The Status of a policy fetch or a renewal that did not succeed (`response` classified as
// ClassifyPost does): FailedPrecondition "retired" for a retired device, PermissionDenied when the
// server refused the credentials, Unavailable for the rest; a renewal also reads a TLS failure as
// refused credentials (PermissionDenied) and a refused request as InvalidArgument.
Status failureOf(Request request, const std::string& url, const StatusOr<HttpResponse>& response) {
  PostResult r = ClassifyPost(response);
  std::string what = url + ": " + r.error;
  const bool renewal = request == Request::kRenewal;
  switch (r.kind) {
    case PostResult::Kind::kRetired:
      return FailedPreconditionError("retired");
    case PostResult::Kind::kAuthFailed:
      return PermissionDeniedError(what);
    case PostResult::Kind::kTlsFailure:
      return renewal ? PermissionDeniedError(what) : UnavailableError(what);
    case PostResult::Kind::kRefused:
      return renewal ? InvalidArgumentError(what) : UnavailableError(what);
    default:
      return UnavailableError(what);
  }
}

class HttpTransport final : public Transport {
 public:
  HttpTransport(std::unique_ptr<HttpClient> client, std::string server, std::string key_pem,
                std::string cert_pem)
      : client_(std::move(client)),
        server_(std::move(server)),
        key_pem_(std::move(key_pem)),
        cert_pem_(std::move(cert_pem)) {
    while (!server_.empty() && server_.back() == '/') server_.pop_back();
  }

  PostResult postReport(const std::string& envelope) override {
    return ClassifyPost(noteDate(client_->postJson(server_ + "/api/v1/reports", envelope)));
  }

  PostResult postReportPatiently(const std::string& envelope,
                                 std::chrono::milliseconds timeout) override {
    const std::chrono::milliseconds usual = client_->setTotalTimeout(timeout);
    PostResult r = postReport(envelope);
    client_->setTotalTimeout(usual);
    return r;
  }

  std::optional<int64_t> serverDate() const override { return date_; }

  StatusOr<std::string> fetchPolicy(int64_t min_version) override {
    const std::string url = server_ + "/api/v1/policy";
    auto response = noteDate(client_->get(url));
    if (!response.ok()) return response.status();
    if (response->status == 200) {
      auto verified = VerifySignedPolicy(response->body, key_pem_, min_version);
      if (!verified.ok()) return verified.status().withContext(url);
      return std::move(response->body);
    }
    if (response->status == 404) {
      return NotFoundError(url + ": the server has no policy for this device's level");
    }
    return failureOf(Request::kPolicy, url, response);
  }

  StatusOr<RenewedCertificate> renewCertificate(const std::string& device_id) override {
    const std::string url = server_ + "/api/v1/renew";
    HEARTH_ASSIGN_OR_RETURN(protocol::Key key, protocol::Key::generateP256());
    HEARTH_ASSIGN_OR_RETURN(std::string csr, protocol::MakeCsr(key, device_id));
    protocol::RenewRequest req;
    req.csr = csr;
    auto response = noteDate(client_->postJson(url, json::write(req.toJson())));
    if (response.ok() && response->status == 200) {
      auto rr = protocol::RenewResponse::parse(response->body);
      if (!rr.ok()) return DataLossError(url + ": " + rr.status().message());
      auto info = protocol::ParseCertificate(rr->certificate);
      HEARTH_ASSIGN_OR_RETURN(std::string public_pem, key.publicPem());
      // The certificate must carry the new key and this device's id.
      if (!info.ok() || info->public_key_pem != public_pem || info->common_name != device_id) {
        return DataLossError(url + ": the server's certificate does not match the new key");
      }
      RenewedCertificate out;
      HEARTH_ASSIGN_OR_RETURN(out.key_pem, key.privatePem());
      out.cert_pem = std::move(rr->certificate);
      out.ca_pem = std::move(rr->ca_certificate);
      out.validity = validityOf(*info);
      return out;
    }
    return failureOf(Request::kRenewal, url, response);
  }

  StatusOr<CertValidity> certificateValidity() override {
    if (cert_pem_.empty()) return InternalError("no client certificate given");
    HEARTH_ASSIGN_OR_RETURN(protocol::CertificateInfo info, protocol::ParseCertificate(cert_pem_));
    return validityOf(info);
  }

 private:
  StatusOr<HttpResponse> noteDate(StatusOr<HttpResponse> response) {
    if (response.ok() && response->date > 0) date_ = response->date;
    return response;
  }

  std::unique_ptr<HttpClient> client_;
  std::optional<int64_t> date_;
  std::string server_;
  std::string key_pem_;
  std::string cert_pem_;
};

}  // namespace

// An acknowledgement is small: its sequence numbers and the fleet's dates (the server keeps
// those under 64 KiB).
constexpr size_t kMaxAckBytes = 128 * 1024;

PostResult ClassifyPost(const StatusOr<HttpResponse>& response) {
  using Kind = PostResult::Kind;
  PostResult r;
  if (!response.ok()) {
    const Status& s = response.status();
    // PermissionDenied is how HttpClient reports a TLS handshake, certificate or pin failure.
    r.kind = s.code() == StatusCode::kPermissionDenied ? Kind::kTlsFailure : Kind::kNetwork;
    r.error = s.message().empty() ? std::string(statusCodeName(s.code())) : s.message();
    // HttpClient says DeadlineExceeded only when the connection was up (http_client.h).
    r.timed_out = s.code() == StatusCode::kDeadlineExceeded;
    return r;
  }
  const long status = response->status;
  r.http_status = status;
  if (status == 200 || status == 202) {
    r.kind = Kind::kAccepted;
    auto v = json::parse(response->body, {.max_depth = 8, .max_bytes = kMaxAckBytes});
    if (v.ok() && v->isObject()) {
      const json::Value* p = v->find("previous_sequence");
      if (p != nullptr && p->isInt() && p->asInt() >= 0) r.previous_sequence = p->asInt();
      const json::Value* fleet = v->find("fleet");
      if (fleet != nullptr && fleet->isObject()) r.fleet_json = json::write(*fleet);
      if (auto view = ServerViewFromAck(*v)) r.server_view_json = json::write(*view);
    }
    return r;
  }
  ServerError e = ParseServerError(response->body);
  r.error = "HTTP " + std::to_string(status) + (e.message.empty() ? "" : ": " + e.message);
  switch (status) {
    case 400:
    case 413:
    case 422:
      r.kind = Kind::kRefused;
      return r;
    case 401:
      r.kind = Kind::kAuthFailed;
      return r;
    case 403:
      r.kind = isRetired(e) ? Kind::kRetired : Kind::kAuthFailed;
      return r;
    case 409:
      if (int64_t next = sequenceReused(response->body); next > 0) {
        r.kind = Kind::kSequenceReused;
        r.next_sequence = next;
        return r;
      }
      break;
    default:
      break;
  }
  // 408, 429, every 5xx, and anything this agent does not know (a redirect, 404 from a wrong
  // URL, another 2xx): keep the report and try again later; it is never removed on a guess.
  r.kind = Kind::kRetryLater;
  if (response->retry_after_seconds >= 0) {
    r.retry_after_seconds = std::clamp(response->retry_after_seconds, 0L, 3600L);
  }
  return r;
}

std::unique_ptr<Transport> NewHttpTransport(std::unique_ptr<HttpClient> client, std::string server,
                                            std::string signing_public_key_pem,
                                            std::string client_cert_pem) {
  return std::make_unique<HttpTransport>(std::move(client), std::move(server),
                                         std::move(signing_public_key_pem),
                                         std::move(client_cert_pem));
}

}  // namespace hearth::agent
