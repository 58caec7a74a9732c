// Keys, certificates and signatures for Hearth (OpenSSL 3 EVP; no exceptions).
//  - Implemented in crypto.cc (OpenSSL), except Base64, SHA-256 and randomness (encoding.cc, no
//    OpenSSL). The server links crypto.cc; the agent reaches it through a module it loads on first
//    use (agent/crypto_loader.cc), so that its daemon process never maps libcrypto.
//  - Device keys: ECDSA P-256 (what TPMs and secure enclaves can hold later). The agent makes the
//    key and a CSR; the server's device CA issues a client-auth certificate from the CSR's public
//    key only.
//  - The server TLS CA and certificate: ECDSA P-256, separate from the device CA.
//  - Policies are signed with Ed25519 over the exact bytes served.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/status.h"

namespace hearth::protocol {

// An owned private (or public-only) key.
class Key {
 public:
  Key();
  ~Key();
  Key(Key&&) noexcept;
  Key& operator=(Key&&) noexcept;
  Key(const Key&) = delete;
  Key& operator=(const Key&) = delete;

  static StatusOr<Key> generateP256();
  static StatusOr<Key> generateEd25519();
  // Reads a PEM private key (PKCS#8 or traditional) or, with `public_only`, a PEM public key.
  static StatusOr<Key> fromPem(std::string_view pem, bool public_only = false);

  StatusOr<std::string> privatePem() const;  // PKCS#8, unencrypted: store it with mode 0600
  StatusOr<std::string> publicPem() const;   // SubjectPublicKeyInfo
  // "sha256//BASE64" of the DER SubjectPublicKeyInfo (curl's CURLOPT_PINNEDPUBLICKEY form).
  StatusOr<std::string> publicKeyPin() const;
  bool valid() const { return pkey_ != nullptr; }
  void* raw() const { return pkey_; }  // EVP_PKEY*

 private:
  explicit Key(void* pkey) : pkey_(pkey) {}
  void* pkey_ = nullptr;
};

// The TLS 1.2 cipher suites of both ends (OpenSSL syntax): forward secrecy and an AEAD only,
// ECDHE with AES-GCM or ChaCha20-Poly1305; no CBC, CCM, ARIA or Camellia (the only clients are
// ours). TLS 1.3 suites are OpenSSL's defaults, all AEAD.
inline constexpr const char* kTls12CipherList = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL";

// Creates a PEM certificate signing request for `key` with subject CN=`common_name`.
StatusOr<std::string> MakeCsr(const Key& key, const std::string& common_name);

struct CsrInfo {
  std::string public_key_pem;  // the only thing a CA takes from a CSR
  std::string common_name;     // informational; ignored when issuing
};
// Parses a PEM CSR (at most 16 KiB) and verifies its self-signature. Only P-256 and Ed25519
// public keys are accepted.
StatusOr<CsrInfo> VerifyCsr(std::string_view csr_pem);

struct CertificateRequest {
  std::string common_name;
  std::vector<std::string> dns_names;     // subjectAltName DNS entries
  std::vector<std::string> ip_addresses;  // subjectAltName IP entries
  bool is_ca = false;
  bool server_auth = false;  // extendedKeyUsage serverAuth
  bool client_auth = false;  // extendedKeyUsage clientAuth
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::time_point not_after;
  uint64_t serial = 0;  // 0: a random 64-bit serial
};

// Issues a certificate for `subject_public_key_pem`, signed by `issuer_key` (with
// `issuer_cert_pem` as issuer; empty = self-signed, then issuer_key must match the subject key).
StatusOr<std::string> IssueCertificate(const CertificateRequest& request,
                                       const std::string& subject_public_key_pem,
                                       const Key& issuer_key, const std::string& issuer_cert_pem);

struct CertificateInfo {
  std::string common_name;
  std::string serial_hex;
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::time_point not_after;
  std::string public_key_pem;
  // Hex SHA-256 of the certificate's SubjectPublicKeyInfo as encoded in it (DER): what binds a
  // device to its key (the serial is not secret).
  std::string spki_sha256;
  std::vector<std::string> dns_names;     // subjectAltName (ParseCertificate only)
  std::vector<std::string> ip_addresses;  // subjectAltName, as text (ParseCertificate only)
};
StatusOr<CertificateInfo> ParseCertificate(std::string_view cert_pem);
// Common name, serial (hex) and validity of an already parsed certificate (an OpenSSL
// `const X509*`, e.g. a TLS peer's), without re-encoding it: the per-request path of the server.
// public_key_pem is left empty.
StatusOr<CertificateInfo> CertificateIdentity(const void* x509);
// Whether an already parsed certificate (`const X509*`) carries the public key `public_key_pem`,
// compared as decoded keys (an EC point in compressed or uncompressed form is the same key).
// InvalidArgument when the PEM is not a public key.
StatusOr<bool> CertificateHasKey(const void* x509, const std::string& public_key_pem);
// Verifies that `cert_pem` was issued by `ca_cert_pem` and is valid at `at`.
Status VerifyCertificate(std::string_view cert_pem, std::string_view ca_cert_pem,
                         std::chrono::system_clock::time_point at);

// Ed25519 signature of `data` (64 raw bytes, returned base64).
StatusOr<std::string> SignEd25519(const Key& key, std::string_view data);
// OK only if `signature_b64` is a valid Ed25519 signature of `data` by `public_key`.
Status VerifyEd25519(const Key& public_key, std::string_view data, std::string_view signature_b64);

std::string Base64Encode(std::string_view data);
StatusOr<std::string> Base64Decode(std::string_view text);
std::string Sha256Hex(std::string_view data);
// Cryptographically random bytes, hex encoded (2 * n characters).
StatusOr<std::string> RandomHex(size_t n);
// A random RFC 4122 version-4 UUID.
StatusOr<std::string> RandomUuid();

}  // namespace hearth::protocol
