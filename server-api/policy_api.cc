// The policy endpoints of IT's listener (policy_api.h).
#include "policy_api.h"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "hearth/policy.h"
#include "hearth/server/state.h"
#include "hearth/time.h"
#include "http_error.h"
#include "http_io.h"

namespace hearth::server {

namespace {

const std::string kPrefix = "/api/v1/policies";
constexpr size_t kMaxPolicyBytes = 1 << 20;  // as `policy set --file` reads

// The checks a policy makes count: its required ones.
std::vector<std::string> requiredChecks(const Policy& p) {
  std::vector<std::string> out;
  for (const auto& c : p.checks) {
    if (c.required) out.push_back(c.id);
  }
  return out;
}

int list(ServerContext& context, Poco::Net::HTTPServerResponse& resp) {
  auto policies = context.store->listLatestPolicies();
  if (!policies.ok()) throw HttpError{503, "database unavailable"};
  json::Value arr = json::Value::array();
  for (const auto& p : *policies) {
    json::Value o = json::Value::object();
    o.set("level", p.level);
    o.set("version", p.version);
    o.set("created_at", formatRfc3339(p.created_at));
    auto body = json::parse(p.body);
    o.set("policy", body.ok() ? std::move(body).value() : json::Value());
    arr.push(std::move(o));
  }
  json::Value out = json::Value::object();
  out.set("policies", std::move(arr));
  SendJson(resp, 200, out);
  return 200;
}

// The body, parsed and validated as a policy; 400 with the parser's message (it names the key
// and what was expected) when it is not one.
Policy parse(const std::string& text) {
  if (text.size() > kMaxPolicyBytes) throw HttpError{413, "a policy is at most 1 MiB", "too_large"};
  auto policy = ParsePolicy(text, "policy");
  if (!policy.ok()) throw HttpError{400, policy.status().message()};
  return std::move(policy).value();
}

int set(ServerContext& context, const PolicyRequest& req, Poco::Net::HTTPServerResponse& resp) {
  std::string text = req.body();
  Policy policy = parse(text);
  json::Value detail = json::Value::object();
  detail.set("token_id", req.token.id);
  AuditEntry entry = NewAuditEntry(req.token.name, "policy.set", "", detail);
  auto rec = SetPolicy(*context.store, context.keys.signing_key, text, "console",
                       std::chrono::system_clock::now(), &entry);
  if (!rec.ok()) {
    if (rec.status().code() == StatusCode::kFailedPrecondition) {
      throw HttpError{409, rec.status().message(), "version_not_newer"};
    }
    if (rec.status().code() == StatusCode::kInvalidArgument) {
      throw HttpError{400, rec.status().message()};
    }
    throw HttpError{503, "database unavailable"};
  }
  context.log->info("level " + rec->level + " is now at policy version " +
                    std::to_string(rec->version) + " (set by token \"" +
                    json::escape(req.token.name) + "\")");
  json::Value out = json::Value::object();
  out.set("level", rec->level);
  out.set("version", rec->version);
  SendJson(resp, 201, out);
  return 201;
}

int preview(ServerContext& context, const PolicyRequest& req, Poco::Net::HTTPServerResponse& resp) {
  Policy policy = parse(req.body());
  std::vector<std::string> now_required;
  int64_t current_version = 0;
  if (auto current = context.store->latestPolicy(policy.level); current.ok()) {
    current_version = current->version;
    if (auto parsed = ParsePolicy(current->body, "stored policy"); parsed.ok()) {
      now_required = requiredChecks(*parsed);
    }
  } else if (current.status().code() != StatusCode::kNotFound) {
    throw HttpError{503, "database unavailable"};
  }
  std::vector<std::string> required = requiredChecks(policy);
  auto now = context.store->levelStanding(policy.level, now_required);
  auto then = context.store->levelStanding(policy.level, required);
  if (!now.ok() || !then.ok()) throw HttpError{503, "database unavailable"};
  json::Value out = json::Value::object();
  out.set("level", policy.level);
  out.set("version", policy.version);
  out.set("current_version", current_version);
  out.set("version_ok", policy.version > current_version);
  out.set("devices", then->devices);
  out.set("failing_now", now->failing);
  out.set("would_fail", then->failing);
  json::Value checks = json::Value::array();
  for (const auto& c : policy.checks) {
    json::Value o = json::Value::object();
    o.set("check", c.id);
    o.set("required", c.required);
    o.set("grace_days", c.grace_days);
    int64_t failing = 0, unknown = 0;
    for (const auto& [id, counts] : then->per_check) {
      if (id == c.id) {
        failing = counts.first;
        unknown = counts.second;
      }
    }
    o.set("failing", failing);
    o.set("unknown", unknown);
    checks.push(std::move(o));
  }
  out.set("checks", std::move(checks));
  SendJson(resp, 200, out);
  return 200;
}

}  // namespace

int RoutePolicies(ServerContext& context, const PolicyRequest& req,
                  Poco::Net::HTTPServerResponse& resp) {
  if (req.path == kPrefix) {
    if (req.method == "GET") return list(context, resp);
    if (req.method == "POST") return set(context, req, resp);
    throw HttpError{405, "use GET or POST"};
  }
  if (req.path == kPrefix + "/preview") {
    if (req.method == "POST") return preview(context, req, resp);
    throw HttpError{405, "use POST"};
  }
  throw HttpError{404, "no such endpoint"};
}

}  // namespace hearth::server
