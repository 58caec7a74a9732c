// The agent's side of crypto.h's OpenSSL functions: forwarded to hearth-crypto.so, loaded on first
// use. The daemon process (`hearth-agent run`) calls none of them, so it never maps libcrypto:
// OpenSSL 3 loaded and initialised costs about 3.6 MiB of resident memory, and the daemon lives
// on the PC for years (docs/agent-daemon.md "Memory"). The processes that need keys and
// signatures (the uploader, enrolment, `check`) load the module when they first do.
//
// The module is looked for next to the executable (the build tree) and in ../lib/hearth/
// relative to it (/usr/sbin/hearth-agent -> /usr/lib/hearth/hearth-crypto.so): never through
// the environment or the library search path.
#include <climits>
#include <dlfcn.h>
#include <mutex>
#include <string>
#include <unistd.h>

#include "crypto/crypto_module_api.h"

namespace hearth::protocol {

namespace {

using agent::crypto_module::ApiV1;

struct Loaded {
  const ApiV1* api = nullptr;
  std::string error;
};

std::string executableDir() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  std::string path(buf, static_cast<size_t>(n));
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

Loaded load() {
  Loaded out;
  std::string dir = executableDir();
  if (dir.empty()) {
    out.error = "cannot find the agent's crypto module: /proc/self/exe is unreadable";
    return out;
  }
  std::string tried;
  for (const std::string& path : {dir + "/" + agent::crypto_module::kModuleName,
                                  dir + "/../lib/hearth/" + agent::crypto_module::kModuleName}) {
    if (::access(path.c_str(), R_OK) != 0) {
      tried += (tried.empty() ? "" : ", ") + path;
      continue;
    }
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* e = ::dlerror();
      out.error = "cannot load " + path + ": " + (e ? e : "unknown error");
      return out;
    }
    auto entry =
        reinterpret_cast<const ApiV1* (*)()>(::dlsym(handle, agent::crypto_module::kEntryPoint));
    const ApiV1* api = entry ? entry() : nullptr;
    if (api == nullptr || api->size != sizeof(ApiV1)) {
      out.error = path + " is not this hearth-agent's crypto module (reinstall hearth-agent)";
      return out;
    }
    out.api = api;
    return out;
  }
  out.error =
      "the agent's crypto module is missing (looked for " + tried + "); reinstall hearth-agent";
  return out;
}

const Loaded& loaded() {
  static const Loaded l = load();  // thread-safe, once
  return l;
}

Status unavailable() { return UnavailableError(loaded().error); }

}  // namespace

Key::Key() = default;
Key::~Key() {
  if (pkey_ != nullptr && loaded().api != nullptr) loaded().api->key_free(pkey_);
}
Key::Key(Key&& o) noexcept : pkey_(o.pkey_) { o.pkey_ = nullptr; }
Key& Key::operator=(Key&& o) noexcept {
  if (this != &o) {
    Key old(std::move(*this));
    pkey_ = o.pkey_;
    o.pkey_ = nullptr;
  }
  return *this;
}

namespace {
StatusOr<Key> adopted(StatusOr<void*> p) {
  if (!p.ok()) return p.status();
  return Key::adopt(*p);
}
}  // namespace

#define HEARTH_API_OR_RETURN(api)  \
  const ApiV1* api = loaded().api; \
  if (api == nullptr) return unavailable()

StatusOr<Key> Key::generateP256() {
  HEARTH_API_OR_RETURN(api);
  return adopted(api->key_generate_p256());
}
StatusOr<Key> Key::generateEd25519() {
  HEARTH_API_OR_RETURN(api);
  return adopted(api->key_generate_ed25519());
}
StatusOr<Key> Key::fromPem(std::string_view pem, bool public_only) {
  HEARTH_API_OR_RETURN(api);
  return adopted(api->key_from_pem(pem, public_only));
}
StatusOr<std::string> Key::privatePem() const {
  if (!valid()) return FailedPreconditionError("no key");
  return loaded().api->key_private_pem(pkey_);
}
StatusOr<std::string> Key::publicPem() const {
  if (!valid()) return FailedPreconditionError("no key");
  return loaded().api->key_public_pem(pkey_);
}
StatusOr<std::string> Key::publicKeyPin() const {
  if (!valid()) return FailedPreconditionError("no key");
  return loaded().api->key_public_pin(pkey_);
}

StatusOr<std::string> MakeCsr(const Key& key, const std::string& common_name) {
  if (!key.valid()) return FailedPreconditionError("no key");
  return loaded().api->make_csr(key.raw(), common_name);
}
StatusOr<CsrInfo> VerifyCsr(std::string_view csr_pem) {
  HEARTH_API_OR_RETURN(api);
  return api->verify_csr(csr_pem);
}
StatusOr<std::string> IssueCertificate(const CertificateRequest& request,
                                       const std::string& subject_public_key_pem,
                                       const Key& issuer_key, const std::string& issuer_cert_pem) {
  if (!issuer_key.valid()) return FailedPreconditionError("no issuer key");
  return loaded().api->issue_certificate(request, subject_public_key_pem, issuer_key.raw(),
                                         issuer_cert_pem);
}
StatusOr<CertificateInfo> ParseCertificate(std::string_view cert_pem) {
  HEARTH_API_OR_RETURN(api);
  return api->parse_certificate(cert_pem);
}
StatusOr<CertificateInfo> CertificateIdentity(const void* x509) {
  HEARTH_API_OR_RETURN(api);
  return api->certificate_identity(x509);
}
Status VerifyCertificate(std::string_view cert_pem, std::string_view ca_cert_pem,
                         std::chrono::system_clock::time_point at) {
  HEARTH_API_OR_RETURN(api);
  return api->verify_certificate(cert_pem, ca_cert_pem, at);
}
StatusOr<std::string> SignEd25519(const Key& key, std::string_view data) {
  if (!key.valid()) return FailedPreconditionError("no key");
  return loaded().api->sign_ed25519(key.raw(), data);
}
Status VerifyEd25519(const Key& public_key, std::string_view data, std::string_view signature_b64) {
  if (!public_key.valid()) return InvalidArgumentError("not an Ed25519 public key");
  return loaded().api->verify_ed25519(public_key.raw(), data, signature_b64);
}

}  // namespace hearth::protocol
