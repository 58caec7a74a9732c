#include "hearth/agent/agent_state.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <limits>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

#include "hearth/agent/http_client.h"
#include "hearth/agent/runtime.h"
#include "hearth/agent/uploader.h"
#include "hearth/file_layer.h"
#include "hearth/files.h"
#include "hearth/json_reader.h"
#include "hearth/protocol/crypto.h"
#include "hearth/protocol/wire.h"
#include "hearth/text.h"
#include "hearth/time.h"

namespace hearth::agent {

namespace {

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

Status ensureDir(const std::string& dir, mode_t mode) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return InternalError("create " + dir + ": " + ec.message());
  ::chmod(dir.c_str(), mode);
  return OkStatus();
}

}  // namespace

AgentPaths AgentPathsFor(const std::string& d) {
  AgentPaths p;
  p.dir = d;
  p.device_key = d + "/device.key";
  p.device_cert = d + "/device.pem";
  p.cert_info = d + "/device-cert.json";
  p.server_ca = d + "/server-ca.pem";
  p.signing_pub = d + "/policy-signing.pub";
  p.signing_next = d + "/policy-signing.next.pub";
  p.server_pins = d + "/server-pins.json";
  p.enrollment = d + "/enrollment.json";
  p.policy = d + "/policy.signed.json";
  p.sequence = d + "/sequence";
  p.spool = d + "/spool";
  p.sent = d + "/sent";
  p.last_report = d + "/last-report.json";
  p.status = d + "/status.json";
  return p;
}

json::Value Enrollment::toJson() const {
  json::Value o = json::Value::object();
  o.set("server", server);
  o.set("device_id", device_id);
  o.set("pin", pin);
  o.set("has_ca", has_ca);
  o.set("enrolled_at", enrolled_at);
  o.set("owner", owner);
  return o;
}

StatusOr<Enrollment> Enrollment::fromJson(const json::Value& v, const std::string& source) {
  HEARTH_ASSIGN_OR_RETURN(
      json::ObjectReader r,
      json::ObjectReader::Open(v, {.source = source, .code = StatusCode::kDataLoss}));
  Enrollment e;
  for (auto [key, out] : {std::pair{"server", &e.server}, std::pair{"device_id", &e.device_id},
                          std::pair{"pin", &e.pin}, std::pair{"enrolled_at", &e.enrolled_at},
                          std::pair{"owner", &e.owner}}) {
    HEARTH_RETURN_IF_ERROR(r.readString(key, *out, {}, json::Presence::kRequired));
  }
  e.has_ca = r.boolOr("has_ca", false);
  return e;
}

StatusOr<Enrollment> LoadEnrollment(const std::string& state_dir) {
  AgentPaths p = AgentPathsFor(state_dir);
  auto text = ReadFileBounded(p.enrollment, 1 << 20);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) {
      return NotFoundError("this PC is not enrolled (no " + p.enrollment + ")");
    }
    return text.status();
  }
  auto v = json::parse(*text);
  if (!v.ok()) return DataLossError(p.enrollment + ": " + v.status().message());
  return Enrollment::fromJson(*v, p.enrollment);
}

std::vector<std::string> LoadAnnouncedPins(const std::string& state_dir) {
  std::vector<std::string> out;
  auto text = ReadFileBounded(AgentPathsFor(state_dir).server_pins, 16 * 1024);
  if (!text.ok()) return out;
  auto v = json::parse(*text);
  if (!v.ok() || !v->isArray()) return out;
  for (const auto& pin : v->asArray()) {
    if (pin.isString() && pin.asString().rfind("sha256//", 0) == 0 && pin.asString().size() == 52) {
      out.push_back(pin.asString());
    }
  }
  return out;
}

StatusOr<bool> AddAnnouncedPins(const std::string& state_dir,
                                const std::vector<std::string>& pins) {
  std::vector<std::string> known = LoadAnnouncedPins(state_dir);
  bool added = false;
  for (const auto& pin : pins) {
    if (std::find(known.begin(), known.end(), pin) == known.end()) {
      known.push_back(pin);
      added = true;
    }
  }
  if (!added) return false;
  if (known.size() > 8) known.erase(known.begin(), known.end() - 8);
  json::Value arr = json::Value::array();
  for (const auto& pin : known) arr.push(pin);
  HEARTH_RETURN_IF_ERROR(
      WriteFileDurably(AgentPathsFor(state_dir).server_pins, json::write(arr) + "\n", 0644));
  return true;
}

