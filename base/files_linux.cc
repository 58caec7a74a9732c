// The bounded reader and the random suffix of temporary names on Linux (see files.h).
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files_internal.h"
#include "hearth/fd.h"
#include "hearth/files.h"

namespace hearth {

namespace internal {

// 16 hex digits no other writer will pick: from getrandom(2), or (should it fail) from the pid,
// the clock and a counter.
std::string RandomSuffix() {
  static std::atomic<uint64_t> counter{0};
  uint64_t v = 0;
  if (::getrandom(&v, sizeof v, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof v)) {
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    v = (static_cast<uint64_t>(::getpid()) << 40) ^ static_cast<uint64_t>(now) ^ ++counter;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace internal

StatusOr<std::string> ReadFdBounded(int fd, size_t limit, const std::string& what,
                                    const ReadOptions& options) {
  if (options.regular_only) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return ErrnoToStatus(errno, "stat " + what);
    if (!S_ISREG(st.st_mode)) return InvalidArgumentError(what + " is not a regular file");
  }
  std::string out;
  char buf[16384];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(errno, "read " + what);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > limit) {
      if (options.truncate) {
        out.resize(limit);
        return out;
      }
      return ResourceExhaustedError(what + " is larger than " + std::to_string(limit) + " bytes");
    }
  }
  return out;
}

StatusOr<std::string> ReadFileBounded(const std::string& path, size_t limit,
                                      const ReadOptions& options) {
  // O_NONBLOCK: opening a FIFO must never block (logind's .ref files are FIFOs).
  int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  if (!options.follow_symlinks) flags |= O_NOFOLLOW;
  Fd fd(::open(path.c_str(), flags));
  if (!fd.valid()) return ErrnoToStatus(errno, "open " + path);
  ReadOptions regular = options;
  regular.regular_only = true;
  return ReadFdBounded(fd.get(), limit, path, regular);
}

}  // namespace hearth
