// The device certificate's lifetime on the PC: its validity (kept in device-cert.json, so the
// daemon schedules renewal without parsing X.509), when to renew it, and the crash-safe
// replacement of key, certificate and validity after a renewal (certificates.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "hearth/status.h"

namespace hearth::agent {

// A device certificate's validity, in seconds since the epoch.
struct CertValidity {
  int64_t not_before = 0;
  int64_t not_after = 0;
};

// What POST /api/v1/renew gave: a new key (made on this side of the network, never sent) and its
// certificate, already checked to carry that key and this device's id.
struct RenewedCertificate {
  std::string key_pem;   // PKCS#8 private key: store with mode 0600
  std::string cert_pem;  // issued by the device CA
  std::string ca_pem;    // the server TLS CA the server named (informational)
  CertValidity validity;
};

// device-cert.json. NotFound when absent (a state directory from before renewal existed).
StatusOr<CertValidity> LoadCertValidity(const std::string& state_dir);
Status StoreCertValidity(const std::string& state_dir, const CertValidity& validity);

// The agent renews at most once in this interval (its own clock, since the certificate in use
// was stored), unless the certificate expires within kRenewalGrace; the server refuses a renewal
// sooner after the last one the same way (docs/certificates.md "Clocks").
inline constexpr std::chrono::hours kMinRenewalInterval{24};
inline constexpr std::chrono::hours kRenewalGrace{24 * 7};

// When the certificate in use was stored (device-cert.json's modification time, by this PC's
// clock): at enrolment or at the last renewal. nullopt when unknown.
std::optional<std::chrono::system_clock::time_point> CertificateStoredAt(
    const std::string& state_dir);

// When renewal is due: at half of the certificate's life.
std::chrono::system_clock::time_point RenewalTime(const CertValidity& validity);
std::chrono::system_clock::time_point ExpiryTime(const CertValidity& validity);

// Replaces device.key, device.pem and device-cert.json together, crash-safe: all three new files
// are written durably as *.next (device.pem.next last: its presence means the set is complete),
// then renamed over the old ones (key first). A crash at any point leaves either the old set
// (plus incomplete *.next files) or a complete *.next set that RecoverCertificateRenewal finishes:
// never a key with another key's certificate.
Status InstallRenewedCertificate(const std::string& state_dir, const RenewedCertificate& renewed);
// Finishes or discards what a crash left of InstallRenewedCertificate. Call with the state
// directory locked, before reading the key or the certificate. Returns true when it finished an
// installation.
StatusOr<bool> RecoverCertificateRenewal(const std::string& state_dir);

}  // namespace hearth::agent
