// Preseeded enrolment from /etc/hearth/enroll.conf (see preseed.h and docs/rollout.md).
//
// The file, `key = value` lines with `#` comments, like agent.conf:
//   server      = https://hearth.example.com:8443     required
//   ca_file     = /etc/hearth/company-ca.pem          one of ca_file / pin
//   pin         = sha256//BASE64
//   secret      = hes_...                             one of secret / secret_file
//   secret_file = /etc/hearth/enroll-secret
//   owner       = alice@example.com                   optional
// Relative paths are taken relative to the directory of the file.
#include "hearth/agent/preseed.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <unistd.h>
#include <vector>

#include "agent_os.h"
#include "hearth/agent/enrollment.h"
#include "hearth/config_file.h"
#include "hearth/file_layer.h"
#include "hearth/files.h"
#include "hearth/result.h"
#include "hearth/runner.h"
#include "hearth/system_view.h"
#include "hearth/text.h"
#include "hearth/time.h"

namespace hearth::agent {

namespace {

constexpr size_t kMaxPreseedBytes = 64 * 1024;

struct Preseed {
  std::string server, ca_file, pin, secret, secret_file, owner;
  int secret_line = 0;  // the line of `secret =` (1-based), 0 when the secret is in a file
};

std::string directoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Absolute: "/..." everywhere, and on Windows also "C:\..." and "\\server\share\..." (what
// std::filesystem calls absolute there).
std::string resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || std::filesystem::path(path).is_absolute()) return path;
  return base_dir + "/" + path;
}

Status checkServer(const std::string& v) {
  if (!v.starts_with("https://") || v.size() <= 8) {
    return InvalidArgumentError(
        "expected the server's https:// URL, e.g. "
        "https://hearth.example.com:8443, got \"" +
        v + "\"");
  }
  if (v.find_first_of(" \t\"'") != std::string::npos) {
    return InvalidArgumentError("expected a URL without spaces or quotes, got \"" + v + "\"");
  }
  return OkStatus();
}

Status checkPin(const std::string& v) {
  if (!v.starts_with("sha256//") || v.size() != 52) {
    return InvalidArgumentError(
        "expected sha256// followed by 44 base64 characters (hearth-server init prints it)");
  }
  return OkStatus();
}

StatusOr<Preseed> parsePreseed(const std::string& path, const std::string& content) {
  Preseed p;
  const std::string base = directoryOf(path);
  // Every value must be given (a key with nothing after '=' is a mistake, not a default).
  auto nonEmpty = [](std::function<Status(const std::string&)> set) {
    return [set = std::move(set)](const std::string& v) -> Status {
      if (v.empty()) return InvalidArgumentError("empty value");
      return set(v);
    };
  };
  auto file = [&](std::string* out) {
    return nonEmpty([out, &base](const std::string& v) {
      *out = resolve(base, v);
      return OkStatus();
    });
  };
  const std::vector<ConfigKey> keys = {
      {"server", nonEmpty([&](const std::string& v) -> Status {
         HEARTH_RETURN_IF_ERROR(checkServer(v));
         p.server = v;
         return OkStatus();
       })},
      {"ca_file", file(&p.ca_file)},
      {"pin", nonEmpty([&](const std::string& v) -> Status {
         HEARTH_RETURN_IF_ERROR(checkPin(v));
         p.pin = v;
         return OkStatus();
       })},
      {"secret", nonEmpty([&](const std::string& v) -> Status {
         p.secret = v;
         return OkStatus();
       })},
      {"secret_file", file(&p.secret_file)},
      {"owner", nonEmpty([&](const std::string& v) -> Status {
         if (v.size() > 256) return InvalidArgumentError("longer than 256 characters");
         p.owner = v;
         return OkStatus();
       })},
  };
  // Never quote a malformed line: it may be a secret pasted without its key.
  HEARTH_ASSIGN_OR_RETURN(auto lines,
                          ParseConfig(content, path, keys, {.quote_malformed_lines = false}));
  if (auto it = lines.find("secret"); it != lines.end()) p.secret_line = it->second;

  if (p.server.empty()) {
    return InvalidArgumentError(path + ": server: missing (the hearth-server URL, e.g. " +
                                "https://hearth.example.com:8443)");
  }
  if (p.ca_file.empty() == p.pin.empty()) {
    return InvalidArgumentError(
        path + ": ca_file, pin: give exactly one (the server is never trusted on first use)");
  }
  if (p.secret.empty() == p.secret_file.empty()) {
    return InvalidArgumentError(path + ": secret, secret_file: give exactly one");
  }
  return p;
}

// Writes `content` over `path` keeping its permission bits.
Status rewriteKeepingMode(const std::string& path, const std::string& content) {
  return WriteFileDurably(PosixFileLayer(), path, content, FileModeBits(path).value_or(0600));
}

// Removes the secret that `p` was read with: the secret file, or the `secret =` line of the
// preseed file (replaced by a comment saying when it went; every other line is kept).
Status removeSecret(const std::string& preseed_path, const std::string& content, const Preseed& p) {
  if (!p.secret_file.empty()) {
    if (::unlink(p.secret_file.c_str()) != 0 && errno != ENOENT) {
      return ErrnoToStatus(errno, "remove " + p.secret_file);
    }
    return OkStatus();
  }
  std::vector<std::string> lines = text::splitLines(content);
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (static_cast<int>(i) + 1 == p.secret_line) {
      out += "# secret removed by hearth-agent after enrolment (" +
             formatRfc3339(std::chrono::system_clock::now()) + ")\n";
    } else {
      out += lines[i] + "\n";
    }
  }
  return rewriteKeepingMode(preseed_path, out);
}

}  // namespace

