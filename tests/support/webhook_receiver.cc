#include "support/webhook_receiver.h"

#include <condition_variable>
#include <thread>

#include <Poco/HMACEngine.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/SHA2Engine.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include "support/files.h"
#include "support/temp_dir.h"

namespace hearth::testing {

namespace {

class Sha256 : public Poco::SHA2Engine {
 public:
  enum { BLOCK_SIZE = 64, DIGEST_SIZE = 32 };
  Sha256() : Poco::SHA2Engine(SHA_256) {}
};

void openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = RunProcess(argv);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace

std::string HmacSha256Hex(const std::string& key, const std::string& message) {
  Poco::HMACEngine<Sha256> hmac(key);
  hmac.update(message);
  return Poco::DigestEngine::digestToHex(hmac.digest());
}

struct WebhookReceiver::Impl {
  std::string secret;
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::deque<ScriptedAnswer> answers;
  std::vector<ReceivedDelivery> received;
  std::unique_ptr<Poco::Net::HTTPServer> server;
  unsigned short port = 0;
};

class ReceiverHandler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit ReceiverHandler(WebhookReceiver::Impl& impl) : impl_(impl) {}
  void handleRequest(Poco::Net::HTTPServerRequest& req,
                     Poco::Net::HTTPServerResponse& resp) override {
    ReceivedDelivery d;
    d.at = std::chrono::system_clock::now();
    d.path = req.getURI();
    d.delivery_id = req.get("X-Hearth-Delivery", "");
    d.timestamp = req.get("X-Hearth-Timestamp", "");
    d.signature = req.get("X-Hearth-Signature", "");
    d.content_type = req.getContentType();
    Poco::StreamCopier::copyToString(req.stream(), d.body);
    d.signature_ok =
        !d.timestamp.empty() &&
        d.signature == "sha256=" + HmacSha256Hex(impl_.secret, d.timestamp + "." + d.body);
    ScriptedAnswer answer;
    {
      std::lock_guard<std::mutex> lock(impl_.mu);
      if (!impl_.answers.empty()) {
        answer = impl_.answers.front();
        impl_.answers.pop_front();
      }
      d.answered = answer.status;
      impl_.received.push_back(d);
    }
    impl_.cv.notify_all();
    if (answer.delay.count() > 0) std::this_thread::sleep_for(answer.delay);
    resp.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(answer.status));
    resp.setContentLength(2);
    try {
      resp.send() << "ok";
    } catch (...) {
      // The sender gave up (its timeout): nothing to answer.
    }
  }

 private:
  WebhookReceiver::Impl& impl_;
};

namespace {

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(WebhookReceiver::Impl& impl) : impl_(impl) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new ReceiverHandler(impl_);
  }

 private:
  WebhookReceiver::Impl& impl_;
};

}  // namespace

WebhookReceiver::WebhookReceiver(const std::string& dir, std::string secret,
                                 const WebhookReceiver* same_ca)
    : impl_(std::make_unique<Impl>()) {
  impl_->secret = std::move(secret);
  std::string name = dir + "/receiver" + (same_ca != nullptr ? "-2" : "");
  ca_file_ = same_ca != nullptr ? same_ca->ca_file_ : dir + "/receiver-ca.pem";
  std::string ca_key = ca_file_.substr(0, ca_file_.size() - 4) + ".key", key = name + ".key",
              csr = name + ".csr", cert = name + ".pem", ext = name + ".ext";
  if (same_ca == nullptr) {
    openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", ca_key, "-out", ca_file_, "-days", "2", "-subj", "/CN=webhook test CA"});
  }
  openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
           "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"});
  WriteFile(ext, "subjectAltName=IP:127.0.0.1\n");
  openssl({"x509", "-req", "-in", csr, "-CA", ca_file_, "-CAkey", ca_key, "-CAcreateserial", "-out",
           cert, "-days", "2", "-extfile", ext});
  Poco::Net::initializeSSL();
  Poco::Net::Context::Ptr context(new Poco::Net::Context(
      Poco::Net::Context::TLS_SERVER_USE, key, cert, "", Poco::Net::Context::VERIFY_NONE));
  Poco::Net::SecureServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0), 64, context);
  impl_->port = socket.address().port();
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(8);
  impl_->server = std::make_unique<Poco::Net::HTTPServer>(new Factory(*impl_), socket, params);
  impl_->server->start();
}

WebhookReceiver::~WebhookReceiver() { impl_->server->stopAll(true); }

std::string WebhookReceiver::url(const std::string& path) const {
  return "https://127.0.0.1:" + std::to_string(impl_->port) + path;
}

void WebhookReceiver::script(std::vector<ScriptedAnswer> answers) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->answers.assign(answers.begin(), answers.end());
}

std::vector<ReceivedDelivery> WebhookReceiver::received() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->received;
}

bool WebhookReceiver::waitFor(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->received.size() >= n; });
}

}  // namespace hearth::testing
