// screen_lock: pure parsers (gsettings, KConfig, xfconf XML) and the decision.
// No I/O here; screen_lock_linux.cc collects the text and calls these.
#include "screen_lock/screen_lock.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "common/text.h"

namespace hearth::checks::screen_lock {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

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

}  // namespace

Desktop classifyDesktop(std::string_view name) {
  std::string n = lower(text::trim(name));
  if (n.empty()) return Desktop::kNone;
  if (contains(n, "cinnamon")) return Desktop::kCinnamon;
  if (contains(n, "gnome") || contains(n, "ubuntu") || contains(n, "budgie") || n == "pop" ||
      text::startsWith(n, "pop:") || text::startsWith(n, "pop-")) {
    return Desktop::kGnome;
  }
  if (contains(n, "kde") || contains(n, "plasma")) return Desktop::kKde;
  if (contains(n, "xfce")) return Desktop::kXfce;
  return Desktop::kUnsupported;
}

std::string_view desktopName(Desktop d) {
  switch (d) {
    case Desktop::kNone:
      return "none";
    case Desktop::kGnome:
      return "gnome";
    case Desktop::kCinnamon:
      return "cinnamon";
    case Desktop::kKde:
      return "kde";
    case Desktop::kXfce:
      return "xfce";
    case Desktop::kUnsupported:
      return "unsupported";
  }
  return "unsupported";
}

// --- gsettings
// ------------------------------------------------------------------------------------

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

// --- KConfig
// --------------------------------------------------------------------------------------

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
  std::string v = lower(text::trim(value));
  if (v.empty()) return std::nullopt;
  if (v == "false" || v == "no" || v == "off" || v == "0") return false;
  return true;
}

// --- xfconf XML
// -----------------------------------------------------------------------------------

namespace {

std::string decodeXmlEntities(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    size_t semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out += s[i];
      continue;
    }
    std::string_view ent = s.substr(i + 1, semi - i - 1);
    if (ent == "amp")
      out += '&';
    else if (ent == "lt")
      out += '<';
    else if (ent == "gt")
      out += '>';
    else if (ent == "quot")
      out += '"';
    else if (ent == "apos")
      out += '\'';
    else if (!ent.empty() && ent[0] == '#') {
      long code = ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X')
                      ? std::strtol(std::string(ent.substr(2)).c_str(), nullptr, 16)
                      : std::strtol(std::string(ent.substr(1)).c_str(), nullptr, 10);
      if (code > 0 && code < 128) out += static_cast<char>(code);
    } else {
      out.append(s.substr(i, semi - i + 1));
    }
    i = semi;
  }
  return out;
}

struct XmlTag {
  std::string name;
  std::map<std::string, std::string> attrs;
  bool closing = false;       // </name>
  bool self_closing = false;  // <name/>
};

// Parses the inside of "<...>" (without the brackets).
StatusOr<XmlTag> parseTag(std::string_view body) {
  XmlTag t;
  size_t i = 0;
  auto skipSpace = [&] {
    while (i < body.size() && std::isspace(static_cast<unsigned char>(body[i]))) ++i;
  };
  if (!body.empty() && body[0] == '/') {
    t.closing = true;
    ++i;
  }
  if (!body.empty() && body.back() == '/') {
    t.self_closing = true;
    body.remove_suffix(1);
  }
  size_t start = i;
  while (i < body.size() && !std::isspace(static_cast<unsigned char>(body[i]))) ++i;
  t.name = std::string(body.substr(start, i - start));
  if (t.name.empty()) return InvalidArgumentError("empty element name");
  while (true) {
    skipSpace();
    if (i >= body.size()) break;
    size_t ns = i;
    while (i < body.size() && body[i] != '=' && !std::isspace(static_cast<unsigned char>(body[i])))
      ++i;
    std::string an(body.substr(ns, i - ns));
    skipSpace();
    if (i >= body.size() || body[i] != '=') return InvalidArgumentError("attribute without value");
    ++i;
    skipSpace();
    if (i >= body.size() || (body[i] != '"' && body[i] != '\'')) {
      return InvalidArgumentError("unquoted attribute value");
    }
    char q = body[i++];
    size_t vs = i;
    while (i < body.size() && body[i] != q) ++i;
    if (i >= body.size()) return InvalidArgumentError("unterminated attribute value");
    t.attrs[an] = decodeXmlEntities(body.substr(vs, i - vs));
    ++i;
  }
  return t;
}

}  // namespace

