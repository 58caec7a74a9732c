// Temporary placeholder until the vpn check lands.
#include "vpn/vpn.h"

namespace hearth::checks {

namespace {
class VpnCheck final : public Check {
 public:
  std::string_view id() const override { return "vpn"; }
  StatusOr<CheckResult> run(const SystemView&, const CheckParams&) const override {
    return UnavailableError("the vpn check is not built yet");
  }
};
}  // namespace

std::unique_ptr<Check> NewVpnCheck() { return std::make_unique<VpnCheck>(); }

}  // namespace hearth::checks
