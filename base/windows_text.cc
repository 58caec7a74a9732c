// UTF-8/UTF-16 conversion and Win32 errors as Status (see windows_text.h).
#include <windows.h>

#include "hearth/windows_text.h"

#include <cstdio>

namespace hearth::windows {

std::wstring Widen(std::string_view utf8) {
  if (utf8.empty()) return {};
  int n = ::MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), nullptr, 0);
  std::wstring out(static_cast<size_t>(n), L'\0');
  ::MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), out.data(), n);
  return out;
}

std::string Narrow(std::wstring_view utf16) {
  if (utf16.empty()) return {};
  int n = ::WideCharToMultiByte(CP_UTF8, 0, utf16.data(), static_cast<int>(utf16.size()), nullptr,
                                0, nullptr, nullptr);
  std::string out(static_cast<size_t>(n), '\0');
  ::WideCharToMultiByte(CP_UTF8, 0, utf16.data(), static_cast<int>(utf16.size()), out.data(), n,
                        nullptr, nullptr);
  return out;
}

namespace {

std::string systemText(unsigned long code) {
  wchar_t* buf = nullptr;
  DWORD n = ::FormatMessageW(
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
      nullptr, code, 0, reinterpret_cast<wchar_t*>(&buf), 0, nullptr);
  std::string text;
  if (n > 0 && buf != nullptr) text = Narrow(std::wstring_view(buf, n));
  if (buf != nullptr) ::LocalFree(buf);
  while (!text.empty() &&
         (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' || text.back() == '.')) {
    text.pop_back();
  }
  return text;
}

}  // namespace

Status Win32ErrorStatus(unsigned long code, std::string_view what) {
  std::string text = systemText(code);
  std::string m = std::string(what) + ": " + (text.empty() ? "Windows error" : text) + " (error " +
                  std::to_string(code) + ")";
  switch (code) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_DRIVE:
      return NotFoundError(std::move(m));
    case ERROR_ACCESS_DENIED:
    case ERROR_PRIVILEGE_NOT_HELD:
      return PermissionDeniedError(std::move(m));
    case ERROR_NOT_SUPPORTED:
    case ERROR_CALL_NOT_IMPLEMENTED:
      return UnavailableError(std::move(m));
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
      return ResourceExhaustedError("disk full: " + m);
    case ERROR_MORE_DATA:
      return ResourceExhaustedError(std::move(m));
    default:
      return InternalError(std::move(m));
  }
}

Status HresultStatus(long hr, std::string_view what) {
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%08lX", static_cast<unsigned long>(hr));
  std::string text = systemText(static_cast<unsigned long>(hr));
  std::string m = std::string(what) + ": " + (text.empty() ? "failed" : text) + " (" + hex + ")";
  if (static_cast<unsigned long>(hr) == 0x80070005UL) return PermissionDeniedError(std::move(m));
  return UnavailableError(std::move(m));
}

std::wstring QuoteCommandLineArg(const std::wstring& arg) {
  if (!arg.empty() && arg.find_first_of(L" \t\n\v\"") == std::wstring::npos) return arg;
  std::wstring out = L"\"";
  size_t backslashes = 0;
  for (wchar_t c : arg) {
    if (c == L'\\') {
      ++backslashes;
      continue;
    }
    // Backslashes before a quote are doubled and the quote escaped; elsewhere they stay.
    out.append(c == L'"' ? backslashes * 2 + 1 : backslashes, L'\\');
    backslashes = 0;
    out += c;
  }
  // Before the closing quote, backslashes are doubled.
  out.append(backslashes * 2, L'\\');
  out += L'"';
  return out;
}

}  // namespace hearth::windows
