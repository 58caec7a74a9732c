// Temporary placeholder until the os_patches check lands.
#include "os_patches/os_patches.h"

namespace hearth::checks {

namespace {
class OsPatchesCheck final : public Check {
 public:
  std::string_view id() const override { return "os_patches"; }
  StatusOr<CheckResult> run(const SystemView&, const CheckParams&) const override {
    return UnavailableError("the os_patches check is not built yet");
  }
};
}  // namespace

std::unique_ptr<Check> NewOsPatchesCheck() { return std::make_unique<OsPatchesCheck>(); }

}  // namespace hearth::checks
