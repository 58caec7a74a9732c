// What `hearth-agent check` asks of the OS (check_platform_linux.cc, check_platform_windows.cc).
#pragma once

#include <string>

#include "hearth/policy.h"
#include "hearth/status.h"

namespace hearth::agent {

struct PathAccess {
  bool exists = false;
  bool denied = false;  // it cannot even be looked at (EACCES on a parent)
  bool directory = false;
  bool writable = false;  // access(W_OK)
  bool readable = false;  // a directory we may list and enter (access(R_OK | X_OK))
};
PathAccess CheckPathAccess(const std::string& path);

// Root on Linux; an elevated administrator on Windows.
bool RunningPrivileged();

// The company's signed policy envelope saved in the state dir, verified against `keys` (PEM, the
// current and the next key): on Linux by hearth-upload, apart (VerifyPolicyApart, as
// `service_user` when we are root). FailedPrecondition on Windows, where enrolment does not exist
// yet.
StatusOr<Policy> VerifySavedPolicy(const std::string& envelope, const std::string& keys,
                                   const std::string& service_user);

}  // namespace hearth::agent
