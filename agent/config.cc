#include "hearth/agent/config.h"

#include <cctype>
#include <type_traits>

#include "hearth/config_file.h"
#include "hearth/files.h"

namespace hearth::agent {

namespace {

StatusOr<uint64_t> parseNumberPrefix(const std::string& text, size_t* end) {
  size_t i = 0;
  uint64_t n = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) != 0) {
    if (n > (UINT64_MAX - 9) / 10) return InvalidArgumentError("number too large");
    n = n * 10 + static_cast<uint64_t>(text[i] - '0');
    ++i;
  }
  if (i == 0) return InvalidArgumentError("expected a number");
  *end = i;
  return n;
}

StatusOr<bool> parseBool(const std::string& v) {
  if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
  if (v == "false" || v == "no" || v == "off" || v == "0") return false;
  return InvalidArgumentError("expected true or false, got \"" + v + "\"");
}

}  // namespace

StatusOr<std::chrono::seconds> ParseDuration(const std::string& text) {
  size_t end = 0;
  auto n = parseNumberPrefix(text, &end);
  if (!n.ok()) return InvalidArgumentError("expected a duration such as 90s, 15m, 1h or 2d");
  std::string unit = text.substr(end);
  uint64_t mult = 0;
  if (unit.empty() || unit == "s") {
    mult = 1;
  } else if (unit == "m" || unit == "min") {
    mult = 60;
  } else if (unit == "h") {
    mult = 3600;
  } else if (unit == "d") {
    mult = 86400;
  } else {
    return InvalidArgumentError("unknown duration unit \"" + unit + "\" (expected s, m, h or d)");
  }
  if (*n > (uint64_t{1} << 40) / mult) return InvalidArgumentError("duration too long");
  return std::chrono::seconds(static_cast<int64_t>(*n * mult));
}

StatusOr<size_t> ParseSize(const std::string& text) {
  size_t end = 0;
  auto n = parseNumberPrefix(text, &end);
  if (!n.ok()) return InvalidArgumentError("expected a size such as 20MiB, 512KiB or 1048576");
  std::string unit = text.substr(end);
  uint64_t mult = 0;
  if (unit.empty() || unit == "B") {
    mult = 1;
  } else if (unit == "KiB") {
    mult = 1024;
  } else if (unit == "MiB") {
    mult = 1024 * 1024;
  } else if (unit == "GiB") {
    mult = 1024 * 1024 * 1024;
  } else {
    return InvalidArgumentError("unknown size unit \"" + unit + "\" (expected KiB, MiB or GiB)");
  }
  if (*n > (uint64_t{1} << 44) / mult) return InvalidArgumentError("size too large");
  return static_cast<size_t>(*n * mult);
}

