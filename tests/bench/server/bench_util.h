// What the server benchmarks share: their flags ("--name value") and percentiles.
#pragma once

#include <algorithm>
#include <string>
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

// The `p` quantile (0..1) of `v` (nearest rank); 0 for none.
inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace hearth::bench
