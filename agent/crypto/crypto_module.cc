// hearth-crypto.so: crypto.cc (OpenSSL) behind one exported C entry point. Everything else in
// this module is hidden (-fvisibility=hidden, static libraries' symbols excluded), so its copies
// of hearth::protocol never clash with the agent executable's forwarding definitions.
#include "crypto/crypto_module_api.h"

namespace hearth::agent::crypto_module {
namespace {

using protocol::Key;

// Runs `f` on a borrowed key without taking ownership of the caller's EVP_PKEY*.
template <typename F>
auto withKey(void* pkey, F&& f) {
  Key k = Key::adopt(pkey);
  auto r = f(k);
  k.release();
  return r;
}

StatusOr<void*> owned(StatusOr<Key> k) {
  if (!k.ok()) return k.status();
  return k->release();
}

const ApiV1 kApi = {
    sizeof(ApiV1),
    [](void* pkey) { Key::adopt(pkey); },  // the temporary frees it
    [] { return owned(Key::generateP256()); },
    [] { return owned(Key::generateEd25519()); },
    [](std::string_view pem, bool pub) { return owned(Key::fromPem(pem, pub)); },
    [](void* p) { return withKey(p, [](const Key& k) { return k.privatePem(); }); },
    [](void* p) { return withKey(p, [](const Key& k) { return k.publicPem(); }); },
    [](void* p) { return withKey(p, [](const Key& k) { return k.publicKeyPin(); }); },
    [](void* p, const std::string& cn) {
      return withKey(p, [&](const Key& k) { return protocol::MakeCsr(k, cn); });
    },
    [](std::string_view csr) { return protocol::VerifyCsr(csr); },
    [](const CertificateRequest& r, const std::string& spki, void* issuer, const std::string& ic) {
      return withKey(issuer,
                     [&](const Key& k) { return protocol::IssueCertificate(r, spki, k, ic); });
    },
    [](std::string_view pem) { return protocol::ParseCertificate(pem); },
    [](const void* x509) { return protocol::CertificateIdentity(x509); },
    [](std::string_view cert, std::string_view ca, std::chrono::system_clock::time_point at) {
      return protocol::VerifyCertificate(cert, ca, at);
    },
    [](void* p, std::string_view data) {
      return withKey(p, [&](const Key& k) { return protocol::SignEd25519(k, data); });
    },
    [](void* p, std::string_view data, std::string_view sig) {
      return withKey(p, [&](const Key& k) { return protocol::VerifyEd25519(k, data, sig); });
    },
};

}  // namespace
}  // namespace hearth::agent::crypto_module

extern "C" __attribute__((visibility("default"))) const hearth::agent::crypto_module::ApiV1*
hearth_crypto_api_v1() {
  return &hearth::agent::crypto_module::kApi;
}
