#include "hearth/agent/config.h"

#include "common/text.h"
#include "hearth/system_view.h"

namespace hearth::agent {

StatusOr<AgentConfig> LoadAgentConfig(const std::string& path, bool explicit_path) {
  AgentConfig c;
  auto view = NewLiveSystemView();
  auto text = view->readFile(path, 64 * 1024, false);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound && !explicit_path) return c;
    return text.status().withContext("configuration");
  }
  int n = 0;
  for (const auto& raw : text::splitLines(*text)) {
    ++n;
    std::string line = text::trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    size_t eq = line.find('=');
    std::string where = path + ":" + std::to_string(n) + ": ";
    if (eq == std::string::npos) {
      return InvalidArgumentError(where + "expected `key = value`, got \"" + line + "\"");
    }
    std::string key = text::trim(line.substr(0, eq));
    std::string value = text::trim(line.substr(eq + 1));
    if (key == "proxy") {
      c.proxy = value;
    } else if (key == "policy") {
      if (value.empty() || value[0] != '/') {
        return InvalidArgumentError(where + "policy: expected an absolute path");
      }
      c.fallback_policy = value;
    } else {
      return InvalidArgumentError(where + key + ": unknown key (expected proxy or policy)");
    }
  }
  return c;
}

}  // namespace hearth::agent
