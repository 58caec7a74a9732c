// screen_lock: small value readers shared by its pure parsers (parse_util.h).
#include "screen_lock/parse_util.h"

#include <cmath>
#include <cstdlib>

#include "hearth/text.h"

namespace hearth::checks::screen_lock {

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

std::optional<double> parseDouble(std::string_view s) {
  std::string t = text::trim(s);
  if (t.empty() || t.size() > 64) return std::nullopt;
  char* end = nullptr;
  double d = std::strtod(t.c_str(), &end);
  if (end == nullptr || *end != '\0' || !std::isfinite(d)) return std::nullopt;
  return d;
}

}  // namespace hearth::checks::screen_lock
