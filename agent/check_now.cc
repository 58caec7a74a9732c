// The client side of the daemon's control socket (check_now.h).
#include "hearth/agent/check_now.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "hearth/fd.h"
#include "hearth/i18n.h"

namespace hearth::agent {

StatusOr<std::string> AskForCheck(const std::string& socket_path) {
  if (socket_path.empty()) {
    return FailedPreconditionError(
        i18n::Tr("the control socket is turned off (control_socket in agent.conf)"));
  }
  sockaddr_un sa{};
  if (socket_path.size() >= sizeof(sa.sun_path)) {
    return InvalidArgumentError("control socket path too long: " + socket_path);
  }
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", socket_path.c_str());
  if (fd.get() < 0 || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    const int e = errno;
    return UnavailableError(i18n::Subst(i18n::Tr("the agent is not running ({1}: {2})"),
                                        {socket_path, std::strerror(e)}));
  }
  timeval tv{5, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char buf[512];
  ssize_t n = ::recv(fd.get(), buf, sizeof(buf) - 1, 0);
  if (n <= 0) return DeadlineExceededError(i18n::Tr("no answer from the agent"));
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace hearth::agent
