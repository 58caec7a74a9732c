// The requests and answers between the root side and hearth-upload (see uploader_protocol.h).
#include "hearth/agent/uploader_protocol.h"

#include <algorithm>

#include "hearth/agent/server_view.h"

namespace hearth::agent::uploader {

namespace {

PostResult::Kind kindFromName(const std::string& name) {
  for (int k = 0; k <= static_cast<int>(PostResult::Kind::kNetwork); ++k) {
    if (name == PostKindName(static_cast<PostResult::Kind>(k))) {
      return static_cast<PostResult::Kind>(k);
    }
  }
  return PostResult::Kind::kNetwork;
}

}  // namespace

json::Value Request(std::string_view op) {
  json::Value v = json::Value::object();
  v.set("op", std::string(op));
  return v;
}

std::string OpOf(const json::Value& request) { return Fields(request).stringOr("op"); }

json::ObjectReader Fields(const json::Value& v) { return json::ObjectReader(v, {}); }

json::Value OkAnswer() {
  json::Value v = json::Value::object();
  v.set("ok", true);
  return v;
}

json::Value ErrorAnswer(const Status& status) {
  json::Value v = json::Value::object();
  v.set("ok", false);
  v.set("code", static_cast<int64_t>(status.code()));
  v.set("error", status.message());
  return v;
}

bool AnswerOk(const json::Value& answer) { return Fields(answer).boolOr("ok", false); }

Status AnswerStatus(const json::Value& answer) {
  int64_t code = Fields(answer).intOr("code", static_cast<int64_t>(StatusCode::kUnavailable));
  if (code <= 0 || code > static_cast<int64_t>(StatusCode::kInternal)) {
    code = static_cast<int64_t>(StatusCode::kUnavailable);
  }
  return Status(static_cast<StatusCode>(code),
                Fields(answer).stringOr("error").substr(0, kMaxErrorText));
}

StatusOr<json::Value> ParseFrame(const std::string& frame) {
  HEARTH_ASSIGN_OR_RETURN(json::Value v,
                          json::parse(frame, {.max_depth = 4, .max_bytes = kMaxFrame}));
  if (!v.isObject()) return DataLossError("a frame that is not a JSON object");
  return v;
}

void PutHttpOptions(const HttpOptions& o, json::Value& out) {
  out.set("pin", o.pin);
  out.set("proxy", o.proxy);
  out.set("ca", o.ca_pem);
  out.set("client_cert", o.client_cert_pem);
  out.set("client_key", o.client_key_pem);
  out.set("connect_timeout_ms", static_cast<int64_t>(o.connect_timeout.count()));
  out.set("total_timeout_ms", static_cast<int64_t>(o.total_timeout.count()));
  out.set("max_response_bytes", static_cast<int64_t>(o.max_response_bytes));
}

HttpOptions GetHttpOptions(const json::Value& in) {
  auto f = Fields(in);
  HttpOptions o;
  o.pin = f.stringOr("pin");
  o.proxy = f.stringOr("proxy");
  o.ca_pem = f.stringOr("ca");
  o.client_cert_pem = f.stringOr("client_cert");
  o.client_key_pem = f.stringOr("client_key");
  o.connect_timeout =
      std::chrono::milliseconds(f.intOr("connect_timeout_ms", o.connect_timeout.count()));
  o.total_timeout = std::chrono::milliseconds(f.intOr("total_timeout_ms", o.total_timeout.count()));
  o.max_response_bytes = static_cast<size_t>(std::clamp<int64_t>(
      f.intOr("max_response_bytes", static_cast<int64_t>(o.max_response_bytes)), 0, kMaxFrame));
  return o;
}

json::Value PostAnswer(const PostResult& r) {
  json::Value v = json::Value::object();
  v.set("kind", PostKindName(r.kind));
  v.set("http_status", static_cast<int64_t>(r.http_status));
  v.set("retry_after", static_cast<int64_t>(r.retry_after_seconds));
  v.set("error", r.error);
  if (r.previous_sequence) v.set("previous_sequence", *r.previous_sequence);
  if (!r.fleet_json.empty()) v.set("fleet", r.fleet_json);  // text: frames nest 4 deep at most
  if (!r.server_view_json.empty()) v.set("server_view", r.server_view_json);
  if (r.next_sequence > 0) v.set("next_sequence", r.next_sequence);
  if (r.timed_out) v.set("timed_out", true);
  return v;
}

PostResult PostFromAnswer(const json::Value& answer) {
  auto f = Fields(answer);
  PostResult r;
  r.kind = kindFromName(f.stringOr("kind"));
  r.http_status = static_cast<long>(f.intOr("http_status", 0));
  r.retry_after_seconds =
      static_cast<long>(std::clamp<int64_t>(f.intOr("retry_after", -1), -1, 3600));
  r.error = f.stringOr("error").substr(0, kMaxErrorText);
  // Only meaningful on an acknowledgement; a negative or non-integer value is ignored (the root
  // side then re-sends nothing, as with an older server).
  if (r.kind == PostResult::Kind::kAccepted) {
    int64_t previous = f.intOr("previous_sequence", -1);
    if (previous >= 0) r.previous_sequence = previous;
    r.fleet_json = f.stringOr("fleet");
    // Checked again here: the root side trusts the network side no more than the server.
    r.server_view_json = CheckedServerViewText(f.stringOr("server_view"));
  }
  if (r.kind == PostResult::Kind::kSequenceReused) {
    r.next_sequence = f.intOr("next_sequence", 0);
    // Without a usable number there is nothing to renumber to: an ordinary "try later".
    if (r.next_sequence < 1) r.kind = PostResult::Kind::kRetryLater;
  }
  r.timed_out = r.kind == PostResult::Kind::kNetwork && f.boolOr("timed_out", false);
  return r;
}

}  // namespace hearth::agent::uploader
