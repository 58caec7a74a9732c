// The contract checks of the fuzz targets: a broken contract is a crash (libFuzzer saves the input;
// the replay driver fails the ctest), with the condition and its line on stderr.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#define FUZZ_ASSERT(cond)                                                              \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      std::fprintf(stderr, "%s:%d: contract broken: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                    \
    }                                                                                  \
  } while (0)

namespace hearth::fuzz {

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// True when `message` starts with `prefix` (a refusal that names its source).
inline bool StartsWith(std::string_view message, std::string_view prefix) {
  return message.substr(0, prefix.size()) == prefix;
}

}  // namespace hearth::fuzz
