// The agent's state directory (default /var/lib/hearth):
//   device.key (0600)        the device's P-256 key; never leaves the PC
//   device.pem               its certificate from the server's device CA
//   device-cert.json         that certificate's validity (not_before/not_after), so the daemon
//                            schedules renewal without parsing X.509
//   device.key.next, device-cert.json.next, device.pem.next
//                            a renewal being installed (InstallRenewedCertificate)
//   server-ca.pem            the server CA given at enrolment (--ca-file), if any
//   policy-signing.pub       the key that signs policies, pinned at enrolment
//   policy-signing.next.pub  the next one, announced by the server in a policy signed with the
//                            pinned key; it replaces the pinned one when it first signs a policy
//   enrollment.json          server URL, device id, pin; nothing secret
//   server-pins.json         further server key pins the server announced in a signed policy
//                            (server key rotation); accepted beside the pin of enrollment.json
//   policy.signed.json       the last good signed policy (verified before use)
//   sequence                 the next report sequence number (NextSequence)
//   spool/                   reports not yet acknowledged, by sequence (spool.h,
//                            docs/agent-spool.md)
//   sent/ (0700)             copies of the last reports the server acknowledged (SentHistory in
//                            spool.h), re-sent to a server restored from an older backup
//   last-report.json (0644)  the last report the server acknowledged, byte for byte
//   status.json (0644)       what `hearth-agent status` shows, readable without root
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hearth/agent/spool.h"
#include "hearth/agent/transport.h"
#include "hearth/json.h"
#include "hearth/policy.h"
#include "hearth/status.h"

namespace hearth::agent {

struct AgentPaths {
  std::string dir, device_key, device_cert, cert_info, server_ca, signing_pub, signing_next,
      server_pins, enrollment, policy, sequence, spool, sent, last_report, status;
};
AgentPaths AgentPathsFor(const std::string& state_dir);

struct Enrollment {
  std::string server;  // https://host:port
  std::string device_id;
  std::string pin;      // sha256//... or ""
  bool has_ca = false;  // server-ca.pem present
  std::string enrolled_at;
  std::string owner;

  json::Value toJson() const;
  static StatusOr<Enrollment> fromJson(const json::Value& v, const std::string& source);
};

// NotFound when this PC is not enrolled.
StatusOr<Enrollment> LoadEnrollment(const std::string& state_dir);

// The announced server pins (server-pins.json), oldest first; empty when none.
std::vector<std::string> LoadAnnouncedPins(const std::string& state_dir);
// Adds `pins` not yet known (keeping the newest 8). Returns whether any was new.
StatusOr<bool> AddAnnouncedPins(const std::string& state_dir, const std::vector<std::string>& pins);
// The curl pin list for an enrolment with a pin: the enrolled pin and the announced ones,
// separated by ';'. "" when the enrolment has no pin (a CA file is trusted instead).
std::string PinList(const Enrollment& enrollment, const std::vector<std::string>& announced);

struct EnrollOptions {
  std::string state_dir;
  std::string server;  // https://host:port
  std::string secret_file;
  std::string ca_file;  // one of ca_file / pin
  std::string pin;
  std::string owner;
  std::string hostname;
  std::string proxy;
  // As root, the network exchange runs in a child dropped to this account (else "nobody").
  std::string service_user = "hearth";
};

// Enrols this PC (see `hearth-agent enroll`). Idempotent: enrolled to the same server already →
// OK with the existing enrollment; to another server → FailedPrecondition.
StatusOr<Enrollment> Enroll(const EnrollOptions& options);

// Spool, SpoolOptions and NextSequence live in spool.h (included above).

// --- The device certificate's lifetime ---------------------------------------------------------

// device-cert.json. NotFound when absent (a state directory from before renewal existed).
StatusOr<CertValidity> LoadCertValidity(const std::string& state_dir);
Status StoreCertValidity(const std::string& state_dir, const CertValidity& validity);

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
