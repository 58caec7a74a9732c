// Small text helpers for parsers (pure functions, no I/O).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::text {

std::string trim(std::string_view s);
std::vector<std::string> splitLines(std::string_view s);  // without line ends; no final empty line
// Splits on runs of spaces and tabs.
std::vector<std::string> splitWhitespace(std::string_view s);
std::vector<std::string> split(std::string_view s, char sep);
bool startsWith(std::string_view s, std::string_view prefix);
bool endsWith(std::string_view s, std::string_view suffix);
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

}  // namespace hearth::text
