// HttpError: a request refused or failed, as the handlers of `hearth-server serve` raise it.
//
// The error rule. Our code reports errors as values (Status, StatusOr). HttpError is the one
// exception our code throws: a request handler (device_api.cc, admin_api.cc) throws it from any
// depth to answer the request with an error, and RouteHandler::handleRequest (route_handler.cc),
// the handler edge, catches it and sends it as JSON. Nothing else is thrown, and nothing thrown
// (not even a Poco exception) leaves the handler edge: Poco exceptions are caught where Poco is
// called, or at that edge as a 500.
#pragma once

#include <string>

#include "hearth/status.h"

namespace hearth::server {

// A refusal: the status, a message for people, and a stable machine-readable code (see
// ErrorCode; the agent stops reporting on "retired").
struct HttpError {
  int status;
  std::string message;
  std::string code = "";    // "" = the default code of the status
  int retry_after = 0;      // seconds, for 429 and 503; 0 = the default (5 s for 503)
  bool close = false;       // close the connection after the answer
  std::string reason = "";  // a finer code beside `code` (enrolment refusals), "" = none
};

constexpr int kDefaultRetryAfterSeconds = 5;

// The default code of an error status. Stable: clients match on these, never on messages.
const char* ErrorCode(int status);

// The JSON body of every error: {"error": MESSAGE, "code": CODE, "reason"?: REASON}.
std::string ErrorBody(const std::string& message, const std::string& code,
                      const std::string& reason = "");

// The answer to a body that could not be read whole (ReadBody's error): 413, 408 or 400. It
// closes the connection, which is out of step (the rest of a body that lied about its length
// would be read as the next request).
HttpError BodyError(const Status& s);

// The answer to a store error on a named thing (a device, a level's policy): 404 for NotFound,
// else 503, with the status's message.
HttpError StoreError(const Status& s);

}  // namespace hearth::server
