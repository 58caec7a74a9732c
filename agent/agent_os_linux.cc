// The agent's OS questions on Linux (agent_os.h), and the state directory's lock (state_dir.h).
#include <cerrno>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_os.h"
#include "hearth/agent/state_dir.h"

namespace hearth::agent {

bool ChildrenRunAsServiceUser() { return ::geteuid() == 0; }

std::string ExecutableDir() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  std::string path(buf, static_cast<size_t>(n));
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

bool IsProgram(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

// Another user who owns the state directory could replace the device key, the pinned keys or the
// policy: the directory must be ours.
Status EnsureOwnDir(const std::string& dir, mode_t mode) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return InternalError("create " + dir + ": " + ec.message());
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return ErrnoToStatus(errno, "stat " + dir);
  if (st.st_uid != ::geteuid()) {
    return FailedPreconditionError(dir + " belongs to another user (uid " +
                                   std::to_string(st.st_uid) +
                                   "); refusing to keep this PC's key there");
  }
  ::chmod(dir.c_str(), mode);
  return OkStatus();
}

std::optional<mode_t> FileModeBits(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return st.st_mode & 07777;
}

StatusOr<int> LockStateDir(const std::string& state_dir) {
  if (::mkdir(state_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return PermissionDeniedError("cannot create " + state_dir + ": " + std::strerror(errno));
  }
  std::string path = state_dir + "/agent.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return PermissionDeniedError("cannot open " + path + ": " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    ::close(fd);
    if (e == EWOULDBLOCK) {
      return FailedPreconditionError(
          "another hearth-agent is already working in " + state_dir +
          " (the daemon?); to ask the running agent for a check, use `hearth-agent check-now`");
    }
    return InternalError("cannot lock " + path + ": " + std::strerror(e));
  }
  return fd;
}

}  // namespace hearth::agent
