// Temporary placeholder until the disk_encryption check lands.
#include "disk_encryption/disk_encryption.h"

namespace hearth::checks {

namespace {
class DiskEncryptionCheck final : public Check {
 public:
  std::string_view id() const override { return "disk_encryption"; }
  StatusOr<CheckResult> run(const SystemView&, const CheckParams&) const override {
    return UnavailableError("the disk_encryption check is not built yet");
  }
};
}  // namespace

std::unique_ptr<Check> NewDiskEncryptionCheck() { return std::make_unique<DiskEncryptionCheck>(); }

}  // namespace hearth::checks
