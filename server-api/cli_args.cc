// Reading the command line and the config file, on base's flags and `key = value` parsers.
#include "cli_args.h"

#include <algorithm>
#include <cstdlib>

#include "hearth/config_file.h"
#include "hearth/files.h"
#include "hearth/server/oidc.h"
#include "hearth/text.h"

namespace hearth::server::cli {

namespace {

constexpr FlagSpec kFlags[] = {
    {.name = "-h", .kind = FlagKind::kSwitch},
    {.name = "--help", .kind = FlagKind::kSwitch},
    // Options that take a value.
    {.name = "--config"},
    {.name = "--state-dir"},
    {.name = "--database"},
    {.name = "--san"},
    {.name = "--policy"},
    {.name = "--listen"},
    {.name = "--admin-listen"},
    {.name = "--level"},
    {.name = "--uses"},
    {.name = "--expires"},
    {.name = "--owner"},
    {.name = "--name"},
    {.name = "--scope"},
    {.name = "--file"},
    {.name = "--stale-after"},
    {.name = "--console-idle-timeout"},
    {.name = "--console-session-lifetime"},
    {.name = "--request-timeout"},
    {.name = "--body-timeout"},
    {.name = "--body-min-rate"},
    {.name = "--handshake-timeout"},
    {.name = "--pending-per-address"},
    {.name = "--threads"},
    {.name = "--queue"},
    {.name = "--enroll-rate"},
    {.name = "--enroll-burst"},
    {.name = "--enroll-address-rate"},
    {.name = "--enroll-address-burst"},
    {.name = "--out"},
    {.name = "--in"},
    {.name = "--passphrase-file"},
    {.name = "--retention-days"},
    {.name = "--retired-retention-days"},
    {.name = "--enroll-spike-count"},
    {.name = "--enroll-spike-minutes"},
    {.name = "--after"},
    {.name = "--limit"},
    {.name = "--device-cert-days"},
    {.name = "--reenroll-expired-days"},
    {.name = "--cert-expiry-warn-days"},
    {.name = "--exemption-expiry-warn-days"},
    {.name = "--overlap-days"},
    {.name = "--webhook-timeout"},
    {.name = "--webhook-ca-file"},
    {.name = "--url"},
    {.name = "--events"},
    {.name = "--format"},
    {.name = "--secret-file"},
    {.name = "--before"},
    {.name = "--from"},
    {.name = "--to"},
    {.name = "--output"},
    {.name = "--status"},
    {.name = "--check"},
    {.name = "--failing-for"},
    {.name = "--sort"},
    {.name = "--device"},
    {.name = "--until"},
    {.name = "--reason"},
    // Single sign-on for the console (OpenID Connect; oidc.h).
    {.name = "--oidc-issuer"},
    {.name = "--oidc-client-id"},
    {.name = "--oidc-client-secret-file"},
    {.name = "--oidc-redirect-uri"},
    {.name = "--oidc-scopes"},
    {.name = "--oidc-role-claim"},
    {.name = "--oidc-admin-values"},
    {.name = "--oidc-read-values"},
    {.name = "--oidc-client-auth"},
    {.name = "--oidc-ca-file"},
    // Options without a value.
    {.name = "--dry-run", .kind = FlagKind::kSwitch},
    {.name = "--approval", .kind = FlagKind::kSwitch},
    {.name = "--pending", .kind = FlagKind::kSwitch},
    {.name = "--json", .kind = FlagKind::kSwitch},
    {.name = "--finish", .kind = FlagKind::kSwitch},
    {.name = "--prepare", .kind = FlagKind::kSwitch},
    {.name = "--force", .kind = FlagKind::kSwitch},
    {.name = "--again", .kind = FlagKind::kSwitch},
    {.name = "--passphrase",
     .kind = FlagKind::kRefused,
     .refusal = "a passphrase on the command line is visible to every local user; use "
                "--passphrase-file FILE (or - for standard input)"},
};

constexpr int64_t kMaxCount = 1000000;
constexpr const char* kExpectCount = "expected a whole number from 1 to 1000000";

// `text` as a whole number from `min` to `max`.
std::optional<int64_t> wholeIn(const std::string& text, int64_t min, int64_t max) {
  auto v = text::parseInt(text);
  if (!v || *v < min || *v > max) return std::nullopt;
  return v;
}

// `text` as a rate: more than 0 and at most 1000000, fractions allowed.
std::optional<double> rate(const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end == nullptr || *end != '\0' || !(v > 0) || v > kMaxCount) {
    return std::nullopt;
  }
  return v;
}

// What the value of a config key must be.
enum class Kind {
  kPath,
  kAddress,
  kDatabase,
  kCount,
  kRate,
  kDays,
  kProviderUrl,
  kText,
  kClientAuth
};

struct ConfigRow {
  const char* key;
  Kind kind;
};

constexpr ConfigRow kConfigKeys[] = {{"state_dir", Kind::kPath},
                                     {"listen", Kind::kAddress},
                                     {"admin_listen", Kind::kAddress},
                                     {"database", Kind::kDatabase},
                                     {"stale_after", Kind::kCount},
                                     {"console_idle_timeout", Kind::kCount},
                                     {"console_session_lifetime", Kind::kCount},
                                     {"request_timeout", Kind::kCount},
                                     {"body_timeout", Kind::kCount},
                                     {"body_min_rate", Kind::kCount},
                                     {"handshake_timeout", Kind::kCount},
                                     {"pending_per_address", Kind::kCount},
                                     {"threads", Kind::kCount},
                                     {"queue", Kind::kCount},
                                     {"enroll_rate", Kind::kRate},
                                     {"enroll_burst", Kind::kCount},
                                     {"enroll_address_rate", Kind::kRate},
                                     {"enroll_address_burst", Kind::kCount},
                                     {"retention_days", Kind::kCount},
                                     {"retired_retention_days", Kind::kCount},
                                     {"enroll_spike_count", Kind::kCount},
                                     {"enroll_spike_minutes", Kind::kCount},
                                     {"device_cert_days", Kind::kCount},
                                     {"reenroll_expired_days", Kind::kDays},
                                     {"cert_expiry_warn_days", Kind::kCount},
                                     {"exemption_expiry_warn_days", Kind::kCount},
                                     {"webhook_timeout", Kind::kCount},
                                     {"webhook_ca_file", Kind::kPath},
                                     {"oidc_issuer", Kind::kProviderUrl},
                                     {"oidc_client_id", Kind::kText},
                                     {"oidc_client_secret_file", Kind::kPath},
                                     {"oidc_redirect_uri", Kind::kProviderUrl},
                                     {"oidc_scopes", Kind::kText},
                                     {"oidc_role_claim", Kind::kText},
                                     {"oidc_admin_values", Kind::kText},
                                     {"oidc_read_values", Kind::kText},
                                     {"oidc_client_auth", Kind::kClientAuth},
                                     {"oidc_ca_file", Kind::kPath}};

// What is wrong with `value` for a key of `kind`; "" when nothing is.
std::string problemWith(Kind kind, const std::string& value) {
  switch (kind) {
    case Kind::kPath:
      return value.empty() || value[0] != '/' ? "expected an absolute path" : "";
    case Kind::kAddress:
      return value.rfind(':') == std::string::npos ? "expected ADDRESS:PORT" : "";
    case Kind::kDatabase:
      return !value.empty() && !value.starts_with("postgresql://") &&
                     !value.starts_with("postgres://")
                 ? "expected empty (SQLite) or a postgresql:// URI"
                 : "";
    case Kind::kCount:
      return wholeIn(value, 1, kMaxCount) ? "" : kExpectCount;
    case Kind::kDays:
      return wholeIn(value, 0, 3650) ? "" : "expected a number of days from 0 to 3650";
    case Kind::kRate:
      return rate(value) ? "" : "expected a positive number (per second)";
    case Kind::kProviderUrl: {
      Status s = oidc::CheckProviderUrl(value);
      return s.ok() ? "" : s.message();
    }
    case Kind::kText:
      return value.empty() ? "expected a value" : "";
    case Kind::kClientAuth:
      return value == "client_secret_basic" || value == "client_secret_post"
                 ? ""
                 : "expected client_secret_basic or client_secret_post";
  }
  return "";
}

}  // namespace