StatusOr<PreseedOutcome> EnrollFromPreseed(const std::string& preseed_path,
                                           const std::string& state_dir, const std::string& proxy,
                                           const std::string& service_user, Logger& log) {
  PreseedOutcome outcome;
  auto content = ReadFileBounded(preseed_path, kMaxPreseedBytes);
  if (!content.ok()) {
    if (content.status().code() == StatusCode::kNotFound) return outcome;
    return content.status().withContext("preseeded enrolment");
  }
  HEARTH_ASSIGN_OR_RETURN(Preseed p, parsePreseed(preseed_path, *content));

  std::string server = p.server;
  while (!server.empty() && server.back() == '/') server.pop_back();
  if (auto existing = LoadEnrollment(state_dir); existing.ok()) {
    // Enrolled already (by hand, or a crash came between enrolment and removing the secret, or
    // a package upgrade brought the secret back): the secret has no use left here.
    if (existing->server == server) {
      std::error_code ec;
      bool secret_present = p.secret_line != 0 || std::filesystem::exists(p.secret_file, ec);
      if (secret_present) {
        HEARTH_RETURN_IF_ERROR(removeSecret(preseed_path, *content, p));
        log.info("preseeded enrolment: already enrolled to " + server +
                 "; removed the secret from " +
                 (p.secret_file.empty() ? preseed_path : p.secret_file));
      }
    } else {
      log.warning("preseeded enrolment: " + preseed_path + " names " + server +
                  " but this PC is enrolled to " + existing->server + "; ignoring it");
    }
    return outcome;
  } else if (existing.status().code() != StatusCode::kNotFound) {
    return existing.status();
  }

  outcome.attempted = true;
  if (auto bits = p.secret_line != 0 ? FileModeBits(preseed_path) : std::nullopt;
      bits && (*bits & 0077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%o", static_cast<unsigned>(*bits & 07777));
    log.warning("preseeded enrolment: " + preseed_path +
                " holds a secret but can be read by others (mode " + mode + "); it should be 0600");
  }

  EnrollOptions o;
  o.state_dir = state_dir;
  o.server = server;
  o.ca_file = p.ca_file;
  o.pin = p.pin;
  o.owner = p.owner;
  o.proxy = proxy;
  o.service_user = service_user;
  o.hostname = CollectHostInfo(*NewLiveSystemView()).hostname;

  // Enroll() reads the secret from a file: an inline secret goes to a private file in the state
  // directory for the duration of the call.
  std::string temp_secret;
  if (!p.secret_file.empty()) {
    o.secret_file = p.secret_file;
  } else {
    std::error_code ec;
    std::filesystem::create_directories(state_dir, ec);
    if (ec) return InternalError("create " + state_dir + ": " + ec.message());
    temp_secret = state_dir + "/.preseed-secret";
    HEARTH_RETURN_IF_ERROR(WriteFileDurably(PosixFileLayer(), temp_secret, p.secret + "\n", 0600));
    o.secret_file = temp_secret;
  }
  auto enrolled = Enroll(o);
  if (!temp_secret.empty()) ::unlink(temp_secret.c_str());
  if (!enrolled.ok()) {
    return enrolled.status().withContext(preseed_path);
  }
  outcome.enrolled = true;
  log.info("preseeded enrolment: enrolled to " + enrolled->server + " as device " +
           enrolled->device_id + " (from " + preseed_path + ")");

  Status removed = removeSecret(preseed_path, *content, p);
  if (!removed.ok()) {
    // Enrolled all the same; the next start tries again to remove it.
    log.error("preseeded enrolment: could not remove the secret: " + removed.message());
  } else {
    log.info("preseeded enrolment: removed the secret from " +
             (p.secret_file.empty() ? preseed_path : p.secret_file));
  }
  return outcome;
}

}  // namespace hearth::agent
