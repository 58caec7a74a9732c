// RouteHandler: the base of the two listeners' request handlers (device_api.cc, admin_api.cc)
// and the handler edge of the error rule (http_error.h): a handler's route() answers the request
// or throws HttpError; handleRequest() sends that error, turns any other exception into a 500
// and a log line, counts the answer in the metrics and lets no exception reach Poco.
#pragma once

#include <string>

#include <Poco/Net/HTTPMessage.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include "connection_guard.h"
#include "server_context.h"

namespace hearth::server {

// One per request (Poco makes it through a HandlerFactory). `listener` names it in the metrics
// and logs ("devices" or "admin"); `watchdog` is that listener's, for the connection's deadline.
class RouteHandler : public Poco::Net::HTTPRequestHandler {
 public:
  RouteHandler(ServerContext& context, const char* listener, ConnectionWatchdog& watchdog)
      : context_(context), listener_(listener), watchdog_(watchdog) {}

  void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) final;

 protected:
  // Answers the request and returns the status sent, or throws HttpError (never sent yet).
  virtual int route(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) = 0;

  // The request body at the pace of the options (--body-timeout, --body-min-rate: ReadBody), with
  // the connection's deadline moved to fit a body of its Content-Length. readBody returns the
  // error; requestBody() throws it as BodyError.
  StatusOr<std::string> readBody(Poco::Net::HTTPServerRequest& req);
  std::string requestBody(Poco::Net::HTTPServerRequest& req);

  // Starts the connection's deadline again: a handler that streams a long answer calls it as
  // the answer progresses.
  void keepAlive(Poco::Net::HTTPServerRequest& req);

  ServerContext& context_;

 private:
  const char* listener_;
  ConnectionWatchdog& watchdog_;
  // Whether a handler read (or tried to read) the body, and whether that ended well: a body read
  // that failed (too slow, too large) is not read again to drain it; the connection is closed.
  bool body_tried_ = false;
  bool body_ok_ = false;
};

// Makes a `Handler` (a RouteHandler constructed from the context and the watchdog) per request.
template <typename Handler>
class HandlerFactory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  HandlerFactory(ServerContext& context, ConnectionWatchdog& watchdog)
      : context_(context), watchdog_(watchdog) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest& request) override {
    // Poco answers "Expect: 100-continue" after this, before the handler, in the request's
    // version: a version we refuse (505, RouteHandler) gets no 100 Continue, and HTTP/1.1.
    const std::string& version = request.getVersion();
    if (version != Poco::Net::HTTPMessage::HTTP_1_0 &&
        version != Poco::Net::HTTPMessage::HTTP_1_1) {
      request.response().setVersion(Poco::Net::HTTPMessage::HTTP_1_1);
      request.response().setStatus(Poco::Net::HTTPResponse::HTTP_VERSION_NOT_SUPPORTED);
    }
    return new Handler(context_, watchdog_);
  }

 private:
  ServerContext& context_;
  ConnectionWatchdog& watchdog_;
};

}  // namespace hearth::server
