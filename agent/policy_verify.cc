// The signed policy as the root side takes it (see policy_verify.h).
#include "hearth/agent/policy_verify.h"

#include <utility>

#include "hearth/protocol/crypto.h"  // Base64Decode: encoding.cc, no OpenSSL

namespace hearth::agent {

StatusOr<VerifiedPolicy> PolicyFromVerifiedEnvelope(const std::string& envelope,
                                                    int64_t min_version) {
  HEARTH_ASSIGN_OR_RETURN(protocol::SignedPolicy sp, protocol::SignedPolicy::parse(envelope));
  HEARTH_ASSIGN_OR_RETURN(std::string bytes, protocol::Base64Decode(sp.policy_b64));
  HEARTH_ASSIGN_OR_RETURN(Policy policy, ParsePolicy(bytes, "the server's policy"));
  HEARTH_RETURN_IF_ERROR(CheckPolicyVersion(sp, policy.version, policy.level, min_version));
  return VerifiedPolicy{std::move(policy), std::move(bytes), 0, std::nullopt};
}

std::optional<protocol::PolicyAnnouncement> AnnouncementOf(const std::string& envelope) {
  auto sp = protocol::SignedPolicy::parse(envelope);
  if (!sp.ok() || sp->announcement_b64.empty()) return std::nullopt;
  auto ann = protocol::Base64Decode(sp->announcement_b64);
  if (!ann.ok()) return std::nullopt;
  auto parsed = protocol::PolicyAnnouncement::parse(*ann);
  if (!parsed.ok()) return std::nullopt;
  return std::move(parsed).value();
}

}  // namespace hearth::agent
