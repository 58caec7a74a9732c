// The signed policy as the root side takes it: an envelope whose signature was verified (by
// hearth-upload: VerifySignedPolicy in network_side.h, or VerifyPolicyApart in uploader.h) is
// parsed here strictly (the checks' settings too), without any crypto, and refused when it is
// older than the policy in force.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "hearth/policy.h"
#include "hearth/protocol/wire.h"
#include "hearth/status.h"

namespace hearth::agent {

struct VerifiedPolicy {
  Policy policy;
  std::string bytes;     // the policy document, exactly as signed
  size_t key_index = 0;  // which of the keys verified it (0: the pinned one, 1: the announced)
  std::optional<protocol::PolicyAnnouncement> announcement;
};

// For bytes identical to an envelope this agent already verified (the last good policy it saved
// after its own check), or that a verifier process vouched for: the document is parsed as a
// policy, must match the envelope, and must not be older than `min_version`. key_index 0, no
// announcement.
StatusOr<VerifiedPolicy> PolicyFromVerifiedEnvelope(const std::string& envelope,
                                                    int64_t min_version);

// The policy document's version and level (`version`, `level`) against the envelope it came in
// and the version in force: PermissionDenied when they differ or it is older than `min_version`.
// Parses nothing (policy_version.cc): hearth-upload checks a verified policy's freshness with it
// without linking the checks' settings parsers.
Status CheckPolicyVersion(const protocol::SignedPolicy& envelope, int64_t version,
                          const std::string& level, int64_t min_version);

// The announcement an envelope carries, parsed without checking its signature (for a verifier
// that vouched for it); nullopt when there is none or it does not parse.
std::optional<protocol::PolicyAnnouncement> AnnouncementOf(const std::string& envelope);

}  // namespace hearth::agent
