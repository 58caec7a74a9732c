#include "hearth/json_reader.h"

#include <utility>

#include "hearth/time.h"

namespace hearth::json {

namespace {

std::string wholeNumber(int64_t lo, int64_t hi) {
  if (hi == std::numeric_limits<int64_t>::max()) {
    return "a whole number of " + std::to_string(lo) + " or more";
  }
  return "a whole number from " + std::to_string(lo) + " to " + std::to_string(hi);
}

}  // namespace

std::string DescribeValue(const Value& v) {
  if (v.isObject() || v.isArray()) return std::string(typeName(v.type()));
  std::string text = write(v);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return std::string(typeName(v.type())) + " " + text;
}

ObjectReader::ObjectReader(const Value& value, ReaderOptions options, std::string path)
    : value_(&value), options_(std::move(options)), path_(std::move(path)) {}

StatusOr<ObjectReader> ObjectReader::Open(const Value& value, ReaderOptions options) {
  ObjectReader r(value, std::move(options));
  if (!value.isObject()) {
    if (r.options_.style == ErrorStyle::kField) return r.error("expected a JSON object");
    return r.invalid("(top level)", "a JSON object", &value);
  }
  return r;
}

const Value* ObjectReader::find(std::string_view key) const { return value_->find(key); }

std::string ObjectReader::keyPath(std::string_view key) const {
  std::string s = path_;
  if (!s.empty()) s += ".";
  s += key;
  return s;
}

std::string ObjectReader::prefix() const {
  return options_.source.empty() ? "" : options_.source + ": ";
}

Status ObjectReader::error(std::string message) const {
  return Status(options_.code, std::move(message));
}

Status ObjectReader::invalid(std::string_view key, std::string_view expected,
                             const Value* got) const {
  std::string m;
  if (options_.style == ErrorStyle::kField) {
    m = path_.empty() ? "field \"" + std::string(key) + "\"" : keyPath(key);
    m += " must be ";
    m += expected;
    return error(std::move(m));
  }
  m = prefix() + keyPath(key) + ": expected ";
  m += expected;
  if (got != nullptr) m += ", got " + DescribeValue(*got);
  return error(std::move(m));
}

Status ObjectReader::missing(std::string_view key, std::string_view expected) const {
  if (options_.style == ErrorStyle::kField) {
    if (path_.empty()) return error("missing field \"" + std::string(key) + "\"");
    return invalid(key, expected);
  }
  return error(prefix() + keyPath(key) + ": expected " + std::string(expected) + " (missing)");
}

Status ObjectReader::onlyKeys(std::initializer_list<std::string_view> allowed) const {
  return onlyKeys(std::span<const std::string_view>(allowed.begin(), allowed.size()));
}

Status ObjectReader::onlyKeys(std::span<const std::string_view> allowed) const {
  if (!value_->isObject()) return OkStatus();
  for (const auto& [key, unused] : value_->asObject()) {
    bool known = false;
    for (auto a : allowed) known = known || key == a;
    if (known) continue;
    if (options_.style == ErrorStyle::kField) {
      return error(options_.source + ": unknown field \"" + escape(key) + "\"");
    }
    std::string expected;
    for (auto a : allowed) {
      if (!expected.empty()) expected += ", ";
      expected += a;
    }
    return error(prefix() + keyPath(key) + ": unknown key (expected one of " + expected + ")");
  }
  return OkStatus();
}

Status ObjectReader::readBool(std::string_view key, bool& out, Presence presence) const {
  const Value* v = find(key);
  if (v == nullptr) {
    return presence == Presence::kRequired ? missing(key, "true or false") : OkStatus();
  }
  if (!v->isBool()) return invalid(key, "true or false", v);
  out = v->asBool();
  return OkStatus();
}

Status ObjectReader::readInt(std::string_view key, int64_t lo, int64_t hi, int64_t& out,
                             Presence presence) const {
  const Value* v = find(key);
  if (v == nullptr) {
    return presence == Presence::kRequired ? missing(key, wholeNumber(lo, hi)) : OkStatus();
  }
  if (!v->isInt() || v->asInt() < lo || v->asInt() > hi) {
    return invalid(key, wholeNumber(lo, hi), v);
  }
  out = v->asInt();
  return OkStatus();
}

Status ObjectReader::readInt(std::string_view key, int64_t lo, int64_t hi, int& out,
                             Presence presence) const {
  lo = std::max<int64_t>(lo, std::numeric_limits<int>::min());
  hi = std::min<int64_t>(hi, std::numeric_limits<int>::max());
  int64_t wide = out;
  HEARTH_RETURN_IF_ERROR(readInt(key, lo, hi, wide, presence));
  out = static_cast<int>(wide);
  return OkStatus();
}

Status ObjectReader::readString(std::string_view key, std::string& out, StringLimits limits,
                                Presence presence) const {
  const Value* v = find(key);
  if (v == nullptr) return presence == Presence::kRequired ? missing(key, "a string") : OkStatus();
  if (!v->isString()) return invalid(key, "a string", v);
  const std::string& s = v->asString();
  const bool field = options_.style == ErrorStyle::kField;
  if (s.size() > limits.max_bytes) {
    if (!field) {
      return invalid(key, "a string of at most " + std::to_string(limits.max_bytes) + " bytes", v);
    }
    return error((path_.empty() ? "field \"" + std::string(key) + "\"" : keyPath(key)) +
                 " is longer than " + std::to_string(limits.max_bytes) + " bytes");
  }
  if (limits.non_empty && s.empty()) {
    if (!field) return invalid(key, "a non-empty string", v);
    return error((path_.empty() ? "field \"" + std::string(key) + "\"" : keyPath(key)) +
                 " must not be empty");
  }
  out = s;
  return OkStatus();
}

Status ObjectReader::readTime(std::string_view key, std::chrono::system_clock::time_point& out,
                              Presence presence) const {
  const Value* v = find(key);
  if (v == nullptr) {
    return presence == Presence::kRequired ? missing(key, "an RFC 3339 time") : OkStatus();
  }
  if (!v->isString()) return invalid(key, "an RFC 3339 time", v);
  auto t = parseRfc3339(v->asString());
  if (!t.ok()) return invalid(key, "an RFC 3339 time", v);
  out = *t;
  return OkStatus();
}

Status ObjectReader::readObject(std::string_view key, std::optional<ObjectReader>& out,
                                Presence presence) const {
  const Value* v = find(key);
  if (v == nullptr) {
    return presence == Presence::kRequired ? missing(key, "an object") : OkStatus();
  }
  HEARTH_ASSIGN_OR_RETURN(ObjectReader r, objectAt(key, *v));
  out = std::move(r);
  return OkStatus();
}

Status ObjectReader::readArray(std::string_view key, size_t max_items, std::string_view what,
                               const Array*& out, Presence presence) const {
  const Value* v = find(key);
  if (v == nullptr) return presence == Presence::kRequired ? missing(key, what) : OkStatus();
  if (!v->isArray() || v->size() > max_items) return invalid(key, what, v);
  out = &v->asArray();
  return OkStatus();
}

StatusOr<ObjectReader> ObjectReader::objectAt(std::string_view name, const Value& element,
                                              std::string_view expected) const {
  if (!element.isObject()) return invalid(name, expected, &element);
  return ObjectReader(element, options_, keyPath(name));
}

std::string ObjectReader::stringOr(std::string_view key, std::string_view fallback) const {
  const Value* v = find(key);
  return v != nullptr && v->isString() ? v->asString() : std::string(fallback);
}

int64_t ObjectReader::intOr(std::string_view key, int64_t fallback) const {
  const Value* v = find(key);
  return v != nullptr && v->isInt() ? v->asInt() : fallback;
}

bool ObjectReader::boolOr(std::string_view key, bool fallback) const {
  const Value* v = find(key);
  return v != nullptr && v->isBool() ? v->asBool() : fallback;
}

}  // namespace hearth::json
