// Reading the command line and the config file.
#include "cli_args.h"

#include <algorithm>
#include <cstdlib>
#include <set>

#include "hearth/system_view.h"
#include "hearth/text.h"

namespace hearth::server::cli {

namespace {

// Options that take a value; everything else starting with "--" is unknown.
const std::set<std::string> kValueOptions = {"--config",
                                             "--state-dir",
                                             "--database",
                                             "--san",
                                             "--policy",
                                             "--listen",
                                             "--admin-listen",
                                             "--level",
                                             "--uses",
                                             "--expires",
                                             "--owner",
                                             "--name",
                                             "--scope",
                                             "--file",
                                             "--stale-after",
                                             "--request-timeout",
                                             "--threads",
                                             "--queue",
                                             "--enroll-rate",
                                             "--enroll-burst",
                                             "--enroll-address-rate",
                                             "--enroll-address-burst",
                                             "--out",
                                             "--in",
                                             "--passphrase-file",
                                             "--retention-days",
                                             "--retired-retention-days",
                                             "--enroll-spike-count",
                                             "--enroll-spike-minutes",
                                             "--after",
                                             "--limit",
                                             "--device-cert-days",
                                             "--reenroll-expired-days",
                                             "--overlap-days"};
// Options without a value.
const std::set<std::string> kFlagOptions = {"--dry-run", "--approval", "--pending",
                                            "--json",    "--finish",   "--prepare"};

}  // namespace

bool LoadConfigFile(const std::string& path, bool explicit_path, Args& a, std::ostream& err) {
  auto view = NewLiveSystemView();
  auto text = view->readFile(path, 64 * 1024, false);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound && !explicit_path) return true;
    err << "hearth-server: configuration " << path << ": " << text.status().message() << "\n";
    return false;
  }
  enum Kind { kPath, kAddress, kDatabase, kCount, kRate, kDays };
  const std::map<std::string, Kind> keys = {{"state_dir", kPath},
                                            {"listen", kAddress},
                                            {"admin_listen", kAddress},
                                            {"database", kDatabase},
                                            {"stale_after", kCount},
                                            {"request_timeout", kCount},
                                            {"threads", kCount},
                                            {"queue", kCount},
                                            {"enroll_rate", kRate},
                                            {"enroll_burst", kCount},
                                            {"enroll_address_rate", kRate},
                                            {"enroll_address_burst", kCount},
                                            {"retention_days", kCount},
                                            {"retired_retention_days", kCount},
                                            {"enroll_spike_count", kCount},
                                            {"enroll_spike_minutes", kCount},
                                            {"device_cert_days", kCount},
                                            {"reenroll_expired_days", kDays}};
  std::set<std::string> seen;
  int n = 0;
  for (const auto& raw : text::splitLines(*text)) {
    ++n;
    std::string line = text::trim(raw);
    if (line.empty() || line[0] == '#') continue;
    std::string where = path + ":" + std::to_string(n) + ": ";
    size_t eq = line.find('=');
    if (eq == std::string::npos) {
      err << "hearth-server: " << where << "expected `key = value`, got \"" << line << "\"\n";
      return false;
    }
    std::string key = text::trim(line.substr(0, eq));
    std::string value = text::trim(line.substr(eq + 1));
    auto it = keys.find(key);
    if (it == keys.end()) {
      std::string known;
      for (const auto& [k, unused] : keys) known += (known.empty() ? "" : ", ") + k;
      err << "hearth-server: " << where << key << ": unknown key (expected one of " << known
          << ")\n";
      return false;
    }
    if (!seen.insert(key).second) {
      err << "hearth-server: " << where << key << ": set twice\n";
      return false;
    }
    std::string problem;
    switch (it->second) {
      case kPath:
        if (value.empty() || value[0] != '/') problem = "expected an absolute path";
        break;
      case kAddress:
        if (value.rfind(':') == std::string::npos) problem = "expected ADDRESS:PORT";
        break;
      case kDatabase:
        if (!value.empty() && value.rfind("postgresql://", 0) != 0 &&
            value.rfind("postgres://", 0) != 0) {
          problem = "expected empty (SQLite) or a postgresql:// URI";
        }
        break;
      case kCount: {
        auto v = text::parseInt(value);
        if (!v || *v < 1 || *v > 1000000) problem = "expected a whole number from 1 to 1000000";
        break;
      }
      case kDays: {
        auto v = text::parseInt(value);
        if (!v || *v < 0 || *v > 3650) problem = "expected a number of days from 0 to 3650";
        break;
      }
      case kRate: {
        char* end = nullptr;
        double d = std::strtod(value.c_str(), &end);
        if (value.empty() || end == nullptr || *end != '\0' || !(d > 0) || d > 1e6) {
          problem = "expected a positive number (per second)";
        }
        break;
      }
    }
    if (!problem.empty()) {
      // A database URI may hold a password: never echo the value.
      err << "hearth-server: " << where << key << ": " << problem
          << (it->second == kDatabase ? "" : ", got \"" + value + "\"") << "\n";
      return false;
    }
    std::string option = "--" + key;
    std::replace(option.begin(), option.end(), '_', '-');
    if (!a.has(option)) a.options[option].push_back(value);  // the command line wins
  }
  return true;
}

