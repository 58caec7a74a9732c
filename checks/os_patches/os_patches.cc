// os_patches: pure parsers (apt simulation, apt-cache policy, apt-config, Release files, dnf
// outputs, kernel names), dpkg version ordering and the decision. No I/O here.
#include "os_patches/os_patches.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <set>

#include "hearth/text.h"
#include "hearth/time.h"

namespace hearth::checks::os_patches {

namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// dpkg's order(): digits 0, letters themselves, '~' before everything (even the end), others
// after letters.
int charOrder(char c) {
  if (isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c == '~') return -1;
  if (c != 0) return static_cast<unsigned char>(c) + 256;
  return 0;
}

int verrevcmp(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  auto at = [](std::string_view s, size_t k) { return k < s.size() ? s[k] : '\0'; };
  while (i < a.size() || j < b.size()) {
    int first_diff = 0;
    while ((i < a.size() && !isDigit(a[i])) || (j < b.size() && !isDigit(b[j]))) {
      int ac = charOrder(at(a, i));
      int bc = charOrder(at(b, j));
      if (ac != bc) return ac - bc;
      ++i;
      ++j;
    }
    while (at(a, i) == '0') ++i;
    while (at(b, j) == '0') ++j;
    while (isDigit(at(a, i)) && isDigit(at(b, j))) {
      if (first_diff == 0) first_diff = at(a, i) - at(b, j);
      ++i;
      ++j;
    }
    if (isDigit(at(a, i))) return 1;
    if (isDigit(at(b, j))) return -1;
    if (first_diff != 0) return first_diff;
  }
  return 0;
}

struct DebVersion {
  int64_t epoch = 0;
  std::string_view upstream;
  std::string_view revision;
};

DebVersion splitDebVersion(std::string_view v) {
  DebVersion d;
  size_t colon = v.find(':');
  if (colon != std::string_view::npos) {
    d.epoch = text::parseInt(v.substr(0, colon)).value_or(0);
    v.remove_prefix(colon + 1);
  }
  size_t dash = v.rfind('-');
  if (dash != std::string_view::npos) {
    d.upstream = v.substr(0, dash);
    d.revision = v.substr(dash + 1);
  } else {
    d.upstream = v;
  }
  return d;
}

std::vector<std::string> indentedNames(const std::vector<std::string>& lines, size_t& i) {
  std::vector<std::string> names;
  while (i + 1 < lines.size() && lines[i + 1].starts_with(" ")) {
    ++i;
    for (auto& n : text::splitWhitespace(lines[i])) names.push_back(std::move(n));
  }
  return names;
}

// The archive of one origin in an Inst line: "Debian-Security:12/oldstable-security" →
// "oldstable-security", "Ubuntu:24.04/noble-updates" → "noble-updates", "localhost" stays.
std::string originSuite(std::string_view origin) {
  size_t slash = origin.rfind('/');
  if (slash != std::string_view::npos) return std::string(origin.substr(slash + 1));
  size_t colon = origin.find(':');
  if (colon != std::string_view::npos) return std::string(origin.substr(colon + 1));
  return std::string(origin);
}

int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

int compareDebianVersions(std::string_view a, std::string_view b) {
  DebVersion x = splitDebVersion(a);
  DebVersion y = splitDebVersion(b);
  if (x.epoch != y.epoch) return x.epoch < y.epoch ? -1 : 1;
  int r = verrevcmp(x.upstream, y.upstream);
  if (r != 0) return r < 0 ? -1 : 1;
  r = verrevcmp(x.revision, y.revision);
  return r < 0 ? -1 : (r > 0 ? 1 : 0);
}

bool isSecuritySuite(std::string_view suite) {
  size_t slash = suite.find('/');
  if (slash != std::string_view::npos) suite = suite.substr(0, slash);
  return suite.ends_with("-security");
}

StatusOr<AptSimulation> parseAptSimulation(std::string_view input) {
  AptSimulation sim;
  std::vector<std::string> lines = text::splitLines(input);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.starts_with("Inst ")) {
      std::string_view rest = std::string_view(line).substr(5);
      AptInstall inst;
      size_t sp = rest.find(' ');
      inst.name = std::string(rest.substr(0, sp));
      rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
      if (rest.starts_with("[")) {
        size_t close = rest.find(']');
        if (close == std::string_view::npos) {
          return InvalidArgumentError("malformed apt simulation line: " + line);
        }
        inst.installed = std::string(rest.substr(1, close - 1));
        rest = rest.substr(close + 1);
      }
      size_t open = rest.find('(');
      size_t close = rest.find(')', open == std::string_view::npos ? 0 : open);
      if (inst.name.empty() || open == std::string_view::npos || close == std::string_view::npos) {
        return InvalidArgumentError("malformed apt simulation line: " + line);
      }
      std::string inner = text::trim(rest.substr(open + 1, close - open - 1));
      size_t csp = inner.find(' ');
      inst.candidate = inner.substr(0, csp);
      std::string origins = csp == std::string::npos ? std::string() : inner.substr(csp + 1);
      // Drop the trailing " [arch]".
      if (!origins.empty() && origins.back() == ']') {
        size_t ob = origins.rfind('[');
        if (ob != std::string::npos) origins = text::trim(origins.substr(0, ob));
      }
      if (inst.candidate.empty()) {
        return InvalidArgumentError("malformed apt simulation line: " + line);
      }
      size_t pos = 0;
      while (pos < origins.size()) {
        size_t comma = origins.find(", ", pos);
        if (comma == std::string::npos) comma = origins.size();
        std::string origin = text::trim(std::string_view(origins).substr(pos, comma - pos));
        if (!origin.empty()) {
          inst.suites.push_back(originSuite(origin));
          if (isSecuritySuite(inst.suites.back())) inst.security_origin = true;
        }
        pos = comma + 2;
      }
      sim.installs.push_back(std::move(inst));
    } else if (line.starts_with("Remv ")) {
      auto parts = text::splitWhitespace(line);
      if (parts.size() < 2) return InvalidArgumentError("malformed apt simulation line: " + line);
      sim.removals.push_back(parts[1]);
    } else if (line.starts_with("The following packages have been kept back")) {
      auto names = indentedNames(lines, i);
      sim.kept_back.insert(sim.kept_back.end(), names.begin(), names.end());
    } else if (line.starts_with("The following upgrades have been deferred due to phasing") ||
               line.starts_with("Not upgrading yet due to phasing")) {
      auto names = indentedNames(lines, i);
      sim.phasing_deferred.insert(sim.phasing_deferred.end(), names.begin(), names.end());
    }
  }
  return sim;
}

