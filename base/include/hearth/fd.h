// Fd: owns one file descriptor and closes it when destroyed (RAII). Movable, not copyable.
#pragma once

#include <unistd.h>
#include <utility>

namespace hearth {

class Fd {
 public:
  Fd() = default;
  // Takes ownership of `fd` (a negative value: nothing owned, as after a failed open()).
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Gives up ownership: the caller closes the returned descriptor.
  int release() { return std::exchange(fd_, -1); }
  // Closes the owned descriptor (errors ignored: use ::close(release()) to see them) and takes
  // `fd` instead.
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace hearth
