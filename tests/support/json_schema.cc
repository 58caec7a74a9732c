// The JSON Schema subset validator (see json_schema.h).
#include "support/json_schema.h"

#include <algorithm>

namespace hearth::testing {

namespace {

bool hasType(const json::Value& v, const std::string& type) {
  if (type == "null") return v.isNull();
  if (type == "boolean") return v.isBool();
  if (type == "integer") return v.isInt();
  if (type == "number") return v.isInt() || v.type() == json::Type::kDouble;
  if (type == "string") return v.isString();
  if (type == "array") return v.isArray();
  if (type == "object") return v.isObject();
  return false;
}

size_t characters(const std::string& s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

void validate(const json::Value& v, const json::Value& schema, const json::Value& doc,
              const std::string& where, std::vector<std::string>& errors) {
  const json::Value* s = &schema;
  for (int hops = 0; s != nullptr && s->find("$ref") != nullptr && hops < 16; ++hops) {
    const json::Value* target = ResolveRef(s->find("$ref")->asString(), doc);
    if (target == nullptr) {
      errors.push_back(where + ": unresolved $ref " + s->find("$ref")->asString());
      return;
    }
    s = target;
  }
  if (s == nullptr || !s->isObject()) return;
  if (const json::Value* all = s->find("allOf")) {
    for (const auto& part : all->asArray()) validate(v, part, doc, where, errors);
  }
  if (const json::Value* type = s->find("type")) {
    bool ok = false;
    if (type->isString()) ok = hasType(v, type->asString());
    for (const auto& t : type->isArray() ? type->asArray() : json::Array{}) {
      ok = ok || hasType(v, t.asString());
    }
    if (!ok) {
      errors.push_back(where + ": expected type " + json::write(*type) + ", got " +
                       std::string(json::typeName(v.type())));
      return;
    }
  }
  if (const json::Value* e = s->find("enum")) {
    const auto& options = e->asArray();
    if (std::find(options.begin(), options.end(), v) == options.end()) {
      errors.push_back(where + ": " + json::write(v) + " is not one of " + json::write(*e));
    }
  }
  if (const json::Value* c = s->find("const"); c != nullptr && *c != v) {
    errors.push_back(where + ": expected " + json::write(*c) + ", got " + json::write(v));
  }
  if (v.isInt() || v.type() == json::Type::kDouble) {
    if (const json::Value* min = s->find("minimum");
        min != nullptr && v.asDouble() < min->asDouble()) {
      errors.push_back(where + ": below the minimum " + json::write(*min));
    }
    if (const json::Value* max = s->find("maximum");
        max != nullptr && v.asDouble() > max->asDouble()) {
      errors.push_back(where + ": above the maximum " + json::write(*max));
    }
  }
  if (v.isString()) {
    size_t n = characters(v.asString());
    if (const json::Value* min = s->find("minLength");
        min != nullptr && n < static_cast<size_t>(min->asInt())) {
      errors.push_back(where + ": shorter than " + json::write(*min) + " characters");
    }
    if (const json::Value* max = s->find("maxLength");
        max != nullptr && n > static_cast<size_t>(max->asInt())) {
      errors.push_back(where + ": longer than " + json::write(*max) + " characters");
    }
  }
  if (v.isArray()) {
    if (const json::Value* max = s->find("maxItems");
        max != nullptr && v.size() > static_cast<size_t>(max->asInt())) {
      errors.push_back(where + ": more than " + json::write(*max) + " items");
    }
    if (const json::Value* items = s->find("items")) {
      for (size_t i = 0; i < v.size(); ++i) {
        validate(v.asArray()[i], *items, doc, where + "[" + std::to_string(i) + "]", errors);
      }
    }
  }
  if (v.isObject()) {
    if (const json::Value* required = s->find("required")) {
      for (const auto& name : required->asArray()) {
        if (v.find(name.asString()) == nullptr) {
          errors.push_back(where + ": lacks required " + name.asString());
        }
      }
    }
    const json::Value* properties = s->find("properties");
    const json::Value* additional = s->find("additionalProperties");
    for (const auto& [key, member] : v.asObject()) {
      const json::Value* p = properties != nullptr ? properties->find(key) : nullptr;
      if (p != nullptr) {
        validate(member, *p, doc, where + "." + key, errors);
      } else if (additional != nullptr && additional->isBool() && !additional->asBool()) {
        errors.push_back(where + ": unexpected property " + key);
      }
    }
  }
}

}  // namespace

const json::Value* ResolveRef(const std::string& ref, const json::Value& document) {
  if (!ref.starts_with("#/")) return nullptr;
  const json::Value* at = &document;
  size_t pos = 2;
  while (at != nullptr && pos <= ref.size()) {
    size_t slash = ref.find('/', pos);
    std::string part =
        ref.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    at = at->find(part);
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  return at;
}

std::vector<std::string> ValidateJson(const json::Value& value, const json::Value& schema,
                                      const json::Value& document) {
  std::vector<std::string> errors;
  validate(value, schema, document, "$", errors);
  return errors;
}

}  // namespace hearth::testing
