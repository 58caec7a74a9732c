// Reading a file as another user on Linux: a forked child (no exec) that drops to the user and
// sends the bytes back over a pipe.
#include <cerrno>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "hearth/files.h"
#include "hearth/process.h"
#include "system/process.h"

namespace hearth::internal {

StatusOr<std::string> ReadFileAsUser(const UserIdentity& user, const std::string& path,
                                     size_t limit) {
  std::vector<gid_t> groups = ChildGroups(user);
  HEARTH_ASSIGN_OR_RETURN(Pipe data, OpenPipe());
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoToStatus(errno, "fork");
  if (pid == 0) {
    // Exit codes: 0 ok, 10 + errno-class otherwise (see below).
    // Hold nothing of the caller's but the data pipe (a caller waiting for EOF on another pipe
    // must not be kept waiting by a read that hangs here), and die with the caller.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::dup2(data.write.get(), 3) < 0) ::_exit(9);
    CloseDescriptorsFrom(4);
    if (!DropPrivilegesInChild(user, groups)) ::_exit(3);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) ::_exit(errno == ENOENT || errno == ENOTDIR ? 4 : (errno == EACCES ? 5 : 6));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) ::_exit(7);
    size_t total = 0;
    char buf[16384];
    while (true) {
      ssize_t r = ::read(fd, buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      total += static_cast<size_t>(r);
      if (total > limit) ::_exit(8);
      const char* p = buf;
      ssize_t left = r;
      while (left > 0) {
        ssize_t w = ::write(3, p, static_cast<size_t>(left));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) ::_exit(9);
        p += w;
        left -= w;
      }
    }
    ::_exit(0);
  }
  data.write.reset();
  auto content = ReadFdBounded(data.read.get(), limit, path, {.regular_only = false});
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  int code = WIFEXITED(st) ? WEXITSTATUS(st) : 99;
  std::string who = " as " + (user.name.empty() ? "uid " + std::to_string(user.uid) : user.name);
  switch (code) {
    case 0:
      return content;
    case 3:
      return PermissionDeniedError("cannot switch to" + who + " to read " + path);
    case 4:
      return NotFoundError(path + " does not exist");
    case 5:
      return PermissionDeniedError(path + " is not readable" + who);
    case 7:
      return InvalidArgumentError(path + " is not a regular file");
    case 8:
      return ResourceExhaustedError(path + " is larger than " + std::to_string(limit) + " bytes");
    default:
      return InternalError("reading " + path + who + " failed (code " + std::to_string(code) + ")");
  }
}

}  // namespace hearth::internal
