// A webhook receiver for tests: a real HTTPS server on loopback (Poco, TLS with a certificate for
// 127.0.0.1 issued by a CA made for it with the openssl command) that checks each delivery's
// signature (HMAC-SHA256 computed here with Poco, independently of the server's code) and records
// it. Each request takes the next scripted answer (then 200): a status, or a delay first.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace hearth::testing {

struct ReceivedDelivery {
  std::string path;         // the request's path
  std::string delivery_id;  // X-Hearth-Delivery
  std::string timestamp;    // X-Hearth-Timestamp
  std::string signature;    // X-Hearth-Signature
  std::string content_type;
  std::string body;
  bool signature_ok = false;                 // sha256=HMAC(secret, timestamp "." body)
  std::chrono::system_clock::time_point at;  // when it arrived
  int answered = 0;                          // the status sent back
};

struct ScriptedAnswer {
  int status = 200;
  std::chrono::milliseconds delay{0};  // before answering
};

class WebhookReceiver {
 public:
  // Makes the CA (or uses `same_ca`'s, so that one --webhook-ca-file trusts both) and the
  // certificate in `dir` and listens on 127.0.0.1 (a free port).
  WebhookReceiver(const std::string& dir, std::string secret,
                  const WebhookReceiver* same_ca = nullptr);
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  std::string url(const std::string& path = "/hook") const;  // https://127.0.0.1:PORT/hook
  const std::string& caFile() const { return ca_file_; }     // for --webhook-ca-file
  void script(std::vector<ScriptedAnswer> answers);
  std::vector<ReceivedDelivery> received() const;
  // Waits (up to `timeout`) until at least `n` deliveries arrived; whether they did.
  bool waitFor(size_t n, std::chrono::milliseconds timeout) const;

  struct Impl;  // the server and what it recorded (webhook_receiver.cc)

 private:
  std::string ca_file_;
  std::unique_ptr<Impl> impl_;
};

// Poco's HMAC-SHA256 of `message` with `key`, lower-case hex.
std::string HmacSha256Hex(const std::string& key, const std::string& message);

}  // namespace hearth::testing
