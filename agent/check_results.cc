// Merging partial results and fingerprinting them (see check_results.h).
#include "hearth/agent/check_results.h"

#include <set>

#include "hearth/protocol/crypto.h"  // Sha256Hex: encoding.cc, no OpenSSL

namespace hearth::agent {

json::Value MergeCheckResults(const json::Value& full, const json::Value& partial) {
  json::Value merged = full;
  const json::Value* fresh = partial.find("checks");
  const json::Value* old = full.find("checks");
  if (fresh == nullptr || !fresh->isArray() || old == nullptr || !old->isArray()) return partial;
  json::Value checks = json::Value::array();
  std::set<std::string> replaced;
  auto idOf = [](const json::Value& c) {
    const json::Value* id = c.find("id");
    return id != nullptr && id->isString() ? id->asString() : std::string();
  };
  for (const auto& c : old->asArray()) {
    const json::Value* match = nullptr;
    for (const auto& f : fresh->asArray()) {
      if (idOf(f) == idOf(c)) match = &f;
    }
    checks.push(match != nullptr ? *match : c);
    if (match != nullptr) replaced.insert(idOf(c));
  }
  for (const auto& f : fresh->asArray()) {
    if (replaced.count(idOf(f)) == 0) checks.push(f);
  }
  bool compliant = true;
  for (const auto& c : checks.asArray()) {
    const json::Value* req = c.find("required");
    const json::Value* verdict = c.find("verdict");
    bool required = req == nullptr || !req->isBool() || req->asBool();
    std::string v = verdict != nullptr && verdict->isString() ? verdict->asString() : "unknown";
    if (required && v != "pass" && v != "not_applicable") compliant = false;
  }
  merged.set("checks", checks);
  merged.set("compliant", compliant);
  if (const json::Value* at = partial.find("evaluated_at")) merged.set("evaluated_at", *at);
  return merged;
}

std::string ResultFingerprint(const json::Value& result) {
  json::Value f = json::Value::object();
  for (const char* k : {"level", "policy_version", "compliant"}) {
    if (const json::Value* v = result.find(k)) f.set(k, *v);
  }
  json::Value checks = json::Value::array();
  if (const json::Value* cs = result.find("checks"); cs != nullptr && cs->isArray()) {
    for (const auto& c : cs->asArray()) {
      json::Value e = json::Value::object();
      for (const char* k : {"id", "verdict", "required", "summary"}) {
        if (const json::Value* v = c.find(k)) e.set(k, *v);
      }
      checks.push(e);
    }
  }
  f.set("checks", checks);
  return protocol::Sha256Hex(json::write(f));
}

}  // namespace hearth::agent
