// An HTTPS client for tests and benchmarks that talk to a real hearth-server in-process (libcurl):
// one handle per client, so requests reuse the connection (keep-alive), optionally as a device
// (mTLS). One thread at a time per client.
#pragma once

#include <string>
#include <vector>

namespace hearth::testing {

struct HttpsOptions {
  std::string ca_file{};    // the server's CA (state_dir/ca.pem)
  std::string cert_file{};  // with key_file: the device certificate (mTLS); empty = none
  std::string key_file{};
  long timeout_seconds = 10;  // per request; 0 = none
  bool forbid_reuse = false;  // a new connection for every request
};

struct HttpsReply {
  long status = 0;     // the HTTP status (even when the transfer then failed); 0 = no answer
  int curl_code = -1;  // CURLcode; 0 when the request completed
  std::string body;
  double total_seconds = 0;        // CURLINFO_TOTAL_TIME
  double pretransfer_seconds = 0;  // CURLINFO_PRETRANSFER_TIME (connection and TLS)
  bool completed() const { return curl_code == 0; }
  std::string error() const;  // curl's words for curl_code
};

class HttpsClient {
 public:
  explicit HttpsClient(HttpsOptions options);
  ~HttpsClient();
  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;

  // POSTs `body` with Content-Type: application/json and `headers` ("Name: value") after it.
  HttpsReply postJson(const std::string& url, const std::string& body,
                      const std::vector<std::string>& headers = {});
  // GETs `url` with `headers`.
  HttpsReply get(const std::string& url, const std::vector<std::string>& headers = {});
  // DELETEs `url` with `headers`.
  HttpsReply del(const std::string& url, const std::vector<std::string>& headers = {});

 private:
  // POSTs `*body`, or GETs when it is null.
  HttpsReply perform(const std::string& url, const std::string* body,
                     const std::vector<std::string>& headers, const char* method = nullptr);

  HttpsOptions options_;
  void* handle_;  // CURL*
};

// A simulated device enrolled over HTTPS: a P-256 key and CSR made in-process, posted to
// `devices_url` + "/api/v1/enroll" with `secret`. Empty cert_pem when enrolment failed (`error`
// says why, with the server's answer).
struct EnrolledDevice {
  std::string key_pem;
  std::string cert_pem;
  std::string error;
  bool ok() const { return !cert_pem.empty(); }
};
EnrolledDevice EnrolDevice(const std::string& devices_url, const std::string& ca_file,
                           const std::string& secret, const std::string& hostname,
                           const std::string& csr_name = "hearth-test-device");

}  // namespace hearth::testing
