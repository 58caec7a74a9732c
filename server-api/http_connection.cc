// The watched HTTP connection: the handshake under its deadline, then the request loop with
// JSON answers to what Poco refuses itself.
#include "http_connection.h"

#include <cctype>
#include <memory>
#include <string>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponseImpl.h>
#include <Poco/Net/HTTPServerSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/String.h>
#include <Poco/Timestamp.h>

#include "hearth/json.h"
#include "http_error.h"
#include "http_io.h"

namespace hearth::server {

namespace {

using Poco::Net::HTTPServerSession;

// Content-Length as a number without leading zeros, "" when it is not a whole number.
std::string canonicalLength(const std::string& raw) {
  std::string v = Poco::trim(raw);
  if (v.empty()) return "";
  for (char c : v) {
    if (std::isdigit(static_cast<unsigned char>(c)) == 0) return "";
  }
  size_t nonzero = v.find_first_not_of('0');
  return nonzero == std::string::npos ? "0" : v.substr(nonzero);
}

class GuardedConnection final : public Poco::Net::TCPServerConnection {
 public:
  GuardedConnection(const Poco::Net::StreamSocket& socket, Poco::Net::HTTPServerParams::Ptr params,
                    Poco::Net::HTTPRequestHandlerFactory::Ptr factory, ConnectionWatchdog& watchdog,
                    std::chrono::milliseconds handshake_timeout)
      : TCPServerConnection(socket),
        params_(params),
        factory_(factory),
        watchdog_(watchdog),
        handshake_timeout_(handshake_timeout) {}

  void run() override {
    int fd = static_cast<int>(socket().impl()->sockfd());
    watchdog_.add(fd, handshake_timeout_);
    try {
      handshake();
      watchdog_.touch(fd);  // the first request's deadline starts now
      serve();
    } catch (...) {
      // A failed handshake, a connection cut by the watchdog or the peer: nothing to answer.
    }
    watchdog_.remove(fd);
  }

 private:
  // Completes the TLS handshake here, not lazily inside the first read, so that it has a
  // deadline of its own. Throws what Poco throws (a refused or silent client).
  void handshake() {
    if (!socket().secure()) return;
    Poco::Net::SecureStreamSocket tls(socket());
    Poco::Timespan per_read = tls.getReceiveTimeout();
    // Poco's TLS read waits the receive timeout twice (SO_RCVTIMEO, then a poll): half of it.
    tls.setReceiveTimeout(Poco::Timespan(
        std::chrono::duration_cast<std::chrono::microseconds>(handshake_timeout_).count() / 2));
    tls.completeHandshake();
    tls.setReceiveTimeout(per_read);
  }

  // Poco's request loop (HTTPServerConnection::run), with our answers to what it refuses.
  void serve() {
    HTTPServerSession session(socket(), params_);
    while (session.hasMoreRequests()) {
      try {
        Poco::Net::HTTPServerResponseImpl response(session);
        Poco::Net::HTTPServerRequestImpl request(response, session, params_);
        response.setDate(Poco::Timestamp());
        response.setVersion(request.getVersion());
        response.setKeepAlive(params_->getKeepAlive() && request.getKeepAlive() &&
                              session.canKeepAlive());
        if (std::string why = RefusedHead(request); !why.empty()) {
          refuse(session, why);
          return;
        }
        std::unique_ptr<Poco::Net::HTTPRequestHandler> handler(
            factory_->createRequestHandler(request));
        if (request.getExpectContinue() &&
            response.getStatus() == Poco::Net::HTTPResponse::HTTP_OK) {
          response.sendContinue();
        }
        handler->handleRequest(request, response);
        session.setKeepAlive(params_->getKeepAlive() && response.getKeepAlive() &&
                             session.canKeepAlive());
      } catch (const Poco::Net::NoMessageException&) {
        return;  // the client closed the connection between requests
      } catch (const Poco::Net::MessageException& e) {
        // A request line without a version, too many header fields, a URI or header too long.
        refuse(session, "malformed request: " + (e.message().empty() ? e.name() : e.message()));
        return;
      } catch (const Poco::SyntaxException&) {
        // HTTPServerRequestImpl reads Content-Length as a number before anything else can.
        refuse(session, "Content-Length must be a whole number");
        return;
      }
    }
  }

  // Answers 400 with the JSON error body and ends the connection (its framing is lost).
  static void refuse(HTTPServerSession& session, const std::string& message) {
    Poco::Net::HTTPServerResponseImpl response(session);
    response.setVersion(Poco::Net::HTTPMessage::HTTP_1_1);
    SendError(response, HttpError{400, message, "bad_request", 0, true});
    session.setKeepAlive(false);
  }

  Poco::Net::HTTPServerParams::Ptr params_;
  Poco::Net::HTTPRequestHandlerFactory::Ptr factory_;
  ConnectionWatchdog& watchdog_;
  std::chrono::milliseconds handshake_timeout_;
};

}  // namespace

std::string RefusedHead(const Poco::Net::HTTPRequest& request) {
  std::string first;
  for (const auto& [name, value] : request) {
    if (Poco::icompare(name, "Content-Length") != 0) continue;
    std::string length = canonicalLength(value);
    if (length.empty()) return "Content-Length must be a whole number";
    if (first.empty()) {
      first = length;
    } else if (length != first) {
      return "two different Content-Length values (" + first + " and " + length + ")";
    }
  }
  return "";
}

Poco::Net::TCPServerConnection* GuardedConnectionFactory::createConnection(
    const Poco::Net::StreamSocket& socket) {
  return new GuardedConnection(socket, params_, factory_, watchdog_, handshake_timeout_);
}

}  // namespace hearth::server
