#include "hearth/protocol/wire.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>

#include "hearth/json_reader.h"
#include "hearth/text.h"
#include "hearth/time.h"
#include "hearth/verdict.h"

namespace hearth::protocol {

namespace {

constexpr size_t kMaxSecret = 256;
constexpr size_t kMaxPem = 16 * 1024;
// A UTF-8 character is at most 4 bytes: the byte bound before the character count.
constexpr size_t kMaxUtf8Bytes = 4;
constexpr size_t kMaxChecks = 64;
constexpr size_t kMaxSummary = 2048;

StatusOr<json::Value> parseBody(std::string_view body) {
  json::ParseOptions o;
  o.max_bytes = kMaxBodyBytes;
  o.max_depth = kMaxJsonDepth;
  auto v = json::parse(body, o);
  if (!v.ok()) return InvalidArgumentError("invalid JSON: " + v.status().message());
  if (!v->isObject()) return InvalidArgumentError("expected a JSON object");
  return v;
}

// A reader of a body's object in the API's wording ("field \"csr\" must be a string"); `kind`
// names the body in unknown-field errors ("enroll: unknown field \"x\"").
json::ObjectReader bodyReader(const json::Value& v, std::string_view kind = "") {
  return json::ObjectReader(v, {.source = std::string(kind), .style = json::ErrorStyle::kField});
}

// A required string: present, at most `max` bytes, not empty.
Status requiredString(const json::ObjectReader& r, std::string_view key, size_t max,
                      std::string& out) {
  return r.readString(key, out, {.max_bytes = max, .non_empty = true}, json::Presence::kRequired);
}

// An optional string of at most `max` bytes (may be empty).
Status optionalString(const json::ObjectReader& r, std::string_view key, size_t max,
                      std::string& out) {
  return r.readString(key, out, {.max_bytes = max});
}

bool isHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// `field` holds what a person typed: text::validatePersonText, in the body's wording.
Status personText(std::string_view field, const std::string& value, size_t max_chars) {
  Status s = text::validatePersonText(value, max_chars);
  if (s.ok()) return s;
  return InvalidArgumentError("field \"" + std::string(field) + "\" " + s.message());
}

Status validateResult(const json::Value& v) {
  if (!v.isObject()) return InvalidArgumentError("\"result\" must be an object");
  json::ObjectReader r(v, {.style = json::ErrorStyle::kField}, "result");
  bool flag = false;
  HEARTH_RETURN_IF_ERROR(r.readBool("compliant", flag, json::Presence::kRequired));
  const json::Value* level = r.find("level");
  if (level == nullptr || !level->isString() || level->asString().empty() ||
      level->asString().size() > 64) {
    return r.invalid("level", "a level name");
  }
  const json::Value* pv = r.find("policy_version");
  if (pv == nullptr || !pv->isInt() || pv->asInt() < 0) {
    return r.invalid("policy_version", "a whole number");
  }
  const json::Value* at = r.find("evaluated_at");
  if (at == nullptr || !at->isString() || !parseRfc3339(at->asString()).ok()) {
    return r.invalid("evaluated_at", "an RFC 3339 time");
  }
  std::optional<json::ObjectReader> host;
  HEARTH_RETURN_IF_ERROR(r.readObject("host", host));
  const json::Array* checks = nullptr;
  HEARTH_RETURN_IF_ERROR(r.readArray("checks", kMaxChecks, "an array of at most 64 checks", checks,
                                     json::Presence::kRequired));
  for (const auto& element : *checks) {
    HEARTH_ASSIGN_OR_RETURN(json::ObjectReader c, r.objectAt("checks[]", element, "objects"));
    const json::Value* id = c.find("id");
    if (id == nullptr || !id->isString() || id->asString().empty() || id->asString().size() > 64) {
      return c.invalid("id", "a check id");
    }
    const json::Value* verdict = c.find("verdict");
    if (verdict == nullptr || !verdict->isString() || !parseVerdict(verdict->asString()).ok()) {
      return c.invalid("verdict", "pass, fail, unknown or not_applicable");
    }
    HEARTH_RETURN_IF_ERROR(c.readBool("required", flag, json::Presence::kRequired));
    const json::Value* summary = c.find("summary");
    if (summary == nullptr || !summary->isString() || summary->asString().size() > kMaxSummary) {
      return c.invalid("summary", "a string");
    }
  }
  return OkStatus();
}

// Counts the values of `v` into `values` and its deepest nesting (v itself at `depth`) into
// `deepest`; stops counting once `values` is past the bound.
void measure(const json::Value& v, size_t depth, size_t& values, size_t& deepest) {
  ++values;
  deepest = std::max(deepest, depth);
  if (values > kMaxResultValues || depth > kMaxResultDepth) return;
  if (v.isArray()) {
    for (const auto& e : v.asArray()) measure(e, depth + 1, values, deepest);
  } else if (v.isObject()) {
    for (const auto& [k, e] : v.asObject()) measure(e, depth + 1, values, deepest);
  }
}

}  // namespace

Status CheckResultBounds(const json::Value& result) {
  size_t values = 0, deepest = 0;
  measure(result, 1, values, deepest);
  if (values > kMaxResultValues) {
    return ResourceExhaustedError("the result holds more than " + std::to_string(kMaxResultValues) +
                                  " JSON values");
  }
  if (deepest > kMaxResultDepth) {
    return ResourceExhaustedError("the result nests deeper than " +
                                  std::to_string(kMaxResultDepth) + " levels");
  }
  return OkStatus();
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!isHex(s.substr(i, 1))) {
      return false;
    }
  }
  return true;
}

