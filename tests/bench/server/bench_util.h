// What the server benchmarks share: their flags ("--name value") and percentiles.
#pragma once

#include <algorithm>
#include <cstdio>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::bench {

// The value after `name` on the command line, `fallback` when it is not there.
inline std::string Flag(int argc, char** argv, const std::string& name,
                        const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return fallback;
}

// Checks that the command line holds only `--name value` pairs of `known` (or --help / -h).
// Returns nullopt to go on; else the exit code to return: 0 after printing `usage` for --help,
// 2 after printing what is wrong and `usage` to stderr for an unknown argument or a missing value.
inline std::optional<int> CheckFlags(int argc, char** argv,
                                     std::initializer_list<std::string_view> known,
                                     const char* usage) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(usage, stdout);
      return 0;
    }
    if (std::find(known.begin(), known.end(), arg) == known.end()) {
      std::fprintf(stderr, "unknown argument: %s\n%s", argv[i], usage);
      return 2;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n%s", argv[i], usage);
      return 2;
    }
    ++i;
  }
  return std::nullopt;
}

// `text` as a whole number from `min` to `max`, else nullopt.
inline std::optional<int> WholeIn(const std::string& text, int min, int max) {
  try {
    size_t used = 0;
    int v = std::stoi(text, &used);
    if (used != text.size() || v < min || v > max) return std::nullopt;
    return v;
  } catch (...) {
    return std::nullopt;
  }
}

// The `p` quantile (0..1) of `v` (nearest rank); 0 for none.
inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace hearth::bench
