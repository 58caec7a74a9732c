// screen_lock: XFCE settings (no I/O here). A bounded reader of xfconf per-channel XML, the
// locked/unlocked user lists, the merge of system and user channel files as xfconfd does it, and
// the xfce4-screensaver and power-manager channels turned into a LockConfig (xfceConfig).
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <set>

#include "hearth/text.h"
#include "screen_lock/parse_util.h"
#include "screen_lock/screen_lock.h"

namespace hearth::checks::screen_lock {

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
  // "</>": the '/' is the closing mark, not also a self-closing one.
  if (body.size() > i && body.back() == '/') {
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
      if (auto p = parseGVariantBool(text::toLower(v->value))) b = *p;
      sources.insert(v->source);
    }
    c.settings.set(path, b);
    return b;
  };
  auto intProp = [&](const XfconfChannel& ch, const std::string& path, int64_t fallback) {
    const auto* v = ch.find(path);
    int64_t n = fallback;
    if (v != nullptr) {
      // Clamped before the conversion (1e300 does not fit an int64); xfce clamps further below.
      if (auto d = parseDouble(v->value)) n = static_cast<int64_t>(std::clamp(*d, -1e9, 1e9));
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

}  // namespace hearth::checks::screen_lock
