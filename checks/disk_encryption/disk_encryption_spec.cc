// disk_encryption's policy part (check_spec.h): its id and wording; no settings of its own.
#include "disk_encryption/disk_encryption.h"
#include "hearth/i18n.h"

namespace hearth::checks {

CheckSpec DiskEncryptionCheckEntry(PolicyPart) {
  return {.id = kDiskEncryptionCheckId,
          .wording = {N_("Disk encryption"), N_("Disk encryption needs attention")}};
}

}  // namespace hearth::checks