bool ParseArgs(const std::vector<std::string>& in, Args& out, std::ostream& err) {
  for (size_t i = 0; i < in.size(); ++i) {
    std::string a = in[i];
    if (a == "-h" || a == "--help") {
      out.help = true;
      continue;
    }
    if (a.rfind("--", 0) != 0) {
      out.positional.push_back(a);
      continue;
    }
    std::string value;
    bool inline_value = false;
    if (size_t eq = a.find('='); eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
      inline_value = true;
    }
    if (kFlagOptions.count(a) != 0 && !inline_value) {
      out.options[a].push_back("1");
      continue;
    }
    if (a == "--passphrase") {
      err << "hearth-server: --passphrase: a passphrase on the command line is visible to every "
             "local user; use --passphrase-file FILE (or - for standard input)\n";
      return false;
    }
    if (kValueOptions.count(a) == 0) {
      err << "hearth-server: unknown option \"" << in[i] << "\" (see hearth-server --help)\n";
      return false;
    }
    if (!inline_value) {
      if (i + 1 >= in.size()) {
        err << "hearth-server: " << a << " needs a value\n";
        return false;
      }
      value = in[++i];
    }
    out.options[a].push_back(value);
  }
  return true;
}

std::optional<int64_t> PositiveInt(const Args& a, const std::string& key, std::ostream& err,
                                   bool& bad) {
  if (!a.has(key)) return std::nullopt;
  auto v = text::parseInt(a.get(key));
  if (!v || *v < 1 || *v > 1000000) {
    err << "hearth-server: " << key << " \"" << a.get(key)
        << "\": expected a whole number from 1 to 1000000\n";
    bad = true;
    return std::nullopt;
  }
  return v;
}

std::optional<double> PositiveRate(const Args& a, const std::string& key, std::ostream& err,
                                   bool& bad) {
  if (!a.has(key)) return std::nullopt;
  const std::string text = a.get(key);
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end == nullptr || *end != '\0' || !(v > 0) || v > 1000000) {
    err << "hearth-server: " << key << " \"" << text
        << "\": expected a number of events per second, more than 0 and at most 1000000\n";
    bad = true;
    return std::nullopt;
  }
  return v;
}

std::optional<std::chrono::seconds> RetentionDays(const Args& a, const std::string& key,
                                                  int64_t fallback, std::ostream& err) {
  int64_t days = fallback;
  if (a.has(key)) {
    auto v = text::parseInt(a.get(key));
    if (!v || *v < 1 || *v > 36500) {
      err << "hearth-server: " << key << " \"" << a.get(key)
          << "\": expected a whole number of days from 1 to 36500\n";
      return std::nullopt;
    }
    days = *v;
  }
  return std::chrono::seconds(days * 24 * 3600);
}

}  // namespace hearth::server::cli
