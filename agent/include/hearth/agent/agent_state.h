// The agent's state directory (default /var/lib/hearth):
//   device.key (0600)        the device's P-256 key; never leaves the PC
//   device.pem               its certificate from the server's device CA
//   server-ca.pem            the server CA given at enrolment (--ca-file), if any
//   policy-signing.pub       the key that signs policies, pinned at enrolment
//   enrollment.json          server URL, device id, pin; nothing secret
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
#include "hearth/json.h"
#include "hearth/policy.h"
#include "hearth/status.h"

namespace hearth::agent {

struct AgentPaths {
  std::string dir, device_key, device_cert, server_ca, signing_pub, enrollment, policy, sequence,
      spool, sent, last_report, status;
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

}  // namespace hearth::agent
