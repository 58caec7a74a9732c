// Temporary placeholder until the screen_lock check lands.
#include "screen_lock/screen_lock.h"

namespace hearth::checks {

namespace {
class ScreenLockCheck final : public Check {
 public:
  std::string_view id() const override { return "screen_lock"; }
  StatusOr<CheckResult> run(const SystemView&, const CheckParams&) const override {
    return UnavailableError("the screen_lock check is not built yet");
  }
};
}  // namespace

std::unique_ptr<Check> NewScreenLockCheck() { return std::make_unique<ScreenLockCheck>(); }

}  // namespace hearth::checks
