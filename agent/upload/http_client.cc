#include "hearth/agent/http_client.h"

#include <algorithm>
#include <mutex>
#include <string>
#include <string_view>
#include <strings.h>

#include <curl/curl.h>

#include "hearth/agent/transport.h"
#include "hearth/protocol/crypto.h"

namespace hearth::agent {

namespace {

// libcurl is linked into hearth-upload only: the root side (hearth-agent) never loads it or its
// dependency tree (GnuTLS, Kerberos, LDAP, ... about 4 MB of resident pages).
std::string g_init_error;
std::once_flag g_curl_init;

void initCurl() {
  // The blob options (in-memory keys and CA) need 7.77, CURLOPT_PROTOCOLS_STR 7.85.
  curl_version_info_data* v = curl_version_info(CURLVERSION_NOW);
  if (v == nullptr || v->version_num < 0x075500) {
    g_init_error = std::string("libcurl ") + (v ? v->version : "?") + " is too old (need 7.85)";
    return;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) g_init_error = "curl_global_init failed";
}

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

// The Date header of an answer (the server's clock), for judging certificate renewal.
size_t onHeader(char* p, size_t size, size_t n, void* user) {
  auto* date = static_cast<int64_t*>(user);
  size_t len = size * n;
  constexpr std::string_view kDate = "date:";
  std::string line(p, std::min<size_t>(len, 128));
  if (line.size() > kDate.size() && strncasecmp(line.c_str(), kDate.data(), kDate.size()) == 0) {
    time_t t = curl_getdate(line.c_str() + kDate.size(), nullptr);
    if (t > 0) *date = static_cast<int64_t>(t);
  }
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
    if (options_.ca_file.empty() && options_.ca_pem.empty() && options_.pin.empty()) {
      return InvalidArgumentError("the server must be trusted through a CA file or a key pin");
    }
    return OkStatus();
  }

  StatusOr<HttpResponse> get(const std::string& url) override { return perform(url, nullptr); }
  StatusOr<HttpResponse> postJson(const std::string& url, const std::string& body) override {
    return perform(url, &body);
  }

  std::chrono::milliseconds setTotalTimeout(std::chrono::milliseconds timeout) override {
    std::swap(options_.total_timeout, timeout);
    return timeout;
  }

 private:
  // `tls12_probe`: a GET with TLS 1.2 at most, only to learn why the server ended a TLS 1.3
  // connection (see below).
  StatusOr<HttpResponse> perform(const std::string& url, const std::string* post,
                                 bool tls12_probe = false) {
    CURL* h = handle_;
    curl_easy_reset(h);  // keeps the connection and TLS session caches
    char err[CURL_ERROR_SIZE] = {};
    Body body;
    body.limit = options_.max_response_bytes;
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
    // Every option that carries the security of the connection must take effect: a libcurl
    // that refuses one (not built in, too old) fails the request rather than running without it.
    CURLcode bad = CURLE_OK;
    auto must = [&bad](CURL* handle, CURLoption opt, auto value) {
      CURLcode r = curl_easy_setopt(handle, opt, value);
      if (r != CURLE_OK && bad == CURLE_OK) bad = r;
    };
    must(h, CURLOPT_PROTOCOLS_STR, "https");
    must(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    must(h, CURLOPT_FOLLOWLOCATION, 0L);
    const long tls12 = CURL_SSLVERSION_TLSv1_2;
    const long max_tls12 = CURL_SSLVERSION_MAX_TLSv1_2;
    must(h, CURLOPT_SSLVERSION, tls12_probe ? (tls12 | max_tls12) : tls12);
    must(h, CURLOPT_SSL_CIPHER_LIST, protocol::kTls12CipherList);
    must(h, CURLOPT_SSL_VERIFYPEER, 1L);
    must(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.ca_pem.empty()) {
      curl_blob ca{const_cast<char*>(options_.ca_pem.data()), options_.ca_pem.size(),
                   CURL_BLOB_NOCOPY};
      must(h, CURLOPT_CAINFO_BLOB, &ca);
      must(h, CURLOPT_CAINFO, nullptr);
    } else if (!options_.ca_file.empty()) {
      must(h, CURLOPT_CAINFO, options_.ca_file.c_str());
    } else {
      // Pin only: the chain is not checked against any store, the key is.
      must(h, CURLOPT_SSL_VERIFYPEER, 0L);
      must(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    must(h, CURLOPT_CAPATH, nullptr);
    if (!options_.pin.empty()) must(h, CURLOPT_PINNEDPUBLICKEY, options_.pin.c_str());
    if (!options_.client_cert_pem.empty()) {
      curl_blob cert{const_cast<char*>(options_.client_cert_pem.data()),
                     options_.client_cert_pem.size(), CURL_BLOB_NOCOPY};
      curl_blob key{const_cast<char*>(options_.client_key_pem.data()),
                    options_.client_key_pem.size(), CURL_BLOB_NOCOPY};
      must(h, CURLOPT_SSLCERT_BLOB, &cert);
      must(h, CURLOPT_SSLCERTTYPE, "PEM");
      must(h, CURLOPT_SSLKEY_BLOB, &key);
      must(h, CURLOPT_SSLKEYTYPE, "PEM");
    } else if (!options_.client_cert.empty()) {
      must(h, CURLOPT_SSLCERT, options_.client_cert.c_str());
      must(h, CURLOPT_SSLKEY, options_.client_key.c_str());
    }
    if (bad != CURLE_OK) {
      curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
      return PermissionDeniedError(url +
                                   ": libcurl refused a TLS setting: " + curl_easy_strerror(bad));
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
    int64_t date = 0;
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, onHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &date);
    struct curl_slist* headers = nullptr;
    if (post != nullptr) {
      headers = curl_slist_append(headers, "Content-Type: application/json");
      curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, post->data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post->size()));
    }
    CURLcode rc = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);  // `err` ends with this call
    if (headers != nullptr) curl_slist_free_all(headers);
    std::string detail = err[0] != '\0' ? err : curl_easy_strerror(rc);
    if (rc != CURLE_OK) {
      // A TLS alert or certificate verdict arrives as a handshake error, or (TLS 1.3: the
      // server judges the client certificate after the handshake) as a failed send or receive.
      if (std::string why = ExplainTlsFailure(detail); !why.empty()) {
        return PermissionDeniedError(url + ": " + why + " (" + detail + ")");
      }
      // With TLS 1.3 a server that refuses this PC's certificate ends the connection after the
      // handshake in a way OpenSSL reports without the alert ("SSL_write() error: ... bad write
      // retry", "getpeername() failed"). The same handshake in TLS 1.2 carries the server's
      // alert: one probe (a GET, nothing sent) tells it. A reset or a broken pipe is the
      // network: no probe.
      const bool lost = detail.find("reset") != std::string::npos ||
                        detail.find("Broken pipe") != std::string::npos;
      if (!tls12_probe && !lost &&
          (rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING) &&
          (!options_.client_cert_pem.empty() || !options_.client_cert.empty())) {
        auto probe = perform(url, nullptr, true);
        if (!probe.ok() && probe.status().code() == StatusCode::kPermissionDenied) {
          return probe.status();
        }
      }
    }
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
      case CURLE_SSL_CONNECT_ERROR: {
        // A reset or close during the handshake is the network, not a trust problem (a wrong CA
        // or key ends in PEER_FAILED_VERIFICATION / PINNEDPUBKEYNOTMATCH with no OS error).
        long os_errno = 0;
        curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno != 0 || detail.find("SSL_ERROR_SYSCALL") != std::string::npos) {
          return UnavailableError(url + ": connection lost during the TLS handshake: " + detail);
        }
        return PermissionDeniedError(url + ": TLS failed: " + detail);
      }
      case CURLE_SSL_ISSUER_ERROR:
      case CURLE_SSL_CLIENTCERT:
        return PermissionDeniedError(url + ": TLS failed: " + detail);
      case CURLE_OPERATION_TIMEDOUT: {
        // Connected (TCP and TLS) and then too slow: DeadlineExceeded, which the delivery loop
        // counts per report (a slow uplink). Not even connected: the server is unreachable.
        curl_off_t connected_us = 0;
        curl_easy_getinfo(h, CURLINFO_APPCONNECT_TIME_T, &connected_us);
        if (connected_us <= 0) {
          return UnavailableError(url + ": could not connect in time: " + detail);
        }
        return DeadlineExceededError(url + ": timed out: " + detail);
      }
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
    r.date = date;
    return r;
  }

