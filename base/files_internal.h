// What files.cc needs from the per-OS files (files_linux.cc, files_windows.cc).
#pragma once

#include <string>

namespace hearth::internal {

// 16 hex digits no other writer will pick (for temporary file names): from the system's random
// source, or (should it fail) from the process id, the clock and a counter.
std::string RandomSuffix();

}  // namespace hearth::internal
