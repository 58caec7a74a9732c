// `hearth-agent check`'s questions to Windows (check_platform.h).
#include <windows.h>

#include <shlobj.h>

#include "check_platform.h"
#include "hearth/agent/uploader.h"
#include "hearth/windows_text.h"

namespace hearth::agent {

PathAccess CheckPathAccess(const std::string& path) {
  PathAccess a;
  const std::wstring w = windows::Widen(path);
  DWORD attrs = ::GetFileAttributesW(w.c_str());
  if (attrs == INVALID_FILE_ATTRIBUTES) {
    a.denied = ::GetLastError() == ERROR_ACCESS_DENIED;
    return a;
  }
  a.exists = true;
  a.directory = (attrs & FILE_ATTRIBUTE_DIRECTORY) != 0;
  if (!a.directory) {
    a.readable = true;
    a.writable = (attrs & FILE_ATTRIBUTE_READONLY) == 0;
    return a;
  }
  // A directory: readable when it can be listed, writable when a file can be made in it.
  WIN32_FIND_DATAW data{};
  HANDLE find = ::FindFirstFileW((w + L"\\*").c_str(), &data);
  a.readable = find != INVALID_HANDLE_VALUE;
  if (find != INVALID_HANDLE_VALUE) ::FindClose(find);
  const std::wstring probe = w + L"\\.hearth-write-probe";
  HANDLE h = ::CreateFileW(probe.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_NEW,
                           FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE, nullptr);
  a.writable = h != INVALID_HANDLE_VALUE;
  if (h != INVALID_HANDLE_VALUE) ::CloseHandle(h);
  return a;
}

bool RunningPrivileged() { return ::IsUserAnAdmin() != FALSE; }

// Checked by hearth-upload.exe (hearth-verify), as on Linux; it runs with the restricted token
// (child_token_windows.h).
StatusOr<Policy> VerifySavedPolicy(const std::string& envelope, const std::string& keys,
                                   const std::string& service_user) {
  HEARTH_ASSIGN_OR_RETURN(VerifiedPolicy verified,
                          VerifyPolicyApart(envelope, keys, 0, service_user));
  return std::move(verified.policy);
}

}  // namespace hearth::agent
