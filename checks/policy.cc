#include "hearth/policy.h"

#include <algorithm>
#include <functional>
#include <iterator>
#include <limits>
#include <optional>

#include "hearth/check_spec.h"
#include "hearth/files.h"
#include "hearth/json.h"
#include "hearth/json_reader.h"

namespace hearth {

namespace {

constexpr size_t kMaxPolicyBytes = 1 << 20;
// The keys of `checks.<id>` that every check has, read here; each check reads its own after them.
constexpr std::string_view kCommonKeys[] = {"required", "grace_days", "help_url"};
// The languages the company may write in: those the agent shows.
constexpr std::string_view kLanguages[] = {"en", "da"};
constexpr size_t kMaxNameBytes = 200;
constexpr size_t kMaxDescriptionBytes = 2000;
constexpr size_t kMaxUrlBytes = 500;
// A grace period longer than a year is a typo, not a policy.
constexpr int64_t kMaxGraceDays = 366;

bool validLevelName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool hasControl(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

bool validUrl(std::string_view s) {
  if (s.size() > kMaxUrlBytes || hasControl(s) || s.find(' ') != std::string_view::npos) {
    return false;
  }
  for (std::string_view scheme : {"https://", "http://"}) {
    if (s.starts_with(scheme) && s.size() > scheme.size()) return true;
  }
  return false;
}

// A phone number as people write it: digits, spaces, + - ( ) and '.', at least one digit.
bool validPhone(std::string_view s) {
  if (s.empty() || s.size() > 40) return false;
  bool digit = false;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if (c != ' ' && c != '+' && c != '-' && c != '(' && c != ')' && c != '.') {
      return false;
    }
  }
  return digit;
}

// "HH:MM" (00:00 to 23:59) as minutes after midnight; -1 for anything else.
int minuteOfDay(std::string_view s) {
  if (s.size() != 5 || s[2] != ':') return -1;
  for (size_t i : {size_t{0}, size_t{1}, size_t{3}, size_t{4}}) {
    if (s[i] < '0' || s[i] > '9') return -1;
  }
  int h = (s[0] - '0') * 10 + (s[1] - '0');
  int m = (s[3] - '0') * 10 + (s[4] - '0');
  return h < 24 && m < 60 ? h * 60 + m : -1;
}

bool validEmail(std::string_view s) {
  size_t at = s.find('@');
  return s.size() <= 254 && at != std::string_view::npos && at > 0 && at + 1 < s.size() &&
         s.find('@', at + 1) == std::string_view::npos && !hasControl(s) &&
         s.find(' ') == std::string_view::npos;
}

// The company text of `key` (a string or {"en": ..., "da": ...}); every text accepted by `ok`.
Status readLocalized(const json::ObjectReader& r, std::string_view key, std::string_view what,
                     const std::function<bool(std::string_view)>& ok, CompanyText& out) {
  const json::Value* v = r.find(key);
  if (v == nullptr) return OkStatus();
  const std::string expected =
      std::string(what) + ", or {\"en\": ..., \"da\": ...} with one for each language";
  if (v->isString()) {
    if (!ok(v->asString())) return r.invalid(key, what, v);
    out["en"] = v->asString();
    return OkStatus();
  }
  if (!v->isObject() || v->asObject().empty()) return r.invalid(key, expected, v);
  for (const auto& [lang, text] : v->asObject()) {
    const std::string path = std::string(key) + "." + lang;
    if (std::find(std::begin(kLanguages), std::end(kLanguages), lang) == std::end(kLanguages)) {
      return r.invalid(path, "a language the agent speaks: en or da");
    }
    if (!text.isString() || !ok(text.asString())) return r.invalid(path, what, &text);
    out[lang] = text.asString();
  }
  return OkStatus();
}

}  // namespace

Status ReadCompanyText(const json::ObjectReader& r, std::string_view key, size_t max_chars,
                       CompanyText& out) {
  const std::string what =
      "a text of 1 to " + std::to_string(max_chars) + " bytes without control characters";
  return readLocalized(
      r, key, what,
      [&](std::string_view s) { return !s.empty() && s.size() <= max_chars && !hasControl(s); },
      out);
}

Status ReadCompanyUrl(const json::ObjectReader& r, std::string_view key, CompanyText& out) {
  return readLocalized(
      r, key, "a web address starting with https:// (at most 500 bytes, no spaces)", validUrl, out);
}

const PolicyCheck* Policy::find(std::string_view id) const {
  for (const auto& c : checks) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

bool Policy::enabled(std::string_view id) const { return find(id) != nullptr; }

bool Policy::required(std::string_view id) const {
  const PolicyCheck* c = find(id);
  return c != nullptr && c->required;
}

Policy& Policy::enable(std::string id, std::shared_ptr<const CheckSettings> settings,
                       bool required) {
  PolicyCheck c{std::move(id), required, grace_days, {}, std::move(settings)};
  for (auto& existing : checks) {
    if (existing.id == c.id) {
      existing = std::move(c);
      return *this;
    }
  }
  checks.push_back(std::move(c));
  return *this;
}

StatusOr<Policy> ParsePolicy(std::string_view text, std::string_view source) {
  return ParsePolicy(text, source, PolicyChecks());
}

StatusOr<Policy> ParsePolicy(std::string_view text, std::string_view source,
                             const CheckSpecRegistry& registry) {
  json::ParseOptions po;
  po.max_bytes = kMaxPolicyBytes;
  po.max_depth = 8;
  auto parsed = json::parse(text, po);
  if (!parsed.ok()) {
    return InvalidArgumentError(std::string(source) + ": " + parsed.status().message());
  }
  HEARTH_ASSIGN_OR_RETURN(json::ObjectReader r,
                          json::ObjectReader::Open(*parsed, {.source = std::string(source)}));
  Policy p;
  HEARTH_RETURN_IF_ERROR(r.onlyKeys(
      {"level", "version", "checks", "description", "grace_days", "helpdesk", "notifications"}));

  const json::Value* level = r.find("level");
  if (level == nullptr) return r.missing("level", "a level name");
  if (!level->isString() || !validLevelName(level->asString())) {
    return r.invalid("level", "a name of 1 to 64 characters a-z, 0-9, '-' or '_'", level);
  }
  p.level = level->asString();

  if (!r.has("version")) return r.missing("version", "a version number");
  HEARTH_RETURN_IF_ERROR(r.readInt("version", 1, std::numeric_limits<int64_t>::max(), p.version));

  HEARTH_RETURN_IF_ERROR(ReadCompanyText(r, "description", kMaxDescriptionBytes, p.description));
  std::optional<json::ObjectReader> helpdesk;
  HEARTH_RETURN_IF_ERROR(r.readObject("helpdesk", helpdesk));
  if (helpdesk) {
    HEARTH_RETURN_IF_ERROR(helpdesk->onlyKeys({"name", "phone", "email", "url"}));
    HEARTH_RETURN_IF_ERROR(ReadCompanyText(*helpdesk, "name", kMaxNameBytes, p.helpdesk.name));
    HEARTH_RETURN_IF_ERROR(helpdesk->readString("phone", p.helpdesk.phone));
    if (helpdesk->has("phone") && !validPhone(p.helpdesk.phone)) {
      return helpdesk->invalid("phone",
                               "a phone number such as \"70 20 30 40\" or \"+45 70 20 30 40\"",
                               helpdesk->find("phone"));
    }
    HEARTH_RETURN_IF_ERROR(helpdesk->readString("email", p.helpdesk.email));
    if (helpdesk->has("email") && !validEmail(p.helpdesk.email)) {
      return helpdesk->invalid("email", "an e-mail address such as \"it@example.dk\"",
                               helpdesk->find("email"));
    }
    HEARTH_RETURN_IF_ERROR(helpdesk->readString("url", p.helpdesk.url));
    if (helpdesk->has("url") && !validUrl(p.helpdesk.url)) {
      return helpdesk->invalid(
          "url", "a web address starting with https:// (at most 500 bytes, no spaces)",
          helpdesk->find("url"));
    }
  }
  HEARTH_RETURN_IF_ERROR(r.readInt("grace_days", 0, kMaxGraceDays, p.grace_days));

  std::optional<json::ObjectReader> notifications;
  HEARTH_RETURN_IF_ERROR(r.readObject("notifications", notifications));
  if (notifications) {
    HEARTH_RETURN_IF_ERROR(notifications->onlyKeys({"quiet_hours"}));
    std::optional<json::ObjectReader> quiet;
    HEARTH_RETURN_IF_ERROR(notifications->readObject("quiet_hours", quiet));
    if (quiet) {
      HEARTH_RETURN_IF_ERROR(quiet->onlyKeys({"from", "to"}));
      for (const char* key : {"from", "to"}) {
        const json::Value* v = quiet->find(key);
        int minutes = -1;
        if (v == nullptr) return quiet->missing(key, "a time of day such as \"20:00\"");
        if (v->isString()) minutes = minuteOfDay(v->asString());
        if (minutes < 0) {
          return quiet->invalid(key, "a time of day from \"00:00\" to \"23:59\"", v);
        }
        (std::string_view(key) == "from" ? p.notifications.quiet_from : p.notifications.quiet_to) =
            minutes;
      }
    }
  }

  if (!r.has("checks")) return r.missing("checks", "an object of checks");
  std::optional<json::ObjectReader> checks;
  HEARTH_RETURN_IF_ERROR(r.readObject("checks", checks));
  std::vector<std::string_view> ids;
  for (const auto& entry : registry.entries()) ids.push_back(entry.id);
  HEARTH_RETURN_IF_ERROR(checks->onlyKeys(ids));

  // Each check's section, in registry order: the keys every check has, then its own.
  for (const auto& entry : registry.entries()) {
    std::optional<json::ObjectReader> section;
    HEARTH_RETURN_IF_ERROR(checks->readObject(entry.id, section));
    if (!section) continue;
    std::vector<std::string_view> keys(std::begin(kCommonKeys), std::end(kCommonKeys));
    keys.insert(keys.end(), entry.settings.keys.begin(), entry.settings.keys.end());
    HEARTH_RETURN_IF_ERROR(section->onlyKeys(keys));
    PolicyCheck check{entry.id, true, p.grace_days, {}, nullptr};
    HEARTH_RETURN_IF_ERROR(section->readBool("required", check.required));
    HEARTH_RETURN_IF_ERROR(section->readInt("grace_days", 0, kMaxGraceDays, check.grace_days));
    HEARTH_RETURN_IF_ERROR(ReadCompanyUrl(*section, "help_url", check.help_url));
    if (entry.settings.parse) {
      HEARTH_ASSIGN_OR_RETURN(check.settings, entry.settings.parse(*section));
    }
    p.checks.push_back(std::move(check));
  }
  return p;
}

StatusOr<Policy> LoadPolicyFile(const std::string& path) {
  auto text = ReadFileBounded(path, kMaxPolicyBytes);
  if (!text.ok()) {
    const Status& s = text.status();
    if (s.code() == StatusCode::kResourceExhausted) {
      return InvalidArgumentError(path + ": larger than 1 MiB; not a policy file");
    }
    if (s.code() == StatusCode::kInvalidArgument) {
      return InvalidArgumentError(path + ": not a regular file");
    }
    // "open PATH: why" → "cannot open policy file PATH: why"
    std::string m = s.message();
    if (m.starts_with("open ")) m = "cannot open policy file " + m.substr(5);
    return Status(s.code(), std::move(m));
  }
  return ParsePolicy(*text, path);
}

}  // namespace hearth
