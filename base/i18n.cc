#include "hearth/i18n.h"

#include <cstdlib>
#include <cstring>
#include <vector>

#if defined(__GLIBC__)
#include <clocale>
#include <libintl.h>
#endif

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

#else

void InitForCommandLine() {}
const char* Tr(const char* msgid) { return msgid; }

#endif

std::string Subst(std::string_view text, std::initializer_list<std::string_view> args) {
  std::vector<std::string_view> a(args);
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

}  // namespace hearth::i18n
