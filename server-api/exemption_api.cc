// The exemption endpoints of IT's listener (exemption_api.h).
#include "exemption_api.h"

#include <chrono>
#include <string>
#include <utility>

#include "hearth/check_spec.h"
#include "hearth/protocol/wire.h"
#include "hearth/text.h"
#include "hearth/time.h"
#include "http_error.h"
#include "http_io.h"

namespace hearth::server {

namespace {

const std::string kPrefix = "/api/v1/exemptions";
constexpr size_t kMaxReasonChars = 500;
constexpr int kDefaultPage = 100;
// An exemption is a decision to revisit: at most a year ahead.
constexpr std::chrono::hours kMaxAhead{24 * 366};

// A string field of `o`: "" when absent and not required.
std::string field(const json::Value& o, const char* name, bool required) {
  const json::Value* v = o.find(name);
  if (v == nullptr || v->isNull()) {
    if (required) throw HttpError{400, std::string("field \"") + name + "\" is required"};
    return "";
  }
  if (!v->isString()) throw HttpError{400, std::string("field \"") + name + "\" must be a string"};
  return v->asString();
}

Status personText(const std::string& value, const char* name, size_t max_chars) {
  if (Status valid = text::validatePersonText(value, max_chars); !valid.ok()) {
    return InvalidArgumentError(std::string("field \"") + name + "\" " + valid.message());
  }
  return OkStatus();
}

int create(ServerContext& context, const ExemptionRequest& req,
           Poco::Net::HTTPServerResponse& resp) {
  auto v = json::parse(req.body(), {.max_depth = 4, .max_bytes = 16 << 10});
  if (!v.ok() || !v->isObject()) {
    throw HttpError{400,
                    "expected a JSON object {\"device_id\" or \"owner\", \"check\", "
                    "\"until\", \"reason\"}"};
  }
  for (const auto& [k, unused] : v->asObject()) {
    if (k != "device_id" && k != "owner" && k != "check" && k != "until" && k != "reason") {
      throw HttpError{400, "unknown field \"" + k.substr(0, 64) +
                               "\" (expected device_id or owner, check, until, reason)"};
    }
  }
  TimePoint now = std::chrono::system_clock::now();
  auto made_spec = NewExemptionSpec(field(*v, "device_id", false), field(*v, "owner", false),
                                    field(*v, "check", true), field(*v, "until", true),
                                    field(*v, "reason", true), req.token.name, now);
  if (!made_spec.ok()) throw HttpError{400, made_spec.status().message()};
  const ExemptionRecord& spec = *made_spec;
  json::Value detail = ExemptionAuditDetail(spec);
  detail.set("token_id", req.token.id);
  AuditEntry entry = NewAuditEntry(req.token.name, "exemption.create", "exemption:", detail);
  auto made = context.store->createExemption(spec, &entry);
  if (!made.ok()) throw StoreError(made.status());
  context.log->info("exemption " + std::to_string(made->id) + " for " + spec.check +
                    " granted by token \"" + json::escape(req.token.name) + "\"");
  SendJson(resp, 201, ExemptionJson(*made, now));
  return 201;
}

}  // namespace

StatusOr<ExemptionRecord> NewExemptionSpec(const std::string& device_id, const std::string& owner,
                                           const std::string& check, const std::string& until,
                                           const std::string& reason, const std::string& created_by,
                                           TimePoint now) {
  ExemptionRecord spec;
  if (device_id.empty() == owner.empty()) {
    return InvalidArgumentError(
        "give exactly one of \"device_id\" (one device) and \"owner\" (every device of that "
        "owner)");
  }
  if (!device_id.empty()) {
    if (device_id.size() > 64) return InvalidArgumentError("field \"device_id\" is too long");
    spec.device_id = device_id;
  } else {
    HEARTH_RETURN_IF_ERROR(personText(owner, "owner", protocol::kMaxOwnerChars));
    spec.owner = owner;
  }
  bool known = false;
  for (const auto& entry : PolicyChecks().entries()) known = known || entry.id == check;
  if (!known)
    return InvalidArgumentError("field \"check\": no check \"" + check.substr(0, 64) + "\"");
  spec.check = check;
  auto end = ParseExemptionUntil(until);
  if (!end.ok()) return InvalidArgumentError("field \"until\": " + end.status().message());
  if (*end <= now) return InvalidArgumentError("field \"until\" must be in the future");
  if (*end > now + kMaxAhead) {
    return InvalidArgumentError("field \"until\" must be within a year (grant a new one then)");
  }
  spec.until = *end;
  if (reason.empty()) return InvalidArgumentError("field \"reason\" must not be empty");
  HEARTH_RETURN_IF_ERROR(personText(reason, "reason", kMaxReasonChars));
  spec.reason = reason;
  spec.created_at = now;
  spec.created_by = created_by;
  return spec;
}

json::Value ExemptionAuditDetail(const ExemptionRecord& spec) {
  json::Value shown = ExemptionJson(spec, spec.created_at), detail = json::Value::object();
  for (const char* k : {"device_id", "owner", "check", "until", "reason"})
    detail.set(k, *shown.find(k));
  return detail;
}

StatusOr<TimePoint> ParseExemptionUntil(const std::string& text) {
  if (auto t = parseRfc3339(text); t.ok()) return *t;
  // A date: through that day, UTC.
  if (text.size() == 10 && text[4] == '-' && text[7] == '-') {
    if (auto t = parseRfc3339(text + "T00:00:00Z"); t.ok()) return *t + std::chrono::hours(24);
  }
  return InvalidArgumentError(
      "expected an RFC 3339 time (2026-12-12T17:00:00Z) or a date "
      "(2026-12-12: through that day, UTC)");
}

int RouteExemptions(ServerContext& context, const ExemptionRequest& req,
                    Poco::Net::HTTPServerResponse& resp) {
  TimePoint now = std::chrono::system_clock::now();
  auto list = [&](bool active_only, int64_t before, int limit) {
    auto found = context.store->listExemptions(active_only, now, before, limit);
    if (!found.ok()) throw HttpError{503, "database unavailable"};
    return std::move(found).value();
  };
  if (req.path == kPrefix) {
    if (req.method == "POST") return create(context, req, resp);
    if (req.method == "GET") {
      // A page, newest first (kDefaultPage, at most kMaxExemptionPage); `next` is the cursor of
      // the next page (`after`), null after the last.
      auto active = req.query.find("active");
      bool active_only = active != req.query.end() && active->second == "true";
      int limit = ParseLimit(req.query, kDefaultPage);
      auto page = list(active_only, ParseCursor(req.query), limit);
      json::Value arr = json::Value::array();
      for (const auto& e : page) arr.push(ExemptionJson(e, now));
      json::Value out = json::Value::object();
      out.set("exemptions", std::move(arr));
      out.set("next", static_cast<int>(page.size()) == limit
                          ? json::Value(std::to_string(page.back().id))
                          : json::Value());
      SendJson(resp, 200, out);
      return 200;
    }
    throw HttpError{405, "use GET or POST"};
  }
  std::string id_text = req.path.substr(kPrefix.size());
  if (!id_text.starts_with("/")) throw HttpError{404, "no such endpoint"};
  id_text = id_text.substr(1);
  auto id = id_text.size() <= 18 ? text::parseInt(id_text) : std::nullopt;
  if (!id || *id < 1) throw HttpError{404, "no such exemption"};
  if (req.method == "GET") {
    auto one = list(false, *id + 1, 1);
    if (one.empty() || one.front().id != *id) {
      throw HttpError{404, "no exemption with id " + id_text};
    }
    SendJson(resp, 200, ExemptionJson(one.front(), now));
    return 200;
  }
  if (req.method == "DELETE") {
    json::Value detail = json::Value::object();
    detail.set("token_id", req.token.id);
    AuditEntry entry =
        NewAuditEntry(req.token.name, "exemption.revoke", "exemption:" + id_text, detail);
    if (Status s = context.store->revokeExemption(*id, now, &entry); !s.ok()) throw StoreError(s);
    context.log->info("exemption " + id_text + " revoked by token \"" +
                      json::escape(req.token.name) + "\"");
    json::Value out = json::Value::object();
    out.set("exemption_id", *id);
    out.set("revoked", true);
    SendJson(resp, 200, out);
    return 200;
  }
  throw HttpError{405, "use GET or DELETE"};
}

}  // namespace hearth::server
