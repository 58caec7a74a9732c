// The enrolment-secret endpoints of IT's listener (secret_api.h).
#include "secret_api.h"

#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "hearth/protocol/wire.h"
#include "hearth/server/state.h"
#include "hearth/text.h"
#include "hearth/time.h"
#include "http_error.h"
#include "http_io.h"

namespace hearth::server {

namespace {

const std::string kPrefix = "/api/v1/secrets";
constexpr int64_t kMaxUses = 1000000;
constexpr int64_t kMaxExpiresDays = 3650;

json::Value timeOrNull(const std::optional<TimePoint>& t) {
  return t ? json::Value(formatRfc3339(*t)) : json::Value();
}

// A secret as listed: never its value (only its hash is kept) nor its hash.
json::Value secretJson(const SecretRecord& s, TimePoint now) {
  json::Value o = json::Value::object();
  o.set("secret_id", s.id);
  o.set("kind", SecretKind(s));
  o.set("level", s.level);
  o.set("owner", s.owner ? json::Value(*s.owner) : json::Value());
  o.set("uses", s.uses);
  o.set("uses_left", s.uses_left ? json::Value(*s.uses_left) : json::Value());
  o.set("approval", s.approval);
  o.set("created_at", formatRfc3339(s.created_at));
  o.set("expires_at", timeOrNull(s.expires_at));
  o.set("revoked_at", timeOrNull(s.revoked_at));
  std::string state = "active";
  if (s.revoked_at) {
    state = "revoked";
  } else if (s.expires_at && *s.expires_at <= now) {
    state = "expired";
  } else if (s.uses_left && *s.uses_left <= 0) {
    state = "used_up";
  }
  o.set("state", state);
  return o;
}

// A whole number field from `min` to `max`, or nullopt when absent or null.
std::optional<int64_t> countField(const json::Value& o, const char* name, int64_t min,
                                  int64_t max) {
  const json::Value* v = o.find(name);
  if (v == nullptr || v->isNull()) return std::nullopt;
  if (!v->isInt() || v->asInt() < min || v->asInt() > max) {
    throw HttpError{400, std::string("field \"") + name + "\" must be a whole number from " +
                             std::to_string(min) + " to " + std::to_string(max)};
  }
  return v->asInt();
}

int create(ServerContext& context, const SecretRequest& req, Poco::Net::HTTPServerResponse& resp) {
  auto v = json::parse(req.body(), {.max_depth = 4, .max_bytes = 16 << 10});
  if (!v.ok() || !v->isObject()) {
    throw HttpError{400,
                    "expected a JSON object {\"level\",\"uses\",\"expires_days\",\"owner\","
                    "\"approval\"}"};
  }
  for (const auto& [k, unused] : v->asObject()) {
    if (k != "level" && k != "uses" && k != "expires_days" && k != "owner" && k != "approval") {
      throw HttpError{400, "unknown field \"" + k.substr(0, 64) +
                               "\" (expected level, uses, expires_days, owner, approval)"};
    }
  }
  TimePoint now = std::chrono::system_clock::now();
  SecretRecord spec;
  spec.level = "standard";
  if (const json::Value* level = v->find("level"); level != nullptr) {
    if (!level->isString() || level->asString().empty()) {
      throw HttpError{400, "field \"level\" must be a level name"};
    }
    spec.level = level->asString();
  }
  spec.uses_left = countField(*v, "uses", 1, kMaxUses);
  if (auto days = countField(*v, "expires_days", 1, kMaxExpiresDays)) {
    spec.expires_at = now + std::chrono::hours(24 * *days);
  }
  if (const json::Value* owner = v->find("owner"); owner != nullptr && !owner->isNull()) {
    if (!owner->isString()) throw HttpError{400, "field \"owner\" must be a string"};
    Status ok = text::validatePersonText(owner->asString(), protocol::kMaxOwnerChars);
    if (owner->asString().empty() || !ok.ok()) {
      throw HttpError{
          400, "field \"owner\" " + (ok.ok() ? std::string("must not be empty") : ok.message())};
    }
    spec.owner = owner->asString();
  }
  if (const json::Value* approval = v->find("approval"); approval != nullptr) {
    if (!approval->isBool()) throw HttpError{400, "field \"approval\" must be true or false"};
    spec.approval = approval->asBool();
  }
  spec.created_at = now;
  if (!context.store->latestPolicy(spec.level).ok()) {
    throw HttpError{409,
                    "level \"" + spec.level.substr(0, 64) +
                        "\" has no policy (add one with hearth-server policy set)",
                    "no_policy"};
  }
  auto secret = NewSecret("hes_");
  if (!secret.ok()) throw HttpError{503, "no random bytes for a secret"};
  json::Value detail = json::Value::object();
  detail.set("kind", SecretKind(spec));
  detail.set("level", spec.level);
  detail.set("owner", spec.owner ? json::Value(*spec.owner) : json::Value());
  detail.set("uses", spec.uses_left ? json::Value(*spec.uses_left) : json::Value());
  detail.set("expires_at", timeOrNull(spec.expires_at));
  detail.set("approval", spec.approval);
  detail.set("token_id", req.token.id);
  AuditEntry entry = NewAuditEntry(req.token.name, "secret.create", "secret:", detail);
  auto rec = context.store->createSecret(HashSecret(*secret), spec, &entry);
  if (!rec.ok()) throw HttpError{503, "database unavailable"};
  context.log->info("enrolment secret " + std::to_string(rec->id) + " (" + SecretKind(*rec) +
                    ") for level " + spec.level + " created by token \"" +
                    json::escape(req.token.name) + "\"");
  json::Value out = secretJson(*rec, now);
  out.set("secret", *secret);
  SendJson(resp, 201, out);
  return 201;
}

}  // namespace

int RouteSecrets(ServerContext& context, const SecretRequest& req,
                 Poco::Net::HTTPServerResponse& resp) {
  if (req.path == kPrefix) {
    if (req.method == "POST") return create(context, req, resp);
    if (req.method == "GET") {
      auto list = context.store->listSecrets();
      if (!list.ok()) throw HttpError{503, "database unavailable"};
      TimePoint now = std::chrono::system_clock::now();
      json::Value arr = json::Value::array();
      for (const auto& s : *list) arr.push(secretJson(s, now));
      json::Value out = json::Value::object();
      out.set("secrets", std::move(arr));
      SendJson(resp, 200, out);
      return 200;
    }
    throw HttpError{405, "use GET or POST"};
  }
  std::string rest = req.path.substr(kPrefix.size());
  if (!rest.starts_with("/")) throw HttpError{404, "no such endpoint"};
  std::string id_text = rest.substr(1);
  auto id = text::parseInt(id_text);
  if (!id || *id < 1) throw HttpError{404, "no such enrolment secret"};
  if (req.method != "DELETE") throw HttpError{405, "use DELETE"};
  json::Value detail = json::Value::object();
  detail.set("token_id", req.token.id);
  AuditEntry entry =
      NewAuditEntry(req.token.name, "secret.revoke", "secret:" + std::to_string(*id), detail);
  Status s = context.store->revokeSecret(*id, std::chrono::system_clock::now(), &entry);
  if (s.code() == StatusCode::kNotFound) {
    throw HttpError{404, "no live enrolment secret with id " + std::to_string(*id)};
  }
  if (!s.ok()) throw HttpError{503, "database unavailable"};
  context.log->info("enrolment secret " + std::to_string(*id) + " revoked by token \"" +
                    json::escape(req.token.name) + "\"");
  json::Value out = json::Value::object();
  out.set("secret_id", *id);
  out.set("revoked", true);
  SendJson(resp, 200, out);
  return 200;
}

}  // namespace hearth::server
