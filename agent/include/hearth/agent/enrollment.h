// Enrolment: how this PC is known to the company's server (enrollment.json: server, device id,
// pin), the server key pins it accepts, and `hearth-agent enroll` itself. The key, the CSR and
// every byte from the network are handled by hearth-upload (uploader.h), unprivileged; this side
// only reads and writes the state directory.
#pragma once

#include <string>
#include <vector>

#include "hearth/json.h"
#include "hearth/status.h"

namespace hearth::agent {

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
  // As root, the network side (hearth-upload) runs as this account (else "nobody").
  std::string service_user = "hearth";
};

// Enrols this PC (see `hearth-agent enroll`). Idempotent: enrolled to the same server already →
// OK with the existing enrollment; to another server → FailedPrecondition.
StatusOr<Enrollment> Enroll(const EnrollOptions& options);

}  // namespace hearth::agent
