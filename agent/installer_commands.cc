// hearth-agent preseed-write | purge-state (see installer_commands.h).
#include "installer_commands.h"

#include <chrono>
#include <filesystem>
#include <ostream>

#include "hearth/file_layer.h"
#include "hearth/files.h"
#include "hearth/flags.h"
#include "hearth/status.h"
#include "hearth/text.h"
#include "hearth/time.h"

namespace hearth::agent {

namespace {

constexpr char kCaCopy[] = "enroll-ca.pem";

// A value that goes on one `key = value` line: no line breaks, no leading or trailing blanks.
bool oneLine(const std::string& v) {
  return v.find_first_of("\r\n") == std::string::npos && text::trim(v) == v;
}

// The PEM form of a certificate given as one line of base64 (its DER encoding: what
// `openssl x509 -outform der | base64 -w0` prints; the MSI's CACERT property, which needs no file
// on the PC). InvalidArgument when it is not base64 or too short to be a certificate.
StatusOr<std::string> pemFromBase64(const std::string& b64) {
  const bool base64 =
      b64.size() >= 64 && b64.size() % 4 == 0 && b64.size() <= 64 * 1024 &&
      b64.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") ==
          std::string::npos &&
      b64.starts_with("MII");  // a DER SEQUENCE with a two-byte length, as every certificate
  if (!base64) {
    return InvalidArgumentError(
        "--ca-cert: expected the certificate's DER encoding as one line of base64 (MII...)");
  }
  std::string pem = "-----BEGIN CERTIFICATE-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) pem += b64.substr(i, 64) + "\n";
  return pem + "-----END CERTIFICATE-----\n";
}

int preseedWrite(const std::vector<std::string>& args, const CliEnvironment& env) {
  std::vector<FlagSpec> specs;
  for (std::string_view name : {"--server", "--ca-file", "--ca-cert", "--pin", "--secret",
                                "--secret-file", "--owner", "--out"}) {
    specs.push_back({.name = name});
  }
  auto parsed = ParseFlags(args, specs);
  if (!parsed.ok()) {
    env.err << "hearth-agent preseed-write: " << parsed.status().message() << "\n";
    return kExitUsage;
  }
  const ParsedFlags& p = *parsed;
  auto usage = [&](const std::string& why) {
    env.err << "hearth-agent preseed-write: " << why << "\n";
    return kExitUsage;
  };
  const std::string out = p.get("--out", env.default_enroll_file);
  const std::string server = p.get("--server");
  if (!server.starts_with("https://") || !oneLine(server)) {
    return usage("--server must be the server's https:// URL");
  }
  if (int(p.has("--ca-file")) + int(p.has("--ca-cert")) + int(p.has("--pin")) != 1) {
    return usage("give exactly one of --ca-file, --ca-cert, --pin");
  }
  if (p.has("--secret") == p.has("--secret-file")) {
    return usage("give exactly one of --secret, --secret-file");
  }
  std::string secret = p.get("--secret");
  if (p.has("--secret-file")) {
    auto s = ReadFileBounded(p.get("--secret-file"), 4096);
    if (!s.ok()) return usage("--secret-file: " + s.status().message());
    secret = text::trim(*s);
  }
  if (secret.empty() || !oneLine(secret)) return usage("the secret must be one non-empty line");
  const std::string owner = p.get("--owner");
  if (!oneLine(owner)) return usage("--owner must be one line");

  const std::string dir = ParentDir(out);
  if (Status s = CreateDirsDurably(PosixFileLayer(), dir, 0755); !s.ok()) {
    env.err << "hearth-agent preseed-write: " << s.message() << "\n";
    return 1;
  }
  std::string conf = "# Written by the installer (hearth-agent preseed-write) on " +
                     formatRfc3339(std::chrono::system_clock::now()) +
                     ". hearth-agent enrols with it and then removes the secret.\n";
  conf += "server = " + server + "\n";
  if (p.has("--ca-file") || p.has("--ca-cert")) {
    // A copy beside enroll.conf: the installer's CA file may be gone by the time the service
    // enrols (a temporary file, a share).
    std::string ca;
    if (p.has("--ca-cert")) {
      auto pem = pemFromBase64(p.get("--ca-cert"));
      if (!pem.ok()) return usage(pem.status().message());
      ca = *pem;
    } else {
      auto read = ReadFileBounded(p.get("--ca-file"), 64 * 1024);
      if (!read.ok()) return usage("--ca-file: " + read.status().message());
      if (read->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
        return usage("--ca-file " + p.get("--ca-file") + " is not a PEM certificate");
      }
      ca = *read;
    }
    if (Status s = WriteFileDurably(dir + "/" + kCaCopy, ca, 0644); !s.ok()) {
      env.err << "hearth-agent preseed-write: " << s.message() << "\n";
      return 1;
    }
    conf += std::string("ca_file = ") + kCaCopy + "\n";
  } else {
    if (!oneLine(p.get("--pin"))) return usage("--pin must be one line");
    conf += "pin = " + p.get("--pin") + "\n";
  }
  conf += "secret = " + secret + "\n";
  if (!owner.empty()) conf += "owner = " + owner + "\n";
  if (Status s = WriteFileDurably(out, conf, 0600); !s.ok()) {
    env.err << "hearth-agent preseed-write: " << s.message() << "\n";
    return 1;
  }
  env.out << "wrote " << out << " (server " << server << ")\n";
  return 0;
}

// Removes the directory that holds the state directory, agent.conf and enroll.conf
// (%ProgramData%\Hearth), only when it is named Hearth: never /var/lib or the like.
int purgeState(const std::vector<std::string>& args, const CliEnvironment& env) {
  if (!args.empty()) {
    env.err << "hearth-agent purge-state: takes no arguments\n";
    return kExitUsage;
  }
  const std::string dir = ParentDir(env.default_state_dir);
  if (std::filesystem::path(dir).filename() != "Hearth") {
    env.err << "hearth-agent purge-state: " << dir << " is not Hearth's own directory; refusing\n";
    return kExitUsage;
  }
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path(dir), ec);
  if (ec) {
    env.err << "hearth-agent purge-state: remove " << dir << ": " << ec.message() << "\n";
    return 1;
  }
  env.out << "removed " << dir << "\n";
  return 0;
}

}  // namespace

int RunInstallerCommand(const std::string& command, const std::vector<std::string>& args,
                        const CliEnvironment& env) {
  return command == "preseed-write" ? preseedWrite(args, env) : purgeState(args, env);
}

}  // namespace hearth::agent
