// HttpError's codes and JSON body.
#include "http_error.h"

#include "hearth/json.h"

namespace hearth::server {

const char* ErrorCode(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 408:
      return "timeout";
    case 413:
      return "too_large";
    case 429:
      return "rate_limited";
    case 503:
      return "unavailable";
    default:
      return "internal";
  }
}

std::string ErrorBody(const std::string& message, const std::string& code,
                      const std::string& reason) {
  json::Value body = json::Value::object();
  body.set("error", message);
  body.set("code", code);
  if (!reason.empty()) body.set("reason", reason);
  return json::write(body);
}

HttpError BodyError(const Status& s) {
  switch (s.code()) {
    case StatusCode::kResourceExhausted:
      return HttpError{413, s.message(), "too_large", 0, true};
    case StatusCode::kDeadlineExceeded:
      return HttpError{408, s.message(), "timeout", 0, true};
    default:
      return HttpError{400, s.message(), "bad_request", 0, true};
  }
}

HttpError StoreError(const Status& s) {
  return HttpError{s.code() == StatusCode::kNotFound ? 404 : 503, s.message()};
}

}  // namespace hearth::server
