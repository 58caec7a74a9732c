// Random bytes from the OS: getrandom(2) on Linux (random_bytes_linux.cc), BCryptGenRandom on
// Windows (random_bytes_windows.cc).
#pragma once

#include <cstddef>

#include "hearth/status.h"

namespace hearth::protocol {

// Fills `out` with `n` random bytes; Internal when the OS cannot give them.
Status RandomBytes(unsigned char* out, size_t n);

}  // namespace hearth::protocol
