#include "hearth/protocol/crypto.h"

#if defined(_WIN32)
#include <ws2tcpip.h>  // inet_ntop
#else
#include <arpa/inet.h>
#endif
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "hearth/time.h"

namespace hearth::protocol {

namespace {

constexpr size_t kMaxPemBytes = 16 * 1024;

// The OpenSSL error queue as text, cleared.
std::string sslErrors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

Status sslError(std::string_view what) {
  return InternalError(std::string(what) + ": " + sslErrors());
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free_all(b); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct ReqDeleter {
  void operator()(X509_REQ* x) const { X509_REQ_free(x); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct StoreDeleter {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct StoreCtxDeleter {
  void operator()(X509_STORE_CTX* s) const { X509_STORE_CTX_free(s); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using ReqPtr = std::unique_ptr<X509_REQ, ReqDeleter>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

BioPtr memBio(std::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string bioString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

StatusOr<X509Ptr> readCert(std::string_view pem) {
  if (pem.size() > kMaxPemBytes) return InvalidArgumentError("certificate larger than 16 KiB");
  BioPtr bio = memBio(pem);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    ERR_clear_error();
    return InvalidArgumentError("not a PEM certificate");
  }
  return cert;
}

bool allowedKeyType(EVP_PKEY* key) {
  if (EVP_PKEY_get_id(key) == EVP_PKEY_ED25519) return true;
  if (EVP_PKEY_get_id(key) != EVP_PKEY_EC) return false;
  char group[64] = {};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) !=
      1) {
    return false;
  }
  return std::string(group) == "prime256v1" || std::string(group) == "P-256";
}

// Ed25519 signs with no digest; ECDSA with SHA-256.
const EVP_MD* digestFor(EVP_PKEY* key) {
  return EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
}

std::string nameEntry(X509_NAME* name, int nid) {
  int idx = X509_NAME_get_index_by_NID(name, nid, -1);
  if (idx < 0) return "";
  ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, s);
  if (n < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

std::chrono::system_clock::time_point asn1Time(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return {};
  // A time_point holds years 1678 to 2262 (libstdc++ counts nanoseconds); RFC 5280's "no
  // expiry" is 9999-12-31: saturate instead of overflowing.
  // timegm, portably (mingw has none): the civil date's days since the epoch, then the time.
  const std::chrono::sys_days days =
      std::chrono::year_month_day{std::chrono::year{tm.tm_year + 1900},
                                  std::chrono::month{static_cast<unsigned>(tm.tm_mon + 1)},
                                  std::chrono::day{static_cast<unsigned>(tm.tm_mday)}};
  const int64_t tt = static_cast<int64_t>(days.time_since_epoch().count()) * 86400 +
                     tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
  if (tt > kMaxTimePointSeconds) return std::chrono::system_clock::time_point::max();
  if (tt < -kMaxTimePointSeconds) return std::chrono::system_clock::time_point::min();
  return std::chrono::system_clock::from_time_t(static_cast<std::time_t>(tt));
}

Status addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return sslError("certificate extension " + value);
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) return sslError("add certificate extension");
  return OkStatus();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Key

Key::Key() = default;
Key::~Key() { EVP_PKEY_free(static_cast<EVP_PKEY*>(pkey_)); }
Key::Key(Key&& o) noexcept : pkey_(o.pkey_) { o.pkey_ = nullptr; }
Key& Key::operator=(Key&& o) noexcept {
  if (this != &o) {
    EVP_PKEY_free(static_cast<EVP_PKEY*>(pkey_));
    pkey_ = o.pkey_;
    o.pkey_ = nullptr;
  }
  return *this;
}

StatusOr<Key> Key::generateP256() {
  EVP_PKEY* k = EVP_EC_gen("P-256");
  if (k == nullptr) return sslError("generate P-256 key");
  return Key(k);
}

StatusOr<Key> Key::generateEd25519() {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* k = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &k) != 1) {
    return sslError("generate Ed25519 key");
  }
  return Key(k);
}

StatusOr<Key> Key::fromPem(std::string_view pem, bool public_only) {
  if (pem.size() > kMaxPemBytes) return InvalidArgumentError("key larger than 16 KiB");
  BioPtr bio = memBio(pem);
  EVP_PKEY* k = public_only ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr)
                            : PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (k == nullptr) {
    ERR_clear_error();
    return InvalidArgumentError(public_only ? "not a PEM public key" : "not a PEM private key");
  }
  return Key(k);
}

StatusOr<std::string> Key::privatePem() const {
  if (!valid()) return FailedPreconditionError("no key");
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PKCS8PrivateKey(bio.get(), static_cast<EVP_PKEY*>(pkey_), nullptr, nullptr, 0,
                                    nullptr, nullptr) != 1) {
    return sslError("write private key");
  }
  return bioString(bio.get());
}

StatusOr<std::string> Key::publicPem() const {
  if (!valid()) return FailedPreconditionError("no key");
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PUBKEY(bio.get(), static_cast<EVP_PKEY*>(pkey_)) != 1) {
    return sslError("write public key");
  }
  return bioString(bio.get());
}

StatusOr<std::string> Key::publicKeyPin() const {
  if (!valid()) return FailedPreconditionError("no key");
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(static_cast<EVP_PKEY*>(pkey_), &der);
  if (n <= 0) return sslError("encode public key");
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<size_t>(n), digest);
  OPENSSL_free(der);
  return "sha256//" +
         Base64Encode(std::string_view(reinterpret_cast<char*>(digest), sizeof digest));
}

