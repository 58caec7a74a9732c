// The screen_lock check: pure parsing and decision (screen_lock.cc), Linux collection (screen_lock_linux.cc).
#pragma once

#include <memory>

#include "hearth/check.h"

namespace hearth::checks {

std::unique_ptr<Check> NewScreenLockCheck();

}  // namespace hearth::checks