StatusOr<XfconfFile> parseXfconfXml(std::string_view xml) {
  constexpr size_t kMaxDepth = 64;
  constexpr size_t kMaxProperties = 100000;
  XfconfFile out;
  std::vector<std::string> stack;  // element names
  std::vector<std::string> paths;  // property paths parallel to "property" entries in stack
  bool seen_channel = false;
  size_t i = 0;
  while (i < xml.size()) {
    size_t lt = xml.find('<', i);
    if (lt == std::string_view::npos) break;
    if (xml.compare(lt, 4, "<!--") == 0) {
      size_t end = xml.find("-->", lt + 4);
      if (end == std::string_view::npos) return InvalidArgumentError("unterminated comment");
      i = end + 3;
      continue;
    }
    if (xml.compare(lt, 2, "<?") == 0 || xml.compare(lt, 2, "<!") == 0) {
      size_t end = xml.find('>', lt);
      if (end == std::string_view::npos) return InvalidArgumentError("unterminated declaration");
      i = end + 1;
      continue;
    }
    // Find the end of the tag, skipping '>' inside quoted attribute values.
    size_t j = lt + 1;
    char quote = 0;
    while (j < xml.size()) {
      char c = xml[j];
      if (quote != 0) {
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '>') {
        break;
      }
      ++j;
    }
    if (j >= xml.size()) return InvalidArgumentError("unterminated element");
    auto tag = parseTag(xml.substr(lt + 1, j - lt - 1));
    if (!tag.ok()) return tag.status();
    i = j + 1;
    if (tag->closing) {
      if (stack.empty() || stack.back() != tag->name) {
        return InvalidArgumentError("unexpected </" + tag->name + ">");
      }
      if (stack.back() == "property") paths.pop_back();
      stack.pop_back();
      continue;
    }
    if (stack.size() >= kMaxDepth) return InvalidArgumentError("nesting too deep");
    if (tag->name == "channel") {
      if (!stack.empty() || seen_channel) return InvalidArgumentError("misplaced <channel>");
      seen_channel = true;
      out.channel = tag->attrs["name"];
      out.locked = tag->attrs["locked"];
      out.unlocked = tag->attrs["unlocked"];
    } else if (tag->name == "property") {
      if (stack.empty() || (stack.back() != "channel" && stack.back() != "property")) {
        return InvalidArgumentError("<property> outside <channel>");
      }
      const std::string& name = tag->attrs["name"];
      if (name.empty() || name.find('/') != std::string::npos) {
        return InvalidArgumentError("<property> needs a name without '/'");
      }
      std::string path = (paths.empty() ? std::string() : paths.back()) + "/" + name;
      if (out.properties.size() >= kMaxProperties)
        return InvalidArgumentError("too many properties");
      out.properties.push_back(XfconfFileProperty{path, tag->attrs["type"], tag->attrs["value"],
                                                  tag->attrs["locked"], tag->attrs["unlocked"]});
      if (!tag->self_closing) paths.push_back(path);
    } else if (tag->name == "value") {
      if (stack.empty() || stack.back() != "property") {
        return InvalidArgumentError("<value> outside <property>");
      }
    } else {
      return InvalidArgumentError("unknown element <" + tag->name + ">");
    }
    if (!tag->self_closing) stack.push_back(tag->name);
  }
  if (!stack.empty()) return InvalidArgumentError("unclosed <" + stack.back() + ">");
  if (!seen_channel) return InvalidArgumentError("no <channel> element");
  return out;
}

bool xfconfUserInList(std::string_view list, const std::string& user,
                      const std::vector<std::string>& group_names) {
  for (const auto& raw : text::split(list, ';')) {
    for (const auto& item_raw : text::split(raw, ',')) {
      std::string item = text::trim(item_raw);
      if (item.empty()) continue;
      if (item == "*") return true;
      if (item[0] == '@') {
        if (std::find(group_names.begin(), group_names.end(), item.substr(1)) !=
            group_names.end()) {
          return true;
        }
      } else if (item == user) {
        return true;
      }
    }
  }
  return false;
}

