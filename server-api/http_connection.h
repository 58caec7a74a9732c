// One HTTPS connection of a listener, served by a worker thread: the TLS handshake under its own
// short deadline, then Poco's request loop (HTTPServerConnection's, taken over here so that every
// answer Poco would give itself carries the JSON error body the API promises: a request line or
// header Poco cannot parse, too many header fields, a URI that is too long, two different
// Content-Length values), each request under the listener's request deadline (ConnectionWatchdog).
#pragma once

#include <chrono>
#include <string>

#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>

#include "connection_guard.h"

namespace hearth::server {

// Makes the watched HTTP connections. A secure socket completes its TLS handshake within
// `handshake_timeout` of reaching a worker (a plain socket, as the HTTP fuzzer uses, skips it);
// then each request has the watchdog's deadline. `watchdog` must outlive the connections.
class GuardedConnectionFactory final : public Poco::Net::TCPServerConnectionFactory {
 public:
  GuardedConnectionFactory(Poco::Net::HTTPServerParams::Ptr params,
                           Poco::Net::HTTPRequestHandlerFactory::Ptr factory,
                           ConnectionWatchdog& watchdog,
                           std::chrono::milliseconds handshake_timeout = std::chrono::seconds(5))
      : params_(params),
        factory_(factory),
        watchdog_(watchdog),
        handshake_timeout_(handshake_timeout) {}
  Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override;

 private:
  Poco::Net::HTTPServerParams::Ptr params_;
  Poco::Net::HTTPRequestHandlerFactory::Ptr factory_;
  ConnectionWatchdog& watchdog_;
  std::chrono::milliseconds handshake_timeout_;
};

// The reason a request head is refused before any handler sees it (400), or "" when it may be
// handled: two Content-Length fields with different values (RFC 9112 §6.3: the body's end is
// unknown), or one that is not a whole number.
std::string RefusedHead(const Poco::Net::HTTPRequest& request);

}  // namespace hearth::server
