// disk_encryption's policy part (check_spec.h): its id and wording; no settings of its own.
#include "disk_encryption/disk_encryption.h"

namespace hearth::checks {

CheckSpec DiskEncryptionCheckEntry(PolicyPart) {
  return {.id = kDiskEncryptionCheckId,
          .wording = {"Disk encryption", "Disk encryption needs attention"}};
}

}  // namespace hearth::checks
