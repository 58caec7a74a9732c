// A JSON Schema validator for the subset server-api/openapi.json uses, for tests that check real
// answers against the document: $ref (to "#/..." in the same document), allOf, type (a name or a
// list of names; "integer" and "number"), required, properties, additionalProperties: false,
// items, maxItems, enum, const, minimum, maximum, minLength and maxLength (in characters).
// Keywords it does not know (format, pattern, description, contentEncoding, ...) are ignored.
// Written for the tests rather than taken from a package: Debian 12 has no C++ JSON Schema
// library that reads our json::Value, and the subset is small.
#pragma once

#include <string>
#include <vector>

#include "hearth/json.h"

namespace hearth::testing {

// What in `value` does not match `schema`, one line each ("$.devices[0].status: ..."); empty
// when it matches. `document` is what "#/..." references resolve against.
std::vector<std::string> ValidateJson(const json::Value& value, const json::Value& schema,
                                      const json::Value& document);

// The schema "#/a/b" names in `document`, or nullptr.
const json::Value* ResolveRef(const std::string& ref, const json::Value& document);

}  // namespace hearth::testing
