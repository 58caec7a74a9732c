#include "hearth/policy.h"

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
constexpr std::string_view kCommonKeys[] = {"required", "grace_days"};
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

}  // namespace

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
  PolicyCheck c{std::move(id), required, grace_days, std::move(settings)};
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
  HEARTH_RETURN_IF_ERROR(r.onlyKeys({"level", "version", "checks", "description", "grace_days"}));

  const json::Value* level = r.find("level");
  if (level == nullptr) return r.missing("level", "a level name");
  if (!level->isString() || !validLevelName(level->asString())) {
    return r.invalid("level", "a name of 1 to 64 characters a-z, 0-9, '-' or '_'", level);
  }
  p.level = level->asString();

  if (!r.has("version")) return r.missing("version", "a version number");
  HEARTH_RETURN_IF_ERROR(r.readInt("version", 1, std::numeric_limits<int64_t>::max(), p.version));

  std::string description;
  HEARTH_RETURN_IF_ERROR(r.readString("description", description));
  HEARTH_RETURN_IF_ERROR(r.readInt("grace_days", 0, kMaxGraceDays, p.grace_days));

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
    PolicyCheck check{entry.id, true, p.grace_days, nullptr};
    HEARTH_RETURN_IF_ERROR(section->readBool("required", check.required));
    HEARTH_RETURN_IF_ERROR(section->readInt("grace_days", 0, kMaxGraceDays, check.grace_days));
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
