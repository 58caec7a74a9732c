// The agent's state directory (default /var/lib/hearth):
//   device.key (0600)        the device's P-256 key; never leaves the PC
//   device.pem               its certificate from the server's device CA
//   server-ca.pem            the server CA given at enrolment (--ca-file), if any
//   policy-signing.pub       the key that signs policies, pinned at enrolment
//   enrollment.json          server URL, device id, pin; nothing secret
//   policy.signed.json       the last good signed policy (verified before use)
//   sequence                 the next report sequence number
//   spool/NNNNNNNNNNNNNNNNNNNN.json   reports not yet acknowledged, by sequence
//   last-report.json (0644)  the last report the server acknowledged, byte for byte
//   status.json (0644)       what `hearth-agent status` shows, readable without root
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hearth/json.h"
#include "hearth/policy.h"
#include "hearth/status.h"

namespace hearth::agent {

struct AgentPaths {
  std::string dir, device_key, device_cert, server_ca, signing_pub, enrollment, policy, sequence,
      spool, last_report, status;
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
};

// Enrols this PC (see `hearth-agent enroll`). Idempotent: enrolled to the same server already →
// OK with the existing enrollment; to another server → FailedPrecondition.
StatusOr<Enrollment> Enroll(const EnrollOptions& options);

// The durable report queue: one file per report, named by sequence, written atomically.
class Spool {
 public:
  Spool(std::string dir, size_t max_reports = 10000, size_t max_bytes = 20 << 20);
  // Stores `envelope` (its bytes exactly as they will be sent) under `sequence`. When the spool
  // is full, the oldest reports are dropped (counted in dropped()).
  Status append(int64_t sequence, const std::string& envelope);
  // Sequences in the spool, ascending.
  StatusOr<std::vector<int64_t>> list() const;
  StatusOr<std::string> read(int64_t sequence) const;
  Status remove(int64_t sequence);
  size_t depth() const;
  int64_t dropped() const { return dropped_; }

 private:
  std::string pathFor(int64_t sequence) const;
  std::string dir_;
  size_t max_reports_;
  size_t max_bytes_;
  int64_t dropped_ = 0;
};

// Allocates the next report sequence number durably (never reused, even after a crash).
StatusOr<int64_t> NextSequence(const std::string& state_dir);

}  // namespace hearth::agent
