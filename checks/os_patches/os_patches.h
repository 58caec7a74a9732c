// The os_patches check: pure parsing and decision (os_patches.cc), Linux collection (os_patches_linux.cc).
#pragma once

#include <memory>

#include "hearth/check.h"

namespace hearth::checks {

std::unique_ptr<Check> NewOsPatchesCheck();

}  // namespace hearth::checks
