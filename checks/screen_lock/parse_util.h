// screen_lock: small value readers shared by its pure parsers (no I/O here).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hearth::checks::screen_lock {

bool contains(std::string_view haystack, std::string_view needle);
// A finite decimal number (surrounding blanks allowed), as desktop settings write them; nullopt for
// anything else or text longer than 64 characters.
std::optional<double> parseDouble(std::string_view s);

}  // namespace hearth::checks::screen_lock
