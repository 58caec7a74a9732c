#include "hearth/policy.h"

#include <cerrno>
#include <fcntl.h>
#include <initializer_list>
#include <sys/stat.h>
#include <unistd.h>

#include "hearth/json.h"
#include "hearth/system_view.h"

namespace hearth {

namespace {

constexpr size_t kMaxPolicyBytes = 1 << 20;
constexpr size_t kMaxCompanyAddresses = 256;

// Validates one JSON object against the keys it may have, reporting errors with the key path.
class Reader {
 public:
  Reader(std::string_view source) : source_(source) {}  // NOLINT

  Status error(std::string_view path, std::string_view expected, const json::Value* got) const {
    std::string m(source_);
    m += ": ";
    m += path;
    m += ": expected ";
    m += expected;
    if (got != nullptr) {
      m += ", got ";
      m += describe(*got);
    }
    return InvalidArgumentError(std::move(m));
  }

  static std::string describe(const json::Value& v) {
    std::string text = json::write(v);
    if (text.size() > 40) text = text.substr(0, 37) + "...";
    if (v.isObject() || v.isArray()) return std::string(json::typeName(v.type()));
    return std::string(json::typeName(v.type())) + " " + text;
  }

  Status onlyKeys(const json::Value& obj, std::string_view path,
                  std::initializer_list<std::string_view> allowed) const {
    for (const auto& [key, value] : obj.asObject()) {
      bool ok = false;
      for (auto a : allowed) ok = ok || key == a;
      if (!ok) {
        std::string expected = "one of ";
        bool first = true;
        for (auto a : allowed) {
          if (!first) expected += ", ";
          first = false;
          expected += a;
        }
        std::string m(source_);
        m += ": ";
        if (!path.empty()) {
          m += path;
          m += ".";
        }
        m += key;
        m += ": unknown key (expected ";
        m += expected;
        m += ")";
        return InvalidArgumentError(std::move(m));
      }
    }
    return OkStatus();
  }

  Status getBool(const json::Value& obj, std::string_view path, std::string_view key,
                 bool& out) const {
    const json::Value* v = obj.find(key);
    if (v == nullptr) return OkStatus();
    if (!v->isBool()) return error(join(path, key), "true or false", v);
    out = v->asBool();
    return OkStatus();
  }

  Status getInt(const json::Value& obj, std::string_view path, std::string_view key, int64_t lo,
                int64_t hi, int& out) const {
    const json::Value* v = obj.find(key);
    if (v == nullptr) return OkStatus();
    if (!v->isInt() || v->asInt() < lo || v->asInt() > hi) {
      return error(join(path, key),
                   "a whole number from " + std::to_string(lo) + " to " + std::to_string(hi), v);
    }
    out = static_cast<int>(v->asInt());
    return OkStatus();
  }

  static std::string join(std::string_view path, std::string_view key) {
    std::string s(path);
    if (!s.empty()) s += ".";
    s += key;
    return s;
  }

