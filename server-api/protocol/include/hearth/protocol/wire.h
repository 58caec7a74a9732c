// The wire types shared by hearth-agent and hearth-server (ARCHITECTURE.md "HTTP API"), with
// strict parsing: bounded sizes and depth, exact types, unknown fields ignored only where the
// contract says fields may be added (the check result), refused elsewhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/json.h"
#include "hearth/status.h"

namespace hearth::protocol {

constexpr size_t kMaxBodyBytes = 1 << 20;  // every request and response body
constexpr size_t kMaxJsonDepth = 32;
constexpr int64_t kMaxDropped = 1000000000;
// Strings a person gives, counted in characters (text::validatePersonText checks them all).
constexpr size_t kMaxHostnameChars = 253;
constexpr size_t kMaxOwnerChars = 256;  // a device's or an enrolment secret's owner
constexpr size_t kMaxNameChars = 256;   // an admin token's name

// POST /api/v1/enroll
struct EnrollRequest {
  std::string enroll_secret;
  std::string csr;  // PEM
  std::string hostname;
  std::optional<std::string> owner;

  json::Value toJson() const;
  static StatusOr<EnrollRequest> parse(std::string_view body);
};

struct EnrollResponse {
  std::string device_id;
  std::string certificate;        // PEM, issued by the device CA
  std::string ca_certificate;     // PEM of the server TLS CA the agent pins
  std::string policy_public_key;  // PEM Ed25519 public key that signs policies

  json::Value toJson() const;
  static StatusOr<EnrollResponse> parse(std::string_view body);
};

// POST /api/v1/renew (client certificate required): a CSR for a NEW key of the same device.
struct RenewRequest {
  std::string csr;  // PEM

  json::Value toJson() const;
  static StatusOr<RenewRequest> parse(std::string_view body);
};

struct RenewResponse {
  std::string certificate;              // PEM, issued by the device CA for the CSR's key
  std::string ca_certificate;           // PEM of the server TLS CA (as in EnrollResponse)
  std::string not_after;                // RFC 3339: when the new certificate expires
  std::string device_ca_certificate{};  // PEM of the device CA that issued it (optional)

  json::Value toJson() const;
  static StatusOr<RenewResponse> parse(std::string_view body);
};

// GET /api/v1/policy: the policy document's exact bytes, base64, and an Ed25519 signature of them.
struct SignedPolicy {
  std::string level;
  int64_t version = 0;
  std::string policy_b64;
  std::string signature_b64;
  // Optional: what agents should trust next, announced in advance (key rotation): a JSON
  // document's exact bytes (base64; see PolicyAnnouncement) and its Ed25519 signature by the same
  // key that signed the policy. Agents before this field ignore it.
  std::string announcement_b64{};
  std::string announcement_signature_b64{};

  json::Value toJson() const;
  static StatusOr<SignedPolicy> parse(std::string_view body);
};

// The signed announcement inside a SignedPolicy: {"next_policy_key": PEM?, "server_pins":
// ["sha256//..."]?}. Unknown fields are ignored (more may be announced later).
struct PolicyAnnouncement {
  std::string next_policy_key;           // Ed25519 public key PEM that will sign policies; "" none
  std::vector<std::string> server_pins;  // extra server public-key pins to accept

  json::Value toJson() const;
  static StatusOr<PolicyAnnouncement> parse(std::string_view bytes);
};

// A report's `result` as the server stores it (issue 12: a 1 MiB `[{},{},...]` parsed again on
// every read cost 35 MB each). Far above a real report: `hearth-agent check --json` on a Debian
// 12 development machine with the example policy is 22 KB of compact JSON, 934 values, depth 9
// (os_patches' evidence is 18.7 KB and 818 values of it). What parsing a result costs grows with
// its values (40 to 70 bytes each), not its bytes; its bytes are bounded by the body's 1 MiB
// (a slow uplink's 649 KB report of issue 13 is one). The agent sends a result beyond them
// without its evidence; the server refuses one with 413 `result_too_large` (docs/server.md
// "Report limits").
constexpr size_t kMaxResultValues = 50000;  // JSON values in it, containers and scalars
constexpr size_t kMaxResultDepth = 24;      // nesting, the result object itself is 1

// OK when `result` is within the two bounds above; ResourceExhausted naming the first one it
// exceeds otherwise.
Status CheckResultBounds(const json::Value& result);

// POST /api/v1/reports
struct ReportEnvelope {
  std::string report_id;  // RFC 4122 UUID, lower case
  int64_t sequence = 0;   // per device, from 1
  std::string sent_at;    // RFC 3339
  std::string agent_version;
  std::string machine_id;  // hex SHA-256 of /etc/machine-id (never the raw id)
  json::Value result;      // the (privacy-filtered) `check --json` object
  // Optional: the sender's device id. The server takes the id from the client certificate and
  // refuses a body that names another device.
  std::optional<std::string> device_id;
  // Optional: how many reports the sender's spool dropped (overflow) that no earlier acknowledged
  // report counted,
  // 0 to kMaxDropped. The server adds it to the device's "reports_dropped".
  std::optional<int64_t> dropped;

  json::Value toJson() const;
  // Validates the envelope and the shape of `result` (compliant, level, policy_version,
  // evaluated_at, host, checks[] with id/verdict/required/summary); a result beyond
  // CheckResultBounds is ResourceExhausted.
  static StatusOr<ReportEnvelope> parse(std::string_view body);
};

bool IsUuid(std::string_view s);

}  // namespace hearth::protocol
