#include "hearth/agent/http_client.h"

#include <mutex>

#include <curl/curl.h>

namespace hearth::agent {

namespace {

std::once_flag g_curl_init;

struct Body {
  std::string data;
  size_t limit = 0;
  bool overflow = false;
};

size_t onData(char* p, size_t size, size_t n, void* user) {
  auto* b = static_cast<Body*>(user);
  size_t len = size * n;
  if (b->data.size() + len > b->limit) {
    b->overflow = true;
    return 0;  // aborts the transfer
  }
  b->data.append(p, len);
  return len;
}

class CurlClient final : public HttpClient {
 public:
  explicit CurlClient(const HttpOptions& o) : options_(o), handle_(curl_easy_init()) {}
  ~CurlClient() override {
    if (handle_ != nullptr) curl_easy_cleanup(handle_);
  }

  Status init() {
    if (handle_ == nullptr) return InternalError("curl_easy_init failed");
    if (options_.ca_file.empty() && options_.pin.empty()) {
      return InvalidArgumentError("the server must be trusted through a CA file or a key pin");
    }
    return OkStatus();
  }

  StatusOr<HttpResponse> get(const std::string& url) override { return perform(url, nullptr); }
  StatusOr<HttpResponse> postJson(const std::string& url, const std::string& body) override {
    return perform(url, &body);
  }

 private:
  StatusOr<HttpResponse> perform(const std::string& url, const std::string* post) {
    CURL* h = handle_;
    curl_easy_reset(h);  // keeps the connection and TLS session caches
    char err[CURL_ERROR_SIZE] = {};
    Body body;
    body.limit = options_.max_response_bytes;
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.ca_file.empty()) {
      curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
    } else {
      // Pin only: the chain is not checked against any store, the key is.
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(h, CURLOPT_CAPATH, nullptr);
    if (!options_.pin.empty()) curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, options_.pin.c_str());
    if (!options_.client_cert.empty()) {
      curl_easy_setopt(h, CURLOPT_SSLCERT, options_.client_cert.c_str());
      curl_easy_setopt(h, CURLOPT_SSLKEY, options_.client_key.c_str());
    }
    if (options_.proxy == "none") {
      curl_easy_setopt(h, CURLOPT_PROXY, "");
    } else if (!options_.proxy.empty()) {
      curl_easy_setopt(h, CURLOPT_PROXY, options_.proxy.c_str());
    }
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 30L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "hearth-agent/" HEARTH_VERSION);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, onData);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    struct curl_slist* headers = nullptr;
    if (post != nullptr) {
      headers = curl_slist_append(headers, "Content-Type: application/json");
      curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, post->data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post->size()));
    }
    CURLcode rc = curl_easy_perform(h);
    if (headers != nullptr) curl_slist_free_all(headers);
    std::string detail = err[0] != '\0' ? err : curl_easy_strerror(rc);
    switch (rc) {
      case CURLE_OK:
        break;
      case CURLE_WRITE_ERROR:
        if (body.overflow) {
          return ResourceExhaustedError("response from " + url + " larger than " +
                                        std::to_string(options_.max_response_bytes) + " bytes");
        }
        return UnavailableError(url + ": " + detail);
      case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        return PermissionDeniedError(url +
                                     ": the server's key does not match the pinned key "
                                     "(a TLS-intercepting proxy, or the wrong server): " +
                                     detail);
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_SSL_ISSUER_ERROR:
      case CURLE_SSL_CLIENTCERT:
        return PermissionDeniedError(url + ": TLS failed: " + detail);
      case CURLE_OPERATION_TIMEDOUT:
        return DeadlineExceededError(url + ": " + detail);
      default:
        return UnavailableError(url + ": " + detail);
    }
    HttpResponse r;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    curl_off_t retry = -1;
    if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &retry) == CURLE_OK && retry > 0) {
      r.retry_after_seconds = static_cast<long>(std::min<curl_off_t>(retry, 3600));
    }
    r.body = std::move(body.data);
    return r;
  }

  HttpOptions options_;
  CURL* handle_;
};

}  // namespace

StatusOr<std::unique_ptr<HttpClient>> HttpClient::create(const HttpOptions& options) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  auto c = std::make_unique<CurlClient>(options);
  HEARTH_RETURN_IF_ERROR(c->init());
  return std::unique_ptr<HttpClient>(std::move(c));
}

}  // namespace hearth::agent