  HttpOptions options_;
  CURL* handle_;
};

}  // namespace

std::string ExplainTlsFailure(const std::string& detail) {
  struct Known {
    const char* text;  // as OpenSSL says it (case as is)
    const char* why;
  };
  static constexpr Known kKnown[] = {
      {"alert certificate expired",
       "the server refused this PC's certificate as expired (TLS alert certificate_expired): if "
       "it has expired, the PC must be enrolled again; if it has not, the server's clock is "
       "probably wrong (ask IT to check the server's time)"},
      {"alert bad certificate",
       "the server refused this PC's certificate (TLS alert bad_certificate): most often the "
       "server's clock is behind, so that the certificate is not valid yet for it (ask IT to "
       "check the server's time); otherwise the certificate is damaged and the PC must be "
       "enrolled again"},
      {"alert unknown ca",
       "the server does not know the authority that issued this PC's certificate (TLS alert "
       "unknown_ca): the company replaced its device CA; the PC must be enrolled again"},
      {"alert certificate revoked",
       "the server says this PC's certificate is revoked (TLS alert certificate_revoked): the "
       "PC must be enrolled again"},
      {"alert certificate required",
       "the server asked for this PC's certificate and got none it accepts (TLS alert "
       "certificate_required): the PC must be enrolled again"},
      {"certificate has expired",
       "the server's certificate has expired by this PC's clock: either this PC's clock is "
       "ahead (check the date and time) or the company must renew its server certificate"},
      {"certificate is not yet valid",
       "the server's certificate is not valid yet by this PC's clock: this PC's clock is "
       "probably behind (check the date and time)"},
      {"unable to set private key file", kCredentialsUnusable},
      {"unable to use client certificate", kCredentialsUnusable},
      {"could not load PEM client certificate", kCredentialsUnusable},
  };
  for (const Known& k : kKnown) {
    if (detail.find(k.text) == std::string::npos) continue;
    if (k.why == kCredentialsUnusable) {
      return std::string(kCredentialsUnusable) +
             ": they are damaged or do not belong together. Enrol this PC again to get a new "
             "key and certificate: ask IT for an enrolment secret and run `hearth-agent enroll`";
    }
    return k.why;
  }
  return "";
}

StatusOr<std::unique_ptr<HttpClient>> HttpClient::create(const HttpOptions& options) {
  std::call_once(g_curl_init, initCurl);
  if (!g_init_error.empty()) return UnavailableError(g_init_error);
  auto c = std::make_unique<CurlClient>(options);
  HEARTH_RETURN_IF_ERROR(c->init());
  return std::unique_ptr<HttpClient>(std::move(c));
}

}  // namespace hearth::agent
