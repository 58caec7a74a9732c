// A policy's version against its envelope and the version in force (see policy_verify.h). On its
// own: hearth-upload links this without the policy parser and the checks behind it.
#include "hearth/agent/policy_verify.h"

namespace hearth::agent {

Status CheckPolicyVersion(const protocol::SignedPolicy& sp, int64_t version,
                          const std::string& level, int64_t min_version) {
  if (version != sp.version || level != sp.level) {
    return PermissionDeniedError("policy envelope does not match the signed document");
  }
  if (version < min_version) {
    return PermissionDeniedError("the server offered policy version " + std::to_string(version) +
                                 ", older than version " + std::to_string(min_version) +
                                 " already in force");
  }
  return OkStatus();
}

}  // namespace hearth::agent
