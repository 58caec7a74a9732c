// The handlers' HTTP input and output: JSON and error answers, bounded body reads, queries.
#include "http_io.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <istream>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Timespan.h>

#include "hearth/protocol/wire.h"
#include "hearth/text.h"

namespace hearth::server {

namespace {

using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;
using Clock = std::chrono::steady_clock;

constexpr auto kBodyIdleTimeout = std::chrono::seconds(2);

}  // namespace

void SendJsonText(HTTPServerResponse& resp, int status, const std::string& text) {
  resp.set("Cache-Control", "no-store");
  resp.set("X-Content-Type-Options", "nosniff");
  SendText(resp, status, "application/json", text);
}

void SendText(HTTPServerResponse& resp, int status, const std::string& content_type,
              const std::string& body) {
  resp.setStatusAndReason(static_cast<HTTPResponse::HTTPStatus>(status));
  resp.setContentType(content_type);
  resp.setContentLength(static_cast<std::streamsize>(body.size()));
  resp.send() << body;
}

void SendJson(HTTPServerResponse& resp, int status, const json::Value& body) {
  SendJsonText(resp, status, json::write(body));
}

void SendError(HTTPServerResponse& resp, const HttpError& e) {
  if (e.status == 503 || e.status == 429) {
    resp.set("Retry-After",
             std::to_string(e.retry_after > 0 ? e.retry_after : kDefaultRetryAfterSeconds));
  }
  if (e.close) resp.setKeepAlive(false);
  SendJsonText(resp, e.status,
               ErrorBody(e.message, e.code.empty() ? ErrorCode(e.status) : e.code, e.reason));
}

StatusOr<std::string> ReadBody(HTTPServerRequest& req, const BodyPace& pace) {
  auto& socket = static_cast<Poco::Net::HTTPServerRequestImpl&>(req).socket();
  Poco::Timespan per_read;
  try {
    per_read = socket.getReceiveTimeout();
    // Poco's TLS read waits the receive timeout twice (SO_RCVTIMEO, then a poll): half of it.
    socket.setReceiveTimeout(Poco::Timespan(
        std::chrono::duration_cast<std::chrono::microseconds>(kBodyIdleTimeout).count() / 2));
  } catch (const Poco::Exception&) {
    return InvalidArgumentError("the connection broke before the body");
  }
  struct RestoreTimeout {
    Poco::Net::StreamSocket& socket;
    Poco::Timespan timeout;
    ~RestoreTimeout() {
      try {
        socket.setReceiveTimeout(timeout);
      } catch (...) {
      }
    }
  } restore{socket, per_read};

  std::istream& in = req.stream();
  in.exceptions(std::ios::badbit);  // the stream rethrows what Poco threw (timeouts)
  const auto start = Clock::now();
  try {
    if (req.hasContentLength() &&
        req.getContentLength64() > static_cast<Poco::Int64>(protocol::kMaxBodyBytes)) {
      // Poco has already sent "100 Continue" to a client that asked for it, so the body is on
      // its way: read and discard a moderately oversized body (within the deadline) so the
      // client gets the 413 instead of a reset connection; a huge one is cut off.
      constexpr Poco::Int64 kDrainLimit = 16 << 20;
      if (req.getContentLength64() <= kDrainLimit) {
        char sink[65536];
        while (in && Clock::now() < start + pace.floor) in.read(sink, sizeof sink);
      }
      return ResourceExhaustedError("body larger than 1 MiB");
    }
    std::string body;
    char buf[16384];
    // Part by part as it comes off the connection (one socket read each), so the pace is checked
    // as often as bytes arrive. Poco's exceptions (timeouts) come straight out of the buffer.
    std::streambuf& parts = *in.rdbuf();
    while (parts.sgetc() != std::char_traits<char>::eof()) {
      std::streamsize ready = std::max<std::streamsize>(1, parts.in_avail());
      std::streamsize n = parts.sgetn(buf, std::min<std::streamsize>(ready, sizeof buf));
      body.append(buf, static_cast<size_t>(n));
      if (body.size() > protocol::kMaxBodyBytes) {
        return ResourceExhaustedError("body larger than 1 MiB");
      }
      if (Clock::now() > start + pace.allowance(static_cast<int64_t>(body.size()))) {
        return DeadlineExceededError(
            "request body too slow: " + std::to_string(body.size()) + " bytes in " +
            std::to_string(
                std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start).count()) +
            " s, below the minimum of " + std::to_string(pace.min_rate) + " bytes/s");
      }
    }
    if (req.hasContentLength() &&
        static_cast<Poco::Int64>(body.size()) != req.getContentLength64()) {
      return InvalidArgumentError("body shorter than its Content-Length");
    }
    return body;
  } catch (const Poco::TimeoutException&) {
    return DeadlineExceededError(
        "no part of the request body arrived for " +
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(kBodyIdleTimeout).count()) +
        " s (is Content-Length larger than the body?)");
  } catch (const Poco::Exception& e) {
    return InvalidArgumentError("reading the request body: " + e.displayText());
  } catch (const std::exception& e) {
    return InvalidArgumentError(std::string("reading the request body: ") + e.what());
  }
}

std::string RequireBody(HTTPServerRequest& req, const BodyPace& pace) {
  auto body = ReadBody(req, pace);
  if (!body.ok()) throw BodyError(body.status());
  return std::move(body).value();
}

std::map<std::string, std::string> QueryParams(const Poco::URI& uri) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : uri.getQueryParameters()) out[k] = v;
  return out;
}

int ParseLimit(const std::map<std::string, std::string>& q, int fallback) {
  auto it = q.find("limit");
  if (it == q.end()) return fallback;
  auto v = text::parseInt(it->second);
  if (!v || *v < 1 || *v > 1000)
    throw HttpError{400, "limit must be a whole number from 1 to 1000"};
  return static_cast<int>(*v);
}

int64_t ParseCursor(const std::map<std::string, std::string>& q) {
  auto it = q.find("after");
  if (it == q.end()) return 0;
  auto v = text::parseInt(it->second);
  if (!v || *v < 0) throw HttpError{400, "after must be a cursor from a previous page"};
  return *v;
}

}  // namespace hearth::server
