#include "hearth/i18n.h"

#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#if defined(__GLIBC__)
#include <clocale>
#include <libintl.h>
#endif

#include "hearth/files.h"

#ifndef HEARTH_LOCALEDIR
#define HEARTH_LOCALEDIR "/usr/share/locale"
#endif

namespace hearth::i18n {

std::string LocaleDir() {
  const char* dir = std::getenv("HEARTH_LOCALEDIR");
  if (dir != nullptr && dir[0] == '/') return dir;
  return HEARTH_LOCALEDIR;
}

#if defined(__GLIBC__)

namespace {

// The first of LC_ALL, LC_MESSAGES, LANG that is set and not empty: what the person chose.
const char* chosenLocale() {
  for (const char* name : {"LC_ALL", "LC_MESSAGES", "LANG"}) {
    const char* v = std::getenv(name);
    if (v != nullptr && v[0] != '\0') return v;
  }
  return nullptr;
}

bool isCLocale(const char* name) {
  return name == nullptr || std::strcmp(name, "C") == 0 || std::strcmp(name, "POSIX") == 0;
}

}  // namespace

void InitForCommandLine() {
  std::setlocale(LC_CTYPE, "");
  const char* messages = std::setlocale(LC_MESSAGES, "");
  if (messages == nullptr || isCLocale(messages)) {
    // gettext translates nothing in the C locale. A person whose language has no generated glibc
    // locale here (LANG=da_DK.UTF-8 on a system with only C.UTF-8) still reads their language:
    // C.UTF-8 lets gettext follow LANGUAGE, set from their choice when they set none.
    const char* chosen = chosenLocale();
    if (chosen != nullptr && !isCLocale(chosen) && std::strncmp(chosen, "C.", 2) != 0 &&
        std::setlocale(LC_MESSAGES, "C.UTF-8") != nullptr) {
      // The system's own messages quoted in ours (strerror, in the person's language through
      // LANGUAGE too) are UTF-8 then, not "?" for every letter outside ASCII.
      const char* ctype = std::setlocale(LC_CTYPE, nullptr);
      if (ctype == nullptr || isCLocale(ctype)) std::setlocale(LC_CTYPE, "C.UTF-8");
      const char* language = std::getenv("LANGUAGE");
      if (language == nullptr || language[0] == '\0') {
        std::string lang(chosen);
        lang = lang.substr(0, lang.find_first_of(".@"));
        ::setenv("LANGUAGE", lang.c_str(), 1);
      }
    }
  }
  ::bindtextdomain(kDomain, LocaleDir().c_str());
  ::bind_textdomain_codeset(kDomain, "UTF-8");
}

const char* Tr(const char* msgid) { return ::dgettext(kDomain, msgid); }

const char* TrN(const char* singular, const char* plural, int64_t n) {
  // gettext's count is an unsigned long; the plural rule only needs its magnitude.
  const unsigned long count =
      n < 0 ? static_cast<unsigned long>(-(n + 1)) + 1UL : static_cast<unsigned long>(n);
  return ::dngettext(kDomain, singular, plural, count);
}

#else

void InitForCommandLine() {}
const char* Tr(const char* msgid) { return msgid; }
const char* TrN(const char* singular, const char* plural, int64_t n) {
  return n == 1 ? singular : plural;
}

#endif

namespace {

std::string substitute(std::string_view text, const std::vector<std::string_view>& a) {
  std::string out;
  out.reserve(text.size() + 32);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '{' && i + 2 < text.size() && text[i + 1] >= '1' && text[i + 1] <= '9' &&
        text[i + 2] == '}') {
      size_t n = static_cast<size_t>(text[i + 1] - '1');
      if (n < a.size()) {
        out += a[n];
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

}  // namespace

std::string Subst(std::string_view text, std::initializer_list<std::string_view> args) {
  return substitute(text, std::vector<std::string_view>(args));
}

std::string Subst(std::string_view text, const std::vector<std::string>& args) {
  return substitute(text, std::vector<std::string_view>(args.begin(), args.end()));
}

namespace {

// The text of `by_language` for `language` ("da", "da_DK"): that language, else English, else
// the first given.
std::string pickLanguage(const std::map<std::string, std::string>& by_language,
                         std::string_view language) {
  std::string code(language.substr(0, language.find_first_of("_.@")));
  if (auto it = by_language.find(code); it != by_language.end()) return it->second;
  if (auto it = by_language.find("en"); it != by_language.end()) return it->second;
  return by_language.empty() ? std::string() : by_language.begin()->second;
}

}  // namespace

std::string CurrentLanguage() {
  // gettext answers "" with the header of the translation in use ("Language: da\n...").
  static const std::string kHeaderId;  // "" (not a literal: xgettext must not extract it)
  std::string header = Tr(kHeaderId);
  size_t at = header.find("Language: ");
  if (at == std::string::npos) return "en";
  size_t end = header.find('\n', at);
  std::string lang = header.substr(at + 10, end == std::string::npos ? end : end - at - 10);
  return lang.empty() ? "en" : lang;
}

std::string Message::english() const {
  if (!by_language.empty()) return pickLanguage(by_language, "en");
  const std::string& form = !plural.empty() && n != 1 ? plural : id;
  if (args.empty()) return form;
  std::vector<std::string> a;
  a.reserve(args.size());
  for (const auto& m : args) a.push_back(m.english());
  return Subst(form, a);
}

std::string Message::text(const Catalog* catalog) const {
  if (catalog == nullptr) return text();
  if (!by_language.empty()) return pickLanguage(by_language, catalog->language());
  std::string form = !translate || id.empty() ? (!plural.empty() && n != 1 ? plural : id)
                                              : catalog->translate(id, plural, n);
  if (args.empty()) return form;
  std::vector<std::string> a;
  a.reserve(args.size());
  for (const auto& m : args) a.push_back(m.text(catalog));
  return Subst(form, a);
}

namespace {

uint32_t word(std::string_view mo, size_t at, bool swap) {
  if (at + 4 > mo.size()) return 0;
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(mo[at + i])); };
  return swap ? (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3)
              : b(0) | (b(1) << 8) | (b(2) << 16) | (b(3) << 24);
}

// The languages to try for one entry of a LANGUAGE list or a locale name: "da_DK.UTF-8@x" →
// "da_DK", "da".
std::vector<std::string> candidates(std::string_view entry) {
  std::string name(entry.substr(0, entry.find_first_of(".@")));
  std::vector<std::string> out;
  if (name.empty() || name == "C" || name == "POSIX") return out;
  out.push_back(name);
  if (size_t u = name.find('_'); u != std::string::npos) out.push_back(name.substr(0, u));
  return out;
}

bool safeLanguageName(const std::string& name) {
  if (name.empty() || name.size() > 32) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

}  // namespace

StatusOr<Catalog> Catalog::Parse(std::string_view mo) {
  if (mo.size() < 28) return InvalidArgumentError("not a .mo file: too short");
  bool swap = false;
  if (word(mo, 0, false) != 0x950412de) {
    if (word(mo, 0, true) != 0x950412de) return InvalidArgumentError("not a .mo file");
    swap = true;
  }
  const uint32_t count = word(mo, 8, swap);
  const uint32_t originals = word(mo, 12, swap);
  const uint32_t translations = word(mo, 16, swap);
  auto text = [&](uint32_t table, uint32_t i) -> StatusOr<std::string_view> {
    size_t at = size_t{table} + size_t{i} * 8;
    if (at + 8 > mo.size()) return InvalidArgumentError("a .mo table is cut short");
    size_t len = word(mo, at, swap), off = word(mo, at + 4, swap);
    if (off > mo.size() || len > mo.size() - off) {
      return InvalidArgumentError("a .mo string lies outside the file");
    }
    return mo.substr(off, len);
  };
  Catalog c;
  for (uint32_t i = 0; i < count; ++i) {
    HEARTH_ASSIGN_OR_RETURN(std::string_view id, text(originals, i));
    HEARTH_ASSIGN_OR_RETURN(std::string_view str, text(translations, i));
    std::vector<std::string> forms;
    size_t pos = 0;
    while (true) {
      size_t nul = str.find('\0', pos);
      forms.emplace_back(str.substr(pos, nul == std::string_view::npos ? nul : nul - pos));
      if (nul == std::string_view::npos) break;
      pos = nul + 1;
    }
    std::string key(id.substr(0, id.find('\0')));  // a plural entry's key is its singular
    if (key.empty()) {
      // The header: the plural rule.
      std::string header(str);
      size_t p = header.find("plural=");
      if (p != std::string::npos) {
        std::string rule;
        for (size_t k = p + 7; k < header.size() && header[k] != ';' && header[k] != '\n'; ++k) {
          if (header[k] != ' ' && header[k] != '(' && header[k] != ')') rule += header[k];
        }
        if (rule == "n>1") c.rule_ = PluralRule::kGreaterThanOne;
        if (rule == "0") c.rule_ = PluralRule::kAlwaysFirst;
      }
      continue;
    }
    c.entries_.emplace(std::move(key), std::move(forms));
  }
  return c;
}

std::shared_ptr<const Catalog> Catalog::ForLanguages(std::string_view languages) {
  for (const auto& entry : [&] {
         std::vector<std::string> out;
         size_t pos = 0;
         while (pos <= languages.size()) {
           size_t colon = languages.find(':', pos);
           if (colon == std::string_view::npos) colon = languages.size();
           out.emplace_back(languages.substr(pos, colon - pos));
           pos = colon + 1;
         }
         return out;
       }()) {
    for (const auto& name : candidates(entry)) {
      if (name == "en" || name.starts_with("en_")) return nullptr;  // the source language
      if (!safeLanguageName(name)) continue;
      auto mo = ReadFileBounded(LocaleDir() + "/" + name + "/LC_MESSAGES/" + kDomain + ".mo",
                                size_t{16} << 20);
      if (!mo.ok()) continue;
      auto parsed = Parse(*mo);
      if (!parsed.ok()) continue;
      parsed->language_ = name;
      return std::make_shared<const Catalog>(std::move(parsed).value());
    }
  }
  return nullptr;
}

std::string Catalog::ChosenLanguages(const std::map<std::string, std::string>& environment) {
  auto get = [&](const char* k) -> std::string {
    auto it = environment.find(k);
    return it == environment.end() ? std::string() : it->second;
  };
  std::string locale;
  for (const char* k : {"LC_ALL", "LC_MESSAGES", "LANG"}) {
    locale = get(k);
    if (!locale.empty()) break;
  }
  if (locale.empty() || locale == "C" || locale == "POSIX") return "";
  std::string language = get("LANGUAGE");
  return language.empty() ? locale : language;
}

std::string Catalog::translate(const std::string& id, const std::string& plural, int64_t n) const {
  auto it = entries_.find(id);
  if (plural.empty()) {
    return it != entries_.end() && !it->second.empty() && !it->second[0].empty() ? it->second[0]
                                                                                 : id;
  }
  if (it == entries_.end()) return n == 1 ? id : plural;
  size_t form = 0;
  switch (rule_) {
    case PluralRule::kNotOne:
      form = n != 1 ? 1 : 0;
      break;
    case PluralRule::kGreaterThanOne:
      form = n > 1 ? 1 : 0;
      break;
    case PluralRule::kAlwaysFirst:
      form = 0;
      break;
  }
  if (form >= it->second.size() || it->second[form].empty()) return n == 1 ? id : plural;
  return it->second[form];
}

std::string Message::text() const {
  if (!by_language.empty()) return pickLanguage(by_language, CurrentLanguage());
  std::string form;
  if (!translate || id.empty()) {
    form = id;
  } else if (!plural.empty()) {
    form = TrN(id.c_str(), plural.c_str(), n);
  } else {
    form = Tr(id.c_str());
  }
  if (args.empty()) return form;
  std::vector<std::string> a;
  a.reserve(args.size());
  for (const auto& m : args) a.push_back(m.text());
  return Subst(form, a);
}

json::Value Message::toJson() const {
  if (!translate && args.empty() && by_language.empty()) return json::Value(id);
  json::Value o = json::Value::object();
  o.set("m", id);
  if (!by_language.empty()) {
    json::Value l = json::Value::object();
    for (const auto& [lang, words] : by_language) l.set(lang, words);
    o.set("l", std::move(l));
  }
  if (!plural.empty()) {
    o.set("p", plural);
    o.set("n", n);
  }
  if (!args.empty()) {
    json::Value a = json::Value::array();
    for (const auto& m : args) a.push(m.toJson());
    o.set("a", std::move(a));
  }
  if (!translate) o.set("lit", true);
  return o;
}

Message Message::fromJson(const json::Value& v) {
  if (v.isString()) return Lit(v.asString());
  Message m;
  m.translate = false;
  if (!v.isObject()) return m;
  const json::Value* id = v.find("m");
  if (id == nullptr || !id->isString()) return m;
  m.id = id->asString();
  const json::Value* lit = v.find("lit");
  m.translate = lit == nullptr || !lit->isBool() || !lit->asBool();
  const json::Value* p = v.find("p");
  const json::Value* n = v.find("n");
  if (p != nullptr && p->isString() && n != nullptr && n->isInt()) {
    m.plural = p->asString();
    m.n = n->asInt();
  }
  if (const json::Value* a = v.find("a"); a != nullptr && a->isArray()) {
    for (const auto& e : a->asArray()) m.args.push_back(fromJson(e));
  }
  if (const json::Value* l = v.find("l"); l != nullptr && l->isObject()) {
    for (const auto& [lang, words] : l->asObject()) {
      if (words.isString()) m.by_language[lang] = words.asString();
    }
  }
  return m;
}

Message Msg(const char* id, std::vector<Message> args) {
  Message m;
  m.id = id;
  m.args = std::move(args);
  return m;
}

Message MsgN(const char* singular, const char* plural, int64_t n, std::vector<Message> args) {
  Message m = Msg(singular, std::move(args));
  m.plural = plural;
  m.n = n;
  return m;
}

Message Lit(std::string text) {
  Message m;
  m.id = std::move(text);
  m.translate = false;
  return m;
}

Message Local(std::map<std::string, std::string> by_language) {
  Message m;
  m.translate = false;
  m.by_language = std::move(by_language);
  m.id = pickLanguage(m.by_language, "en");
  return m;
}

Message Joined(const std::vector<Message>& parts, std::string_view separator) {
  Message m;
  m.translate = false;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) m.id += separator;
    // Up to 9 placeholders: longer lists nest (the first eight, then the rest joined).
    if (i == 8 && parts.size() > 9) {
      std::vector<Message> rest(parts.begin() + 8, parts.end());
      m.id += "{9}";
      m.args.push_back(Joined(rest, separator));
      break;
    }
    m.id += "{" + std::to_string(i + 1) + "}";
    m.args.push_back(parts[i]);
  }
  return m;
}

}  // namespace hearth::i18n
