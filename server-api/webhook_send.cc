// Webhook deliveries over HTTP(S) with libcurl, on a handle kept between them (its connection
// cache gives keep-alive and TLS session reuse): TLS 1.2 or later against the system's trust
// store (and an extra CA bundle when configured), the peer and its name verified, no redirects,
// bounded time and a bounded read of the answer. Never logs or returns the URL or the secret.
#include <chrono>
#include <string>
#include <utility>

#include <curl/curl.h>

#include "hearth/server/webhooks.h"

namespace hearth::server {

namespace {

struct Answer {
  size_t bytes = 0;
};

// Reads at most kMaxResponseBytes of the answer (nothing of it is kept: the status is what
// counts); beyond that the transfer is cut (curl then reports a write error after the status).
size_t discard(char*, size_t size, size_t n, void* user) {
  auto* answer = static_cast<Answer*>(user);
  answer->bytes += size * n;
  if (answer->bytes > WebhookSenderOptions::kMaxResponseBytes) return 0;
  return size * n;
}

}  // namespace

WebhookClient::WebhookClient(WebhookSenderOptions options) : options_(std::move(options)) {}

WebhookClient::~WebhookClient() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

DeliveryAttempt WebhookClient::send(const std::string& url, const std::string& secret,
                                    int64_t delivery_id, const std::string& body) {
  const WebhookSenderOptions& options = options_;
  DeliveryAttempt attempt;
  auto now = std::chrono::system_clock::now();
  attempt.at = now;
  int64_t timestamp =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (curl_ == nullptr) curl_ = curl_easy_init();
  auto* curl = static_cast<CURL*>(curl_);
  if (curl == nullptr) {
    attempt.error = "cannot make an HTTP client (out of memory)";
    return attempt;
  }
  // The options of the previous delivery are forgotten; its connection (and TLS session) is
  // kept for this one when it goes to the same receiver.
  curl_easy_reset(curl);
  curl_slist* headers = nullptr;
  for (const std::string& h :
       {std::string("Content-Type: application/json"), std::string("User-Agent: hearth-server"),
        "X-Hearth-Delivery: " + std::to_string(delivery_id),
        "X-Hearth-Timestamp: " + std::to_string(timestamp),
        "X-Hearth-Signature: sha256=" + WebhookSignature(secret, timestamp, body),
        std::string("Expect:")}) {
    headers = curl_slist_append(headers, h.c_str());
  }
  Answer answer;
  char error[CURL_ERROR_SIZE] = {0};
  long timeout_ms = static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(options.timeout).count());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options.extra_ca_file.empty()) {
    // An internal CA: trusted beside the system's store (curl's CAINFO replaces the default
    // bundle, so the system's stays as the CA path).
    curl_easy_setopt(curl, CURLOPT_CAINFO, options.extra_ca_file.c_str());
    curl_easy_setopt(curl, CURLOPT_CAPATH, "/etc/ssl/certs");
  }
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::min(5000L, timeout_ms));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  // Nothing of this call stays pointed at by the handle kept for the next one.
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, nullptr);
  curl_slist_free_all(headers);
  if (status != 0) attempt.http_status = status;
  // An answer cut after its status (too long) still counts by its status.
  bool answered = code == CURLE_OK || (code == CURLE_WRITE_ERROR && status != 0);
  if (answered && status >= 200 && status < 300) {
    attempt.delivered = true;
    return attempt;
  }
  if (answered) {
    attempt.error = "HTTP " + std::to_string(status);
  } else {
    attempt.error = error[0] != 0 ? std::string(error) : std::string(curl_easy_strerror(code));
  }
  return attempt;
}

}  // namespace hearth::server
