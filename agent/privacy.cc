#include "hearth/agent/privacy.h"

#include <map>
#include <string>
#include <vector>

#include "hearth/check_registry.h"

namespace hearth::agent {

namespace {

bool isNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == '$';
}

// Replaces whole-word occurrences of each name.
std::string replaceNames(const std::string& s, const std::map<std::string, std::string>& names) {
  std::string out = s;
  for (const auto& [name, label] : names) {
    if (name.empty()) continue;
    size_t pos = 0;
    while ((pos = out.find(name, pos)) != std::string::npos) {
      bool left = pos == 0 || !isNameChar(out[pos - 1]);
      size_t end = pos + name.size();
      bool right = end >= out.size() || !isNameChar(out[end]);
      if (left && right) {
        out.replace(pos, name.size(), label);
        pos += label.size();
      } else {
        pos = end;
      }
    }
  }
  return out;
}

void replaceEverywhere(json::Value& v, const std::map<std::string, std::string>& names) {
  if (v.isString()) {
    v = json::Value(replaceNames(v.asString(), names));
  } else if (v.isArray()) {
    for (auto& e : v.asArray()) replaceEverywhere(e, names);
  } else if (v.isObject()) {
    json::Object renamed;
    for (auto& [k, e] : v.asObject()) {
      replaceEverywhere(e, names);
      renamed.emplace_back(replaceNames(k, names), std::move(e));
    }
    v = json::Value(std::move(renamed));
  }
}

}  // namespace

std::vector<std::string> LocalUsersFromPasswd(std::string_view passwd,
                                              const accounts::UidRange& range) {
  std::vector<std::string> out;
  for (const auto& entry : accounts::parsePasswd(passwd)) {
    if (entry.uid >= range.min && entry.uid <= range.max) out.push_back(entry.name);
  }
  return out;
}

json::Value ApplyPrivacyFilter(const json::Value& result,
                               const std::vector<std::string>& local_users) {
  json::Value out = result;
  PersonLabels names;
  if (!out.isObject()) return out;
  // The company's own words (helpdesk, description) came from the server's policy: nothing to
  // send back.
  out.erase("help");
  // Each check's own filter: what of its evidence may leave, and the people it names.
  if (json::Value* checks = out.find("checks"); checks != nullptr && checks->isArray()) {
    for (auto& check : checks->asArray()) {
      // The texts kept for showing in the person's language stay on the PC: the report carries
      // the English and the advice codes (ARCHITECTURE.md: reports are language-neutral).
      check.erase("text");
      const json::Value* id = check.find("id");
      json::Value* evidence = check.find("evidence");
      if (id == nullptr || !id->isString() || evidence == nullptr) continue;
      const CheckEntry* entry = Checks().find(id->asString());
      if (entry != nullptr && entry->privacy_filter) entry->privacy_filter(*evidence, names);
    }
  }
  for (const auto& user : local_users) {
    if (names.count(user) == 0) names[user] = "person " + std::to_string(names.size() + 1);
  }
  if (!names.empty()) replaceEverywhere(out, names);
  return out;
}

}  // namespace hearth::agent
