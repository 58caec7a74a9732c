#include "hearth/agent/privacy.h"

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

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

void dropKeys(json::Value& obj, std::initializer_list<const char*> keys) {
  if (!obj.isObject()) return;
  json::Object kept;
  for (auto& [k, e] : obj.asObject()) {
    bool drop = false;
    for (const char* d : keys) drop = drop || k == d;
    if (!drop) kept.emplace_back(k, std::move(e));
  }
  obj = json::Value(std::move(kept));
}

// Collects screen_lock's usernames (people[].user, not_inspected[].user) and removes user/uid.
void collectPeople(json::Value& evidence, std::map<std::string, std::string>& names) {
  for (const char* list : {"people", "not_inspected"}) {
    json::Value* arr = nullptr;
    if (evidence.isObject()) {
      for (auto& [k, v] : evidence.asObject()) {
        if (k == list && v.isArray()) arr = &v;
      }
    }
    if (arr == nullptr) continue;
    for (auto& p : arr->asArray()) {
      const json::Value* user = p.find("user");
      if (user != nullptr && user->isString() && names.count(user->asString()) == 0) {
        const json::Value* label = p.find("person");
        names[user->asString()] = label != nullptr && label->isString()
                                      ? label->asString()
                                      : "person " + std::to_string(names.size() + 1);
      }
      dropKeys(p, {"user", "uid"});
    }
  }
}

void filterPatches(json::Value& evidence) {
  if (!evidence.isObject()) return;
  for (auto& [k, v] : evidence.asObject()) {
    if (k == "pending" && v.isArray()) {
      json::Value only = json::Value::array();
      for (const auto& p : v.asArray()) {
        const json::Value* sec = p.find("security");
        if (sec == nullptr || !sec->isBool() || !sec->asBool()) continue;
        json::Value e = json::Value::object();
        for (const char* key : {"name", "security", "first_seen", "security_first_seen"}) {
          if (const json::Value* f = p.find(key)) e.set(key, *f);
        }
        only.push(std::move(e));
      }
      v = std::move(only);
    } else if ((k == "kept_back" || k == "removals" || k == "phasing_deferred") && v.isArray()) {
      v = json::Value(static_cast<int64_t>(v.size()));  // how many, not which
    } else if (k == "reboot" && v.isObject()) {
      dropKeys(v, {"packages"});
    }
  }
}

}  // namespace

std::vector<std::string> LocalUsersFromPasswd(const std::string& passwd) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < passwd.size()) {
    size_t nl = passwd.find('\n', start);
    std::string line =
        passwd.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    start = nl == std::string::npos ? passwd.size() : nl + 1;
    std::vector<std::string> f;
    size_t p = 0;
    while (f.size() < 4) {
      size_t c = line.find(':', p);
      f.push_back(line.substr(p, c == std::string::npos ? std::string::npos : c - p));
      if (c == std::string::npos) break;
      p = c + 1;
    }
    if (f.size() < 3 || f[0].empty()) continue;
    char* end = nullptr;
    long uid = std::strtol(f[2].c_str(), &end, 10);
    if (end != nullptr && *end == '\0' && uid >= 1000 && uid < 60000) out.push_back(f[0]);
  }
  return out;
}

json::Value ApplyPrivacyFilter(const json::Value& result,
                               const std::vector<std::string>& local_users) {
  json::Value out = result;
  std::map<std::string, std::string> names;
  if (!out.isObject()) return out;
  for (auto& [k, v] : out.asObject()) {
    if (k != "checks" || !v.isArray()) continue;
    for (auto& check : v.asArray()) {
      const json::Value* id = check.find("id");
      if (id == nullptr || !id->isString() || !check.isObject()) continue;
      for (auto& [ck, cv] : check.asObject()) {
        if (ck != "evidence") continue;
        if (id->asString() == "screen_lock") collectPeople(cv, names);
        if (id->asString() == "os_patches") filterPatches(cv);
      }
    }
  }
  for (const auto& user : local_users) {
    if (names.count(user) == 0) names[user] = "person " + std::to_string(names.size() + 1);
  }
  if (!names.empty()) replaceEverywhere(out, names);
  return out;
}

}  // namespace hearth::agent