std::map<std::string, AptPolicyPackage> parseAptCachePolicy(std::string_view input) {
  std::map<std::string, AptPolicyPackage> out;
  AptPolicyPackage* cur = nullptr;
  AptPolicyVersion* ver = nullptr;
  for (const std::string& line : text::splitLines(input)) {
    if (line.empty()) continue;
    if (line[0] != ' ') {
      std::string name = text::trim(line);
      if (!name.empty() && name.back() == ':') name.pop_back();
      cur = &out[name];
      ver = nullptr;
      continue;
    }
    if (cur == nullptr) continue;
    std::string t = text::trim(line);
    if (t.starts_with("Installed:")) {
      cur->installed = text::trim(t.substr(10));
      if (cur->installed == "(none)") cur->installed.clear();
    } else if (t.starts_with("Candidate:")) {
      cur->candidate = text::trim(t.substr(10));
      if (cur->candidate == "(none)") cur->candidate.clear();
    } else if (t.starts_with("Version table:")) {
      continue;
    } else {
      size_t indent = line.find_first_not_of(' ');
      bool current = line.starts_with(" *** ");
      if (current || indent <= 6) {
        // " *** 1.2-3 500": the version follows the marker (a bare " ***" has none).
        auto parts = text::splitWhitespace(
            current ? std::string_view(t).substr(std::min<size_t>(3, t.size()))
                    : std::string_view(t));
        if (parts.empty()) continue;
        cur->versions.push_back(AptPolicyVersion{parts[0], {}});
        ver = &cur->versions.back();
      } else if (ver != nullptr) {
        // "500 http://deb.debian.org/debian-security bookworm-security/main amd64 Packages"
        // or "100 /var/lib/dpkg/status".
        auto parts = text::splitWhitespace(t);
        if (parts.size() >= 3) {
          std::string dist = parts[2];
          size_t slash = dist.find('/');
          if (slash != std::string::npos && slash != 0 && dist != "./")
            dist = dist.substr(0, slash);
          ver->dists.push_back(dist);
        }
      }
    }
  }
  return out;
}

bool hasSecurityVersion(const AptPolicyPackage& policy, std::string_view installed,
                        std::string_view candidate) {
  for (const auto& v : policy.versions) {
    if (!installed.empty() && compareDebianVersions(v.version, installed) <= 0) continue;
    if (compareDebianVersions(v.version, candidate) > 0) continue;
    for (const auto& d : v.dists) {
      if (isSecuritySuite(d)) return true;
    }
  }
  return false;
}