std::string PinList(const Enrollment& e, const std::vector<std::string>& announced) {
  if (e.pin.empty()) return "";
  std::string out = e.pin;
  for (const auto& pin : announced) {
    if (pin != e.pin) out += ";" + pin;
  }
  return out;
}

StatusOr<CertValidity> LoadCertValidity(const std::string& state_dir) {
  AgentPaths p = AgentPathsFor(state_dir);
  HEARTH_ASSIGN_OR_RETURN(std::string text, ReadFileBounded(p.cert_info, 4096));
  auto v = json::parse(text);
  if (!v.ok()) return DataLossError(p.cert_info + ": " + v.status().message());
  HEARTH_ASSIGN_OR_RETURN(
      json::ObjectReader r,
      json::ObjectReader::Open(*v, {.source = p.cert_info, .code = StatusCode::kDataLoss}));
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  CertValidity c;
  HEARTH_RETURN_IF_ERROR(
      r.readInt("not_before", kMin, kMax, c.not_before, json::Presence::kRequired));
  HEARTH_RETURN_IF_ERROR(
      r.readInt("not_after", kMin, kMax, c.not_after, json::Presence::kRequired));
  if (c.not_after <= c.not_before) {
    return r.invalid("not_after", "a time after not_before", r.find("not_after"));
  }
  return c;
}

namespace {
std::string certValidityJson(const CertValidity& c) {
  json::Value o = json::Value::object();
  o.set("not_before", c.not_before);
  o.set("not_after", c.not_after);
  o.set("not_after_text", formatRfc3339(ExpiryTime(c)));
  o.set("renew_from", formatRfc3339(RenewalTime(c)));
  return json::write(o, {.pretty = true}) + "\n";
}

Status renameIfPresent(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
    return InternalError("rename " + from + " to " + to + ": " + std::strerror(errno));
  }
  return OkStatus();
}
}  // namespace

Status StoreCertValidity(const std::string& state_dir, const CertValidity& validity) {
  return WriteFileDurably(AgentPathsFor(state_dir).cert_info, certValidityJson(validity), 0644);
}

std::chrono::system_clock::time_point ExpiryTime(const CertValidity& c) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(c.not_after));
}

std::chrono::system_clock::time_point RenewalTime(const CertValidity& c) {
  return std::chrono::system_clock::time_point(
      std::chrono::seconds(c.not_before + (c.not_after - c.not_before) / 2));
}

Status InstallRenewedCertificate(const std::string& state_dir, const RenewedCertificate& r) {
  AgentPaths p = AgentPathsFor(state_dir);
  // Stale pieces of an earlier attempt go first, so device.pem.next is only ever ours.
  HEARTH_RETURN_IF_ERROR(RecoverCertificateRenewal(state_dir).status());
  HEARTH_RETURN_IF_ERROR(WriteFileDurably(p.device_key + ".next", r.key_pem, 0600));
  HEARTH_RETURN_IF_ERROR(
      WriteFileDurably(p.cert_info + ".next", certValidityJson(r.validity), 0644));
  // The commit point: from here on the new set wins.
  HEARTH_RETURN_IF_ERROR(WriteFileDurably(p.device_cert + ".next", r.cert_pem, 0644));
  return RecoverCertificateRenewal(state_dir).status();
}

StatusOr<bool> RecoverCertificateRenewal(const std::string& state_dir) {
  AgentPaths p = AgentPathsFor(state_dir);
  const std::string key_next = p.device_key + ".next";
  const std::string info_next = p.cert_info + ".next";
  const std::string cert_next = p.device_cert + ".next";
  if (!exists(cert_next)) {
    // Incomplete: the old key and certificate are whole and still valid on the server.
    for (const std::string& f : {key_next, info_next}) {
      if (::unlink(f.c_str()) != 0 && errno != ENOENT) {
        return InternalError("cannot remove " + f + ": " + std::strerror(errno));
      }
    }
    return false;
  }
  // Complete: roll forward. The key may already be in place (a crash between the renames).
  HEARTH_RETURN_IF_ERROR(renameIfPresent(key_next, p.device_key));
  HEARTH_RETURN_IF_ERROR(renameIfPresent(info_next, p.cert_info));
  HEARTH_RETURN_IF_ERROR(renameIfPresent(cert_next, p.device_cert));
  HEARTH_RETURN_IF_ERROR(PosixFileLayer().syncDir(p.dir));
  return true;
}

