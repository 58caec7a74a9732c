// disk_encryption's agent entry (check_registry.h): its policy part and factory.
#include "disk_encryption/disk_encryption.h"

namespace hearth::checks {

CheckEntry DiskEncryptionCheckEntry(AgentPart) {
  return {.spec = DiskEncryptionCheckEntry(kPolicyPart),
          .make = [] { return NewDiskEncryptionCheck(); }};
}

}  // namespace hearth::checks
