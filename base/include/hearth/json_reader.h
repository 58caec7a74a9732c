// Strict reading of one JSON object: typed fields, unknown keys refused, and errors that name the
// document, the key path and what was expected. Policies, the wire types, the agent's state files
// and the uploader's frames are all read through it.
//
//   HEARTH_ASSIGN_OR_RETURN(auto r, json::ObjectReader::Open(doc, {.source = path}));
//   HEARTH_RETURN_IF_ERROR(r.onlyKeys({"required", "max_idle_seconds"}));
//   HEARTH_RETURN_IF_ERROR(r.readBool("required", s.required));             // optional
//   HEARTH_RETURN_IF_ERROR(r.readInt("max_idle_seconds", 1, 86400, s.max_idle_seconds));
//
// Two wordings (ErrorStyle), because two kinds of reader see the errors:
//   kKeyPath (a person editing a document):
//     "<source>: checks.vpn.required: expected true or false, got string \"yes\""
//     "<source>: level: expected a level name (missing)"
//     "<source>: checks.vpn.requird: unknown key (expected one of required, company_addresses)"
//   kField (a program sending an API body):
//     "field \"csr\" must be a string"   "missing field \"csr\""   "enroll: unknown field \"x\""
//     below the top: "result.checks[].verdict must be pass, fail, unknown or not_applicable"
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "hearth/json.h"
#include "hearth/status.h"

namespace hearth::json {

enum class ErrorStyle { kKeyPath, kField };

// Whether an absent field is an error.
enum class Presence { kOptional, kRequired };

struct ReaderOptions {
  // kKeyPath: the document, first in every message ("/etc/hearth/policy.json"; empty: messages
  // start with the key path, for a caller that adds the document itself). kField: the kind of
  // body, named in unknown-field errors only ("enroll").
  std::string source = "";
  ErrorStyle style = ErrorStyle::kKeyPath;
  // The code of every error: InvalidArgument for input, DataLoss for the program's own files.
  StatusCode code = StatusCode::kInvalidArgument;
};

struct StringLimits {
  size_t max_bytes = std::numeric_limits<size_t>::max();
  bool non_empty = false;
};

// Reads one object. Cheap to copy; the Value it reads must outlive it. Not thread-safe.
class ObjectReader {
 public:
  // Reads `value`. A value that is not an object reads as one without fields (the lenient
  // accessors then give their fallbacks); Open() refuses it instead.
  ObjectReader(const Value& value, ReaderOptions options, std::string path = "");

  // A reader of `value`, which must be an object: else kKeyPath "<source>: (top level): expected
  // a JSON object, got ...", kField "expected a JSON object".
  static StatusOr<ObjectReader> Open(const Value& value, ReaderOptions options);

  // The key path of this object from the top ("" at the top, "checks.vpn" below).
  const std::string& path() const { return path_; }
  bool has(std::string_view key) const { return find(key) != nullptr; }
  // The field's value; nullptr when absent.
  const Value* find(std::string_view key) const;

  // Refuses any key not in `allowed` (named in the error in this order).
  Status onlyKeys(std::initializer_list<std::string_view> allowed) const;
  Status onlyKeys(std::span<const std::string_view> allowed) const;

  // Typed fields. An absent field is an error when kRequired; an absent optional one leaves `out`
  // unchanged. Wrong types and values are errors with the text in quotes:
  //   readBool    "true or false"
  //   readInt     "a whole number from LO to HI" ("... of LO or more" when HI is the maximum)
  //   readString  "a string" (kField: "must be a string", "is longer than N bytes", "must not be
  //               empty"; kKeyPath: "a string of at most N bytes", "a non-empty string")
  //   readObject  "an object"; `out` becomes a reader of it with the path extended by `key`
  //   readTime    "an RFC 3339 time" (a string, see time.h)
  //   readArray   `what`, given by the caller ("an array of at most 16 pins"); max_items bounds it
  Status readBool(std::string_view key, bool& out, Presence presence = Presence::kOptional) const;
  Status readInt(std::string_view key, int64_t lo, int64_t hi, int64_t& out,
                 Presence presence = Presence::kOptional) const;
  Status readInt(std::string_view key, int64_t lo, int64_t hi, int& out,
                 Presence presence = Presence::kOptional) const;
  Status readString(std::string_view key, std::string& out, StringLimits limits = {},
                    Presence presence = Presence::kOptional) const;
  Status readTime(std::string_view key, std::chrono::system_clock::time_point& out,
                  Presence presence = Presence::kOptional) const;
  Status readObject(std::string_view key, std::optional<ObjectReader>& out,
                    Presence presence = Presence::kOptional) const;
  Status readArray(std::string_view key, size_t max_items, std::string_view what, const Array*& out,
                   Presence presence = Presence::kOptional) const;

  // A reader of `element` (an array element, say), whose path is this path extended by `name`
  // ("checks[]", "company_addresses[3]"); not an object: invalid(name, expected, &element).
  StatusOr<ObjectReader> objectAt(std::string_view name, const Value& element,
                                  std::string_view expected = "an object") const;

  // Errors in this reader's wording, for what the typed reads do not cover. `key` may be a path
  // below this object ("company_addresses[0]"); `got`, when given, is described (kKeyPath only).
  Status invalid(std::string_view key, std::string_view expected, const Value* got = nullptr) const;
  Status missing(std::string_view key, std::string_view expected) const;

  // Lenient reads, for frames between our own processes: the field when it has the type, else
  // `fallback`. Never errors.
  std::string stringOr(std::string_view key, std::string_view fallback = "") const;
  int64_t intOr(std::string_view key, int64_t fallback) const;
  bool boolOr(std::string_view key, bool fallback) const;

 private:
  std::string keyPath(std::string_view key) const;
  std::string prefix() const;  // "<source>: ", or "" without a source
  Status error(std::string message) const;

  const Value* value_;
  ReaderOptions options_;
  std::string path_;
};

// How a value is shown in a kKeyPath error: its type, and its text when short ("string \"yes\"",
// "integer 5", "object").
std::string DescribeValue(const Value& v);

}  // namespace hearth::json