 private:
  std::string_view source_;
};

bool validLevelName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

Status checkSection(const Reader& r, const json::Value& checks, std::string_view id,
                    const json::Value*& out) {
  out = checks.find(id);
  if (out == nullptr) return OkStatus();
  if (!out->isObject()) return r.error(Reader::join("checks", id), "an object", out);
  return OkStatus();
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
  const json::Value& doc = *parsed;
  Reader r(source);
  Policy p;
  if (!doc.isObject()) return r.error("(top level)", "a JSON object", &doc);
  HEARTH_RETURN_IF_ERROR(r.onlyKeys(doc, "", {"level", "version", "checks", "description"}));

  const json::Value* level = doc.find("level");
  if (level == nullptr) return r.error("level", "a level name (missing)", nullptr);
  if (!level->isString() || !validLevelName(level->asString())) {
    return r.error("level", "a name of 1 to 64 characters a-z, 0-9, '-' or '_'", level);
  }
  p.level = level->asString();

  const json::Value* version = doc.find("version");
  if (version == nullptr) return r.error("version", "a version number (missing)", nullptr);
  if (!version->isInt() || version->asInt() < 1) {
    return r.error("version", "a whole number of 1 or more", version);
  }
  p.version = version->asInt();

  if (const json::Value* d = doc.find("description"); d != nullptr && !d->isString()) {
    return r.error("description", "a string", d);
  }

  const json::Value* checks = doc.find("checks");
  if (checks == nullptr) return r.error("checks", "an object of checks (missing)", nullptr);
  if (!checks->isObject()) return r.error("checks", "an object", checks);
  HEARTH_RETURN_IF_ERROR(
      r.onlyKeys(*checks, "checks", {"disk_encryption", "vpn", "os_patches", "screen_lock"}));

  const json::Value* sec = nullptr;
  HEARTH_RETURN_IF_ERROR(checkSection(r, *checks, "disk_encryption", sec));
  if (sec != nullptr) {
    constexpr std::string_view path = "checks.disk_encryption";
    DiskEncryptionSettings s;
    HEARTH_RETURN_IF_ERROR(r.onlyKeys(*sec, path, {"required"}));
    HEARTH_RETURN_IF_ERROR(r.getBool(*sec, path, "required", s.required));
    p.disk_encryption = s;
  }

  HEARTH_RETURN_IF_ERROR(checkSection(r, *checks, "vpn", sec));
  if (sec != nullptr) {
    constexpr std::string_view path = "checks.vpn";
    VpnSettings s;
    HEARTH_RETURN_IF_ERROR(r.onlyKeys(*sec, path, {"required", "company_addresses"}));
    HEARTH_RETURN_IF_ERROR(r.getBool(*sec, path, "required", s.required));
    if (const json::Value* a = sec->find("company_addresses"); a != nullptr) {
      std::string apath = Reader::join(path, "company_addresses");
      if (!a->isArray() || a->size() > kMaxCompanyAddresses) {
        return r.error(apath, "an array of at most 256 IP addresses", a);
      }
      for (size_t i = 0; i < a->asArray().size(); ++i) {
        const json::Value& e = a->asArray()[i];
        std::string epath = apath + "[" + std::to_string(i) + "]";
        if (!e.isString() || !IpAddress::parse(e.asString()).ok()) {
          return r.error(epath, "an IPv4 or IPv6 address such as \"10.20.0.1\" or \"fd00::1\"", &e);
        }
        s.company_addresses.push_back(e.asString());
      }
    }
    p.vpn = s;
  }

  HEARTH_RETURN_IF_ERROR(checkSection(r, *checks, "os_patches", sec));
  if (sec != nullptr) {
    constexpr std::string_view path = "checks.os_patches";
    OsPatchesSettings s;
    HEARTH_RETURN_IF_ERROR(
        r.onlyKeys(*sec, path,
                   {"required", "max_security_update_age_days", "max_update_age_days",
                    "max_package_list_age_days", "reboot_grace_days"}));
    HEARTH_RETURN_IF_ERROR(r.getBool(*sec, path, "required", s.required));
    HEARTH_RETURN_IF_ERROR(r.getInt(*sec, path, "max_security_update_age_days", 0, 3650,
                                    s.max_security_update_age_days));
    HEARTH_RETURN_IF_ERROR(
        r.getInt(*sec, path, "max_update_age_days", 0, 3650, s.max_update_age_days));
    HEARTH_RETURN_IF_ERROR(
        r.getInt(*sec, path, "max_package_list_age_days", 1, 3650, s.max_package_list_age_days));
    HEARTH_RETURN_IF_ERROR(r.getInt(*sec, path, "reboot_grace_days", 0, 3650, s.reboot_grace_days));
    p.os_patches = s;
  }

  HEARTH_RETURN_IF_ERROR(checkSection(r, *checks, "screen_lock", sec));
  if (sec != nullptr) {
    constexpr std::string_view path = "checks.screen_lock";
    ScreenLockSettings s;
    HEARTH_RETURN_IF_ERROR(
        r.onlyKeys(*sec, path, {"required", "max_idle_seconds", "require_lock_on_resume"}));
    HEARTH_RETURN_IF_ERROR(r.getBool(*sec, path, "required", s.required));
    HEARTH_RETURN_IF_ERROR(r.getInt(*sec, path, "max_idle_seconds", 1, 86400, s.max_idle_seconds));
    HEARTH_RETURN_IF_ERROR(
        r.getBool(*sec, path, "require_lock_on_resume", s.require_lock_on_resume));
    p.screen_lock = s;
  }
  return p;
}

StatusOr<Policy> LoadPolicyFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return ErrnoToStatus(errno, "cannot open policy file " + path);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgumentError(path + ": not a regular file");
  }
  std::string text;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return ErrnoToStatus(e, "cannot read policy file " + path);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxPolicyBytes) {
      ::close(fd);
      return InvalidArgumentError(path + ": larger than 1 MiB; not a policy file");
    }
  }
  ::close(fd);
  return ParsePolicy(text, path);
}

}  // namespace hearth
