// The agent's OS questions on Windows (agent_os.h), and the state directory's lock (state_dir.h).
#include <windows.h>

#include <fcntl.h>
#include <filesystem>
#include <io.h>

#include "agent_os.h"
#include "hearth/agent/state_dir.h"
#include "hearth/file_layer.h"
#include "hearth/windows_acl.h"
#include "hearth/windows_text.h"

namespace hearth::agent {

bool ChildrenRunAsServiceUser() { return false; }

std::string ExecutableDir() {
  std::wstring buf(32768, L'\0');
  DWORD n = ::GetModuleFileNameW(nullptr, buf.data(), static_cast<DWORD>(buf.size()));
  if (n == 0 || n >= buf.size()) return "";
  std::string path = windows::Narrow(std::wstring_view(buf.data(), n));
  for (char& c : path) c = c == '\\' ? '/' : c;
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

bool IsProgram(const std::string& path) {
  DWORD attrs = ::GetFileAttributesW(windows::Widen(path).c_str());
  return attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_DIRECTORY) == 0;
}

Status EnsureOwnDir(const std::string& dir, mode_t mode) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(windows::Widen(dir)), ec);
  if (ec) return InternalError("create " + dir + ": " + ec.message());
  return windows::ApplyModeAcl(dir, mode, true);
}

std::optional<mode_t> FileModeBits(const std::string& /*path*/) { return std::nullopt; }

// The lock is agent.lock opened with no sharing: a second opener gets ERROR_SHARING_VIOLATION
// until the first closes it (or ends). Returned as a C runtime descriptor (Fd closes it).
StatusOr<int> LockStateDir(const std::string& state_dir) {
  if (Status s = PosixFileLayer().createDir(state_dir, 0755); !s.ok()) {
    return PermissionDeniedError("cannot create " + state_dir + ": " + s.message());
  }
  const std::string path = state_dir + "/agent.lock";
  HANDLE h = ::CreateFileW(windows::Widen(path).c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr,
                           OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (h == INVALID_HANDLE_VALUE) {
    const DWORD err = ::GetLastError();
    if (err == ERROR_SHARING_VIOLATION) {
      return FailedPreconditionError("another hearth-agent is already working in " + state_dir +
                                     " (the service?)");
    }
    return windows::Win32ErrorStatus(err, "cannot lock " + path);
  }
  int fd = ::_open_osfhandle(reinterpret_cast<intptr_t>(h), _O_RDWR);
  if (fd < 0) {
    ::CloseHandle(h);
    return InternalError("cannot lock " + path + ": no descriptor for its handle");
  }
  return fd;
}

}  // namespace hearth::agent
