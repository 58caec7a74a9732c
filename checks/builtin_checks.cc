// The built-in checks, in report order. One line per check; no static self-registration.
#include <cstdlib>

#include "disk_encryption/disk_encryption.h"
#include "hearth/check_registry.h"
#include "os_patches/os_patches.h"
#include "screen_lock/screen_lock.h"
#include "vpn/vpn.h"

namespace hearth {

namespace {

void addBuiltin(CheckRegistry& registry, CheckEntry entry) {
  Status s = registry.add(std::move(entry));
  if (!s.ok()) std::abort();  // a broken built-in entry is a programming error
}

}  // namespace

CheckRegistry BuiltinChecks() {
  CheckRegistry registry;
  addBuiltin(registry, checks::DiskEncryptionCheckEntry());
  addBuiltin(registry, checks::VpnCheckEntry());
  addBuiltin(registry, checks::OsPatchesCheckEntry());
  addBuiltin(registry, checks::ScreenLockCheckEntry());
  return registry;
}

}  // namespace hearth