StatusOr<ParsedFlags> ParseArgs(const std::vector<std::string>& raw) {
  auto parsed = ParseFlags(raw, kFlags, {.positional = true});
  if (!parsed.ok() && parsed.status().code() == StatusCode::kNotFound) {
    return NotFoundError(parsed.status().message() + " (see hearth-server --help)");
  }
  return parsed;
}

bool WantsHelp(const ParsedFlags& a) { return a.has("--help") || a.has("-h"); }

Status LoadConfigFile(const std::string& path, bool explicit_path, ParsedFlags& a) {
  auto text = ReadFileBounded(path, 64 * 1024);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound && !explicit_path) return OkStatus();
    return InvalidArgumentError("configuration " + path + ": " + text.status().message());
  }
  std::vector<ConfigKey> keys;
  for (const auto& row : kConfigKeys) {
    std::string option = std::string("--") + row.key;
    std::replace(option.begin(), option.end(), '_', '-');
    keys.push_back({row.key, [&a, kind = row.kind, option](const std::string& value) -> Status {
                      std::string problem = problemWith(kind, value);
                      if (!problem.empty()) {
                        // A database URI may hold a password: never echo the value.
                        if (kind != Kind::kDatabase) problem += ", got \"" + value + "\"";
                        return InvalidArgumentError(std::move(problem));
                      }
                      a.addIfAbsent(option, value);  // the command line wins
                      return OkStatus();
                    }});
  }
  return ParseConfig(*text, path, keys).status();
}

std::optional<int64_t> WholeNumber(const ParsedFlags& a, const std::string& key, int64_t min,
                                   int64_t max, const std::string& expected, std::ostream& err,
                                   bool& bad) {
  if (!a.has(key)) return std::nullopt;
  auto v = wholeIn(a.get(key), min, max);
  if (!v) {
    err << "hearth-server: " << key << " \"" << a.get(key) << "\": " << expected << "\n";
    bad = true;
  }
  return v;
}

std::optional<int64_t> PositiveInt(const ParsedFlags& a, const std::string& key, std::ostream& err,
                                   bool& bad) {
  return WholeNumber(a, key, 1, kMaxCount, kExpectCount, err, bad);
}

std::optional<double> PositiveRate(const ParsedFlags& a, const std::string& key, std::ostream& err,
                                   bool& bad) {
  if (!a.has(key)) return std::nullopt;
  auto v = rate(a.get(key));
  if (!v) {
    err << "hearth-server: " << key << " \"" << a.get(key)
        << "\": expected a number of events per second, more than 0 and at most 1000000\n";
    bad = true;
  }
  return v;
}

std::optional<std::chrono::seconds> RetentionDays(const ParsedFlags& a, const std::string& key,
                                                  int64_t fallback, std::ostream& err) {
  bool bad = false;
  auto days =
      WholeNumber(a, key, 1, 36500, "expected a whole number of days from 1 to 36500", err, bad);
  if (bad) return std::nullopt;
  return std::chrono::seconds(days.value_or(fallback) * 24 * 3600);
}

}  // namespace hearth::server::cli
