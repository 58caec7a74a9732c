// The names of what became of a report (see transport.h).
#include "hearth/agent/transport.h"

namespace hearth::agent {

const char* PostKindName(PostResult::Kind kind) {
  switch (kind) {
    case PostResult::Kind::kAccepted:
      return "accepted";
    case PostResult::Kind::kRetryLater:
      return "retry_later";
    case PostResult::Kind::kRefused:
      return "refused";
    case PostResult::Kind::kRetired:
      return "retired";
    case PostResult::Kind::kAuthFailed:
      return "auth_failed";
    case PostResult::Kind::kTlsFailure:
      return "tls_failure";
    case PostResult::Kind::kSequenceReused:
      return "sequence_reused";
    case PostResult::Kind::kNetwork:
      return "network";
  }
  return "unknown";
}

}  // namespace hearth::agent