std::map<std::string, std::string> parseAptConfigDump(std::string_view input) {
  std::map<std::string, std::string> out;
  for (const std::string& line : text::splitLines(input)) {
    size_t sp = line.find(' ');
    if (sp == std::string::npos || sp == 0) continue;
    size_t q1 = line.find('"', sp);
    size_t q2 = line.rfind('"');
    if (q1 == std::string::npos || q2 == q1) continue;
    out[line.substr(0, sp)] = line.substr(q1 + 1, q2 - q1 - 1);
  }
  return out;
}

std::string aptConfigPath(const std::map<std::string, std::string>& config, const std::string& key,
                          const std::string& fallback, bool dir) {
  std::string result;
  if (auto r = config.find("RootDir"); r != config.end()) result = r->second;
  if (!result.empty() && result.back() != '/') result.push_back('/');
  auto it = config.find(key);
  std::string val;
  if (it == config.end() || it->second.empty()) {
    val = fallback;
  } else {
    val = it->second;
    std::string parent = key;
    while (true) {
      size_t sep = parent.rfind("::");
      if (sep == std::string::npos) break;
      parent = parent.substr(0, sep);
      auto p = config.find(parent);
      if (p == config.end() || p->second.empty()) continue;
      if (!val.empty() && val[0] == '/') break;
      if (val.starts_with("./") || val.starts_with("~/") || val.starts_with("../")) {
        break;
      }
      std::string pv = p->second;
      if (pv.back() != '/') pv.push_back('/');
      val = pv + val;
    }
  }
  if (!result.empty() && result.back() == '/' && !val.empty() && val[0] == '/') val.erase(0, 1);
  result += val;
  if (dir && !result.empty() && result.back() != '/') result.push_back('/');
  return result;
}

std::optional<TimePoint> parseReleaseDate(std::string_view release_text) {
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (const std::string& line : text::splitLines(release_text)) {
    if (line.empty()) break;  // the Release paragraph ends at the first empty line
    if (!line.starts_with("Date:")) continue;
    auto parts = text::splitWhitespace(std::string_view(line).substr(5));
    size_t k = 0;
    if (k < parts.size() && !parts[k].empty() && !isDigit(parts[k][0])) ++k;  // "Wed,"
    if (parts.size() < k + 4) return std::nullopt;
    auto day = text::parseInt(parts[k]);
    unsigned month = 0;
    for (unsigned m = 0; m < 12; ++m) {
      if (parts[k + 1] == kMonths[m]) month = m + 1;
    }
    auto year = text::parseInt(parts[k + 2]);
    auto hms = text::split(parts[k + 3], ':');
    if (!day || month == 0 || !year || hms.size() != 3) return std::nullopt;
    auto h = text::parseInt(hms[0]);
    auto mi = text::parseInt(hms[1]);
    auto s = text::parseInt(hms[2]);
    if (!h || !mi || !s) return std::nullopt;
    // A calendar date and a clock time (the arithmetic below overflows on anything else).
    if (*year < 1970 || *year > 9999 || *day < 1 || *day > 31 || *h < 0 || *h > 23 || *mi < 0 ||
        *mi > 59 || *s < 0 || *s > 60) {
      return std::nullopt;
    }
    int64_t secs = daysFromCivil(*year, month, static_cast<unsigned>(*day)) * 86400 + *h * 3600 +
                   *mi * 60 + *s;
    if (parts.size() > k + 4) {
      const std::string& zone = parts[k + 4];
      if ((zone[0] == '+' || zone[0] == '-') && zone.size() == 5) {
        auto off = text::parseInt(zone.substr(1));
        if (off) {
          int64_t o = (*off / 100) * 3600 + (*off % 100) * 60;
          secs += zone[0] == '+' ? -o : o;
        }
      }
    }
    return TimePoint(std::chrono::seconds(secs));
  }
  return std::nullopt;
}

// ---- dnf ------------------------------------------------------------------------------------