StatusOr<Enrollment> Enroll(const EnrollOptions& o) {
  if (o.server.rfind("https://", 0) != 0) {
    return InvalidArgumentError("--server must be an https:// URL, got \"" + o.server + "\"");
  }
  std::string server = o.server;
  while (!server.empty() && server.back() == '/') server.pop_back();
  if (o.ca_file.empty() == o.pin.empty()) {
    return InvalidArgumentError(
        "give exactly one of --ca-file FILE or --pin sha256//BASE64: the server is never trusted "
        "on first use");
  }
  if (!o.pin.empty() && (o.pin.rfind("sha256//", 0) != 0 || o.pin.size() != 52)) {
    return InvalidArgumentError("--pin must look like sha256//<44 base64 characters>");
  }
  AgentPaths p = AgentPathsFor(o.state_dir);
  bool fresh_after_retirement = false;
  (void)RecoverCertificateRenewal(o.state_dir);
  if (auto existing = LoadEnrollment(o.state_dir); existing.ok()) {
    auto validity = LoadCertValidity(o.state_dir);
    if (!validity.ok()) {
      // A state directory from before device-cert.json: this one-shot command may read the
      // certificate itself.
      if (auto pem = ReadFileBounded(p.device_cert, 64 * 1024); pem.ok()) {
        if (auto info = protocol::ParseCertificate(*pem); info.ok()) {
          validity = CertValidity{
              std::chrono::duration_cast<std::chrono::seconds>(info->not_before.time_since_epoch())
                  .count(),
              std::chrono::duration_cast<std::chrono::seconds>(info->not_after.time_since_epoch())
                  .count()};
        }
      }
    }
    bool expired = validity.ok() && std::chrono::system_clock::now() >= ExpiryTime(*validity);
    if (HasRetiredMark(o.state_dir) || expired) {
      // Retired by IT, or the certificate expired (and the server did not renew it): this is a
      // new enrolment with a new key and a new device id (the old certificate is refused by the
      // server anyway).
      fresh_after_retirement = true;
    } else if (existing->server == server) {
      return existing;
    } else {
      return FailedPreconditionError("this PC is already enrolled to " + existing->server +
                                     " as device " + existing->device_id + "; remove " +
                                     p.enrollment + " to enrol elsewhere");
    }
  }
  if (fresh_after_retirement) {
    for (const std::string& f : {p.enrollment, p.device_cert, p.device_key, p.policy, p.cert_info,
                                 p.signing_next, p.server_pins}) {
      if (::unlink(f.c_str()) != 0 && errno != ENOENT) {
        return InternalError("cannot remove " + f + ": " + std::strerror(errno));
      }
    }
  }
  auto secret = ReadFileBounded(o.secret_file, 4096);
  if (!secret.ok()) return secret.status().withContext("--secret-file");
  std::string secret_text = text::trim(*secret);
  if (secret_text.empty())
    return InvalidArgumentError("--secret-file " + o.secret_file + " is empty");
  std::string ca_pem;
  if (!o.ca_file.empty()) {
    auto ca = ReadFileBounded(o.ca_file, 64 * 1024);
    if (!ca.ok()) return ca.status().withContext("--ca-file");
    if (!protocol::ParseCertificate(*ca).ok()) {
      return InvalidArgumentError("--ca-file " + o.ca_file + " is not a PEM certificate");
    }
    ca_pem = *ca;
  }
  HEARTH_RETURN_IF_ERROR(ensureDir(o.state_dir, 0755));

  // The key is made once and kept: a retried enrolment sends the same public key.
  protocol::Key key;
  if (exists(p.device_key)) {
    auto pem = ReadFileBounded(p.device_key, 16 * 1024);
    if (!pem.ok()) return pem.status();
    HEARTH_ASSIGN_OR_RETURN(key, protocol::Key::fromPem(*pem));
  } else {
    HEARTH_ASSIGN_OR_RETURN(key, protocol::Key::generateP256());
    HEARTH_ASSIGN_OR_RETURN(std::string pem, key.privatePem());
    HEARTH_RETURN_IF_ERROR(WriteFileDurably(p.device_key, pem, 0600));
  }
  HEARTH_ASSIGN_OR_RETURN(std::string csr, protocol::MakeCsr(key, o.hostname));

  std::string ca_tmp;
  if (!ca_pem.empty()) {
    HEARTH_RETURN_IF_ERROR(WriteFileDurably(p.server_ca, ca_pem, 0644));
  }
  HttpOptions ho;
  ho.ca_file = ca_pem.empty() ? "" : p.server_ca;
  ho.pin = o.pin;
  ho.proxy = o.proxy;
  protocol::EnrollRequest req;
  req.enroll_secret = secret_text;
  req.csr = csr;
  req.hostname = o.hostname;
  if (!o.owner.empty()) req.owner = o.owner;
  // The exchange itself (TLS, the server's certificate, HTTP) runs unprivileged.
  std::string request_body = json::write(req.toJson());
  HEARTH_ASSIGN_OR_RETURN(
      HttpResponse resp,
      HttpRequestUnprivileged(ho, o.service_user, server + "/api/v1/enroll", &request_body));
  if (resp.status != 201) {
    std::string why = resp.body;
    if (auto err = json::parse(resp.body); err.ok()) {
      why = json::ObjectReader(*err, {}).stringOr("error", why);
    }
    return PermissionDeniedError("the server refused enrolment (HTTP " +
                                 std::to_string(resp.status) + "): " + why);
  }
  HEARTH_ASSIGN_OR_RETURN(protocol::EnrollResponse er, protocol::EnrollResponse::parse(resp.body));
  // The certificate must carry our key: a server cannot hand us someone else's identity.
  HEARTH_ASSIGN_OR_RETURN(protocol::CertificateInfo info,
                          protocol::ParseCertificate(er.certificate));
  if (info.public_key_pem != *key.publicPem() || info.common_name != er.device_id) {
    return PermissionDeniedError("the server's certificate does not match this PC's key");
  }
  if (!protocol::Key::fromPem(er.policy_public_key, true).ok()) {
    return DataLossError("the server sent an unusable policy-signing key");
  }
  HEARTH_RETURN_IF_ERROR(WriteFileDurably(p.device_cert, er.certificate, 0644));
  HEARTH_RETURN_IF_ERROR(StoreCertValidity(
      o.state_dir,
      CertValidity{
          std::chrono::duration_cast<std::chrono::seconds>(info.not_before.time_since_epoch())
              .count(),
          std::chrono::duration_cast<std::chrono::seconds>(info.not_after.time_since_epoch())
              .count()}));
  HEARTH_RETURN_IF_ERROR(WriteFileDurably(p.signing_pub, er.policy_public_key, 0644));
  Enrollment e;
  e.server = server;
  e.device_id = er.device_id;
  e.pin = o.pin;
  e.has_ca = !ca_pem.empty();
  e.enrolled_at = formatRfc3339(std::chrono::system_clock::now());
  e.owner = o.owner;
  // Written last: its presence means "enrolled".
  HEARTH_RETURN_IF_ERROR(
      WriteFileDurably(p.enrollment, json::write(e.toJson(), {.pretty = true}) + "\n", 0644));
  HEARTH_RETURN_IF_ERROR(ClearRetiredMark(o.state_dir));

  // Best effort: fetch the signed policy now, so the PC has its level even if it goes offline
  // before its first cycle (run --once verifies it again before use).
  ho.client_cert = p.device_cert;
  ho.client_key = p.device_key;
  {
    auto pol = HttpRequestUnprivileged(ho, o.service_user, server + "/api/v1/policy", nullptr);
    if (pol.ok() && pol->status == 200 && protocol::SignedPolicy::parse(pol->body).ok()) {
      (void)WriteFileDurably(p.policy, pol->body, 0644);
    }
  }
  return e;
}

}  // namespace hearth::agent
