// Fuzzes hearth_crypto's readers of what other parties send as PEM (server-api/protocol/crypto.cc):
// a CSR (enrolment and renewal: VerifyCsr), a certificate (the server's answers as hearth-upload
// reads them: ParseCertificate) and a public key (the policy-signing key: Key::fromPem). A refusal
// is InvalidArgument; an accepted CSR has a self-signature that verified and a P-256 or Ed25519
// key whose PEM reads back as the same key; a certificate's serial is hex and its key, when it has
// one we can write, reads back; a public key re-encodes to a PEM that reads back with the same pin.
// (Private keys are read only from the agent's and server's own files, never from others.)
#include <cstdint>
#include <string>

#include "fuzz_assert.h"
#include "hearth/protocol/crypto.h"

using hearth::protocol::Key;

namespace {

bool isHex(const std::string& s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

// `pem` reads as a public key whose canonical PEM is `pem` itself; returns its pin.
std::string checkCanonicalPublicKey(const std::string& pem) {
  auto key = Key::fromPem(pem, true);
  FUZZ_ASSERT(key.ok());
  auto again = key->publicPem();
  FUZZ_ASSERT(again.ok() && *again == pem);
  auto pin = key->publicKeyPin();
  FUZZ_ASSERT(pin.ok() && pin->starts_with("sha256//"));
  return *pin;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto pem = hearth::fuzz::AsText(data, size);

  auto csr = hearth::protocol::VerifyCsr(pem);
  if (!csr.ok()) {
    FUZZ_ASSERT(csr.status().code() == hearth::StatusCode::kInvalidArgument);
  } else {
    checkCanonicalPublicKey(csr->public_key_pem);
  }

  auto cert = hearth::protocol::ParseCertificate(pem);
  if (!cert.ok()) {
    FUZZ_ASSERT(cert.status().code() == hearth::StatusCode::kInvalidArgument);
  } else {
    FUZZ_ASSERT(!cert->serial_hex.empty() && isHex(cert->serial_hex));
    if (!cert->public_key_pem.empty()) {
      auto key = Key::fromPem(cert->public_key_pem, true);
      FUZZ_ASSERT(key.ok());
    }
  }

  auto key = Key::fromPem(pem, true);
  if (!key.ok()) {
    FUZZ_ASSERT(key.status().code() == hearth::StatusCode::kInvalidArgument);
  } else {
    auto canonical = key->publicPem();
    FUZZ_ASSERT(canonical.ok());
    auto pin = key->publicKeyPin();
    FUZZ_ASSERT(pin.ok());
    FUZZ_ASSERT(checkCanonicalPublicKey(*canonical) == *pin);
  }
  return 0;
}
