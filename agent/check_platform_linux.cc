// `hearth-agent check`'s questions to Linux (check_platform.h).
#include <cerrno>
#include <sys/stat.h>
#include <unistd.h>

#include "check_platform.h"
#include "hearth/agent/child_process.h"
#include "hearth/agent/uploader.h"

namespace hearth::agent {

PathAccess CheckPathAccess(const std::string& path) {
  PathAccess a;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    a.denied = errno == EACCES;
    return a;
  }
  a.exists = true;
  a.directory = S_ISDIR(st.st_mode);
  a.writable = ::access(path.c_str(), W_OK) == 0;
  a.readable = ::access(path.c_str(), R_OK | X_OK) == 0;
  return a;
}

bool RunningPrivileged() { return ::geteuid() == 0; }

StatusOr<Policy> VerifySavedPolicy(const std::string& envelope, const std::string& keys,
                                   const std::string& service_user) {
  std::string user = service_user;
  if (::geteuid() == 0 && !FindAccount(user)) user = "nobody";
  HEARTH_ASSIGN_OR_RETURN(VerifiedPolicy verified, VerifyPolicyApart(envelope, keys, 0, user));
  return std::move(verified.policy);
}

}  // namespace hearth::agent
