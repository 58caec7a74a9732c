// The handler edge: where HttpError is caught and every request gets its answer.
#include "route_handler.h"

#include <exception>
#include <string>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPServerRequestImpl.h>

#include "hearth/json.h"
#include "http_error.h"
#include "http_io.h"

namespace hearth::server {

void RouteHandler::handleRequest(Poco::Net::HTTPServerRequest& req,
                                 Poco::Net::HTTPServerResponse& resp) {
  const std::string listener = listener_;
  int status = 500;
  try {
    status = route(req, resp);
  } catch (const HttpError& e) {
    status = e.status;
    if (e.status == 401 && listener == "admin") resp.set("WWW-Authenticate", "Bearer");
    if (!resp.sent()) SendError(resp, e);
  } catch (const Poco::Exception& e) {
    context_.log->error(listener + " request " + json::escape(req.getURI()) + ": " +
                        e.displayText());
    if (!resp.sent()) SendError(resp, HttpError{500, "internal error"});
  } catch (const std::exception& e) {
    context_.log->error(listener + " request " + json::escape(req.getURI()) + ": " + e.what());
    if (!resp.sent()) SendError(resp, HttpError{500, "internal error"});
  }
  context_.metrics.request(listener, status);
  // A completed request gives a keep-alive connection a fresh deadline.
  auto& impl = static_cast<Poco::Net::HTTPServerRequestImpl&>(req);
  watchdog_.touch(static_cast<int>(impl.socket().impl()->sockfd()));
}

}  // namespace hearth::server