json::Value EnrollRequest::toJson() const {
  json::Value o = json::Value::object();
  o.set("enroll_secret", enroll_secret);
  o.set("csr", csr);
  o.set("hostname", hostname);
  if (owner) o.set("owner", *owner);
  return o;
}

StatusOr<EnrollRequest> EnrollRequest::parse(std::string_view body) {
  HEARTH_ASSIGN_OR_RETURN(json::Value v, parseBody(body));
  json::ObjectReader r = bodyReader(v, "enroll");
  HEARTH_RETURN_IF_ERROR(r.onlyKeys({"enroll_secret", "csr", "hostname", "owner"}));
  EnrollRequest e;
  HEARTH_RETURN_IF_ERROR(requiredString(r, "enroll_secret", kMaxSecret, e.enroll_secret));
  HEARTH_RETURN_IF_ERROR(requiredString(r, "csr", kMaxPem, e.csr));
  HEARTH_RETURN_IF_ERROR(
      requiredString(r, "hostname", kMaxHostnameChars * kMaxUtf8Bytes, e.hostname));
  HEARTH_RETURN_IF_ERROR(personText("hostname", e.hostname, kMaxHostnameChars));
  if (r.has("owner")) {
    std::string owner;
    HEARTH_RETURN_IF_ERROR(optionalString(r, "owner", kMaxOwnerChars * kMaxUtf8Bytes, owner));
    HEARTH_RETURN_IF_ERROR(personText("owner", owner, kMaxOwnerChars));
    e.owner = owner;
  }
  return e;
}

json::Value EnrollResponse::toJson() const {
  json::Value o = json::Value::object();
  o.set("device_id", device_id);
  o.set("certificate", certificate);
  o.set("ca_certificate", ca_certificate);
  o.set("policy_public_key", policy_public_key);
  return o;
}

StatusOr<EnrollResponse> EnrollResponse::parse(std::string_view body) {
  HEARTH_ASSIGN_OR_RETURN(json::Value v, parseBody(body));
  json::ObjectReader r = bodyReader(v);
  EnrollResponse e;
  HEARTH_RETURN_IF_ERROR(requiredString(r, "device_id", 64, e.device_id));
  HEARTH_RETURN_IF_ERROR(requiredString(r, "certificate", kMaxPem, e.certificate));
  HEARTH_RETURN_IF_ERROR(requiredString(r, "ca_certificate", kMaxPem, e.ca_certificate));
  HEARTH_RETURN_IF_ERROR(requiredString(r, "policy_public_key", kMaxPem, e.policy_public_key));
  return e;
}

