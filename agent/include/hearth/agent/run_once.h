// One agent cycle (`hearth-agent run --once`): refresh the signed policy, run the checks, spool
// the filtered report durably, then deliver the whole spool in sequence order until it is empty
// or the first failure. The reports stay spooled when the server is unreachable.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

#include "hearth/agent/config.h"
#include "hearth/json.h"
#include "hearth/policy.h"
#include "hearth/protocol/wire.h"
#include "hearth/status.h"

namespace hearth::agent {

struct CycleOptions {
  std::string state_dir;
  AgentConfig config;            // policy fallback, proxy, timeouts, spool bounds, service_user
  bool uploader_process = true;  // the network side in the unprivileged uploader process
  bool isolate_checks = true;    // the checks in a disposable child process
};

struct CycleOutcome {
  bool checked = false;
  int64_t sequence = 0;
  size_t delivered = 0;
  size_t spool_depth = 0;
  std::string delivery_error;  // empty when the spool was emptied
  bool retired = false;        // the server says this device is retired
};

StatusOr<CycleOutcome> RunCycle(const CycleOptions& options, std::ostream& log);

// Verifies a signed policy envelope against the pinned key; refuses versions older than
// `min_version`. `public_key_pem` may hold several PEM public keys (the pinned one first, then one
// announced as next): the first that verifies the signature counts. Returns the policy, its exact
// bytes, which key verified it, and the envelope's announcement when that same key signed it
// (an announcement that does not verify is dropped, never an error).
struct VerifiedPolicy {
  Policy policy;
  std::string bytes;
  size_t key_index = 0;
  std::optional<protocol::PolicyAnnouncement> announcement;
};
StatusOr<VerifiedPolicy> VerifySignedPolicy(const std::string& envelope,
                                            const std::string& public_key_pem, int64_t min_version);
// The same without the signature (key_index 0, no announcement): for bytes identical to an
// envelope this agent already verified (the last good policy it saved after its own check).
// Still strict: the document is parsed as a policy, must match the envelope, and must not be
// older than `min_version`.
StatusOr<VerifiedPolicy> PolicyFromVerifiedEnvelope(const std::string& envelope,
                                                    int64_t min_version);

// `hearth-agent status`: plain words, or the status.json object with --json.
int PrintStatus(const std::string& state_dir, bool as_json, std::ostream& out, std::ostream& err);
// `hearth-agent show-report`: the last acknowledged report, byte for byte.
int PrintLastReport(const std::string& state_dir, std::ostream& out, std::ostream& err);

}  // namespace hearth::agent
