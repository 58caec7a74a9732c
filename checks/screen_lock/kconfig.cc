// screen_lock: KDE settings (no I/O here). Parses KConfig INI files (groups, [$i] immutability,
// localised keys skipped), merges them as a cascade, and turns kscreenlockerrc into a LockConfig
// (kdeConfig).
#include <algorithm>
#include <cmath>
#include <set>

#include "hearth/text.h"
#include "screen_lock/parse_util.h"
#include "screen_lock/screen_lock.h"

namespace hearth::checks::screen_lock {

KConfigFile parseKConfig(std::string_view file) {
  KConfigFile out;
  std::string group = "<default>";
  bool seen_group = false;
  bool group_immutable = false;
  for (const auto& raw : text::splitLines(file)) {
    std::string line = text::trim(raw);
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[') {
      // "[Group]", "[Group][$i]", "[Outer][Inner]", or a lone "[$i]" before any group.
      std::vector<std::string> parts;
      size_t i = 0;
      bool ok = true;
      while (i < line.size() && line[i] == '[') {
        size_t close = line.find(']', i);
        if (close == std::string::npos) {
          ok = false;
          break;
        }
        parts.push_back(line.substr(i + 1, close - i - 1));
        i = close + 1;
      }
      if (!ok || parts.empty()) continue;
      bool imm = false;
      if (parts.back() == "$i") {
        imm = true;
        parts.pop_back();
      }
      if (parts.empty()) {
        if (!seen_group && imm) out.file_immutable = true;
        continue;
      }
      group = text::join(parts, "][");
      seen_group = true;
      group_immutable = imm;
      if (imm) out.immutable_groups.insert(group);
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    std::string key = text::trim(std::string_view(line).substr(0, eq));
    std::string value = text::trim(std::string_view(line).substr(eq + 1));
    bool immutable = group_immutable;
    bool localised = false;
    size_t br = key.find('[');
    if (br != std::string::npos) {
      std::string opts = key.substr(br);
      key = text::trim(key.substr(0, br));
      size_t j = 0;
      while (j < opts.size() && opts[j] == '[') {
        size_t close = opts.find(']', j);
        if (close == std::string::npos) break;
        std::string o = opts.substr(j + 1, close - j - 1);
        if (!o.empty() && o[0] == '$') {
          if (o.find('i') != std::string::npos) immutable = true;
        } else {
          localised = true;
        }
        j = close + 1;
      }
    }
    if (key.empty() || localised) continue;
    out.entries.push_back(KConfigEntry{group, key, value, immutable});
  }
  return out;
}

void KConfigCascade::merge(const KConfigFile& file, const std::string& source) {
  if (all_immutable_) return;
  for (const auto& e : file.entries) {
    if (immutable_groups_.count(e.group) > 0) continue;
    auto& g = values_[e.group];
    auto it = g.find(e.key);
    if (it != g.end() && it->second.immutable) continue;
    g[e.key] = Value{e.value, e.immutable || file.file_immutable, source};
  }
  for (const auto& grp : file.immutable_groups) immutable_groups_.insert(grp);
  if (file.file_immutable) all_immutable_ = true;
}

const KConfigCascade::Value* KConfigCascade::find(const std::string& group,
                                                  const std::string& key) const {
  auto g = values_.find(group);
  if (g == values_.end()) return nullptr;
  auto it = g->second.find(key);
  return it == g->second.end() ? nullptr : &it->second;
}

std::optional<bool> parseKConfigBool(std::string_view value) {
  std::string v = text::toLower(text::trim(value));
  if (v.empty()) return std::nullopt;
  if (v == "false" || v == "no" || v == "off" || v == "0") return false;
  return true;
}

LockConfig kdeConfig(const KConfigCascade& config, bool require_lock_on_resume) {
  LockConfig c;
  c.desktop = Desktop::kKde;
  c.label = "kde";
  const std::string g = "Daemon";
  std::set<std::string> sources;
  auto boolKey = [&](const char* key, bool fallback) {
    const auto* v = config.find(g, key);
    bool b = fallback;
    if (v != nullptr) {
      b = parseKConfigBool(v->value).value_or(fallback);
      sources.insert(v->source);
    }
    c.settings.set(std::string("Daemon/") + key, b);
    return b;
  };
  auto enforcedKey = [&](const char* key) {
    if (config.groupImmutable(g)) return true;
    const auto* v = config.find(g, key);
    return v != nullptr && v->immutable;
  };
  bool autolock = boolKey("Autolock", true);
  bool lock = boolKey("Lock", true);
  bool require_password = boolKey("RequirePassword", true);
  bool on_resume = boolKey("LockOnResume", true);
  double timeout_min = 5;
  if (const auto* v = config.find(g, "Timeout")) {
    // Bounded before it becomes seconds: 1e9 minutes already means "never" in practice.
    timeout_min = std::clamp(parseDouble(v->value).value_or(5), -1.0, 1e9);
    sources.insert(v->source);
  }
  c.settings.set("Daemon/Timeout", timeout_min);
  int64_t grace = 5;
  if (const auto* v = config.find(g, "LockGrace")) {
    grace = static_cast<int64_t>(std::clamp(parseDouble(v->value).value_or(5), 0.0, 300.0));
    sources.insert(v->source);
  }
  grace = std::clamp<int64_t>(grace, 0, 300);
  c.settings.set("Daemon/LockGrace", grace);
  if (!autolock) c.disabled_by.push_back("Autolock is false");
  if (!lock) c.disabled_by.push_back("Lock is false");
  if (!require_password) c.disabled_by.push_back("RequirePassword is false");
  if (timeout_min > 0) c.idle_seconds = static_cast<int64_t>(std::llround(timeout_min * 60));
  c.lock_delay_seconds = grace;
  c.grace_seconds_hint = grace;
  c.lock_on_resume = on_resume;
  bool enforced = enforcedKey("Autolock") && enforcedKey("Timeout") && enforcedKey("LockGrace");
  if (require_lock_on_resume) enforced = enforced && enforcedKey("LockOnResume");
  c.enforced = enforced;
  for (const auto& s : sources) c.source.push(s);
  return c;
}

}  // namespace hearth::checks::screen_lock
