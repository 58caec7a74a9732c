// Text for the person at the PC in their language, through glibc's gettext: domain "hearth", the
// translations in po/<lang>.po, built into <localedir>/<lang>/LC_MESSAGES/hearth.mo (po/README.md).
// The English text is the message id and the fallback. Reports sent to the server stay
// language-neutral: only what a person reads on this PC is translated.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/json.h"
#include "hearth/status.h"

// Marks a string for extraction (xgettext --keyword=N_) without translating it where it is
// written: it is translated with Tr() where it is shown.
#define N_(text) text

namespace hearth::i18n {

inline constexpr const char* kDomain = "hearth";

// Where the .mo files are: $HEARTH_LOCALEDIR when it is an absolute path (a build tree, tests),
// else the directory the package installs them to.
std::string LocaleDir();

// For a command-line program, once at start: messages in the language of the caller's
// environment (LANGUAGE, then LC_ALL, LC_MESSAGES, LANG), text in UTF-8. A language whose glibc
// locale is not generated on this system is still honoured (through LANGUAGE).
void InitForCommandLine();

// The translation of `msgid` in the current language; `msgid` itself when there is none.
const char* Tr(const char* msgid);
inline std::string Tr(const std::string& msgid) { return Tr(msgid.c_str()); }

// `text` with {1}, {2}, ... replaced by `args` in that order of numbers (a translation may
// reorder them). A placeholder without an argument is left as it is.
std::string Subst(std::string_view text, std::initializer_list<std::string_view> args);
std::string Subst(std::string_view text, const std::vector<std::string>& args);

// The translation of a count's text: `singular` or `plural` in English, the language's own
// plural forms in a translation.
const char* TrN(const char* singular, const char* plural, int64_t n);

// One language's translations read straight from its .mo file: text in a language other than the
// process's (the daemon's notification in the language of the session it goes to) without
// touching the process's locale or environment, and without needing that language's glibc
// locale. Immutable once loaded; safe to share between threads.
class Catalog {
 public:
  // The .mo file's contents. InvalidArgument when it is not one.
  static StatusOr<Catalog> Parse(std::string_view mo);
  // The catalog of the first language of `languages` that has a translation under LocaleDir():
  // a locale name ("da_DK.UTF-8") or a LANGUAGE list ("da:en"); "da_DK" falls back to "da".
  // nullptr for English, C and POSIX, or when there is no translation (the English is shown).
  static std::shared_ptr<const Catalog> ForLanguages(std::string_view languages);
  // The language a person chose in their environment (the variables of a session process):
  // LANGUAGE when the locale is not C, else LC_ALL, LC_MESSAGES, LANG; "" when none is set.
  static std::string ChosenLanguages(const std::map<std::string, std::string>& environment);

  // The translation of `id` (with `plural` and `n` for a count); `id` or `plural` itself, by
  // English rules, when the catalog has none.
  std::string translate(const std::string& id, const std::string& plural = {}, int64_t n = 0) const;
  const std::string& language() const { return language_; }

 private:
  std::map<std::string, std::vector<std::string>, std::less<>> entries_;
  // Plural-Forms, as far as it is understood: "n != 1" (Danish, German, English...), "n > 1"
  // (French), "0" (one form); anything else reads as "n != 1".
  enum class PluralRule { kNotOne, kGreaterThanOne, kAlwaysFirst } rule_ = PluralRule::kNotOne;
  std::string language_;
};

// A text for a person kept apart from its language, so it can be sent in English (reports,
// logs) and shown in the person's language where it is read: the English message id with {1}
// placeholders, its arguments (texts themselves: a literal such as a path, or another message)
// and, for a count, the English plural id chosen by `n`. Made with Msg(), MsgN(), Lit(), Joined()
// (xgettext extracts Msg and MsgN like Tr: po/README.md).
struct Message {
  std::string id;      // English; shown as it is when !translate
  std::string plural;  // English plural of `id`, chosen by `n`; empty: no plural
  int64_t n = 0;
  std::vector<Message> args;
  bool translate = true;
  // Words the company wrote itself in several languages (the policy's helpdesk, VPN app name):
  // language code ("en", "da") → text. When set, the reader's language is chosen from here (else
  // "en", else the first), not from the translations; `id` holds the English.
  std::map<std::string, std::string> by_language;

  bool empty() const { return id.empty(); }
  std::string english() const;
  // In the current language (Tr); English where there is no translation.
  std::string text() const;
  // In the language of `catalog`; the current language when it is null.
  std::string text(const Catalog* catalog) const;
  // A literal without arguments is a JSON string; anything else an object
  // {"m": id, "p": plural, "n": n, "a": [args], "lit": true}, only the fields that are set.
  json::Value toJson() const;
  // The inverse of toJson; anything else (a number, a malformed object) as a literal of what
  // could be read, so a damaged file never hides a text altogether.
  static Message fromJson(const json::Value& v);
};

Message Msg(const char* id, std::vector<Message> args = {});
Message MsgN(const char* singular, const char* plural, int64_t n, std::vector<Message> args = {});
Message Lit(std::string text);
// The company's own words in the languages it gave ({"en": ..., "da": ...}); at least one.
Message Local(std::map<std::string, std::string> by_language);

// The language of the current translation ("da"), or "en" when none is in use (C, English, or a
// language without a translation): from the translation's header.
std::string CurrentLanguage();
// `parts` with `separator` between them (the separator is not translated).
Message Joined(const std::vector<Message>& parts, std::string_view separator);

}  // namespace hearth::i18n
