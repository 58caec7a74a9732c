// BitLocker volumes judged (see bitlocker.h). No I/O.
#include "disk_encryption/bitlocker.h"

#include <optional>

#include "hearth/i18n.h"
#include "hearth/json.h"
#include "hearth/text.h"

namespace hearth::checks::bitlocker {

namespace {

using i18n::Lit;
using i18n::Msg;

std::optional<int64_t> number(const WmiRow& row, const char* name) {
  auto it = row.find(name);
  if (it == row.end()) return std::nullopt;
  return text::parseInt(text::trim(it->second));
}

std::string field(const WmiRow& row, const char* name) {
  auto it = row.find(name);
  return it == row.end() ? "" : it->second;
}

// EncryptionMethod values of Win32_EncryptableVolume.GetEncryptionMethod.
std::string methodName(std::optional<int64_t> m) {
  if (!m) return "unknown";
  switch (*m) {
    case 0:
      return "none";
    case 1:
      return "AES-128 with diffuser";
    case 2:
      return "AES-256 with diffuser";
    case 3:
      return "AES-128";
    case 4:
      return "AES-256";
    case 5:
      return "hardware encryption";
    case 6:
      return "XTS-AES-128";
    case 7:
      return "XTS-AES-256";
    default:
      return "method " + std::to_string(*m);
  }
}

std::string conversionName(std::optional<int64_t> c) {
  if (!c) return "unknown";
  switch (*c) {
    case 0:
      return "fully decrypted";
    case 1:
      return "fully encrypted";
    case 2:
      return "encryption in progress";
    case 3:
      return "decryption in progress";
    case 4:
      return "encryption paused";
    case 5:
      return "decryption paused";
    default:
      return "conversion status " + std::to_string(*c);
  }
}

}  // namespace

std::vector<std::string> Properties() {
  return {"DeviceID",         "DriveLetter",      "VolumeType",
          "ProtectionStatus", "ConversionStatus", "EncryptionMethod"};
}

StatusOr<std::vector<WmiRow>> ParseCimJson(std::string_view json_text) {
  HEARTH_ASSIGN_OR_RETURN(json::Value v, json::parse(json_text));
  std::vector<const json::Value*> objects;
  if (v.isObject()) {
    objects.push_back(&v);
  } else if (v.isArray()) {
    for (const auto& o : v.asArray()) objects.push_back(&o);
  } else {
    return InvalidArgumentError("Win32_EncryptableVolume JSON: not an object or an array");
  }
  std::vector<WmiRow> rows;
  for (const json::Value* o : objects) {
    if (!o->isObject()) return InvalidArgumentError("Win32_EncryptableVolume JSON: not an object");
    WmiRow row;
    for (const auto& p : Properties()) {
      const json::Value* f = o->find(p);
      if (f == nullptr || f->isNull()) continue;
      if (f->isString()) {
        row[p] = f->asString();
      } else if (f->isInt()) {
        row[p] = std::to_string(f->asInt());
      } else {
        return InvalidArgumentError("Win32_EncryptableVolume JSON: " + p + " is not a value");
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

CheckResult JudgeVolumes(const std::vector<WmiRow>& rows) {
  CheckResult r;
  json::Value volumes = json::Value::array();
  bool os_seen = false, any_fail = false, any_unknown = false;
  std::vector<i18n::Message> problems;
  for (const auto& row : rows) {
    const std::string name =
        !field(row, "DriveLetter").empty() ? field(row, "DriveLetter") : field(row, "DeviceID");
    auto type = number(row, "VolumeType");
    auto protection = number(row, "ProtectionStatus");
    auto conversion = number(row, "ConversionStatus");
    auto method = number(row, "EncryptionMethod");
    json::Value j = json::Value::object();
    j.set("volume", name);
    j.set("volume_type", !type        ? "unknown"
                         : *type == 0 ? "os"
                         : *type == 1 ? "fixed data"
                         : *type == 2 ? "removable"
                                      : "other");
    j.set("conversion", conversionName(conversion));
    j.set("protection", !protection        ? "unknown"
                        : *protection == 1 ? "on"
                        : *protection == 0 ? "off"
                                           : "unknown (locked)");
    j.set("method", methodName(method));
    const bool judged = type && (*type == 0 || *type == 1);
    j.set("judged", judged);
    volumes.push(std::move(j));
    if (!judged) continue;
    if (*type == 0) os_seen = true;
    if (!conversion || !protection || *protection == 2) {
      any_unknown = true;
      problems.push_back(Msg("{1}: BitLocker state could not be read", {Lit(name)}));
    } else if (*conversion != 1) {
      any_fail = true;
      problems.push_back(
          Msg("{1} is not fully encrypted ({2})", {Lit(name), Lit(conversionName(conversion))}));
    } else if (*protection != 1) {
      any_fail = true;
      problems.push_back(Msg("{1}: BitLocker protection is suspended", {Lit(name)}));
    }
  }
  r.evidence.set("volumes", std::move(volumes));
  r.evidence.set("source", std::string("WMI ") + kNamespace + " Win32_EncryptableVolume");
  if (any_fail) {
    r.verdict = Verdict::kFail;
  } else if (any_unknown || !os_seen) {
    r.verdict = Verdict::kUnknown;
    if (!os_seen) problems.push_back(Msg("BitLocker lists no operating-system volume"));
  } else {
    r.verdict = Verdict::kPass;
    r.setSummary(Msg("Every fixed drive is encrypted with BitLocker"));
    return r;
  }
  r.setSummary(i18n::Joined(problems, "; "));
  Advice a;
  a.code = "disk_encryption.turn_on_bitlocker";
  a.variant = "windows";
  a.steps.push_back(
      Msg("Open Settings, then Privacy & security, then Device encryption (or "
          "Control Panel, BitLocker Drive Encryption)."));
  a.steps.push_back(
      Msg("Turn encryption on for every drive, or resume protection where it is "
          "suspended, and let it finish."));
  r.addAdvice(std::move(a));
  return r;
}

}  // namespace hearth::checks::bitlocker
