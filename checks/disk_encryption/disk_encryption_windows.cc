// disk_encryption on Windows: BitLocker's volumes from WMI (Win32_EncryptableVolume, which needs
// an administrator or the service), judged by bitlocker.cc. A namespace that cannot be opened
// (Wine 8: WBEM_E_INVALID_NAMESPACE; a person without rights: access denied) is unknown with the
// reason, never a pass.
#include "disk_encryption/bitlocker.h"
#include "disk_encryption/disk_encryption.h"

namespace hearth::checks {

namespace {

class DiskEncryptionCheck final : public Check {
 public:
  std::string_view id() const override { return kDiskEncryptionCheckId; }

  StatusOr<CheckResult> run(const SystemView& system,
                            const CheckParams& /*params*/) const override {
    auto rows = system.queryWmi(bitlocker::kNamespace, bitlocker::kQuery, bitlocker::Properties());
    if (!rows.ok()) {
      return Status(rows.status().code(),
                    "could not read BitLocker's state: " + rows.status().message());
    }
    return bitlocker::JudgeVolumes(*rows);
  }
};

}  // namespace

std::unique_ptr<Check> NewDiskEncryptionCheck() { return std::make_unique<DiskEncryptionCheck>(); }

}  // namespace hearth::checks
