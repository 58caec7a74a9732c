// Windows only: UTF-8 (ours) <-> UTF-16 (the W APIs') and Win32 error codes as Status values.
#pragma once

#include <string>
#include <string_view>

#include "hearth/status.h"

namespace hearth::windows {

// UTF-8 to UTF-16; invalid sequences become U+FFFD.
std::wstring Widen(std::string_view utf8);
// UTF-16 to UTF-8; unpaired surrogates become U+FFFD.
std::string Narrow(std::wstring_view utf16);

// The Status for Win32 error `code` (GetLastError, LSTATUS, WIN32_FROM_HRESULT) while doing
// `what`: NotFound for missing files, paths and registry values, PermissionDenied for access
// denied, Unimplemented-like codes (ERROR_NOT_SUPPORTED, ERROR_CALL_NOT_IMPLEMENTED) as
// Unavailable, ResourceExhausted "disk full: ..." for a full disk; the message names `what`,
// the system's text and the code ("(error 50)").
Status Win32ErrorStatus(unsigned long code, std::string_view what);

// The same for an HRESULT (COM, WMI, the Windows Update Agent), with the code in hex.
Status HresultStatus(long hr, std::string_view what);

// One argument of a command line, quoted so that CommandLineToArgvW and the C runtime read it
// back unchanged (spaces, tabs, quotes and the backslashes before them; an empty argument as
// ""). For CreateProcessW and CreateProcessAsUserW, which take one string, never a shell.
std::wstring QuoteCommandLineArg(const std::wstring& arg);

}  // namespace hearth::windows
