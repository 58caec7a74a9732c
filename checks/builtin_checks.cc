// The built-in checks, in report order. One line per check; no static self-registration.
#include "disk_encryption/disk_encryption.h"
#include "hearth/check.h"
#include "os_patches/os_patches.h"
#include "screen_lock/screen_lock.h"
#include "vpn/vpn.h"

namespace hearth {

std::vector<std::unique_ptr<Check>> BuiltinChecks() {
  std::vector<std::unique_ptr<Check>> checks;
  checks.push_back(checks::NewDiskEncryptionCheck());
  checks.push_back(checks::NewVpnCheck());
  checks.push_back(checks::NewOsPatchesCheck());
  checks.push_back(checks::NewScreenLockCheck());
  return checks;
}

}  // namespace hearth
