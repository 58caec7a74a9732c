// Small text helpers for parsers (pure functions, no I/O).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/status.h"

namespace hearth::text {

std::string trim(std::string_view s);
std::vector<std::string> splitLines(std::string_view s);  // without line ends; no final empty line
// Splits on runs of spaces and tabs.
std::vector<std::string> splitWhitespace(std::string_view s);
std::vector<std::string> split(std::string_view s, char sep);
std::optional<int64_t> parseInt(std::string_view s);  // whole string, base 10
// Whole string, base 10, 0..4294967295 (uids, device numbers); nullopt otherwise.
std::optional<uint32_t> parseU32(std::string_view s);
std::optional<uint64_t> parseHex(std::string_view s);  // optional 0x prefix
// KEY=value lines (os-release, logind session files); quotes removed, # comments ignored.
std::map<std::string, std::string> parseOsRelease(std::string_view s);
// Decodes mountinfo's octal escapes (\040 space, \011 tab, \012 newline, \134 backslash).
std::string unescapeOctal(std::string_view s);
// `s` with ASCII letters in lower case (other bytes unchanged).
std::string toLower(std::string_view s);
// The first line of `s` once trimmed, for quoting a tool's output in one line. Longer than
// `max_bytes`: the first `max_bytes` bytes and "...".
std::string firstLine(std::string_view s, size_t max_bytes = std::string_view::npos);
// Joins with a separator.
std::string join(const std::vector<std::string>& parts, std::string_view sep);

// One UTF-8 encoded code point at s[pos]: its value and length in bytes; nullopt for a sequence
// that is not valid UTF-8 (truncated, overlong, a surrogate, above U+10FFFF).
struct CodePoint {
  uint32_t value = 0;
  size_t length = 0;
};
std::optional<CodePoint> decodeUtf8(std::string_view s, size_t pos);

// Code points a string typed by a person (an owner, a hostname, a token's name) never needs and
// that change how text around them is shown: C0 controls and NUL, DEL, C1 controls, the line and
// paragraph separators U+2028/U+2029, and the bidi embeddings, overrides and isolates
// (U+202A..U+202E, U+2066..U+2069).
bool isDisallowedInPersonText(uint32_t cp);

// The one check of every string a person gives the server (an enrolment's owner and hostname,
// `/owner`, the names of secrets and tokens): valid UTF-8, at most `max_chars` characters (code
// points, not bytes) and no code point isDisallowedInPersonText. Emptiness is the caller's rule.
// InvalidArgument saying what is wrong ("is longer than 256 characters", "contains the control
// character U+001B", "is not valid UTF-8"), meant to follow a field name.
Status validatePersonText(std::string_view s, size_t max_chars);

// `s` made safe to print on a terminal or in one line of a table: bytes that are not valid UTF-8
// and C0, DEL and C1 controls as \xNN, the other code points isDisallowedInPersonText as \uNNNN;
// everything else as it is (a backslash too: "CORP\alice" stays readable).
std::string escapeForDisplay(std::string_view s);

}  // namespace hearth::text