std::vector<DnfUpdate> parseDnfCheckUpdate(std::string_view input) {
  std::vector<DnfUpdate> out;
  std::vector<std::string> lines = text::splitLines(input);
  std::string carry;
  for (const std::string& raw : lines) {
    if (raw.starts_with("Obsoleting Packages") || raw.starts_with("Obsoleting packages")) {
      break;
    }
    std::string line = raw;
    if (!carry.empty()) {
      line = carry + " " + text::trim(raw);
      carry.clear();
    }
    auto parts = text::splitWhitespace(line);
    if (parts.size() == 1 && parts[0].find('.') != std::string::npos && !raw.starts_with(" ") &&
        raw.find(':') == std::string::npos) {
      carry = parts[0];  // dnf wrapped a long name; the rest follows on the next line
      continue;
    }
    if (parts.size() != 3) continue;
    size_t dot = parts[0].rfind('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == parts[0].size()) continue;  // name.arch
    if (parts[1].empty() || !isDigit(parts[1][0])) continue;
    out.push_back(DnfUpdate{parts[0].substr(0, dot), parts[0].substr(dot + 1), parts[1], parts[2]});
  }
  return out;
}

std::optional<std::chrono::seconds> parseDnfMetadataAge(std::string_view input) {
  for (const std::string& line : text::splitLines(input)) {
    size_t p = line.find("Last metadata expiration check:");
    if (p == std::string::npos) continue;
    std::string rest = text::trim(std::string_view(line).substr(p + 31));
    size_t ago = rest.find(" ago");
    if (ago == std::string::npos) return std::nullopt;
    rest = rest.substr(0, ago);
    int64_t days = 0;
    size_t comma = rest.find(", ");
    if (comma != std::string::npos) {
      auto dparts = text::splitWhitespace(rest.substr(0, comma));
      if (dparts.empty()) return std::nullopt;
      auto d = text::parseInt(dparts[0]);
      if (!d) return std::nullopt;
      days = *d;
      rest = rest.substr(comma + 2);
    }
    auto hms = text::split(rest, ':');
    if (hms.size() != 3) return std::nullopt;
    auto h = text::parseInt(hms[0]);
    auto m = text::parseInt(hms[1]);
    auto s = text::parseInt(hms[2]);
    if (!h || !m || !s) return std::nullopt;
    // An age: never negative, and within what the arithmetic holds (dnf says "days" below a
    // lifetime).
    if (days < 0 || days > 1000000 || *h < 0 || *h > 1000000 || *m < 0 || *m > 59 || *s < 0 ||
        *s > 60) {
      return std::nullopt;
    }
    return std::chrono::seconds(days * 86400 + *h * 3600 + *m * 60 + *s);
  }
  return std::nullopt;
}

bool splitNevra(std::string_view nevra, std::string* name, std::string* version,
                std::string* arch) {
  size_t dot = nevra.rfind('.');
  if (dot == std::string_view::npos) return false;
  std::string_view nvr = nevra.substr(0, dot);
  size_t rel = nvr.rfind('-');
  if (rel == std::string_view::npos || rel == 0) return false;
  size_t ver = nvr.rfind('-', rel - 1);
  if (ver == std::string_view::npos || ver == 0) return false;
  *arch = std::string(nevra.substr(dot + 1));
  *name = std::string(nvr.substr(0, ver));
  *version = std::string(nvr.substr(ver + 1));
  return true;
}

std::vector<DnfAdvisoryPackage> parseDnf4UpdateinfoSecurity(std::string_view input) {
  std::vector<DnfAdvisoryPackage> out;
  for (const std::string& line : text::splitLines(input)) {
    auto parts = text::splitWhitespace(line);
    if (parts.size() != 3) continue;
    std::string severity;
    if (parts[1].ends_with("/Sec.")) {
      severity = parts[1].substr(0, parts[1].size() - 5);
    } else if (parts[1] != "security") {
      continue;
    }
    DnfAdvisoryPackage p;
    p.advisory = parts[0];
    p.severity = severity;
    if (!splitNevra(parts[2], &p.name, &p.version, &p.arch)) continue;
    out.push_back(std::move(p));
  }
  return out;
}

StatusOr<std::vector<DnfAdvisoryPackage>> parseDnf5AdvisoryJson(std::string_view input) {
  std::vector<DnfAdvisoryPackage> out;
  std::string trimmed = text::trim(input);
  if (trimmed.empty()) return out;
  HEARTH_ASSIGN_OR_RETURN(json::Value doc, json::parse(trimmed));
  if (!doc.isArray()) return InvalidArgumentError("dnf advisory list --json: expected an array");
  for (const auto& e : doc.asArray()) {
    auto str = [&](const char* k) {
      const json::Value* v = e.find(k);
      return v != nullptr && v->isString() ? v->asString() : std::string();
    };
    std::string type = str("type");
    if (!type.empty() && type != "security") continue;
    DnfAdvisoryPackage p;
    p.advisory = str("name");
    p.severity = str("severity");
    if (!splitNevra(str("nevra"), &p.name, &p.version, &p.arch)) continue;
    if (p.name.ends_with("-debuginfo") || p.name.ends_with("-debugsource")) continue;
    out.push_back(std::move(p));
  }
  return out;
}

// ---- kernels --------------------------------------------------------------------------------

std::optional<std::string> kernelReleaseFromBootEntry(std::string_view name) {
  if (!name.starts_with("vmlinuz-") && !name.starts_with("vmlinux-")) {
    return std::nullopt;
  }
  std::string_view rest = name.substr(8);
  for (const char* suffix : {".efi.signed", ".signed"}) {
    if (rest.ends_with(suffix)) rest.remove_suffix(std::string_view(suffix).size());
  }
  if (rest.empty() || !isDigit(rest[0])) return std::nullopt;  // vmlinuz-linux, vmlinuz-lts
  if (rest.find("rescue") != std::string_view::npos) return std::nullopt;
  for (const char* bad : {".old", ".bak", ".dpkg-old", ".dpkg-new", ".dpkg-tmp", ".dpkg-bak",
                          ".dpkg-dist", ".hmac", "~", ".rpmsave", ".rpmnew"}) {
    if (rest.ends_with(bad)) return std::nullopt;
  }
  return std::string(rest);
}

namespace {
// "6.1.0-28-cloud-amd64" → "cloud-amd64"; "6.8.0-45-generic" → "generic";
// "5.14.0-427.13.1.el9_4.x86_64" → "x86_64".
std::string kernelFlavour(std::string_view release) {
  auto parts = text::split(release, '-');
  std::vector<std::string> tail;
  for (size_t i = 1; i < parts.size(); ++i) {
    if (!parts[i].empty() && !isDigit(parts[i][0])) tail.push_back(parts[i]);
  }
  if (!tail.empty()) return text::join(tail, "-");
  size_t dot = release.rfind('.');
  if (dot != std::string_view::npos && dot + 1 < release.size() && !isDigit(release[dot + 1])) {
    return std::string(release.substr(dot + 1));
  }
  return "";
}
}  // namespace

std::optional<std::string> newerKernel(std::string_view running,
                                       const std::vector<std::string>& installed) {
  std::string flavour = kernelFlavour(running);
  bool any_same = std::any_of(installed.begin(), installed.end(),
                              [&](const std::string& k) { return kernelFlavour(k) == flavour; });
  std::optional<std::string> best;
  for (const auto& k : installed) {
    if (any_same && kernelFlavour(k) != flavour) continue;
    if (!best || compareDebianVersions(k, *best) > 0) best = k;
  }
  if (best && compareDebianVersions(*best, running) > 0) return best;
  return std::nullopt;
}

// ---- decision -------------------------------------------------------------------------------

namespace {

using Days = std::chrono::duration<int64_t, std::ratio<86400>>;

int64_t wholeDays(TimePoint from, TimePoint now) {
  if (now <= from) return 0;
  return std::chrono::duration_cast<Days>(now - from).count();
}

i18n::Message count(int64_t n) { return i18n::Lit(std::to_string(n)); }

i18n::Message forDays(int64_t days) {
  if (days == 0) return i18n::Msg("for less than a day");
  return i18n::MsgN("for {1} day", "for {1} days", days, {count(days)});
}

i18n::Message daysText(int64_t days) {
  return i18n::MsgN("{1} day", "{1} days", days, {count(days)});
}

bool overdue(TimePoint since, int limit_days, TimePoint now) {
  if (limit_days <= 0) return true;
  return now - since > std::chrono::hours(24) * limit_days;
}

// "2026-11-02": the day of `t` (UTC).
std::string dateText(TimePoint t) { return formatRfc3339(t).substr(0, 10); }

// Where a pending update's age counts from, in words: "fleet first seen 2026-11-02", "first seen
// on this PC 2026-12-01", or that this PC's first check already found it.
std::string ageCountsFrom(const PendingUpdate& p, TimePoint from, bool ages_from_now) {
  if (ages_from_now) return "now (no state directory)";
  switch (p.age_source) {
    case AgeSource::kFleet:
      return "fleet first seen " + dateText(from);
    case AgeSource::kUnknown:
      return "first seen on this PC " + dateText(from) +
             ", already pending at its first check (age unknown)";
    case AgeSource::kThisPc:
      break;
  }
  return "first seen on this PC " + dateText(from);
}

i18n::Message limitText(int limit_days) {
  if (limit_days <= 0) return i18n::Msg("limit: none may be pending");
  return i18n::Msg("limit {1}", {count(limit_days)});
}

}  // namespace

CheckResult judgePatches(const PatchFacts& facts, const OsPatchesSettings& settings,
                         TimePoint now) {
  CheckResult r;
  json::Value ev = json::Value::object();
  ev.set("package_manager", facts.manager);

  int64_t security_count = 0;
  int64_t unknown_security = 0;  // security updates already pending at this PC's first check
  std::optional<TimePoint> oldest_any, oldest_security;
  bool oldest_security_from_fleet = false;
  json::Value list = json::Value::array();
  for (const auto& p : facts.pending) {
    // The fleet's first sight, when older than this PC's, counts for both ages.
    TimePoint any_from = p.first_seen;
    TimePoint security_from = p.security_since.value_or(p.first_seen);
    if (p.fleet_first_seen) {
      any_from = std::min(any_from, *p.fleet_first_seen);
      security_from = std::min(security_from, *p.fleet_first_seen);
    }
    json::Value e = json::Value::object();
    e.set("name", p.name);
    e.set("installed", p.installed);
    e.set("candidate", p.candidate);
    e.set("security", p.security);
    e.set("first_seen", formatRfc3339(p.first_seen));
    if (p.security && p.security_since && *p.security_since != p.first_seen) {
      e.set("security_first_seen", formatRfc3339(*p.security_since));
    }
    TimePoint from = p.security ? security_from : any_from;
    e.set("age_from", formatRfc3339(from));
    e.set("age_counts_from", ageCountsFrom(p, from, facts.ages_from_now));
    list.push(std::move(e));
    if (!oldest_any || any_from < *oldest_any) oldest_any = any_from;
    if (p.security) {
      ++security_count;
      if (p.age_source == AgeSource::kUnknown) ++unknown_security;
      if (!oldest_security || security_from < *oldest_security) {
        oldest_security = security_from;
        oldest_security_from_fleet = p.fleet_first_seen.has_value();
      }
    }
  }
  int64_t pending_count = static_cast<int64_t>(facts.pending.size());
  ev.set("pending_count", pending_count);
  ev.set("security_count", security_count);
  if (oldest_any) ev.set("oldest_pending_days", wholeDays(*oldest_any, now));
  if (oldest_security) ev.set("oldest_security_days", wholeDays(*oldest_security, now));
  ev.set("pending", std::move(list));
  ev.set("ages_counted_from",
         facts.ages_from_now
             ? "now (no state directory: first-seen dates are not kept)"
             : "first seen (state directory), or the fleet's first sight when older");
  ev.set("unknown_age",
         settings.unknown_age == OsPatchesSettings::UnknownAge::kFail ? "fail" : "grace");

  json::Value lists = json::Value::object();
  std::optional<int64_t> list_age_days;
  if (facts.lists_fresh_at) {
    lists.set("fresh_at", formatRfc3339(*facts.lists_fresh_at));
    list_age_days = wholeDays(*facts.lists_fresh_at, now);
    lists.set("age_days", *list_age_days);
  }
  lists.set("source", facts.lists_source);
  lists.set("max_age_days", settings.max_package_list_age_days);
  ev.set("package_lists", std::move(lists));

  json::Value reboot =
      facts.reboot.evidence.isObject() ? facts.reboot.evidence : json::Value::object();
  std::optional<int64_t> reboot_days;
  switch (facts.reboot.need) {
    case RebootNeed::kNo:
      reboot.set("pending", false);
      break;
    case RebootNeed::kYes:
      reboot.set("pending", true);
      if (facts.reboot.since) {
        reboot.set("since", formatRfc3339(*facts.reboot.since));
        reboot_days = wholeDays(*facts.reboot.since, now);
        reboot.set("days", *reboot_days);
      }
      break;
    case RebootNeed::kUnknown:
      reboot.set("pending", "unknown");
      reboot.set("reason", facts.reboot.unknown_reason);
      break;
  }
  reboot.set("grace_days", settings.reboot_grace_days);
  ev.set("reboot", std::move(reboot));
  ev.set("automatic_updates", facts.automatic_updates);
  if (facts.extra.isObject()) {
    for (const auto& [k, v] : facts.extra.asObject()) ev.set(k, v);
  }
  ev.set("cached", facts.from_cache);

  using i18n::Lit;
  using i18n::Msg;
  using i18n::MsgN;

  // Stale or missing package lists: we cannot know what is pending.
  if (!facts.lists_fresh_at) {
    r.verdict = Verdict::kUnknown;
    r.setSummary(Msg("Cannot tell which updates are pending: no package lists were found"));
    r.addAdvice(updateAdvice(facts, "refresh"));
    r.evidence = std::move(ev);
    return r;
  }
  if (now - *facts.lists_fresh_at > std::chrono::hours(24) * settings.max_package_list_age_days) {
    r.verdict = Verdict::kUnknown;
    r.setSummary(
        MsgN("Package lists are {1} day old (limit {2}): cannot tell which updates are "
             "pending",
             "Package lists are {1} days old (limit {2}): cannot tell which updates are "
             "pending",
             *list_age_days, {count(*list_age_days), count(settings.max_package_list_age_days)}));
    r.addAdvice(updateAdvice(facts, "refresh"));
    r.evidence = std::move(ev);
    return r;
  }

  std::vector<i18n::Message> fails;
  bool update_fail = false;
  bool reboot_fail = false;
  if (oldest_security && overdue(*oldest_security, settings.max_security_update_age_days, now)) {
    int64_t d = wholeDays(*oldest_security, now);
    i18n::Message limit = limitText(settings.max_security_update_age_days);
    if (oldest_security_from_fleet) {
      limit = Msg("{1}, counted from the fleet's first sight {2}",
                  {limit, Lit(dateText(*oldest_security))});
    }
    fails.push_back(MsgN("{1} security update pending {2} ({3})",
                         "{1} security updates pending {2} ({3})", security_count,
                         {count(security_count), forDays(d), limit}));
    update_fail = true;
  }
  if (unknown_security > 0 && settings.unknown_age == OsPatchesSettings::UnknownAge::kFail) {
    fails.push_back(
        MsgN("{1} security update already pending when this PC was first checked, "
             "for an unknown time (policy: unknown_age fail)",
             "{1} security updates already pending when this PC was first checked, "
             "for an unknown time (policy: unknown_age fail)",
             unknown_security, {count(unknown_security)}));
    update_fail = true;
  }
  if (oldest_any && overdue(*oldest_any, settings.max_update_age_days, now)) {
    int64_t d = wholeDays(*oldest_any, now);
    fails.push_back(
        MsgN("{1} update pending {2} ({3})", "{1} updates pending {2} ({3})", pending_count,
             {count(pending_count), forDays(d), limitText(settings.max_update_age_days)}));
    update_fail = true;
  }
  if (facts.reboot.need == RebootNeed::kYes) {
    TimePoint since = facts.reboot.since.value_or(now);
    if (now - since > std::chrono::hours(24) * settings.reboot_grace_days) {
      fails.push_back(Msg("Restart pending {1} (grace {2})",
                          {forDays(wholeDays(since, now)), daysText(settings.reboot_grace_days)}));
      reboot_fail = true;
    }
  }

  if (!fails.empty()) {
    r.verdict = Verdict::kFail;
    r.setSummary(i18n::Joined(fails, "; "));
    if (update_fail) {
      r.addAdvice(updateAdvice(facts, "install"));
    } else if (reboot_fail) {
      r.addAdvice(updateAdvice(facts, "restart"));
    }
    r.evidence = std::move(ev);
    return r;
  }

  if (facts.reboot.need == RebootNeed::kUnknown) {
    r.verdict = Verdict::kUnknown;
    r.setSummary(
        Msg("Cannot tell whether a restart is pending: {1}", {Lit(facts.reboot.unknown_reason)}));
    Advice a;
    a.code = "os_patches.restart_unknown";
    if (facts.manager == "apt") {
      a.steps.push_back(Msg("Contact your IT department and include the summary above."));
    } else {
      a.variant = "dnf";
      a.steps.push_back(
          Msg("Install the needs-restarting tool: sudo dnf install dnf-plugins-core"));
      a.steps.push_back(Msg("If that does not help, contact your IT department."));
    }
    r.addAdvice(std::move(a));
    r.evidence = std::move(ev);
    return r;
  }

  r.verdict = Verdict::kPass;
  i18n::Message s;
  if (pending_count == 0) {
    s = Msg("All updates are installed");
  } else if (security_count > 0) {
    s = MsgN("{1} update pending ({2}) {3}, within the limits",
             "{1} updates pending ({2}) {3}, within the limits", pending_count,
             {count(pending_count),
              MsgN("{1} security update", "{1} security updates", security_count,
                   {count(security_count)}),
              forDays(wholeDays(*oldest_any, now))});
  } else {
    s = MsgN("{1} update pending {2}, within the limits",
             "{1} updates pending {2}, within the limits", pending_count,
             {count(pending_count), forDays(wholeDays(*oldest_any, now))});
  }
  if (facts.reboot.need == RebootNeed::kYes) {
    s = i18n::Joined(
        {s, Msg("a restart is pending {1} (grace {2})",
                {forDays(reboot_days.value_or(0)), daysText(settings.reboot_grace_days)})},
        "; ");
    r.addAdvice(updateAdvice(facts, "restart"));
  } else if (pending_count > 0) {
    r.addAdvice(updateAdvice(facts, "install"));
  }
  r.setSummary(std::move(s));
  r.evidence = std::move(ev);
  return r;
}

Advice updateAdvice(const PatchFacts& facts, std::string_view action) {
  using i18n::Lit;
  using i18n::Msg;
  const DesktopEnv& env = facts.desktop;
  const bool apt = facts.manager == "apt";
  Advice a;
  if (action == "restart") {
    a.code = "os_patches.restart";
    a.steps.push_back(Msg("Save your work."));
    a.steps.push_back(Msg("Restart the computer to finish installing updates."));
    return a;
  }
  const bool refresh = action == "refresh";
  a.code = refresh ? "os_patches.refresh_package_lists" : "os_patches.install_updates";
  if (refresh) a.steps.push_back(Msg("Connect to the internet."));
  // The graphical tool this desktop and distribution come with.
  if (env.mint_update) {
    a.variant = "mint-update-manager";
    a.steps.push_back(Msg("Open Update Manager from the menu."));
    a.steps.push_back(refresh ? Msg("Click Refresh.") : Msg("Click Install Updates."));
  } else if (env.software_updater && env.kind != DesktopKind::kKde) {
    a.variant = "ubuntu-software-updater";
    a.steps.push_back(Msg("Open Software Updater (search for it under Show Apps)."));
    a.steps.push_back(refresh ? Msg("Let it check for updates.")
                              : Msg("Click Install Now and enter your password."));
  } else if (env.discover && env.kind == DesktopKind::kKde) {
    a.variant = "kde-discover";
    a.steps.push_back(Msg("Open Discover from the application menu."));
    a.steps.push_back(refresh ? Msg("Go to Updates and click Refresh.")
                              : Msg("Go to Updates and click Update All."));
  } else if (env.gnome_software) {
    a.variant = "gnome-software";
    a.steps.push_back(Msg("Open Software (search for it under Activities)."));
    a.steps.push_back(refresh ? Msg("Go to the Updates tab and click the refresh button.")
                              : Msg("Go to the Updates tab and click Download, then Restart & "
                                    "Update."));
  } else {
    a.variant = apt ? "apt" : "dnf";
  }
  // The command, for everyone (and the only way where no tool was found).
  std::string command;
  if (refresh) {
    command = apt ? "sudo apt update" : "sudo dnf makecache --refresh";
  } else if (!apt) {
    command = "sudo dnf upgrade --refresh";
  } else if (env.isLike("ubuntu")) {
    command = "sudo apt update && sudo apt upgrade";
  } else {
    command = "sudo apt update && sudo apt full-upgrade";
  }
  if (a.variant == "apt" || a.variant == "dnf") {
    a.steps.push_back(Msg("Open a terminal and run: {1}", {Lit(command)}));
  } else {
    a.variant += apt ? "+apt" : "+dnf";
    a.steps.push_back(Msg("Or open a terminal and run: {1}", {Lit(command)}));
  }
  if (!refresh) a.steps.push_back(Msg("Restart the computer when the updates are installed."));
  return a;
}

std::vector<SeenEntry> applyFirstSeen(const std::vector<SeenEntry>& seen,
                                      std::vector<PendingUpdate>& pending, TimePoint now) {
  std::vector<SeenEntry> out;
  for (auto& p : pending) {
    // The same update seen before, or an older candidate of this package while the installed
    // version stayed the same (the package has needed an update since then).
    const SeenEntry* prior = nullptr;
    for (const auto& s : seen) {
      if (s.name != p.name) continue;
      if (s.candidate == p.candidate || s.installed == p.installed) {
        if (prior == nullptr || s.first_seen < prior->first_seen) prior = &s;
      }
    }
    p.first_seen = prior != nullptr ? std::min(prior->first_seen, now) : now;
    if (p.security) {
      p.security_since =
          prior != nullptr && prior->security_since ? std::min(*prior->security_since, now) : now;
    } else {
      p.security_since.reset();
    }
    out.push_back(SeenEntry{p.name, p.installed, p.candidate, p.first_seen, p.security_since});
  }
  return out;
}

}  // namespace hearth::checks::os_patches
