// HTTPS client for the agent (libcurl): the server is trusted only through the CA or public-key
// pin stored at enrolment (never the system store), TLS 1.2+, HTTPS only, bounded responses,
// connect/total/stall timeouts, proxy from configuration or the environment. HttpOptions and
// HttpResponse also travel between the root side and hearth-upload (uploader_protocol.h);
// HttpClient itself exists in hearth-upload only (agent/upload/http_client.cc).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "hearth/status.h"

namespace hearth::agent {

struct HttpOptions {
  std::string ca_file;      // PEM CA to verify the server with (may be empty if pin is set)
  std::string pin;          // "sha256//BASE64[;sha256//...]" public-key pin (may be empty)
  std::string client_cert;  // device certificate (PEM), empty for enrolment
  std::string client_key;   // device key (PEM)
  std::string proxy;        // "" = environment (https_proxy, no_proxy); "none" = no proxy
  // The same material in memory (PEM), for the unprivileged uploader, which cannot open the
  // root-owned files: used instead of the paths above when set.
  std::string ca_pem, client_cert_pem, client_key_pem;
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds total_timeout{30000};
  size_t max_response_bytes = 1 << 20;
};

struct HttpResponse {
  long status = 0;
  std::string body;
  // Seconds from Retry-After (429/503), clamped to [0, 3600]; -1 if absent.
  long retry_after_seconds = -1;
  // The server's clock: its Date header, in seconds since the epoch; 0 if absent or unreadable.
  int64_t date = 0;
};

// A plain explanation of a TLS failure that libcurl and OpenSSL describe as `detail`: a TLS
// alert from the server (it refused this PC's certificate: expired, not yet valid for the
// server's clock, an unknown CA), the server's certificate judged expired or not yet valid by
// this PC's clock, or this PC's own key or certificate unusable. "" when it is none of those.
std::string ExplainTlsFailure(const std::string& detail);

// Errors: PermissionDenied for TLS and pin failures (explained, with ExplainTlsFailure, when
// known) (a security or configuration event: never
// retry those in a tight loop), Unavailable for network failures (retry with backoff),
// DeadlineExceeded for timeouts, ResourceExhausted for an oversized response.
class HttpClient {
 public:
  static StatusOr<std::unique_ptr<HttpClient>> create(const HttpOptions& options);
  virtual ~HttpClient() = default;
  virtual StatusOr<HttpResponse> get(const std::string& url) = 0;
  virtual StatusOr<HttpResponse> postJson(const std::string& url, const std::string& body) = 0;
  // The total timeout of the requests from now on (HttpOptions::total_timeout at first).
  // Returns the one it replaces.
  virtual std::chrono::milliseconds setTotalTimeout(std::chrono::milliseconds timeout) {
    return timeout;
  }
};

}  // namespace hearth::agent
