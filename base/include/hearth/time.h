// RFC 3339 times, the only time format Hearth writes into files, reports and the API.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "hearth/status.h"

namespace hearth {

// The most seconds from the epoch, either way, that a system_clock::time_point holds, less one
// (libstdc++ counts nanoseconds: years 1678 to 2262); converting a time beyond it overflows.
inline constexpr int64_t kMaxTimePointSeconds =
    std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::duration::max())
        .count() -
    1;

// `seconds` since the epoch as a time_point, clamped to ±kMaxTimePointSeconds (for numbers read
// from outside: a file, another process).
std::chrono::system_clock::time_point timePointFromSeconds(int64_t seconds);

// RFC 3339 UTC with seconds: "2026-11-26T10:00:00Z".
std::string formatRfc3339(std::chrono::system_clock::time_point t);

// Accepts YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM) ("t" or a space for "T", "z" for "Z").
// The fraction is ignored. InvalidArgument: "not an RFC 3339 time: \"<text>\"".
StatusOr<std::chrono::system_clock::time_point> parseRfc3339(std::string_view text);

}  // namespace hearth
