// The ACL that stands for a POSIX mode (see windows_acl.h).
#include <windows.h>

#include <aclapi.h>
#include <sddl.h>

#include "hearth/windows_acl.h"

#include "hearth/windows_text.h"

namespace hearth::windows {

std::string SddlForMode(mode_t mode, bool directory) {
  const std::string inherit = directory ? "OICI" : "";
  std::string sddl = "D:P";
  for (const char* who : {"SY", "BA", "OW"}) sddl += "(A;" + inherit + ";FA;;;" + who + ")";
  if ((mode & 0004) != 0) sddl += directory ? "(A;;0x1200a9;;;BU)" : "(A;;FR;;;BU)";
  return sddl;
}

Status ApplyModeAcl(const std::string& path, mode_t mode, bool directory) {
  PSECURITY_DESCRIPTOR sd = nullptr;
  const std::wstring sddl = Widen(SddlForMode(mode, directory));
  if (!::ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl.c_str(), SDDL_REVISION_1, &sd,
                                                              nullptr)) {
    return Win32ErrorStatus(::GetLastError(), "the ACL for " + path);
  }
  BOOL present = FALSE;
  BOOL defaulted = FALSE;
  PACL dacl = nullptr;
  DWORD err = ERROR_INVALID_SECURITY_DESCR;
  if (::GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted) && present) {
    std::wstring wpath = Widen(path);
    err = ::SetNamedSecurityInfoW(wpath.data(), SE_FILE_OBJECT,
                                  DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                                  nullptr, nullptr, dacl, nullptr);
  }
  ::LocalFree(sd);
  if (err != ERROR_SUCCESS) return Win32ErrorStatus(err, "set the ACL of " + path);
  return OkStatus();
}

}  // namespace hearth::windows