StatusOr<AgentConfig> LoadAgentConfig(const std::string& path, bool explicit_path,
                                      const AgentConfig& defaults) {
  AgentConfig c = defaults;
  auto text = ReadFileBounded(path, 64 * 1024);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound && !explicit_path) return c;
    return text.status().withContext("configuration");
  }

  auto duration = [](std::chrono::seconds* out, std::chrono::seconds min,
                     std::chrono::seconds max) {
    return [=](const std::string& v) -> Status {
      HEARTH_ASSIGN_OR_RETURN(auto d, ParseDuration(v));
      if (d < min || d > max) {
        return InvalidArgumentError("expected between " + std::to_string(min.count()) + "s and " +
                                    std::to_string(max.count()) + "s, got " + v);
      }
      *out = d;
      return OkStatus();
    };
  };
  auto absolutePath = [](std::string* out) {
    return [=](const std::string& v) -> Status {
      if (v.empty() || v[0] != '/') return InvalidArgumentError("expected an absolute path");
      *out = v;
      return OkStatus();
    };
  };
  // A whole number from `lo` to `hi`, nothing after it.
  auto count = [](auto* out, uint64_t lo, uint64_t hi, const std::string& what) {
    return [=](const std::string& v) -> Status {
      size_t end = 0;
      auto n = parseNumberPrefix(v, &end);
      if (!n.ok() || end != v.size() || *n < lo || *n > hi) {
        return InvalidArgumentError("expected " + what + ", got " + v);
      }
      *out = static_cast<std::remove_pointer_t<decltype(out)>>(*n);
      return OkStatus();
    };
  };
  using std::chrono::seconds;
  const std::vector<ConfigKey> keys = {
      {"interval", duration(&c.interval, seconds(10), seconds(7 * 86400))},
      {"splay",
       [&](const std::string& v) -> Status {
         std::string n = v;
         if (!n.empty() && n.back() == '%') n.pop_back();
         size_t end = 0;
         auto p = parseNumberPrefix(n, &end);
         if (!p.ok() || end != n.size() || *p > 50) {
           return InvalidArgumentError("expected a percentage from 0 to 50, got " + v);
         }
         c.splay_percent = static_cast<int>(*p);
         return OkStatus();
       }},
      {"heartbeat", duration(&c.heartbeat, seconds(60), seconds(7 * 86400))},
      {"check_timeout", duration(&c.check_timeout, seconds(1), seconds(3600))},
      {"network_debounce", duration(&c.network_debounce, seconds(0), seconds(600))},
      {"retry_cap", duration(&c.retry_cap, seconds(10), seconds(86400))},
      {"connect_timeout", duration(&c.connect_timeout, seconds(1), seconds(300))},
      {"request_timeout", duration(&c.request_timeout, seconds(1), seconds(600))},
      {"start_jitter", duration(&c.start_jitter, seconds(0), seconds(300))},
      {"proxy",
       [&](const std::string& v) -> Status {
         c.proxy = v;
         return OkStatus();
       }},
      {"policy", absolutePath(&c.fallback_policy)},
      {"enroll_file", absolutePath(&c.enroll_file)},
      {"control_socket",
       [&](const std::string& v) -> Status {
         if (v.empty()) {
           c.control_socket.clear();
           return OkStatus();
         }
         if (v[0] != '/' || v.size() > 100) {
           return InvalidArgumentError("expected an absolute path of at most 100 bytes, or empty");
         }
         c.control_socket = v;
         return OkStatus();
       }},
      {"service_user",
       [&](const std::string& v) -> Status {
         if (v.empty() || v.size() > 32) return InvalidArgumentError("expected a user name");
         for (char ch : v) {
           if (std::isalnum(static_cast<unsigned char>(ch)) == 0 && ch != '_' && ch != '-') {
             return InvalidArgumentError("expected a user name, got \"" + v + "\"");
           }
         }
         c.service_user = v;
         return OkStatus();
       }},
      {"notify",
       [&](const std::string& v) -> Status {
         HEARTH_ASSIGN_OR_RETURN(c.notify, parseBool(v));
         return OkStatus();
       }},
      {"spool_max_reports",
       count(&c.spool_max_reports, 10, 1000000, "a number from 10 to 1000000")},
      {"spool_max_bytes",
       [&](const std::string& v) -> Status {
         HEARTH_ASSIGN_OR_RETURN(size_t n, ParseSize(v));
         if (n < (1u << 20)) return InvalidArgumentError("expected at least 1MiB, got " + v);
         c.spool_max_bytes = n;
         return OkStatus();
       }},
      {"sent_keep_reports",
       count(&c.sent_keep_reports, 0, 100000, "a number from 0 (keep none) to 100000")},
      {"sent_keep_days", count(&c.sent_keep_days, 1, 365, "a number of days from 1 to 365")},
      {"log_level",
       [&](const std::string& v) -> Status {
         std::optional<LogLevel> level = ParseLogLevel(v);
         if (!level) {
           return InvalidArgumentError("expected error, warning, info or debug, got \"" + v + "\"");
         }
         c.log_level = *level;
         return OkStatus();
       }},
  };

  HEARTH_RETURN_IF_ERROR(ParseConfig(*text, path, keys).status());
  return c;
}

}  // namespace hearth::agent