// ---------------------------------------------------------------------------------------------
// CSR

StatusOr<std::string> MakeCsr(const Key& key, const std::string& common_name) {
  auto* pkey = static_cast<EVP_PKEY*>(key.raw());
  if (pkey == nullptr) return FailedPreconditionError("no key");
  ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), 0) != 1) return sslError("new CSR");
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) != 1 ||
      X509_REQ_set_pubkey(req.get(), pkey) != 1 ||
      X509_REQ_sign(req.get(), pkey, digestFor(pkey)) <= 0) {
    return sslError("sign CSR");
  }
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1) return sslError("write CSR");
  return bioString(bio.get());
}

StatusOr<CsrInfo> VerifyCsr(std::string_view csr_pem) {
  if (csr_pem.size() > kMaxPemBytes) return InvalidArgumentError("CSR larger than 16 KiB");
  BioPtr bio = memBio(csr_pem);
  ReqPtr req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!req) {
    ERR_clear_error();
    return InvalidArgumentError("not a PEM certificate signing request");
  }
  EVP_PKEY* pub = X509_REQ_get0_pubkey(req.get());
  if (pub == nullptr) {
    ERR_clear_error();
    return InvalidArgumentError("CSR has no usable public key");
  }
  if (!allowedKeyType(pub)) {
    return InvalidArgumentError("CSR key must be ECDSA P-256 or Ed25519");
  }
  if (X509_REQ_verify(req.get(), pub) != 1) {
    ERR_clear_error();
    return InvalidArgumentError("CSR signature does not verify");
  }
  CsrInfo info;
  BioPtr out(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PUBKEY(out.get(), pub) != 1) return sslError("write CSR public key");
  info.public_key_pem = bioString(out.get());
  info.common_name = nameEntry(X509_REQ_get_subject_name(req.get()), NID_commonName);
  return info;
}

// ---------------------------------------------------------------------------------------------
// Certificates