void XfconfChannel::merge(const XfconfFile& file, bool system_file, const std::string& source,
                          const std::string& user, const std::vector<std::string>& group_names) {
  if (locked_ && !system_file) return;  // xfconfd does not even read the user's file
  if (system_file && !locked_) {
    if (!file.unlocked.empty()) {
      locked_ = !xfconfUserInList(file.unlocked, user, group_names);
    } else if (!file.locked.empty()) {
      locked_ = xfconfUserInList(file.locked, user, group_names);
    }
  }
  for (const auto& p : file.properties) {
    auto it = values_.find(p.path);
    bool was_locked = it != values_.end() && it->second.locked;
    if (!locked_ && was_locked && !system_file) continue;
    Value v{p.type, p.value, false, source};
    if (system_file) {
      if (locked_) {
        v.locked = true;
      } else if (!p.unlocked.empty()) {
        v.locked = !xfconfUserInList(p.unlocked, user, group_names);
      } else if (!p.locked.empty()) {
        v.locked = xfconfUserInList(p.locked, user, group_names);
      }
    }
    if (p.type == "empty") continue;  // a branch
    values_[p.path] = std::move(v);
  }
}

const XfconfChannel::Value* XfconfChannel::find(const std::string& path) const {
  auto it = values_.find(path);
  return it == values_.end() ? nullptr : &it->second;
}

// --- the decision
// ---------------------------------------------------------------------------------

int verdictSeverity(Verdict v) {
  switch (v) {
    case Verdict::kFail:
      return 3;
    case Verdict::kUnknown:
      return 2;
    case Verdict::kPass:
      return 1;
    case Verdict::kNotApplicable:
      return 0;
  }
  return 2;
}

