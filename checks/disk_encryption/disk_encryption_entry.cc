// disk_encryption's registry entry (check_registry.h): its wording and factory.
#include "disk_encryption/disk_encryption.h"

namespace hearth::checks {

CheckEntry DiskEncryptionCheckEntry() {
  return {.id = kDiskEncryptionCheckId,
          .wording = {"Disk encryption", "Disk encryption needs attention"},
          .make = [] { return NewDiskEncryptionCheck(); }};
}

}  // namespace hearth::checks
