// A small strict JSON value, parser and writer shared by the agent, the checks and the server.
//
// Why not Poco::JSON: policies must reject duplicate keys (a second "required": false must not
// silently win), errors must say line and column, integers must stay exact 64-bit values, object
// key order must be kept (reports are printed and signed as written), and the checks library stays
// free of Poco so `hearth-agent check` loads nothing it does not need. Depth and size are always
// bounded.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "hearth/status.h"

namespace hearth::json {

class Value;
using Array = std::vector<Value>;
// Keys in insertion order; parse() rejects duplicates, set() replaces in place.
using Object = std::vector<std::pair<std::string, Value>>;

enum class Type { kNull, kBool, kInt, kDouble, kString, kArray, kObject };
std::string_view typeName(Type t);  // "null", "boolean", "integer", "number", "string", ...

class Value {
 public:
  Value() = default;                                  // null
  Value(std::nullptr_t) {}                            // NOLINT
  Value(bool b) : v_(b) {}                            // NOLINT
  Value(int i) : v_(static_cast<int64_t>(i)) {}       // NOLINT
  Value(int64_t i) : v_(i) {}                         // NOLINT
  Value(uint32_t i) : v_(static_cast<int64_t>(i)) {}  // NOLINT
  Value(double d) : v_(d) {}                          // NOLINT
  Value(const char* s) : v_(std::string(s)) {}        // NOLINT
  Value(std::string s) : v_(std::move(s)) {}          // NOLINT
  Value(std::string_view s) : v_(std::string(s)) {}   // NOLINT
  Value(Array a) : v_(std::move(a)) {}                // NOLINT
  Value(Object o) : v_(std::move(o)) {}               // NOLINT

  static Value object() { return Value(Object{}); }
  static Value array() { return Value(Array{}); }

  Type type() const;
  bool isNull() const { return type() == Type::kNull; }
  bool isBool() const { return type() == Type::kBool; }
  bool isInt() const { return type() == Type::kInt; }
  bool isString() const { return type() == Type::kString; }
  bool isArray() const { return type() == Type::kArray; }
  bool isObject() const { return type() == Type::kObject; }

  // REQUIRES: the matching type (checked by assert; wrong use returns a static empty value).
  bool asBool() const;
  int64_t asInt() const;
  double asDouble() const;  // ints convert
  const std::string& asString() const;
  const Array& asArray() const;
  Array& asArray();
  const Object& asObject() const;
  Object& asObject();

  // Object access. find() returns nullptr if absent or if this is not an object.
  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  // Removes `key`; false if it was absent or this is not an object.
  bool erase(std::string_view key);
  // Sets key (replacing an existing one in place). REQUIRES: isObject() (a null becomes an object).
  Value& set(std::string_view key, Value v);
  // Appends. REQUIRES: isArray() (a null becomes an array).
  Value& push(Value v);
  size_t size() const;  // elements of an array or object, else 0

  bool operator==(const Value& other) const;
  bool operator!=(const Value& other) const { return !(*this == other); }

 private:
  std::variant<std::nullptr_t, bool, int64_t, double, std::string, Array, Object> v_{nullptr};
};

struct ParseOptions {
  size_t max_depth = 32;  // nesting of arrays/objects
  size_t max_bytes = 4 * 1024 * 1024;
};

// Parses exactly one JSON value (whitespace around it allowed). Errors are InvalidArgument with
// "line L, column C: what" in the message. Rejects duplicate object keys, invalid UTF-8, lone
// surrogates, control characters in strings, trailing commas, NaN/Infinity and comments.
StatusOr<Value> parse(std::string_view text, const ParseOptions& options = {});

struct WriteOptions {
  bool pretty = false;  // two-space indentation and newlines
};
// Serialises `v`. Strings are escaped so the output is valid UTF-8 JSON even if the input string
// holds invalid UTF-8 (invalid bytes become U+FFFD). Doubles use the shortest round-trip form.
std::string write(const Value& v, const WriteOptions& options = {});

// Escapes `s` as the body of a JSON string (without quotes).
std::string escape(std::string_view s);

}  // namespace hearth::json
