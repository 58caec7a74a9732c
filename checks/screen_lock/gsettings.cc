// screen_lock: GNOME and Cinnamon settings (no I/O here). Parses `gsettings list-recursively`
// output and GVariant values, recognises a gsettings that cannot see the real settings, and turns
// the values into a LockConfig (gnomeConfig, cinnamonConfig).
#include <algorithm>
#include <iterator>

#include "hearth/text.h"
#include "screen_lock/parse_util.h"
#include "screen_lock/screen_lock.h"

namespace hearth::checks::screen_lock {

GSettingsValues parseGSettingsList(std::string_view out) {
  GSettingsValues v;
  for (const auto& line : text::splitLines(out)) {
    size_t a = line.find(' ');
    if (a == std::string::npos || a == 0) continue;
    size_t b = line.find(' ', a + 1);
    if (b == std::string::npos || b == a + 1) continue;
    v[line.substr(0, a)][line.substr(a + 1, b - a - 1)] = line.substr(b + 1);
  }
  return v;
}

std::optional<bool> parseGVariantBool(std::string_view value) {
  std::string t = text::trim(value);
  if (t == "true") return true;
  if (t == "false") return false;
  return std::nullopt;
}

std::optional<int64_t> parseGVariantInt(std::string_view value) {
  auto w = text::splitWhitespace(value);
  if (w.size() == 2) {
    static const char* kTypes[] = {"uint32", "int32", "uint64", "int64", "uint16", "int16", "byte"};
    if (std::find(std::begin(kTypes), std::end(kTypes), w[0]) == std::end(kTypes)) {
      return std::nullopt;
    }
    return text::parseInt(w[1]);
  }
  if (w.size() == 1) return text::parseInt(w[0]);
  return std::nullopt;
}

std::string gsettingsBackendProblem(std::string_view err) {
  if (contains(err, "Using the 'memory' GSettings backend") ||
      contains(err, "Using the \xe2\x80\x98memory\xe2\x80\x99 GSettings backend")) {
    return "gsettings fell back to its memory backend (the dconf module is missing), so it "
           "shows defaults instead of the real settings";
  }
  // "unable to create directory '/run/user/N/dconf' ... dconf will not work properly" is about
  // writing and change notification (the runtime directory); reading the user and system
  // databases still works, and does under the agent's systemd sandbox (read-only /run/user and
  // home), so it is not a reason to distrust the values.
  return "";
}

namespace {

const std::string* findValue(const GSettingsValues& v, const std::string& schema,
                             const std::string& key) {
  auto s = v.find(schema);
  if (s == v.end()) return nullptr;
  auto k = s->second.find(key);
  return k == s->second.end() ? nullptr : &k->second;
}

bool hasSchema(const GSettingsValues& v, const std::string& schema) { return v.count(schema) > 0; }

// Reads a bool or int key into `settings`; InvalidArgument if present but unparsable.
Status readBool(const GSettingsValues& v, const std::string& schema, const std::string& key,
                bool fallback, bool* out, json::Value* settings) {
  const std::string* s = findValue(v, schema, key);
  *out = fallback;
  if (s == nullptr) return OkStatus();
  auto b = parseGVariantBool(*s);
  if (!b) return InvalidArgumentError(schema + " " + key + ": expected a boolean, got " + *s);
  *out = *b;
  settings->set(schema + " " + key, *b);
  return OkStatus();
}

Status readInt(const GSettingsValues& v, const std::string& schema, const std::string& key,
               int64_t fallback, int64_t* out, json::Value* settings) {
  const std::string* s = findValue(v, schema, key);
  *out = fallback;
  if (s == nullptr) return OkStatus();
  auto n = parseGVariantInt(*s);
  if (!n) return InvalidArgumentError(schema + " " + key + ": expected a number, got " + *s);
  *out = *n;
  settings->set(schema + " " + key, *n);
  return OkStatus();
}

constexpr char kGnomeSession[] = "org.gnome.desktop.session";
constexpr char kGnomeSaver[] = "org.gnome.desktop.screensaver";
constexpr char kGnomeLockdown[] = "org.gnome.desktop.lockdown";
constexpr char kCinnamonSession[] = "org.cinnamon.desktop.session";
constexpr char kCinnamonSaver[] = "org.cinnamon.desktop.screensaver";
constexpr char kCinnamonLockdown[] = "org.cinnamon.desktop.lockdown";
constexpr char kCinnamonPower[] = "org.cinnamon.settings-daemon.plugins.power";

}  // namespace

std::vector<std::pair<std::string, std::string>> gnomeRelevantKeys(const GSettingsValues& v) {
  std::vector<std::pair<std::string, std::string>> keys = {
      {kGnomeSession, "idle-delay"},
      {kGnomeSaver, "lock-enabled"},
      {kGnomeSaver, "lock-delay"},
      {kGnomeLockdown, "disable-lock-screen"},
      {kGnomeSaver, "idle-activation-enabled"},
  };
  if (findValue(v, kGnomeSaver, "ubuntu-lock-on-suspend") != nullptr) {
    keys.emplace_back(kGnomeSaver, "ubuntu-lock-on-suspend");
  }
  std::vector<std::pair<std::string, std::string>> present;
  for (auto& k : keys) {
    if (findValue(v, k.first, k.second) != nullptr) present.push_back(k);
  }
  return present;
}

StatusOr<LockConfig> gnomeConfig(const GSettingsValues& v, bool enforced) {
  if (findValue(v, kGnomeSession, "idle-delay") == nullptr || !hasSchema(v, kGnomeSaver)) {
    return NotFoundError(
        "the GNOME settings schemas (org.gnome.desktop.session, "
        "org.gnome.desktop.screensaver) are not installed");
  }
  LockConfig c;
  c.desktop = Desktop::kGnome;
  bool ubuntu = findValue(v, kGnomeSaver, "ubuntu-lock-on-suspend") != nullptr;
  c.label = ubuntu ? "ubuntu" : "gnome";
  int64_t idle = 0, lock_delay = 0;
  bool lock_enabled = true, idle_activation = true, disable_lock = false, ubuntu_suspend = true;
  HEARTH_RETURN_IF_ERROR(readInt(v, kGnomeSession, "idle-delay", 300, &idle, &c.settings));
  HEARTH_RETURN_IF_ERROR(
      readBool(v, kGnomeSaver, "lock-enabled", true, &lock_enabled, &c.settings));
  HEARTH_RETURN_IF_ERROR(readInt(v, kGnomeSaver, "lock-delay", 0, &lock_delay, &c.settings));
  HEARTH_RETURN_IF_ERROR(
      readBool(v, kGnomeSaver, "idle-activation-enabled", true, &idle_activation, &c.settings));
  HEARTH_RETURN_IF_ERROR(
      readBool(v, kGnomeLockdown, "disable-lock-screen", false, &disable_lock, &c.settings));
  if (ubuntu) {
    HEARTH_RETURN_IF_ERROR(
        readBool(v, kGnomeSaver, "ubuntu-lock-on-suspend", true, &ubuntu_suspend, &c.settings));
  }
  if (!lock_enabled) c.disabled_by.push_back(std::string(kGnomeSaver) + " lock-enabled is false");
  if (disable_lock) {
    c.disabled_by.push_back(std::string(kGnomeLockdown) + " disable-lock-screen is true");
  }
  if (!idle_activation) {
    c.disabled_by.push_back(std::string(kGnomeSaver) + " idle-activation-enabled is false");
  }
  c.idle_seconds = idle;
  c.lock_delay_seconds = lock_delay;
  // gnome-shell locks on suspend iff lock-enabled (Ubuntu: ubuntu-lock-on-suspend), and never
  // when the lock screen is disabled.
  c.lock_on_resume = (ubuntu ? ubuntu_suspend : lock_enabled) && !disable_lock;
  c.enforced = enforced;
  c.source.push("gsettings");
  return c;
}

std::vector<std::pair<std::string, std::string>> cinnamonRelevantKeys(const GSettingsValues& v) {
  std::vector<std::pair<std::string, std::string>> keys = {
      {kCinnamonSession, "idle-delay"},    {kCinnamonSaver, "lock-enabled"},
      {kCinnamonSaver, "lock-delay"},      {kCinnamonLockdown, "disable-lock-screen"},
      {kCinnamonPower, "lock-on-suspend"},
  };
  std::vector<std::pair<std::string, std::string>> present;
  for (auto& k : keys) {
    if (findValue(v, k.first, k.second) != nullptr) present.push_back(k);
  }
  return present;
}

StatusOr<LockConfig> cinnamonConfig(const GSettingsValues& v, bool enforced) {
  if (findValue(v, kCinnamonSession, "idle-delay") == nullptr || !hasSchema(v, kCinnamonSaver)) {
    return NotFoundError(
        "the Cinnamon settings schemas (org.cinnamon.desktop.session, "
        "org.cinnamon.desktop.screensaver) are not installed");
  }
  LockConfig c;
  c.desktop = Desktop::kCinnamon;
  c.label = "cinnamon";
  int64_t idle = 0, lock_delay = 0;
  bool lock_enabled = true, disable_lock = false, on_suspend = true;
  HEARTH_RETURN_IF_ERROR(readInt(v, kCinnamonSession, "idle-delay", 900, &idle, &c.settings));
  HEARTH_RETURN_IF_ERROR(
      readBool(v, kCinnamonSaver, "lock-enabled", true, &lock_enabled, &c.settings));
  HEARTH_RETURN_IF_ERROR(readInt(v, kCinnamonSaver, "lock-delay", 0, &lock_delay, &c.settings));
  HEARTH_RETURN_IF_ERROR(
      readBool(v, kCinnamonLockdown, "disable-lock-screen", false, &disable_lock, &c.settings));
  if (!lock_enabled) {
    c.disabled_by.push_back(std::string(kCinnamonSaver) + " lock-enabled is false");
  }
  if (disable_lock) {
    c.disabled_by.push_back(std::string(kCinnamonLockdown) + " disable-lock-screen is true");
  }
  c.idle_seconds = idle;
  c.lock_delay_seconds = lock_delay;
  if (findValue(v, kCinnamonPower, "lock-on-suspend") != nullptr) {
    HEARTH_RETURN_IF_ERROR(
        readBool(v, kCinnamonPower, "lock-on-suspend", true, &on_suspend, &c.settings));
    c.lock_on_resume = on_suspend && !disable_lock;
  } else {
    c.lock_on_resume_note = std::string(kCinnamonPower) + " is not installed";
  }
  c.enforced = enforced;
  c.source.push("gsettings");
  return c;
}

}  // namespace hearth::checks::screen_lock
