// hearth-upload, the agent's network side (see network_side.h).
#include "hearth/agent/network_side.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <utility>
#include <vector>

#include <openssl/crypto.h>

#include "hearth/agent/child_process.h"
#include "hearth/agent/http_client.h"
#include "hearth/agent/http_transport.h"
#include "hearth/agent/policy_verify.h"
#include "hearth/agent/uploader_protocol.h"
#include "hearth/agent/uploader_server.h"
#include "hearth/json_reader.h"
#include "hearth/protocol/crypto.h"
#include "hearth/protocol/wire.h"

namespace hearth::agent {

namespace {

using uploader::ErrorAnswer;
using uploader::Fields;
using uploader::OkAnswer;

// The PEM blocks of a bundle, in order.
std::vector<std::string> pemBlocks(const std::string& bundle) {
  std::vector<std::string> out;
  const std::string begin = "-----BEGIN ";
  size_t pos = bundle.find(begin);
  while (pos != std::string::npos) {
    size_t next = bundle.find(begin, pos + begin.size());
    out.push_back(bundle.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
    pos = next;
  }
  return out;
}

int64_t seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// What is wrong with the device key and certificate, "" when they are usable together.
std::string credentialProblem(const HttpOptions& http) {
  if (http.client_cert_pem.empty() && http.client_key_pem.empty()) return "";
  auto cert = protocol::ParseCertificate(http.client_cert_pem);
  if (!cert.ok()) {
    return "the device certificate (device.pem) is damaged: " + cert.status().message();
  }
  auto key = protocol::Key::fromPem(http.client_key_pem);
  if (!key.ok()) return "the device key (device.key) is damaged: " + key.status().message();
  // A damaged private part can still read as a key (with its public part intact): it signs
  // what its public part does not verify.
  auto csr = protocol::MakeCsr(*key, "hearth-key-check");
  auto signed_ok = csr.ok() ? protocol::VerifyCsr(*csr) : StatusOr<protocol::CsrInfo>(csr.status());
  if (!signed_ok.ok()) {
    return "the device key (device.key) is damaged: it cannot sign (" +
           signed_ok.status().message() + ")";
  }
  auto pub = key->publicPem();
  if (!pub.ok() || *pub != cert->public_key_pem) {
    return "the device key (device.key) does not belong to the device certificate (device.pem)";
  }
  return "";
}

// Answers every request with what is wrong with the device key or certificate: nothing can be
// sent with them, and only a new enrolment makes new ones.
class UnusableCredentials final : public Transport {
 public:
  explicit UnusableCredentials(const std::string& problem)
      : why_(std::string(kCredentialsUnusable) + ": " + problem +
             ". Enrol this PC again to get a new key and certificate: ask IT for an enrolment "
             "secret and run `hearth-agent enroll`") {}
  PostResult postReport(const std::string&) override {
    PostResult r;
    r.kind = PostResult::Kind::kAuthFailed;
    r.error = why_;
    return r;
  }
  StatusOr<std::string> fetchPolicy(int64_t) override { return PermissionDeniedError(why_); }
  StatusOr<RenewedCertificate> renewCertificate(const std::string&) override {
    return PermissionDeniedError(why_);
  }
  StatusOr<CertValidity> certificateValidity() override { return PermissionDeniedError(why_); }

 private:
  std::string why_;
};

// The uploader's transport, from the root side's "configure" request.
StatusOr<std::unique_ptr<Transport>> makeTransport(const json::Value& configure) {
  HttpOptions http = uploader::GetHttpOptions(configure);
  if (std::string problem = credentialProblem(http); !problem.empty()) {
    return std::unique_ptr<Transport>(std::make_unique<UnusableCredentials>(problem));
  }
  HEARTH_ASSIGN_OR_RETURN(auto client, HttpClient::create(http));
  return NewHttpTransport(std::move(client), Fields(configure).stringOr("server"),
                          Fields(configure).stringOr("signing_keys"), http.client_cert_pem);
}

// One HTTPS request (enrolment, before there is an uploader).
json::Value request(const json::Value& req) {
  auto f = Fields(req);
  auto client = HttpClient::create(uploader::GetHttpOptions(req));
  if (!client.ok()) return ErrorAnswer(client.status());
  const std::string url = f.stringOr("url");
  StatusOr<HttpResponse> r =
      f.has("body") ? (*client)->postJson(url, f.stringOr("body")) : (*client)->get(url);
  if (!r.ok()) return ErrorAnswer(r.status());
  json::Value v = OkAnswer();
  v.set("status", static_cast<int64_t>(r->status));
  v.set("retry_after", static_cast<int64_t>(r->retry_after_seconds));
  v.set("body", r->body);
  return v;
}

// The device key (made here when none is given) and a CSR for it.
json::Value newKey(const json::Value& req) {
  auto f = Fields(req);
  auto key =
      f.has("key") ? protocol::Key::fromPem(f.stringOr("key")) : protocol::Key::generateP256();
  if (!key.ok()) return ErrorAnswer(key.status());
  auto pem = key->privatePem();
  auto pub = key->publicPem();
  auto csr = protocol::MakeCsr(*key, f.stringOr("common_name"));
  if (!pem.ok()) return ErrorAnswer(pem.status());
  if (!pub.ok()) return ErrorAnswer(pub.status());
  if (!csr.ok()) return ErrorAnswer(csr.status());
  json::Value v = OkAnswer();
  v.set("key", *pem);
  v.set("public_key", *pub);
  v.set("csr", *csr);
  return v;
}

json::Value certificate(const json::Value& req) {
  auto info = protocol::ParseCertificate(Fields(req).stringOr("pem"));
  if (!info.ok()) return ErrorAnswer(info.status());
  json::Value v = OkAnswer();
  v.set("common_name", info->common_name);
  v.set("public_key", info->public_key_pem);
  v.set("not_before", seconds(info->not_before));
  v.set("not_after", seconds(info->not_after));
  return v;
}

json::Value publicKey(const json::Value& req) {
  auto key = protocol::Key::fromPem(Fields(req).stringOr("pem"), true);
  return key.ok() ? OkAnswer() : ErrorAnswer(key.status());
}

json::Value verifyPolicy(const json::Value& req) {
  auto f = Fields(req);
  auto v =
      VerifySignedPolicy(f.stringOr("envelope"), f.stringOr("keys"), f.intOr("min_version", 0));
  if (!v.ok()) return ErrorAnswer(v.status());
  json::Value out = OkAnswer();
  out.set("key_index", static_cast<int64_t>(v->key_index));
  out.set("announcement_verified", v->announcement.has_value());
  return out;
}

}  // namespace

StatusOr<PolicySignature> VerifySignedPolicy(const std::string& envelope,
                                             const std::string& public_key_pem,
                                             int64_t min_version) {
  HEARTH_ASSIGN_OR_RETURN(protocol::SignedPolicy sp, protocol::SignedPolicy::parse(envelope));
  HEARTH_ASSIGN_OR_RETURN(std::string bytes, protocol::Base64Decode(sp.policy_b64));
  std::vector<std::string> pems = pemBlocks(public_key_pem);
  if (pems.empty()) return InvalidArgumentError("no policy-signing key to verify with");
  Status sig = InternalError("no key");
  size_t index = 0;
  std::optional<protocol::Key> signer;
  for (; index < pems.size(); ++index) {
    auto parsed = protocol::Key::fromPem(pems[index], true);
    if (!parsed.ok()) {
      if (index == 0) return parsed.status();  // the pinned key itself is unusable
      continue;                                // an announced one that is: never verifies
    }
    protocol::Key key = std::move(parsed).value();
    Status s = protocol::VerifyEd25519(key, bytes, sp.signature_b64);
    if (s.ok()) {
      signer = std::move(key);
      sig = OkStatus();
      break;
    }
    if (index == 0) sig = s;
  }
  if (!sig.ok()) return PermissionDeniedError("policy signature: " + sig.message());
  // Fresh enough, and the document the envelope says: its version and level only.
  HEARTH_ASSIGN_OR_RETURN(json::Value doc, json::parse(bytes, {.max_depth = 64}));
  auto fields = json::ObjectReader(doc, {});
  HEARTH_RETURN_IF_ERROR(
      CheckPolicyVersion(sp, fields.intOr("version", -1), fields.stringOr("level"), min_version));
  PolicySignature out;
  out.key_index = index;
  if (!sp.announcement_b64.empty()) {
    auto ann = protocol::Base64Decode(sp.announcement_b64);
    if (ann.ok() && protocol::VerifyEd25519(*signer, *ann, sp.announcement_signature_b64).ok()) {
      auto parsed = protocol::PolicyAnnouncement::parse(*ann);
      if (parsed.ok()) out.announcement = std::move(parsed).value();
    }
  }
  return out;
}

std::optional<json::Value> AnswerNetworkOp(const json::Value& req) {
  const std::string op = uploader::OpOf(req);
  if (op == "request") return request(req);
  if (op == "new_key") return newKey(req);
  if (op == "certificate") return certificate(req);
  if (op == "public_key") return publicKey(req);
  if (op == "verify_policy") return verifyPolicy(req);
  return std::nullopt;
}

int UploaderMain(int argc, char** argv) {
  HardenExecedChild(argc > 0 ? argv[0] : nullptr);
  const int channel = ChildChannel();
  if (channel < 0) {
    std::fprintf(stderr,
                 "hearth-upload: the network side of hearth-agent, started by it; not a command\n");
    return 2;
  }
  ServeUploader(channel, makeTransport, AnswerNetworkOp);
  // The root side closed the channel: done. Nothing is left to save, and the libraries' exit
  // handlers (OpenSSL freeing all its tables, ...) would only touch about 0.3 MiB more memory on
  // the way out (docs/agent-daemon.md "Memory").
  std::fflush(nullptr);
  std::_Exit(0);
}

}  // namespace hearth::agent
