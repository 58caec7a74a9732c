// What the request handlers of `hearth-server serve` read and send over Poco's HTTP objects:
// JSON answers, error answers, the request body (bounded in size and time) and query parameters.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/URI.h>

#include "hearth/json.h"
#include "hearth/status.h"
#include "http_error.h"

namespace hearth::server {

// Sends `body` with `status` and `content_type` (headers set on `resp` before are kept).
void SendText(Poco::Net::HTTPServerResponse& resp, int status, const std::string& content_type,
              const std::string& body);

// Sends `body` with `status`, as JSON that no cache keeps.
void SendJson(Poco::Net::HTTPServerResponse& resp, int status, const json::Value& body);
// The same for JSON already written as text (a history page splices stored results unparsed).
void SendJsonText(Poco::Net::HTTPServerResponse& resp, int status, const std::string& text);

// Sends the error as ErrorBody JSON, with Retry-After for 429 and 503; closes the connection
// after it when `e.close`.
void SendError(Poco::Net::HTTPServerResponse& resp, const HttpError& e);

// How fast a request body must arrive: by `floor` plus the time `min_rate` needs for what has
// arrived so far, checked as it arrives. A slow uplink that keeps up the rate gets its body
// through however large it is (up to protocol::kMaxBodyBytes); a drip feed slower than the rate
// is cut once it falls behind by more than the floor.
struct BodyPace {
  std::chrono::milliseconds floor{10000};
  int64_t min_rate = 1024;  // bytes per second, > 0

  // floor + bytes / min_rate: the longest a body of `bytes` may take.
  std::chrono::milliseconds allowance(int64_t bytes) const {
    return floor + std::chrono::milliseconds(bytes * 1000 / min_rate);
  }
};

// Reads the body: at most protocol::kMaxBodyBytes (else ResourceExhausted), at `pace` (else
// DeadlineExceeded), and no pause longer than 2 s between its parts. A Content-Length larger than
// the body that follows can only be told from a slow client by waiting: after 2 s without a byte
// the answer is DeadlineExceeded (408, and the connection is closed: BodyError). A body shorter
// than its Content-Length, or a broken connection, is InvalidArgument.
StatusOr<std::string> ReadBody(Poco::Net::HTTPServerRequest& req, const BodyPace& pace);

// ReadBody's body; throws its error as BodyError.
std::string RequireBody(Poco::Net::HTTPServerRequest& req, const BodyPace& pace);

// The query parameters of `uri`; a repeated one keeps its last value.
std::map<std::string, std::string> QueryParams(const Poco::URI& uri);

// The "limit" query parameter, `fallback` when absent. Throws HttpError 400 unless it is a whole
// number from 1 to 1000.
int ParseLimit(const std::map<std::string, std::string>& q, int fallback);

// The "after" query parameter as a numeric cursor (feed, audit log), 0 when absent. Throws
// HttpError 400 unless it is a whole number of at least 0.
int64_t ParseCursor(const std::map<std::string, std::string>& q);

}  // namespace hearth::server
