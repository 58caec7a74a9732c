// Random bytes on Linux (random_bytes.h).
#include <cerrno>
#include <cstring>
#include <string>
#include <sys/random.h>

#include "random_bytes.h"

namespace hearth::protocol {

Status RandomBytes(unsigned char* out, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::getrandom(out + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return InternalError(std::string("random bytes: getrandom: ") + std::strerror(errno));
    }
    got += static_cast<size_t>(r);
  }
  return OkStatus();
}

}  // namespace hearth::protocol
