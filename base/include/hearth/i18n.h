// Text for the person at the PC in their language, through glibc's gettext: domain "hearth", the
// translations in po/<lang>.po, built into <localedir>/<lang>/LC_MESSAGES/hearth.mo (po/README.md).
// The English text is the message id and the fallback. Reports sent to the server stay
// language-neutral: only what a person reads on this PC is translated.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

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

}  // namespace hearth::i18n
