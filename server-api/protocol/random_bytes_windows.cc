// Random bytes on Windows (random_bytes.h): the system's preferred generator.
#include <windows.h>

#include <bcrypt.h>

#include "random_bytes.h"

namespace hearth::protocol {

Status RandomBytes(unsigned char* out, size_t n) {
  while (n > 0) {
    const ULONG chunk = n > (1U << 30) ? (1U << 30) : static_cast<ULONG>(n);
    if (!BCRYPT_SUCCESS(::BCryptGenRandom(nullptr, out, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG))) {
      return InternalError("random bytes: BCryptGenRandom failed");
    }
    out += chunk;
    n -= chunk;
  }
  return OkStatus();
}

}  // namespace hearth::protocol
