// The built-in checks, in report order: the one list of them, one line each.
//
// `part` selects what each line returns: kPolicyPart, the check's CheckSpec (its `_spec.cc`, in
// hearth_policy: BuiltinCheckSpecs()); kAgentPart, its CheckEntry (its `_entry.cc`, in
// hearth_checks: BuiltinChecks()). So a program that only validates policies (the server) links
// no check's collectors or parsers.
#pragma once

#include <cstdlib>
#include <utility>
#include <vector>

#include "disk_encryption/disk_encryption.h"
#include "os_patches/os_patches.h"
#include "screen_lock/screen_lock.h"
#include "vpn/vpn.h"

namespace hearth::checks {

template <typename Part>
auto BuiltinCheckList(Part part) {
  return std::vector{
      DiskEncryptionCheckEntry(part),
      VpnCheckEntry(part),
      OsPatchesCheckEntry(part),
      ScreenLockCheckEntry(part),
  };
}

// A registry (CheckSpecRegistry or CheckRegistry) of the list's `part`s.
template <typename Registry, typename Part>
Registry BuiltinRegistry(Part part) {
  Registry registry;
  for (auto& entry : BuiltinCheckList(part)) {
    // A broken built-in entry is a programming error.
    if (!registry.add(std::move(entry)).ok()) std::abort();
  }
  return registry;
}

}  // namespace hearth::checks
