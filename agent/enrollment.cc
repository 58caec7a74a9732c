// Enrolment (see enrollment.h).
#include "hearth/agent/enrollment.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <utility>

#include "agent_os.h"
#include "hearth/agent/device_certificate.h"
#include "hearth/agent/http_client.h"
#include "hearth/agent/state_dir.h"
#include "hearth/agent/transport.h"
#include "hearth/agent/uploader.h"
#include "hearth/agent/uploader_protocol.h"
#include "hearth/files.h"
#include "hearth/json_reader.h"
#include "hearth/protocol/wire.h"
#include "hearth/text.h"
#include "hearth/time.h"

namespace hearth::agent {

namespace {

bool exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

constexpr std::chrono::seconds kCryptoLimit{60};

// hearth-upload for the whole enrolment, started when first needed.
class Network {
 public:
  explicit Network(std::string user) : user_(std::move(user)) {}
  StatusOr<NetworkHelper*> get() {
    if (!helper_) {
      HEARTH_ASSIGN_OR_RETURN(NetworkHelper h, NetworkHelper::Start(user_));
      helper_.emplace(std::move(h));
    }
    return &*helper_;
  }
  StatusOr<json::Value> ask(const json::Value& request) {
    HEARTH_ASSIGN_OR_RETURN(NetworkHelper * h, get());
    return h->ask(request, kCryptoLimit);
  }

 private:
  std::string user_;
  std::optional<NetworkHelper> helper_;
};

// What a certificate says, as hearth-upload parsed it.
struct CertFacts {
  std::string common_name, public_key;
  CertValidity validity;
};

StatusOr<CertFacts> certificateFacts(Network& network, const std::string& pem) {
  json::Value req = uploader::Request("certificate");
  req.set("pem", pem);
  HEARTH_ASSIGN_OR_RETURN(json::Value v, network.ask(req));
  auto f = uploader::Fields(v);
  return CertFacts{f.stringOr("common_name"), f.stringOr("public_key"),
                   CertValidity{f.intOr("not_before", 0), f.intOr("not_after", 0)}};
}

}  // namespace

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
    if (pin.isString() && pin.asString().starts_with("sha256//") && pin.asString().size() == 52) {
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

StatusOr<Enrollment> Enroll(const EnrollOptions& o) {
  if (!o.server.starts_with("https://")) {
    return InvalidArgumentError("--server must be an https:// URL, got \"" + o.server + "\"");
  }
  std::string server = o.server;
  while (!server.empty() && server.back() == '/') server.pop_back();
  if (o.ca_file.empty() == o.pin.empty()) {
    return InvalidArgumentError(
        "give exactly one of --ca-file FILE or --pin sha256//BASE64: the server is never trusted "
        "on first use");
  }
  if (!o.pin.empty() && (!o.pin.starts_with("sha256//") || o.pin.size() != 52)) {
    return InvalidArgumentError("--pin must look like sha256//<44 base64 characters>");
  }
  AgentPaths p = AgentPathsFor(o.state_dir);
  // Keys, certificates and the server's bytes: all in hearth-upload, unprivileged.
  Network network(o.service_user);
  bool fresh_after_retirement = false;
  (void)RecoverCertificateRenewal(o.state_dir);
  if (auto existing = LoadEnrollment(o.state_dir); existing.ok()) {
    auto validity = LoadCertValidity(o.state_dir);
    if (!validity.ok()) {
      // A state directory from before device-cert.json: hearth-upload reads the certificate.
      if (auto pem = ReadFileBounded(p.device_cert, 64 * 1024); pem.ok()) {
        if (auto info = certificateFacts(network, *pem); info.ok()) validity = info->validity;
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
      if (Status s = PosixFileLayer().unlink(f); !s.ok() && s.code() != StatusCode::kNotFound) {
        return InternalError("cannot remove " + f + ": " + s.message());
      }
    }
  }
  auto secret = ReadFileBounded(o.secret_file, 4096);
  if (!secret.ok()) return secret.status().withContext("--secret-file");
  std::string secret_text = text::trim(*secret);
  if (secret_text.empty())
    return InvalidArgumentError("--secret-file " + o.secret_file + " is empty");
  HEARTH_RETURN_IF_ERROR(network.get().status());
  std::string ca_pem;
  if (!o.ca_file.empty()) {
    auto ca = ReadFileBounded(o.ca_file, 64 * 1024);
    if (!ca.ok()) return ca.status().withContext("--ca-file");
    if (!certificateFacts(network, *ca).ok()) {
      return InvalidArgumentError("--ca-file " + o.ca_file + " is not a PEM certificate");
    }
    ca_pem = *ca;
  }
  HEARTH_RETURN_IF_ERROR(EnsureOwnDir(o.state_dir, 0755));

  // The key is made once and kept: a retried enrolment sends the same public key.
  json::Value key_req = uploader::Request("new_key");
  key_req.set("common_name", o.hostname);
  const bool had_key = exists(p.device_key);
  if (had_key) {
    HEARTH_ASSIGN_OR_RETURN(std::string pem, ReadFileBounded(p.device_key, 16 * 1024));
    key_req.set("key", pem);
  }
  HEARTH_ASSIGN_OR_RETURN(json::Value key, network.ask(key_req));
  if (!had_key) {
    HEARTH_RETURN_IF_ERROR(
        WriteFileDurably(p.device_key, uploader::Fields(key).stringOr("key"), 0600));
  }
  const std::string csr = uploader::Fields(key).stringOr("csr");
  const std::string public_key = uploader::Fields(key).stringOr("public_key");

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
  HEARTH_ASSIGN_OR_RETURN(NetworkHelper * helper, network.get());
  HEARTH_ASSIGN_OR_RETURN(HttpResponse resp,
                          helper->request(ho, server + "/api/v1/enroll", &request_body));
  if (resp.status != 201) {
    // The server's words reach a terminal: sanitised like every answer the uploader reads.
    return PermissionDeniedError("the server refused enrolment (HTTP " +
                                 std::to_string(resp.status) +
                                 "): " + ParseServerError(resp.body).message);
  }
  HEARTH_ASSIGN_OR_RETURN(protocol::EnrollResponse er, protocol::EnrollResponse::parse(resp.body));
  // The certificate must carry our key: a server cannot hand us someone else's identity.
  HEARTH_ASSIGN_OR_RETURN(CertFacts info, certificateFacts(network, er.certificate));
  if (info.public_key != public_key || info.common_name != er.device_id) {
    return PermissionDeniedError("the server's certificate does not match this PC's key");
  }
  json::Value signing_key = uploader::Request("public_key");
  signing_key.set("pem", er.policy_public_key);
  if (!network.ask(signing_key).ok()) {
    return DataLossError("the server sent an unusable policy-signing key");
  }
  HEARTH_RETURN_IF_ERROR(WriteFileDurably(p.device_cert, er.certificate, 0644));
  HEARTH_RETURN_IF_ERROR(StoreCertValidity(o.state_dir, info.validity));
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
    auto pol = helper->request(ho, server + "/api/v1/policy", nullptr);
    if (pol.ok() && pol->status == 200 && protocol::SignedPolicy::parse(pol->body).ok()) {
      (void)WriteFileDurably(p.policy, pol->body, 0644);
    }
  }
  return e;
}

}  // namespace hearth::agent
