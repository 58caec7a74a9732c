// hearth-upload.exe on Windows does not import user32.dll. OpenSSL's libcrypto is its only user
// (cryptlib: OPENSSL_isservice and OPENSSL_showfatal, for a fatal error's message box), and
// loading user32 connects a process to its window station and desktop: the service's, whose
// DACL the network side's restricted token (child_token_windows.h: its user SID deny-only,
// restricting SIDs) would not pass, so the process would die at start with
// STATUS_DLL_INIT_FAILED (0xC0000142) before any code of ours ran. These definitions of the
// import slots answer for user32 instead, so the linker takes no import from it: "no window
// station" (OPENSSL_isservice then answers -1) and no message box (the fatal message has gone to
// stderr already when there is one). The windows_upload_imports test checks the import table.
#include <windows.h>

namespace {

HWINSTA WINAPI noWindowStation() {
  ::SetLastError(ERROR_NOT_SUPPORTED);
  return nullptr;
}

BOOL WINAPI noUserObjectInformation(HANDLE /*object*/, int /*index*/, PVOID /*info*/,
                                    DWORD /*length*/, LPDWORD /*needed*/) {
  ::SetLastError(ERROR_NOT_SUPPORTED);
  return FALSE;
}

int WINAPI noMessageBox(HWND /*owner*/, LPCWSTR /*text*/, LPCWSTR /*caption*/, UINT /*type*/) {
  return IDOK;
}

}  // namespace

// The names the compiler gives dllimport references (x86-64: no leading underscore).
extern "C" {
// NOLINTBEGIN(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp)
HWINSTA(WINAPI* __imp_GetProcessWindowStation)() = noWindowStation;
BOOL(WINAPI* __imp_GetUserObjectInformationW)
(HANDLE, int, PVOID, DWORD, LPDWORD) = noUserObjectInformation;
int(WINAPI* __imp_MessageBoxW)(HWND, LPCWSTR, LPCWSTR, UINT) = noMessageBox;
// NOLINTEND(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp)
}
