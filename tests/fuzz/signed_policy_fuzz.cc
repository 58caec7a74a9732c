// Fuzzes the signed policy as the agent takes it: hearth-upload's signature and freshness check
// (VerifySignedPolicy, agent/upload/network_side.cc) and the root side's strict reading of an
// envelope that was vouched for (PolicyFromVerifiedEnvelope, agent/policy_verify.cc).
//  1. The input as an envelope from the server: nothing unsigned passes the signature check; what
//     the root side takes has the envelope's version and level; an announcement's pins are pins.
//  2. The input as a policy document that the server's key signed (and as an announcement signed
//     with it): accepted only when its version and level are the envelope's and not older than the
//     version in force; what the root side accepts, hearth-upload accepts too; the same envelope
//     with one byte of the document changed, or checked against another key, is PermissionDenied.
#include <cstdint>
#include <string>

#include "fuzz_assert.h"
#include "hearth/agent/network_side.h"
#include "hearth/agent/policy_verify.h"
#include "hearth/json.h"
#include "hearth/json_reader.h"
#include "hearth/protocol/crypto.h"
#include "hearth/protocol/wire.h"

using namespace hearth;

namespace {

constexpr int64_t kInForce = 2;

struct Keys {
  protocol::Key signing;
  std::string public_pem;
  std::string other_public_pem;
};

const Keys& keys() {
  static const Keys k = [] {
    Keys out;
    out.signing = std::move(protocol::Key::generateEd25519()).value();
    out.public_pem = out.signing.publicPem().value();
    out.other_public_pem = protocol::Key::generateEd25519().value().publicPem().value();
    return out;
  }();
  return k;
}

void checkAnnouncement(const protocol::PolicyAnnouncement& a) {
  for (const auto& pin : a.server_pins)
    FUZZ_ASSERT(pin.size() == 52 && pin.starts_with("sha256//"));
}

// 1: an envelope as it arrives.
void asEnvelope(const std::string& envelope) {
  auto verified = agent::VerifySignedPolicy(envelope, keys().public_pem, kInForce);
  // The fuzzer cannot forge Ed25519: nothing it writes verifies.
  FUZZ_ASSERT(!verified.ok());
  FUZZ_ASSERT(!verified.status().message().empty());
  auto root = agent::PolicyFromVerifiedEnvelope(envelope, kInForce);
  if (root.ok()) {
    auto sp = protocol::SignedPolicy::parse(envelope);
    FUZZ_ASSERT(sp.ok());
    FUZZ_ASSERT(root->policy.version == sp->version && root->policy.level == sp->level);
    FUZZ_ASSERT(root->policy.version >= kInForce);
  }
  if (auto a = agent::AnnouncementOf(envelope)) checkAnnouncement(*a);
}

// 2: a document signed by the server's key.
void asSignedDocument(const std::string& doc) {
  protocol::SignedPolicy sp;
  sp.level = "standard";
  sp.version = kInForce;
  auto parsed = json::parse(doc, {.max_depth = 64});
  if (parsed.ok()) {
    auto fields = json::ObjectReader(*parsed, {});
    sp.level = fields.stringOr("level", "standard");
    if (sp.level.empty() || sp.level.size() > 64) sp.level = "standard";
    sp.version = std::max<int64_t>(1, fields.intOr("version", kInForce));
  }
  sp.policy_b64 = protocol::Base64Encode(doc);
  sp.signature_b64 = protocol::SignEd25519(keys().signing, doc).value();
  sp.announcement_b64 = protocol::Base64Encode(doc);
  sp.announcement_signature_b64 = sp.signature_b64;
  const std::string envelope = json::write(sp.toJson());

  auto upload = agent::VerifySignedPolicy(envelope, keys().public_pem, kInForce);
  if (upload.ok()) {
    FUZZ_ASSERT(upload->key_index == 0);
    auto fields = json::ObjectReader(*parsed, {});
    FUZZ_ASSERT(fields.intOr("version", -1) == sp.version && sp.version >= kInForce);
    FUZZ_ASSERT(fields.stringOr("level") == sp.level);
    // The announcement is the same signed bytes: verified exactly when it parses as one.
    FUZZ_ASSERT(upload->announcement.has_value() == protocol::PolicyAnnouncement::parse(doc).ok());
    if (upload->announcement) checkAnnouncement(*upload->announcement);
  } else {
    FUZZ_ASSERT(!upload.status().message().empty());
  }
  auto root = agent::PolicyFromVerifiedEnvelope(envelope, kInForce);
  if (root.ok()) {
    FUZZ_ASSERT(upload.ok());
    FUZZ_ASSERT(root->bytes == doc && root->policy.version == sp.version);
  }

  // (An empty document makes an envelope that does not parse: refused before any signature.)
  const bool parses = protocol::SignedPolicy::parse(envelope).ok();
  auto other = agent::VerifySignedPolicy(envelope, keys().other_public_pem, kInForce);
  FUZZ_ASSERT(!other.ok());
  if (parses) FUZZ_ASSERT(other.status().code() == StatusCode::kPermissionDenied);
  if (parses) {
    std::string tampered_doc = doc;
    tampered_doc.back() = static_cast<char>(tampered_doc.back() ^ 0x01);
    protocol::SignedPolicy tampered = sp;
    tampered.policy_b64 = protocol::Base64Encode(tampered_doc);
    auto t = agent::VerifySignedPolicy(json::write(tampered.toJson()), keys().public_pem, kInForce);
    FUZZ_ASSERT(!t.ok() && t.status().code() == StatusCode::kPermissionDenied);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 32 * 1024) return 0;  // its announcement (base64) stays within 64 KiB
  std::string input(reinterpret_cast<const char*>(data), size);
  asEnvelope(input);
  asSignedDocument(input);
  return 0;
}
