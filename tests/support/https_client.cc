#include "support/https_client.h"

#include <curl/curl.h>

#include "hearth/json.h"
#include "hearth/protocol/crypto.h"

namespace hearth::testing {
namespace {

size_t collect(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

}  // namespace

std::string HttpsReply::error() const {
  return curl_code < 0 ? "not sent" : curl_easy_strerror(static_cast<CURLcode>(curl_code));
}

HttpsClient::HttpsClient(HttpsOptions options)
    : options_(std::move(options)), handle_(curl_easy_init()) {}

HttpsClient::~HttpsClient() { curl_easy_cleanup(static_cast<CURL*>(handle_)); }

HttpsReply HttpsClient::postJson(const std::string& url, const std::string& body,
                                 const std::vector<std::string>& headers) {
  return perform(url, &body, headers);
}

HttpsReply HttpsClient::get(const std::string& url, const std::vector<std::string>& headers) {
  return perform(url, nullptr, headers);
}

HttpsReply HttpsClient::del(const std::string& url, const std::vector<std::string>& headers) {
  return perform(url, nullptr, headers, "DELETE");
}

HttpsReply HttpsClient::perform(const std::string& url, const std::string* body,
                                const std::vector<std::string>& headers, const char* method) {
  HttpsReply reply;
  CURL* h = static_cast<CURL*>(handle_);
  if (h == nullptr) return reply;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (!options_.cert_file.empty()) {
    curl_easy_setopt(h, CURLOPT_SSLCERT, options_.cert_file.c_str());
    curl_easy_setopt(h, CURLOPT_SSLKEY, options_.key_file.c_str());
  }
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, options_.timeout_seconds);
  if (options_.forbid_reuse) curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
  if (body != nullptr) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  } else {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);  // nullptr: the method above
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply.body);
  struct curl_slist* list =
      body != nullptr ? curl_slist_append(nullptr, "Content-Type: application/json") : nullptr;
  for (const auto& header : headers) list = curl_slist_append(list, header.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  CURLcode rc = curl_easy_perform(h);
  reply.curl_code = static_cast<int>(rc);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &reply.total_seconds);
  curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME, &reply.pretransfer_seconds);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(list);
  return reply;
}

EnrolledDevice EnrolDevice(const std::string& devices_url, const std::string& ca_file,
                           const std::string& secret, const std::string& hostname,
                           const std::string& csr_name) {
  EnrolledDevice device;
  auto key = protocol::Key::generateP256();
  if (!key.ok()) {
    device.error = key.status().message();
    return device;
  }
  auto csr = protocol::MakeCsr(*key, csr_name);
  auto pem = key->privatePem();
  if (!csr.ok() || !pem.ok()) {
    device.error = "cannot make the CSR";
    return device;
  }
  json::Value req = json::Value::object();
  req.set("enroll_secret", secret);
  req.set("csr", *csr);
  req.set("hostname", hostname);
  HttpsClient client({.ca_file = ca_file, .timeout_seconds = 30});
  HttpsReply reply = client.postJson(devices_url + "/api/v1/enroll", json::write(req));
  auto v = json::parse(reply.body);
  if (!reply.completed() || !v.ok() || v->find("certificate") == nullptr) {
    device.error = "enrolment failed: " + reply.error() + " " + reply.body;
    return device;
  }
  device.key_pem = *pem;
  device.cert_pem = v->find("certificate")->asString();
  return device;
}

}  // namespace hearth::testing