json::Value RenewRequest::toJson() const {
  json::Value o = json::Value::object();
  o.set("csr", csr);
  return o;
}

StatusOr<RenewRequest> RenewRequest::parse(std::string_view body) {
  HEARTH_ASSIGN_OR_RETURN(json::Value v, parseBody(body));
  json::ObjectReader r = bodyReader(v, "renew");
  HEARTH_RETURN_IF_ERROR(r.onlyKeys({"csr"}));
  RenewRequest q;
  HEARTH_RETURN_IF_ERROR(requiredString(r, "csr", kMaxPem, q.csr));
  return q;
}

json::Value RenewResponse::toJson() const {
  json::Value o = json::Value::object();
  o.set("certificate", certificate);
  o.set("ca_certificate", ca_certificate);
  o.set("not_after", not_after);
  if (!device_ca_certificate.empty()) o.set("device_ca_certificate", device_ca_certificate);
  return o;
}

StatusOr<RenewResponse> RenewResponse::parse(std::string_view body) {
  HEARTH_ASSIGN_OR_RETURN(json::Value v, parseBody(body));
  json::ObjectReader r = bodyReader(v);
  RenewResponse q;
  HEARTH_RETURN_IF_ERROR(requiredString(r, "certificate", kMaxPem, q.certificate));
  HEARTH_RETURN_IF_ERROR(requiredString(r, "ca_certificate", kMaxPem, q.ca_certificate));
  HEARTH_RETURN_IF_ERROR(requiredString(r, "not_after", 64, q.not_after));
  HEARTH_RETURN_IF_ERROR(
      optionalString(r, "device_ca_certificate", kMaxPem, q.device_ca_certificate));
  return q;
}

json::Value SignedPolicy::toJson() const {
  json::Value o = json::Value::object();
  o.set("level", level);
  o.set("version", version);
  o.set("policy", policy_b64);
  o.set("signature", signature_b64);
  if (!announcement_b64.empty()) {
    o.set("announcement", announcement_b64);
    o.set("announcement_signature", announcement_signature_b64);
  }
  return o;
}

StatusOr<SignedPolicy> SignedPolicy::parse(std::string_view body) {
  HEARTH_ASSIGN_OR_RETURN(json::Value v, parseBody(body));
  json::ObjectReader r = bodyReader(v);
  SignedPolicy p;
  HEARTH_RETURN_IF_ERROR(requiredString(r, "level", 64, p.level));
  constexpr std::string_view kVersion = "a whole number of 1 or more";
  if (!r.has("version")) return r.invalid("version", kVersion);
  HEARTH_RETURN_IF_ERROR(r.readInt("version", 1, std::numeric_limits<int64_t>::max(), p.version));
  HEARTH_RETURN_IF_ERROR(requiredString(r, "policy", kMaxBodyBytes, p.policy_b64));
  HEARTH_RETURN_IF_ERROR(requiredString(r, "signature", 128, p.signature_b64));
  HEARTH_RETURN_IF_ERROR(optionalString(r, "announcement", 64 * 1024, p.announcement_b64));
  HEARTH_RETURN_IF_ERROR(
      optionalString(r, "announcement_signature", 128, p.announcement_signature_b64));
  if (p.announcement_b64.empty() != p.announcement_signature_b64.empty()) {
    return InvalidArgumentError("\"announcement\" and \"announcement_signature\" go together");
  }
  return p;
}