StatusOr<std::string> IssueCertificate(const CertificateRequest& request,
                                       const std::string& subject_public_key_pem,
                                       const Key& issuer_key, const std::string& issuer_cert_pem) {
  HEARTH_ASSIGN_OR_RETURN(Key subject, Key::fromPem(subject_public_key_pem, true));
  auto* issuer_pkey = static_cast<EVP_PKEY*>(issuer_key.raw());
  if (issuer_pkey == nullptr) return FailedPreconditionError("no issuer key");
  X509Ptr issuer;
  if (!issuer_cert_pem.empty()) {
    HEARTH_ASSIGN_OR_RETURN(issuer, readCert(issuer_cert_pem));
    if (X509_check_private_key(issuer.get(), issuer_pkey) != 1) {
      ERR_clear_error();
      return InvalidArgumentError("issuer key does not match the issuer certificate");
    }
  }
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) return sslError("new certificate");

  uint64_t serial = request.serial;
  if (serial == 0) {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial) != 1) {
      return sslError("random serial");
    }
    serial &= 0x7FFFFFFFFFFFFFFFULL;  // positive
    if (serial == 0) serial = 1;
  }
  if (ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial) != 1) {
    return sslError("set serial");
  }
  if (ASN1_TIME_set(X509_getm_notBefore(cert.get()),
                    std::chrono::system_clock::to_time_t(request.not_before)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()),
                    std::chrono::system_clock::to_time_t(request.not_after)) == nullptr) {
    return sslError("set validity");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(
          name, "CN", MBSTRING_UTF8,
          reinterpret_cast<const unsigned char*>(request.common_name.c_str()), -1, -1, 0) != 1) {
    return sslError("set subject");
  }
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer.get()) : name);
  if (X509_set_pubkey(cert.get(), static_cast<EVP_PKEY*>(subject.raw())) != 1) {
    return sslError("set public key");
  }
  X509* issuer_raw = issuer ? issuer.get() : cert.get();
  if (request.is_ca) {
    HEARTH_RETURN_IF_ERROR(
        addExtension(cert.get(), issuer_raw, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
    HEARTH_RETURN_IF_ERROR(
        addExtension(cert.get(), issuer_raw, NID_key_usage, "critical,keyCertSign,cRLSign"));
  } else {
    HEARTH_RETURN_IF_ERROR(
        addExtension(cert.get(), issuer_raw, NID_basic_constraints, "critical,CA:FALSE"));
    HEARTH_RETURN_IF_ERROR(
        addExtension(cert.get(), issuer_raw, NID_key_usage, "critical,digitalSignature"));
    std::string eku;
    if (request.server_auth) eku = "serverAuth";
    if (request.client_auth) eku += std::string(eku.empty() ? "" : ",") + "clientAuth";
    if (!eku.empty()) {
      HEARTH_RETURN_IF_ERROR(addExtension(cert.get(), issuer_raw, NID_ext_key_usage, eku));
    }
  }
  HEARTH_RETURN_IF_ERROR(addExtension(cert.get(), issuer_raw, NID_subject_key_identifier, "hash"));
  if (issuer) {
    HEARTH_RETURN_IF_ERROR(
        addExtension(cert.get(), issuer_raw, NID_authority_key_identifier, "keyid:always"));
  }
  std::string san;
  for (const auto& d : request.dns_names) san += (san.empty() ? "" : ",") + ("DNS:" + d);
  for (const auto& ip : request.ip_addresses) san += (san.empty() ? "" : ",") + ("IP:" + ip);
  if (!san.empty()) {
    HEARTH_RETURN_IF_ERROR(addExtension(cert.get(), issuer_raw, NID_subject_alt_name, san));
  }
  if (X509_sign(cert.get(), issuer_pkey, digestFor(issuer_pkey)) <= 0) {
    return sslError("sign certificate");
  }
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(bio.get(), cert.get()) != 1) return sslError("write certificate");
  return bioString(bio.get());
}

