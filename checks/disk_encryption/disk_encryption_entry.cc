// disk_encryption's registry entry (check_registry.h): names and factory.
#include "disk_encryption/disk_encryption.h"

namespace hearth::checks {

CheckEntry DiskEncryptionCheckEntry() {
  CheckEntry e;
  e.id = kDiskEncryptionCheckId;
  e.name = "Disk encryption";
  e.notification_title = "Disk encryption needs attention";
  e.make = [] { return NewDiskEncryptionCheck(); };
  return e;
}

}  // namespace hearth::checks
