#include "hearth/agent/http_client.h"

#include <cstdlib>
#include <dlfcn.h>
#include <mutex>
#include <string>

#include <curl/curl.h>

namespace hearth::agent {

namespace {

// libcurl is loaded at run time, not linked: the root daemon never needs it (only the uploader
// process and `enroll` talk HTTPS), and linking it would load its whole dependency tree (GnuTLS,
// Kerberos, LDAP, ... about 4 MB of resident pages) into every agent process.
struct CurlApi {
  CURLcode (*global_init)(long);
  CURL* (*easy_init)();
  void (*cleanup)(CURL*);
  void (*reset)(CURL*);
  CURLcode (*setopt)(CURL*, CURLoption, ...);
  CURLcode (*perform)(CURL*);
  CURLcode (*getinfo)(CURL*, CURLINFO, ...);
  const char* (*strerror)(CURLcode);
  curl_slist* (*slist_append)(curl_slist*, const char*);
  void (*slist_free_all)(curl_slist*);
  curl_version_info_data* (*version_info)(CURLversion);
};

CurlApi g_api;
std::string g_load_error;
std::once_flag g_curl_init;

const CurlApi& api() { return g_api; }

template <typename F>
bool bind(void* lib, const char* name, F* out) {
  *out = reinterpret_cast<F>(::dlsym(lib, name));
  if (*out == nullptr) g_load_error = std::string("libcurl lacks ") + name;
  return *out != nullptr;
}

void loadCurl() {
  // Debian's libcurl4 (OpenSSL) also pulls in GnuTLS (through librtmp), whose constructor
  // initialises it, p11-kit modules included, although curl never uses it here: about 0.6 MiB of
  // the uploader's memory for nothing. GnuTLS skips that implicit initialisation when this is set
  // while it loads; it is set only for the dlopen(), so nothing this process starts inherits it.
  bool had_gnutls_env = ::getenv("GNUTLS_NO_IMPLICIT_INIT") != nullptr;
  if (!had_gnutls_env) ::setenv("GNUTLS_NO_IMPLICIT_INIT", "1", 0);
  void* lib = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (!had_gnutls_env) ::unsetenv("GNUTLS_NO_IMPLICIT_INIT");
  if (lib == nullptr) {
    const char* e = ::dlerror();
    g_load_error = std::string("cannot load libcurl.so.4 (install libcurl4): ") + (e ? e : "");
    return;
  }
  CurlApi a{};
  if (!bind(lib, "curl_global_init", &a.global_init) ||
      !bind(lib, "curl_easy_init", &a.easy_init) || !bind(lib, "curl_easy_cleanup", &a.cleanup) ||
      !bind(lib, "curl_easy_reset", &a.reset) || !bind(lib, "curl_easy_setopt", &a.setopt) ||
      !bind(lib, "curl_easy_perform", &a.perform) || !bind(lib, "curl_easy_getinfo", &a.getinfo) ||
      !bind(lib, "curl_easy_strerror", &a.strerror) ||
      !bind(lib, "curl_slist_append", &a.slist_append) ||
      !bind(lib, "curl_slist_free_all", &a.slist_free_all) ||
      !bind(lib, "curl_version_info", &a.version_info)) {
    return;
  }
  // The blob options (in-memory keys and CA) need 7.77.
  curl_version_info_data* v = a.version_info(CURLVERSION_NOW);
  // CURLOPT_PROTOCOLS_STR needs 7.85 (the blob options 7.77).
  if (v == nullptr || v->version_num < 0x075500) {
    g_load_error = std::string("libcurl ") + (v ? v->version : "?") + " is too old (need 7.85)";
    return;
  }
  if (a.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    g_load_error = "curl_global_init failed";
    return;
  }
  g_api = a;
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

class CurlClient final : public HttpClient {
 public:
  explicit CurlClient(const HttpOptions& o) : options_(o), handle_(api().easy_init()) {}
  ~CurlClient() override {
    if (handle_ != nullptr) api().cleanup(handle_);
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

 private:
  StatusOr<HttpResponse> perform(const std::string& url, const std::string* post) {
    CURL* h = handle_;
    api().reset(h);  // keeps the connection and TLS session caches
    char err[CURL_ERROR_SIZE] = {};
    Body body;
    body.limit = options_.max_response_bytes;
    api().setopt(h, CURLOPT_URL, url.c_str());
    api().setopt(h, CURLOPT_ERRORBUFFER, err);
    // Every option that carries the security of the connection must take effect: a libcurl
    // that refuses one (not built in, too old) fails the request rather than running without it.
    CURLcode bad = CURLE_OK;
    auto must = [&bad](CURL* handle, CURLoption opt, auto value) {
      CURLcode r = api().setopt(handle, opt, value);
      if (r != CURLE_OK && bad == CURLE_OK) bad = r;
    };
    must(h, CURLOPT_PROTOCOLS_STR, "https");
    must(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    must(h, CURLOPT_FOLLOWLOCATION, 0L);
    must(h, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
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
      api().setopt(h, CURLOPT_ERRORBUFFER, nullptr);
      return PermissionDeniedError(url + ": libcurl refused a TLS setting: " + api().strerror(bad));
    }
    if (options_.proxy == "none") {
      api().setopt(h, CURLOPT_PROXY, "");
    } else if (!options_.proxy.empty()) {
      api().setopt(h, CURLOPT_PROXY, options_.proxy.c_str());
    }
    api().setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
    api().setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
    api().setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    api().setopt(h, CURLOPT_LOW_SPEED_TIME, 30L);
    api().setopt(h, CURLOPT_NOSIGNAL, 1L);
    api().setopt(h, CURLOPT_USERAGENT, "hearth-agent/" HEARTH_VERSION);
    api().setopt(h, CURLOPT_WRITEFUNCTION, onData);
    api().setopt(h, CURLOPT_WRITEDATA, &body);
    struct curl_slist* headers = nullptr;
    if (post != nullptr) {
      headers = api().slist_append(headers, "Content-Type: application/json");
      api().setopt(h, CURLOPT_HTTPHEADER, headers);
      api().setopt(h, CURLOPT_POSTFIELDS, post->data());
      api().setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post->size()));
    }
    CURLcode rc = api().perform(h);
    api().setopt(h, CURLOPT_ERRORBUFFER, nullptr);  // `err` ends with this call
    if (headers != nullptr) api().slist_free_all(headers);
    std::string detail = err[0] != '\0' ? err : api().strerror(rc);
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
        api().getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno != 0 || detail.find("SSL_ERROR_SYSCALL") != std::string::npos) {
          return UnavailableError(url + ": connection lost during the TLS handshake: " + detail);
        }
        return PermissionDeniedError(url + ": TLS failed: " + detail);
      }
      case CURLE_SSL_ISSUER_ERROR:
      case CURLE_SSL_CLIENTCERT:
        return PermissionDeniedError(url + ": TLS failed: " + detail);
      case CURLE_OPERATION_TIMEDOUT:
        return DeadlineExceededError(url + ": timed out: " + detail);
      default:
        return UnavailableError(url + ": " + detail);
    }
    HttpResponse r;
    api().getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    curl_off_t retry = -1;
    if (api().getinfo(h, CURLINFO_RETRY_AFTER, &retry) == CURLE_OK && retry > 0) {
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
  std::call_once(g_curl_init, loadCurl);
  if (g_api.easy_init == nullptr) return UnavailableError(g_load_error);
  auto c = std::make_unique<CurlClient>(options);
  HEARTH_RETURN_IF_ERROR(c->init());
  return std::unique_ptr<HttpClient>(std::move(c));
}

}  // namespace hearth::agent
