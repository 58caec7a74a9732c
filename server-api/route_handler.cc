// The handler edge: where HttpError is caught and every request gets its answer.
#include "route_handler.h"

#include <algorithm>
#include <exception>
#include <string>
#include <utility>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPMessage.h>
#include <Poco/Net/HTTPServerRequestImpl.h>

#include "hearth/json.h"
#include "hearth/protocol/wire.h"
#include "http_error.h"
#include "http_io.h"

namespace hearth::server {

namespace {

// A body the request declared that its handler left unread (ReadBody reads to the end).
bool bodyUnread(Poco::Net::HTTPServerRequest& req) {
  bool declared =
      req.getChunkedTransferEncoding() || (req.hasContentLength() && req.getContentLength64() > 0);
  return declared && req.stream().good();
}

}  // namespace

void RouteHandler::handleRequest(Poco::Net::HTTPServerRequest& req,
                                 Poco::Net::HTTPServerResponse& resp) {
  const std::string listener = listener_;
  int status = 500;
  try {
    // Poco answers in the request's version, whatever it was ("HTTP/9.9", or a token of a body
    // read as a request): only HTTP/1.x is served.
    const std::string& version = req.getVersion();
    if (version != Poco::Net::HTTPMessage::HTTP_1_0 &&
        version != Poco::Net::HTTPMessage::HTTP_1_1) {
      resp.setVersion(Poco::Net::HTTPMessage::HTTP_1_1);
      throw HttpError{505, "HTTP version not supported; use HTTP/1.1", "unsupported_version", 0,
                      true};
    }
    status = route(req, resp);
  } catch (const HttpError& e) {
    status = e.status;
    if (e.status == 401 && listener == "admin") resp.set("WWW-Authenticate", "Bearer");
    if (!resp.sent()) SendError(resp, e);
  } catch (const Poco::SyntaxException& e) {
    // A malformed URI (a bad %-escape): Poco::URI throws before routing. The client's mistake.
    status = 400;
    context_.log->info(listener + " request " + json::escape(req.getURI()) + ": " +
                       e.displayText());
    if (!resp.sent()) SendError(resp, HttpError{400, "malformed request URI"});
  } catch (const Poco::Exception& e) {
    context_.log->error(listener + " request " + json::escape(req.getURI()) + ": " +
                        e.displayText());
    if (!resp.sent()) SendError(resp, HttpError{500, "internal error"});
  } catch (const std::exception& e) {
    context_.log->error(listener + " request " + json::escape(req.getURI()) + ": " + e.what());
    if (!resp.sent()) SendError(resp, HttpError{500, "internal error"});
  }
  // A body left unread would be parsed as the next request on this connection: read it away
  // (bounded as any body), or end the connection after this answer.
  if (body_tried_) {
    if (!body_ok_) resp.setKeepAlive(false);
  } else if (bodyUnread(req)) {
    auto drained = readBody(req);
    if (!drained.ok() || req.stream().good()) resp.setKeepAlive(false);
  }
  context_.metrics.request(listener, status);
  // A completed request gives a keep-alive connection a fresh deadline.
  auto& impl = static_cast<Poco::Net::HTTPServerRequestImpl&>(req);
  watchdog_.touch(static_cast<int>(impl.socket().impl()->sockfd()));
}

void RouteHandler::keepAlive(Poco::Net::HTTPServerRequest& req) {
  auto& impl = static_cast<Poco::Net::HTTPServerRequestImpl&>(req);
  watchdog_.touch(static_cast<int>(impl.socket().impl()->sockfd()));
}

StatusOr<std::string> RouteHandler::readBody(Poco::Net::HTTPServerRequest& req) {
  BodyPace pace{.floor = context_.options.body_floor, .min_rate = context_.options.body_min_rate};
  auto max = static_cast<Poco::Int64>(protocol::kMaxBodyBytes);
  Poco::Int64 declared = req.hasContentLength() ? std::min(req.getContentLength64(), max) : max;
  auto& impl = static_cast<Poco::Net::HTTPServerRequestImpl&>(req);
  watchdog_.allow(static_cast<int>(impl.socket().impl()->sockfd()), pace.allowance(declared));
  body_tried_ = true;
  auto body = ReadBody(req, pace);
  body_ok_ = body.ok();
  return body;
}

std::string RouteHandler::requestBody(Poco::Net::HTTPServerRequest& req) {
  auto b = readBody(req);
  if (!b.ok()) throw BodyError(b.status());
  return std::move(b).value();
}

}  // namespace hearth::server
