// The disk_encryption check: pure parsing and decision (disk_encryption.cc), Linux collection (disk_encryption_linux.cc).
#pragma once

#include <memory>

#include "hearth/check.h"

namespace hearth::checks {

std::unique_ptr<Check> NewDiskEncryptionCheck();

}  // namespace hearth::checks
