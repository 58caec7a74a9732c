// os_patches: pure parsers (apt simulation, apt-cache policy, apt-config, Release files, dnf
// outputs, kernel names) and dpkg version ordering. No I/O here. The decision and the advice are
// in os_patches_decision.cc.
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

}  // namespace hearth::checks::os_patches