Assessment assess(const LockConfig& c, const ScreenLockSettings& policy) {
  Assessment a;
  std::string limit = " (limit " + std::to_string(policy.max_idle_seconds) + " s)";
  if (c.idle_seconds && *c.idle_seconds > 0 && c.disabled_by.empty()) {
    a.idle_to_lock_seconds = *c.idle_seconds + std::max<int64_t>(0, c.lock_delay_seconds);
  }
  if (!c.disabled_by.empty()) {
    a.verdict = Verdict::kFail;
    a.reason = "automatic screen lock is off (" + text::join(c.disabled_by, ", ") + ")";
    return a;
  }
  if (!a.idle_to_lock_seconds) {
    a.verdict = Verdict::kFail;
    a.reason = "the screen never locks on its own (the idle delay is set to never)";
    return a;
  }
  std::string locks =
      "screen locks after " + std::to_string(*a.idle_to_lock_seconds) + " s of inactivity" + limit;
  if (*a.idle_to_lock_seconds > policy.max_idle_seconds) {
    a.verdict = Verdict::kFail;
    a.reason = locks;
    return a;
  }
  if (policy.require_lock_on_resume) {
    if (c.lock_on_resume.has_value() && !*c.lock_on_resume) {
      a.verdict = Verdict::kFail;
      a.reason = locks + ", but not when waking from sleep";
      return a;
    }
    if (!c.lock_on_resume.has_value()) {
      a.verdict = Verdict::kUnknown;
      a.reason = locks + ", but Hearth cannot tell whether it locks when waking from sleep" +
                 (c.lock_on_resume_note.empty() ? "" : " (" + c.lock_on_resume_note + ")");
      return a;
    }
  }
  a.verdict = Verdict::kPass;
  a.reason = locks;
  return a;
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
    timeout_min = parseDouble(v->value).value_or(5);
    sources.insert(v->source);
  }
  c.settings.set("Daemon/Timeout", timeout_min);
  int64_t grace = 5;
  if (const auto* v = config.find(g, "LockGrace")) {
    grace = static_cast<int64_t>(parseDouble(v->value).value_or(5));
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

LockConfig xfceConfig(const XfconfChannel& saver, const XfconfChannel& power,
                      bool require_lock_on_resume) {
  LockConfig c;
  c.desktop = Desktop::kXfce;
  c.label = "xfce";
  std::set<std::string> sources;
  auto boolProp = [&](const XfconfChannel& ch, const std::string& path, bool fallback) {
    const auto* v = ch.find(path);
    bool b = fallback;
    if (v != nullptr) {
      if (auto p = parseGVariantBool(lower(v->value))) b = *p;
      sources.insert(v->source);
    }
    c.settings.set(path, b);
    return b;
  };
  auto intProp = [&](const XfconfChannel& ch, const std::string& path, int64_t fallback) {
    const auto* v = ch.find(path);
    int64_t n = fallback;
    if (v != nullptr) {
      if (auto d = parseDouble(v->value)) n = static_cast<int64_t>(*d);
      sources.insert(v->source);
    }
    c.settings.set(path, n);
    return n;
  };
  auto enforcedProp = [&](const XfconfChannel& ch, const std::string& path) {
    if (ch.channelLocked()) return true;
    const auto* v = ch.find(path);
    return v != nullptr && v->locked;
  };
  bool saver_enabled = boolProp(saver, "/saver/enabled", true);
  bool idle_activation = boolProp(saver, "/saver/idle-activation/enabled", true);
  int64_t idle_min = intProp(saver, "/saver/idle-activation/delay", 5);
  bool lock_enabled = boolProp(saver, "/lock/enabled", true);
  bool lock_with_saver = boolProp(saver, "/lock/saver-activation/enabled", true);
  int64_t lock_min = intProp(saver, "/lock/saver-activation/delay", 0);
  bool on_sleep = boolProp(power, "/xfce4-power-manager/lock-screen-suspend-hibernate", true);
  // xfce4-screensaver clamps these (gs-prefs.c): idle < 1 → 10 minutes, both at most 480.
  if (idle_min < 1) idle_min = 10;
  idle_min = std::min<int64_t>(idle_min, 480);
  lock_min = std::clamp<int64_t>(lock_min, 0, 480);
  if (!saver_enabled) c.disabled_by.push_back("/saver/enabled is false");
  if (!idle_activation) c.disabled_by.push_back("/saver/idle-activation/enabled is false");
  if (!lock_enabled) c.disabled_by.push_back("/lock/enabled is false");
  if (!lock_with_saver) c.disabled_by.push_back("/lock/saver-activation/enabled is false");
  c.idle_seconds = idle_min * 60;
  c.lock_delay_seconds = lock_min * 60;
  c.lock_on_resume = on_sleep && lock_enabled;
  bool enforced = true;
  for (const char* p :
       {"/saver/enabled", "/saver/idle-activation/enabled", "/saver/idle-activation/delay",
        "/lock/enabled", "/lock/saver-activation/enabled", "/lock/saver-activation/delay"}) {
    enforced = enforced && enforcedProp(saver, p);
  }
  if (require_lock_on_resume) {
    enforced =
        enforced && enforcedProp(power, "/xfce4-power-manager/lock-screen-suspend-hibernate");
  }
  c.enforced = enforced;
  for (const auto& s : sources) c.source.push(s);
  return c;
}

std::string remediationFor(Desktop desktop, std::string_view label,
                           const ScreenLockSettings& policy, int64_t grace_seconds) {
  auto within = [&](int64_t extra) {
    int64_t minutes = (policy.max_idle_seconds - extra) / 60;
    if (minutes >= 2) return std::to_string(minutes) + " minutes or less";
    if (minutes == 1) return std::string("1 minute");
    return std::string("the shortest time offered");
  };
  std::string resume = policy.require_lock_on_resume ? " and lock when the computer wakes up" : "";
  switch (desktop) {
    case Desktop::kGnome:
      return "Open Settings → Privacy → Screen Lock and set Blank Screen Delay to " + within(0) +
             ", set Automatic Screen Lock Delay to \"Screen Turns Off\", and turn on Automatic "
             "Screen Lock" +
             (policy.require_lock_on_resume ? " and Lock Screen on Suspend." : ".");
    case Desktop::kCinnamon:
      return "Open System Settings → Screensaver and set \"Delay before starting the screensaver\" "
             "to " +
             within(0) +
             ", turn on \"Lock the computer after the screensaver starts\" with the delay set to "
             "Immediately" +
             (policy.require_lock_on_resume
                  ? ", and turn on \"Lock the computer when put to sleep\"."
                  : ".");
    case Desktop::kKde:
      return "Open System Settings → Screen Locking, turn on \"Lock screen automatically\" after " +
             within(grace_seconds) +
             ", keep \"Allow unlocking without password\" at a few seconds" +
             (policy.require_lock_on_resume ? ", and turn on \"Lock after waking from sleep\"."
                                            : ".");
    case Desktop::kXfce:
      return "Open Settings → Xfce Screensaver: on the Screensaver tab turn on \"Enable "
             "Screensaver\" and \"Activate screensaver when computer is idle\" after " +
             within(0) +
             "; on the Lock Screen tab turn on \"Enable Lock Screen\" and \"Lock Screen with "
             "Screensaver\" with no extra delay" +
             (policy.require_lock_on_resume ? ", and \"Lock Screen when system is going to sleep\"."
                                            : ".");
    case Desktop::kNone:
    case Desktop::kUnsupported:
      break;
  }
  return "Hearth cannot read the screen-lock settings of your desktop (" + std::string(label) +
         ") yet. Make sure your screen locks after " + within(0) + " of inactivity" + resume +
         ", and ask your IT department how to get this check to pass.";
}

}  // namespace hearth::checks::screen_lock
