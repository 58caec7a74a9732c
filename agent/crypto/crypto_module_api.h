// The table of functions the agent's crypto module (hearth-crypto.so: crypto.cc and OpenSSL)
// exports to the agent executable, which never links libcrypto itself (crypto_loader.cc).
// Both sides are built from this tree by the same compiler in the same build: C++ types cross
// the boundary; `size` guards against a module from another build.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "hearth/protocol/crypto.h"
#include "hearth/status.h"

namespace hearth::agent::crypto_module {

using protocol::CertificateInfo;
using protocol::CertificateRequest;
using protocol::CsrInfo;

struct ApiV1 {
  uint32_t size;  // sizeof(ApiV1)
  void (*key_free)(void* pkey);
  StatusOr<void*> (*key_generate_p256)();
  StatusOr<void*> (*key_generate_ed25519)();
  StatusOr<void*> (*key_from_pem)(std::string_view pem, bool public_only);
  StatusOr<std::string> (*key_private_pem)(void* pkey);
  StatusOr<std::string> (*key_public_pem)(void* pkey);
  StatusOr<std::string> (*key_public_pin)(void* pkey);
  StatusOr<std::string> (*make_csr)(void* pkey, const std::string& common_name);
  StatusOr<CsrInfo> (*verify_csr)(std::string_view csr_pem);
  StatusOr<std::string> (*issue_certificate)(const CertificateRequest& request,
                                             const std::string& subject_public_key_pem,
                                             void* issuer_pkey, const std::string& issuer_cert_pem);
  StatusOr<CertificateInfo> (*parse_certificate)(std::string_view cert_pem);
  StatusOr<CertificateInfo> (*certificate_identity)(const void* x509);
  Status (*verify_certificate)(std::string_view cert_pem, std::string_view ca_cert_pem,
                               std::chrono::system_clock::time_point at);
  StatusOr<std::string> (*sign_ed25519)(void* pkey, std::string_view data);
  Status (*verify_ed25519)(void* pkey, std::string_view data, std::string_view signature_b64);
};

constexpr const char kEntryPoint[] = "hearth_crypto_api_v1";
constexpr const char kModuleName[] = "hearth-crypto.so";

}  // namespace hearth::agent::crypto_module