json::Value PolicyAnnouncement::toJson() const {
  json::Value o = json::Value::object();
  if (!next_policy_key.empty()) o.set("next_policy_key", next_policy_key);
  if (!server_pins.empty()) {
    json::Value pins = json::Value::array();
    for (const auto& pin : server_pins) pins.push(pin);
    o.set("server_pins", pins);
  }
  return o;
}

StatusOr<PolicyAnnouncement> PolicyAnnouncement::parse(std::string_view bytes) {
  HEARTH_ASSIGN_OR_RETURN(json::Value v, parseBody(bytes));
  json::ObjectReader r = bodyReader(v);
  PolicyAnnouncement a;
  HEARTH_RETURN_IF_ERROR(optionalString(r, "next_policy_key", kMaxPem, a.next_policy_key));
  const json::Array* pins = nullptr;
  HEARTH_RETURN_IF_ERROR(r.readArray("server_pins", 16, "an array of at most 16 pins", pins));
  for (size_t i = 0; pins != nullptr && i < pins->size(); ++i) {
    const json::Value& pin = (*pins)[i];
    if (!pin.isString() || !pin.asString().starts_with("sha256//") || pin.asString().size() != 52) {
      return InvalidArgumentError("field \"server_pins\" holds something else than a pin");
    }
    a.server_pins.push_back(pin.asString());
  }
  return a;
}

json::Value ReportEnvelope::toJson() const {
  json::Value o = json::Value::object();
  o.set("report_id", report_id);
  o.set("sequence", sequence);
  o.set("sent_at", sent_at);
  o.set("agent_version", agent_version);
  o.set("machine_id", machine_id);
  o.set("result", result);
  if (device_id) o.set("device_id", *device_id);
  if (dropped) o.set("dropped", *dropped);
  return o;
}

StatusOr<ReportEnvelope> ReportEnvelope::parse(std::string_view body) {
  HEARTH_ASSIGN_OR_RETURN(json::Value v, parseBody(body));
  json::ObjectReader r = bodyReader(v, "report");
  HEARTH_RETURN_IF_ERROR(r.onlyKeys({"report_id", "sequence", "sent_at", "agent_version",
                                     "machine_id", "result", "device_id", "dropped"}));
  ReportEnvelope e;
  HEARTH_RETURN_IF_ERROR(requiredString(r, "report_id", 36, e.report_id));
  if (!IsUuid(e.report_id)) return r.invalid("report_id", "a lower-case UUID");
  constexpr std::string_view kSequence = "a whole number of 1 or more";
  if (!r.has("sequence")) return r.invalid("sequence", kSequence);
  HEARTH_RETURN_IF_ERROR(r.readInt("sequence", 1, std::numeric_limits<int64_t>::max(), e.sequence));
  HEARTH_RETURN_IF_ERROR(requiredString(r, "sent_at", 64, e.sent_at));
  if (!parseRfc3339(e.sent_at).ok()) return r.invalid("sent_at", "an RFC 3339 time");
  HEARTH_RETURN_IF_ERROR(requiredString(r, "agent_version", 64, e.agent_version));
  HEARTH_RETURN_IF_ERROR(requiredString(r, "machine_id", 64, e.machine_id));
  if (e.machine_id.size() != 64 || !isHex(e.machine_id)) {
    return r.invalid("machine_id", "a hex SHA-256");
  }
  const json::Value* result = r.find("result");
  if (result == nullptr) return r.missing("result", "an object");
  HEARTH_RETURN_IF_ERROR(validateResult(*result));
  HEARTH_RETURN_IF_ERROR(CheckResultBounds(*result));
  e.result = *result;
  if (r.has("device_id")) {
    std::string id;
    HEARTH_RETURN_IF_ERROR(requiredString(r, "device_id", 64, id));
    e.device_id = id;
  }
  if (r.has("dropped")) {
    int64_t dropped = 0;
    HEARTH_RETURN_IF_ERROR(r.readInt("dropped", 0, kMaxDropped, dropped));
    e.dropped = dropped;
  }
  return e;
}

}  // namespace hearth::protocol
