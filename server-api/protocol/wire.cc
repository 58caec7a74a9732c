#include "hearth/protocol/wire.h"

#include <initializer_list>

#include "hearth/result.h"

namespace hearth::protocol {

namespace {

constexpr size_t kMaxSecret = 256;
constexpr size_t kMaxPem = 16 * 1024;
constexpr size_t kMaxHostname = 253;
constexpr size_t kMaxOwner = 256;
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

Status onlyFields(const json::Value& obj, std::initializer_list<std::string_view> allowed,
                  std::string_view where) {
  for (const auto& [k, v] : obj.asObject()) {
    bool ok = false;
    for (auto a : allowed) ok = ok || k == a;
    if (!ok) {
      return InvalidArgumentError(std::string(where) + ": unknown field \"" + json::escape(k) +
                                  "\"");
    }
  }
  return OkStatus();
}

Status getString(const json::Value& obj, std::string_view key, size_t max, bool required,
                 std::string& out) {
  const json::Value* v = obj.find(key);
  if (v == nullptr) {
    if (required) return InvalidArgumentError("missing field \"" + std::string(key) + "\"");
    return OkStatus();
  }
  if (!v->isString()) {
    return InvalidArgumentError("field \"" + std::string(key) + "\" must be a string");
  }
  if (v->asString().size() > max) {
    return InvalidArgumentError("field \"" + std::string(key) + "\" is longer than " +
                                std::to_string(max) + " bytes");
  }
  if (required && v->asString().empty()) {
    return InvalidArgumentError("field \"" + std::string(key) + "\" must not be empty");
  }
  out = v->asString();
  return OkStatus();
}

bool isHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool validHostname(std::string_view s) {
  if (s.empty() || s.size() > kMaxHostname) return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) return false;  // printable; anything else is data, escaped later
  }
  return true;
}

Status validateResult(const json::Value& r) {
  if (!r.isObject()) return InvalidArgumentError("\"result\" must be an object");
  const json::Value* compliant = r.find("compliant");
  if (compliant == nullptr || !compliant->isBool()) {
    return InvalidArgumentError("result.compliant must be true or false");
  }
  const json::Value* level = r.find("level");
  if (level == nullptr || !level->isString() || level->asString().empty() ||
      level->asString().size() > 64) {
    return InvalidArgumentError("result.level must be a level name");
  }
  const json::Value* pv = r.find("policy_version");
  if (pv == nullptr || !pv->isInt() || pv->asInt() < 0) {
    return InvalidArgumentError("result.policy_version must be a whole number");
  }
  const json::Value* at = r.find("evaluated_at");
  if (at == nullptr || !at->isString() || !parseRfc3339(at->asString()).ok()) {
    return InvalidArgumentError("result.evaluated_at must be an RFC 3339 time");
  }
  const json::Value* host = r.find("host");
  if (host != nullptr && !host->isObject()) {
    return InvalidArgumentError("result.host must be an object");
  }
  const json::Value* checks = r.find("checks");
  if (checks == nullptr || !checks->isArray() || checks->size() > kMaxChecks) {
    return InvalidArgumentError("result.checks must be an array of at most 64 checks");
  }
  for (const auto& c : checks->asArray()) {
    if (!c.isObject()) return InvalidArgumentError("result.checks[] must be objects");
    const json::Value* id = c.find("id");
    if (id == nullptr || !id->isString() || id->asString().empty() || id->asString().size() > 64) {
      return InvalidArgumentError("result.checks[].id must be a check id");
    }
    const json::Value* verdict = c.find("verdict");
    if (verdict == nullptr || !verdict->isString() || !parseVerdict(verdict->asString()).ok()) {
      return InvalidArgumentError(
          "result.checks[].verdict must be pass, fail, unknown or "
          "not_applicable");
    }
    const json::Value* req = c.find("required");
    if (req == nullptr || !req->isBool()) {
      return InvalidArgumentError("result.checks[].required must be true or false");
    }
    const json::Value* summary = c.find("summary");
    if (summary == nullptr || !summary->isString() || summary->asString().size() > kMaxSummary) {
      return InvalidArgumentError("result.checks[].summary must be a string");
    }
  }
  return OkStatus();
}

}  // namespace

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
  HEARTH_RETURN_IF_ERROR(onlyFields(v, {"enroll_secret", "csr", "hostname", "owner"}, "enroll"));
  EnrollRequest r;
  HEARTH_RETURN_IF_ERROR(getString(v, "enroll_secret", kMaxSecret, true, r.enroll_secret));
  HEARTH_RETURN_IF_ERROR(getString(v, "csr", kMaxPem, true, r.csr));
  HEARTH_RETURN_IF_ERROR(getString(v, "hostname", kMaxHostname, true, r.hostname));
  if (!validHostname(r.hostname)) {
    return InvalidArgumentError("field \"hostname\" must be 1 to 253 printable characters");
  }
  if (v.find("owner") != nullptr) {
    std::string owner;
    HEARTH_RETURN_IF_ERROR(getString(v, "owner", kMaxOwner, false, owner));
    r.owner = owner;
  }
  return r;
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
  EnrollResponse r;
  HEARTH_RETURN_IF_ERROR(getString(v, "device_id", 64, true, r.device_id));
  HEARTH_RETURN_IF_ERROR(getString(v, "certificate", kMaxPem, true, r.certificate));
  HEARTH_RETURN_IF_ERROR(getString(v, "ca_certificate", kMaxPem, true, r.ca_certificate));
  HEARTH_RETURN_IF_ERROR(getString(v, "policy_public_key", kMaxPem, true, r.policy_public_key));
  return r;
}