namespace {
std::string serialHex(const X509* cert) {
  std::string out;
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  if (bn != nullptr) {
    char* hex = BN_bn2hex(bn);
    if (hex != nullptr) {
      out = hex;
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }
  return out;
}

// Hex SHA-256 of the certificate's SubjectPublicKeyInfo, DER as encoded in the certificate.
StatusOr<std::string> spkiSha256(const X509* cert) {
  unsigned char* der = nullptr;
  int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  if (len <= 0 || der == nullptr) return sslError("encode the certificate's public key");
  std::string hash =
      Sha256Hex(std::string_view(reinterpret_cast<const char*>(der), static_cast<size_t>(len)));
  OPENSSL_free(der);
  return hash;
}
}  // namespace

StatusOr<CertificateInfo> CertificateIdentity(const void* x509) {
  const auto* cert = static_cast<const X509*>(x509);
  if (cert == nullptr) return InvalidArgumentError("no certificate");
  CertificateInfo info;
  info.common_name = nameEntry(X509_get_subject_name(cert), NID_commonName);
  info.serial_hex = serialHex(cert);
  info.not_before = asn1Time(X509_get0_notBefore(cert));
  info.not_after = asn1Time(X509_get0_notAfter(cert));
  HEARTH_ASSIGN_OR_RETURN(info.spki_sha256, spkiSha256(cert));
  return info;
}

StatusOr<bool> CertificateHasKey(const void* x509, const std::string& public_key_pem) {
  const auto* cert = static_cast<const X509*>(x509);
  if (cert == nullptr) return InvalidArgumentError("no certificate");
  HEARTH_ASSIGN_OR_RETURN(Key key, Key::fromPem(public_key_pem, true));
  const EVP_PKEY* mine = X509_get0_pubkey(cert);
  if (mine == nullptr) {
    ERR_clear_error();
    return InvalidArgumentError("certificate has no usable public key");
  }
  int same = EVP_PKEY_eq(mine, static_cast<EVP_PKEY*>(key.raw()));
  ERR_clear_error();
  return same == 1;
}

StatusOr<CertificateInfo> ParseCertificate(std::string_view cert_pem) {
  HEARTH_ASSIGN_OR_RETURN(X509Ptr cert, readCert(cert_pem));
  CertificateInfo info;
  info.common_name = nameEntry(X509_get_subject_name(cert.get()), NID_commonName);
  info.serial_hex = serialHex(cert.get());
  info.not_before = asn1Time(X509_get0_notBefore(cert.get()));
  info.not_after = asn1Time(X509_get0_notAfter(cert.get()));
  HEARTH_ASSIGN_OR_RETURN(info.spki_sha256, spkiSha256(cert.get()));
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PUBKEY(bio.get(), X509_get0_pubkey(cert.get())) == 1) {
    info.public_key_pem = bioString(bio.get());
  }
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
  if (names != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
      if (n->type == GEN_DNS) {
        const ASN1_STRING* a = n->d.dNSName;
        info.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(a)),
                                    static_cast<size_t>(ASN1_STRING_length(a)));
      } else if (n->type == GEN_IPADD) {
        const ASN1_OCTET_STRING* a = n->d.iPAddress;
        char text[INET6_ADDRSTRLEN] = {};
        int len = ASN1_STRING_length(a);
        int family = len == 4 ? AF_INET : len == 16 ? AF_INET6 : 0;
        if (family != 0 &&
            ::inet_ntop(family, ASN1_STRING_get0_data(a), text, sizeof(text)) != nullptr) {
          info.ip_addresses.emplace_back(text);
        }
      }
    }
    GENERAL_NAMES_free(names);
  }
  return info;
}

Status VerifyCertificate(std::string_view cert_pem, std::string_view ca_cert_pem,
                         std::chrono::system_clock::time_point at) {
  HEARTH_ASSIGN_OR_RETURN(X509Ptr cert, readCert(cert_pem));
  HEARTH_ASSIGN_OR_RETURN(X509Ptr ca, readCert(ca_cert_pem));
  std::unique_ptr<X509_STORE, StoreDeleter> store(X509_STORE_new());
  std::unique_ptr<X509_STORE_CTX, StoreCtxDeleter> ctx(X509_STORE_CTX_new());
  if (!store || !ctx || X509_STORE_add_cert(store.get(), ca.get()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1) {
    return sslError("certificate store");
  }
  X509_STORE_CTX_set_time(ctx.get(), 0, std::chrono::system_clock::to_time_t(at));
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return PermissionDeniedError(std::string("certificate does not verify: ") +
                                 X509_verify_cert_error_string(err));
  }
  return OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Signatures, encodings, randomness

StatusOr<std::string> SignEd25519(const Key& key, std::string_view data) {
  auto* pkey = static_cast<EVP_PKEY*>(key.raw());
  if (pkey == nullptr || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
    return InvalidArgumentError("not an Ed25519 private key");
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  unsigned char sig[64];
  size_t siglen = sizeof sig;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey) != 1 ||
      EVP_DigestSign(ctx.get(), sig, &siglen, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1) {
    return sslError("Ed25519 sign");
  }
  return Base64Encode(std::string_view(reinterpret_cast<char*>(sig), siglen));
}

Status VerifyEd25519(const Key& public_key, std::string_view data, std::string_view signature_b64) {
  auto* pkey = static_cast<EVP_PKEY*>(public_key.raw());
  if (pkey == nullptr || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
    return InvalidArgumentError("not an Ed25519 public key");
  }
  HEARTH_ASSIGN_OR_RETURN(std::string sig, Base64Decode(signature_b64));
  if (sig.size() != 64) return PermissionDeniedError("signature has the wrong length");
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey) != 1) {
    return sslError("Ed25519 verify");
  }
  int ok =
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                       reinterpret_cast<const unsigned char*>(data.data()), data.size());
  ERR_clear_error();
  if (ok != 1) return PermissionDeniedError("signature does not verify");
  return OkStatus();
}

// Base64, SHA-256 and randomness: encoding.cc (no OpenSSL).

}  // namespace hearth::protocol
