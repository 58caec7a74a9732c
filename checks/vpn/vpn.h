// The vpn check: pure parsing and decision (vpn.cc), Linux collection (vpn_linux.cc).
#pragma once

#include <memory>

#include "hearth/check.h"

namespace hearth::checks {

std::unique_ptr<Check> NewVpnCheck();

}  // namespace hearth::checks