json::Value RenewRequest::toJson() const {
  json::Value o = json::Value::object();
  o.set("csr", csr);
  return o;
}

StatusOr<RenewRequest> RenewRequest::parse(std::string_view body) {
  HEARTH_ASSIGN_OR_RETURN(json::Value v, parseBody(body));
  HEARTH_RETURN_IF_ERROR(onlyFields(v, {"csr"}, "renew"));
  RenewRequest r;
  HEARTH_RETURN_IF_ERROR(getString(v, "csr", kMaxPem, true, r.csr));
  return r;
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
  RenewResponse r;
  HEARTH_RETURN_IF_ERROR(getString(v, "certificate", kMaxPem, true, r.certificate));
  HEARTH_RETURN_IF_ERROR(getString(v, "ca_certificate", kMaxPem, true, r.ca_certificate));
  HEARTH_RETURN_IF_ERROR(getString(v, "not_after", 64, true, r.not_after));
  HEARTH_RETURN_IF_ERROR(
      getString(v, "device_ca_certificate", kMaxPem, false, r.device_ca_certificate));
  return r;
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
  SignedPolicy p;
  HEARTH_RETURN_IF_ERROR(getString(v, "level", 64, true, p.level));
  const json::Value* version = v.find("version");
  if (version == nullptr || !version->isInt() || version->asInt() < 1) {
    return InvalidArgumentError("field \"version\" must be a whole number of 1 or more");
  }
  p.version = version->asInt();
  HEARTH_RETURN_IF_ERROR(getString(v, "policy", kMaxBodyBytes, true, p.policy_b64));
  HEARTH_RETURN_IF_ERROR(getString(v, "signature", 128, true, p.signature_b64));
  HEARTH_RETURN_IF_ERROR(getString(v, "announcement", 64 * 1024, false, p.announcement_b64));
  HEARTH_RETURN_IF_ERROR(
      getString(v, "announcement_signature", 128, false, p.announcement_signature_b64));
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
  PolicyAnnouncement a;
  HEARTH_RETURN_IF_ERROR(getString(v, "next_policy_key", kMaxPem, false, a.next_policy_key));
  if (const json::Value* pins = v.find("server_pins"); pins != nullptr) {
    if (!pins->isArray() || pins->size() > 16) {
      return InvalidArgumentError("field \"server_pins\" must be an array of at most 16 pins");
    }
    for (const auto& pin : pins->asArray()) {
      if (!pin.isString() || pin.asString().rfind("sha256//", 0) != 0 ||
          pin.asString().size() != 52) {
        return InvalidArgumentError("field \"server_pins\" holds something else than a pin");
      }
      a.server_pins.push_back(pin.asString());
    }
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
  HEARTH_RETURN_IF_ERROR(onlyFields(v,
                                    {"report_id", "sequence", "sent_at", "agent_version",
                                     "machine_id", "result", "device_id", "dropped"},
                                    "report"));
  ReportEnvelope r;
  HEARTH_RETURN_IF_ERROR(getString(v, "report_id", 36, true, r.report_id));
  if (!IsUuid(r.report_id)) {
    return InvalidArgumentError("field \"report_id\" must be a lower-case UUID");
  }
  const json::Value* seq = v.find("sequence");
  if (seq == nullptr || !seq->isInt() || seq->asInt() < 1) {
    return InvalidArgumentError("field \"sequence\" must be a whole number of 1 or more");
  }
  r.sequence = seq->asInt();
  HEARTH_RETURN_IF_ERROR(getString(v, "sent_at", 64, true, r.sent_at));
  if (!parseRfc3339(r.sent_at).ok()) {
    return InvalidArgumentError("field \"sent_at\" must be an RFC 3339 time");
  }
  HEARTH_RETURN_IF_ERROR(getString(v, "agent_version", 64, true, r.agent_version));
  HEARTH_RETURN_IF_ERROR(getString(v, "machine_id", 64, true, r.machine_id));
  if (r.machine_id.size() != 64 || !isHex(r.machine_id)) {
    return InvalidArgumentError("field \"machine_id\" must be a hex SHA-256");
  }
  const json::Value* result = v.find("result");
  if (result == nullptr) return InvalidArgumentError("missing field \"result\"");
  HEARTH_RETURN_IF_ERROR(validateResult(*result));
  r.result = *result;
  if (v.find("device_id") != nullptr) {
    std::string id;
    HEARTH_RETURN_IF_ERROR(getString(v, "device_id", 64, true, id));
    r.device_id = id;
  }
  if (const json::Value* dropped = v.find("dropped"); dropped != nullptr) {
    if (!dropped->isInt() || dropped->asInt() < 0 || dropped->asInt() > kMaxDropped) {
      return InvalidArgumentError("field \"dropped\" must be a whole number from 0 to " +
                                  std::to_string(kMaxDropped));
    }
    r.dropped = dropped->asInt();
  }
  return r;
}

}  // namespace hearth::protocol
