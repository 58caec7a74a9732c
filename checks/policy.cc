#include "hearth/policy.h"

#include <limits>

#include "hearth/files.h"
#include "hearth/json.h"
#include "hearth/json_reader.h"
#include "hearth/system_view.h"

namespace hearth {

namespace {

constexpr size_t kMaxPolicyBytes = 1 << 20;
constexpr size_t kMaxCompanyAddresses = 256;

bool validLevelName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

bool Policy::enabled(std::string_view id) const {
  if (id == "disk_encryption") return disk_encryption.has_value();
  if (id == "vpn") return vpn.has_value();
  if (id == "os_patches") return os_patches.has_value();
  if (id == "screen_lock") return screen_lock.has_value();
  return false;
}

bool Policy::required(std::string_view id) const {
  if (id == "disk_encryption") return disk_encryption && disk_encryption->required;
  if (id == "vpn") return vpn && vpn->required;
  if (id == "os_patches") return os_patches && os_patches->required;
  if (id == "screen_lock") return screen_lock && screen_lock->required;
  return false;
}

StatusOr<Policy> ParsePolicy(std::string_view text, std::string_view source) {
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
  HEARTH_RETURN_IF_ERROR(r.onlyKeys({"level", "version", "checks", "description"}));

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

  if (!r.has("checks")) return r.missing("checks", "an object of checks");
  std::optional<json::ObjectReader> checks;
  HEARTH_RETURN_IF_ERROR(r.readObject("checks", checks));
  HEARTH_RETURN_IF_ERROR(checks->onlyKeys({"disk_encryption", "vpn", "os_patches", "screen_lock"}));

  std::optional<json::ObjectReader> sec;
  HEARTH_RETURN_IF_ERROR(checks->readObject("disk_encryption", sec));
  if (sec) {
    DiskEncryptionSettings s;
    HEARTH_RETURN_IF_ERROR(sec->onlyKeys({"required"}));
    HEARTH_RETURN_IF_ERROR(sec->readBool("required", s.required));
    p.disk_encryption = s;
  }

  sec.reset();
  HEARTH_RETURN_IF_ERROR(checks->readObject("vpn", sec));
  if (sec) {
    VpnSettings s;
    HEARTH_RETURN_IF_ERROR(sec->onlyKeys({"required", "company_addresses"}));
    HEARTH_RETURN_IF_ERROR(sec->readBool("required", s.required));
    const json::Array* addresses = nullptr;
    HEARTH_RETURN_IF_ERROR(sec->readArray("company_addresses", kMaxCompanyAddresses,
                                          "an array of at most 256 IP addresses", addresses));
    for (size_t i = 0; addresses != nullptr && i < addresses->size(); ++i) {
      const json::Value& e = (*addresses)[i];
      if (!e.isString() || !IpAddress::parse(e.asString()).ok()) {
        return sec->invalid("company_addresses[" + std::to_string(i) + "]",
                            "an IPv4 or IPv6 address such as \"10.20.0.1\" or \"fd00::1\"", &e);
      }
      s.company_addresses.push_back(e.asString());
    }
    p.vpn = s;
  }

  sec.reset();
  HEARTH_RETURN_IF_ERROR(checks->readObject("os_patches", sec));
  if (sec) {
    OsPatchesSettings s;
    HEARTH_RETURN_IF_ERROR(
        sec->onlyKeys({"required", "max_security_update_age_days", "max_update_age_days",
                       "max_package_list_age_days", "reboot_grace_days"}));
    HEARTH_RETURN_IF_ERROR(sec->readBool("required", s.required));
    HEARTH_RETURN_IF_ERROR(
        sec->readInt("max_security_update_age_days", 0, 3650, s.max_security_update_age_days));
    HEARTH_RETURN_IF_ERROR(sec->readInt("max_update_age_days", 0, 3650, s.max_update_age_days));
    HEARTH_RETURN_IF_ERROR(
        sec->readInt("max_package_list_age_days", 1, 3650, s.max_package_list_age_days));
    HEARTH_RETURN_IF_ERROR(sec->readInt("reboot_grace_days", 0, 3650, s.reboot_grace_days));
    p.os_patches = s;
  }

  sec.reset();
  HEARTH_RETURN_IF_ERROR(checks->readObject("screen_lock", sec));
  if (sec) {
    ScreenLockSettings s;
    HEARTH_RETURN_IF_ERROR(
        sec->onlyKeys({"required", "max_idle_seconds", "require_lock_on_resume"}));
    HEARTH_RETURN_IF_ERROR(sec->readBool("required", s.required));
    HEARTH_RETURN_IF_ERROR(sec->readInt("max_idle_seconds", 1, 86400, s.max_idle_seconds));
    HEARTH_RETURN_IF_ERROR(sec->readBool("require_lock_on_resume", s.require_lock_on_resume));
    p.screen_lock = s;
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
    if (m.rfind("open ", 0) == 0) m = "cannot open policy file " + m.substr(5);
    return Status(s.code(), std::move(m));
  }
  return ParsePolicy(*text, path);
}

}  // namespace hearth
