#include "hearth/config_file.h"

#include <algorithm>

#include "hearth/text.h"

namespace hearth {

StatusOr<std::map<std::string, int>> ParseConfig(std::string_view text, const std::string& path,
                                                 const std::vector<ConfigKey>& keys,
                                                 const ConfigParseOptions& options) {
  std::map<std::string, int> seen;
  int n = 0;
  for (const auto& raw : text::splitLines(text)) {
    ++n;
    std::string line = text::trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    std::string where = path + ":" + std::to_string(n) + ": ";
    size_t eq = line.find('=');
    if (eq == std::string::npos) {
      std::string m = where + "expected `key = value`";
      if (options.quote_malformed_lines) m += ", got \"" + line + "\"";
      return InvalidArgumentError(std::move(m));
    }
    std::string key = text::trim(line.substr(0, eq));
    std::string value = text::trim(line.substr(eq + 1));
    auto it =
        std::find_if(keys.begin(), keys.end(), [&](const ConfigKey& k) { return k.name == key; });
    if (it == keys.end()) {
      std::vector<std::string> names;
      for (const auto& k : keys) names.push_back(k.name);
      std::sort(names.begin(), names.end());
      return InvalidArgumentError(where + key + ": unknown key (expected one of " +
                                  text::join(names, ", ") + ")");
    }
    if (auto prev = seen.find(key); prev != seen.end()) {
      return InvalidArgumentError(where + key + ": set twice (first on line " +
                                  std::to_string(prev->second) + ")");
    }
    seen[key] = n;
    if (Status s = it->set(value); !s.ok()) {
      return InvalidArgumentError(where + key + ": " + s.message());
    }
  }
  return seen;
}

}  // namespace hearth
