// How the agent talks to hearth-server, as one small interface: the root side holds a
// ProcessTransport (uploader.h) that forwards each call to hearth-upload, where the HTTP transport
// (http_transport.h) makes the request. Nothing a transport returns is trusted beyond "the
// server said so".
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "hearth/agent/device_certificate.h"
#include "hearth/status.h"

namespace hearth::agent {

// What became of one POST /api/v1/reports.
struct PostResult {
  enum class Kind {
    kAccepted,    // 200/202: stored (or stored before); remove it from the spool
    kRetryLater,  // 429/503 or 5xx: keep it, wait (retry_after_seconds when the server said)
    kRefused,     // 400/413/422: the server will never take this report; keep it, stop for now
    kRetired,     // 403 with code "retired": this device is retired; stop reporting
    kAuthFailed,  // 401/403 otherwise: our certificate is not accepted
    kTlsFailure,  // TLS handshake or pin failure: a security event, never retried in a tight loop
    // 409 "sequence_reused": the server holds this device's sequence under another report_id;
    // renumber the report (next_sequence or above, same report_id) and send it again.
    kSequenceReused,
    kNetwork,  // connect/timeout/reset: retry with backoff (keep last: uploader_protocol.cc)
  };
  Kind kind = Kind::kNetwork;
  long http_status = 0;
  long retry_after_seconds = -1;  // from Retry-After, clamped to [0, 3600]; -1 when absent
  std::string error;              // for logs and status; empty when accepted
  // Accepted only: the answer's "previous_sequence", the device's highest sequence the server
  // held before this report (see docs/agent-delivery.md "After a server restore"). Absent when
  // the server does not send it (older servers) or sent something that is not a non-negative
  // integer.
  std::optional<int64_t> previous_sequence;
  // Accepted only: the answer's "fleet" object as compact JSON text (what the fleet knows about
  // the report's checks, keyed by check id: os_patches' first-seen dates of pending updates;
  // docs/policy.md "Updates already pending at first sight"), empty when the server sent none.
  std::string fleet_json;
  // Accepted only: the company's view of the device after this report (server_view.h), as
  // compact JSON text, checked; empty when the answer carried none (a duplicate, an older server).
  std::string server_view_json;
  // kSequenceReused only: one more than the highest sequence the server holds for this device.
  int64_t next_sequence = 0;
  // kNetwork only: the connection was up and the request or its answer did not get through in
  // time (a slow uplink), as opposed to a server that could not be reached at all.
  bool timed_out = false;
};

const char* PostKindName(PostResult::Kind kind);

// The server's own words for an error answer, safe to log, store in status.json and print on a
// terminal: the "error" (and "code") of its JSON body, else the start of the body; at most 200
// bytes each, with control characters (C0, DEL, C1), line separators, bidi overrides and bytes
// that are not UTF-8 replaced by spaces.
struct ServerError {
  std::string code;
  std::string message;
};
ServerError ParseServerError(const std::string& body);

// How every error about a damaged device key or certificate starts (the network side finds it;
// the root side shows it as the certificate problem in status).
inline constexpr char kCredentialsUnusable[] = "this PC's device key or certificate cannot be used";

class Transport {
 public:
  virtual ~Transport() = default;
  // POST /api/v1/reports with `envelope` exactly as spooled.
  virtual PostResult postReport(const std::string& envelope) = 0;
  // The same with a total timeout of `timeout` instead of the configured one (a report parked
  // after repeated timeouts on a slow uplink, slow_reports.h).
  virtual PostResult postReportPatiently(const std::string& envelope,
                                         std::chrono::milliseconds timeout) {
    (void)timeout;
    return postReport(envelope);
  }
  // GET /api/v1/policy: the signed policy envelope, already verified against the pinned key and
  // not older than `min_version` (the caller verifies again before use). NotFound when the server
  // has none; Unavailable/PermissionDenied as HttpClient says; FailedPrecondition("retired") when
  // the server says the device is retired.
  virtual StatusOr<std::string> fetchPolicy(int64_t min_version) = 0;
  // POST /api/v1/renew with the current certificate and a CSR for a new P-256 key for
  // `device_id`. PermissionDenied when the server (or its TLS layer) refuses the certificate
  // (e.g. expired and re-enrolment of expired certificates not allowed), FailedPrecondition
  // ("retired") for a retired device, InvalidArgument when it refused the request,
  // Unavailable otherwise. Internal where the transport cannot renew.
  virtual StatusOr<RenewedCertificate> renewCertificate(const std::string& device_id) {
    (void)device_id;
    return InternalError("this transport cannot renew certificates");
  }
  // The server's clock as of its latest answer (its Date header, seconds since the epoch), if
  // any answer carried one. Certificate renewal is judged against it (an agent clock far ahead
  // would renew on every cycle).
  virtual std::optional<int64_t> serverDate() const { return std::nullopt; }
  // The validity of the client certificate this transport presents (for a state directory made
  // before device-cert.json existed).
  virtual StatusOr<CertValidity> certificateValidity() {
    return InternalError("this transport cannot read its certificate");
  }
};

}  // namespace hearth::agent
