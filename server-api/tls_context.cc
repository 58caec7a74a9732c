// The listeners' TLS contexts: Poco's Context with OpenSSL adjustments (a previous device CA,
// expired device certificates for renewal). Poco's exceptions become a Status here.
#include "tls_context.h"

#include <string>

#include <Poco/Exception.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "hearth/protocol/crypto.h"

namespace hearth::server {

namespace {

// Throws Poco exceptions (a certificate or key that cannot be loaded).
Poco::Net::Context::Ptr newContext(const ServerPaths& paths, bool devices) {
  Poco::Net::Context::Params p;
  p.privateKeyFile = paths.server_key;
  p.certificateFile = paths.server_cert;
  p.loadDefaultCAs = false;
  p.cipherList = protocol::kTls12CipherList;
  if (devices) {
    p.caLocation = paths.device_ca_cert;
    // Ask for a client certificate and verify any that is sent; enrolment alone works
    // without one (checked per request).
    p.verificationMode = Poco::Net::Context::VERIFY_RELAXED;
    p.verificationDepth = 2;
  } else {
    p.verificationMode = Poco::Net::Context::VERIFY_NONE;
  }
  Poco::Net::Context::Ptr ctx = new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, p);
  ctx->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
  ctx->preferServerCiphers();
  // Poco would match the *client* certificate against the client's address: off (poco#4475).
  ctx->enableExtendedCertificateVerification(false);
  ctx->disableStatelessSessionResumption();
  return ctx;
}

// A device CA rollover: certificates of the previous CA (PEM) are accepted too.
Status trustPreviousDeviceCa(Poco::Net::Context& ctx, const std::string& pem,
                             const std::string& path) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* old_ca = bio != nullptr ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
  if (old_ca == nullptr ||
      X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.sslContext()), old_ca) != 1) {
    if (old_ca != nullptr) X509_free(old_ca);
    if (bio != nullptr) BIO_free(bio);
    return FailedPreconditionError("cannot trust the previous device CA (" + path + ")");
  }
  X509_free(old_ca);
  BIO_free(bio);
  return OkStatus();
}

}  // namespace

StatusOr<Poco::Net::Context::Ptr> NewDeviceTlsContext(const ServerPaths& paths,
                                                      const ServerKeys& keys,
                                                      std::chrono::seconds reenroll_expired) {
  Poco::Net::Context::Ptr ctx;
  try {
    ctx = newContext(paths, true);
  } catch (const Poco::Exception& e) {
    return UnavailableError(e.displayText());
  }
  if (!keys.old_device_ca_cert.empty()) {
    HEARTH_RETURN_IF_ERROR(
        trustPreviousDeviceCa(*ctx, keys.old_device_ca_cert, paths.device_ca_old_cert));
  }
  if (reenroll_expired.count() > 0) {
    // A device certificate that expired is let through the handshake (and only that: any
    // other verification error still fails it) so that POST /api/v1/renew can recover the
    // device; every other path refuses it (authenticate).
    SSL_CTX_set_verify(ctx->sslContext(), SSL_VERIFY_PEER, [](int ok, X509_STORE_CTX* x509) {
      if (ok == 1) return 1;
      return X509_STORE_CTX_get_error(x509) == X509_V_ERR_CERT_HAS_EXPIRED &&
                     X509_STORE_CTX_get_error_depth(x509) == 0
                 ? 1
                 : 0;
    });
  }
  return ctx;
}

StatusOr<Poco::Net::Context::Ptr> NewAdminTlsContext(const ServerPaths& paths) {
  try {
    return newContext(paths, false);
  } catch (const Poco::Exception& e) {
    return UnavailableError(e.displayText());
  }
}

}  // namespace hearth::server
