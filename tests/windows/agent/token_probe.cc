// hearth_token_probe.exe: a child the Windows tests start in place of hearth-upload.exe.
//   (no arguments)      started by ChildProcess::Start: reads one request frame from its channel
//                       and answers with what it can see of itself: its token
//                       (token_description.h), its channel's name and security descriptor, whether
//                       it can open the channel again by name, write into request.write_dir, or
//                       start a process.
//   connect PIPE        opens the named pipe PIPE as a client (retrying for 10 s) and holds it
//                       until the server closes it: "another process" for the channel tests.
//   idle                exits 0 (what the probe tries to start).
#include <windows.h>

#include <string>

#include "hearth/agent/child_process.h"
#include "hearth/json.h"
#include "hearth/windows_text.h"
#include "token_description.h"

namespace {

using hearth::json::Value;

int64_t openError(const std::wstring& path, DWORD access, DWORD disposition) {
  HANDLE h = ::CreateFileW(path.c_str(), access, 0, nullptr, disposition, 0, nullptr);
  if (h == INVALID_HANDLE_VALUE) return static_cast<int64_t>(::GetLastError());
  ::CloseHandle(h);
  return 0;
}

int connectAndHold(const std::wstring& pipe) {
  for (int i = 0; i < 1000; ++i) {
    HANDLE h = ::CreateFileW(pipe.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING,
                             0, nullptr);
    if (h != INVALID_HANDLE_VALUE) {
      char buf[64];
      DWORD n = 0;
      while (::ReadFile(h, buf, sizeof buf, &n, nullptr) && n > 0) {
      }
      ::CloseHandle(h);
      return 0;
    }
    ::Sleep(10);
  }
  return 3;
}

int answer() {
  const int fd = hearth::agent::ChildChannel();
  if (fd < 0) return 2;
  auto frame = hearth::agent::ReadFrame(fd, 1 << 20);
  if (!frame.ok()) return 2;
  auto request = hearth::json::parse(*frame);
  Value out = Value::object();
  HANDLE token = nullptr;
  if (::OpenProcessToken(::GetCurrentProcess(), TOKEN_QUERY, &token)) {
    out.set("token", hearth::testing::DescribeToken(token));
    ::CloseHandle(token);
  }
  BOOL in_job = FALSE;
  ::IsProcessInJob(::GetCurrentProcess(), nullptr, &in_job);
  out.set("in_job", in_job != FALSE);
  HANDLE channel = ::GetStdHandle(STD_INPUT_HANDLE);
  out.set("channel_sddl", hearth::testing::SddlOf(channel));
  out.set("channel_dacl", hearth::testing::DaclOf(channel));
  // The channel's name (FileNameInfo: "\hearth-...") and whether it opens again by that name.
  alignas(FILE_NAME_INFO) unsigned char name_buf[sizeof(FILE_NAME_INFO) + 1024]{};
  auto* name = reinterpret_cast<FILE_NAME_INFO*>(name_buf);
  if (::GetFileInformationByHandleEx(channel, FileNameInfo, name, sizeof name_buf - 2)) {
    std::wstring pipe(name->FileName, name->FileNameLength / sizeof(wchar_t));
    out.set("channel_name", hearth::windows::Narrow(pipe));
    out.set("reopen_error",
            openError(L"\\\\.\\pipe" + pipe, GENERIC_READ | GENERIC_WRITE, OPEN_EXISTING));
  } else {
    out.set("channel_name_error", static_cast<int64_t>(::GetLastError()));
  }
  if (request.ok() && request->find("write_dir") != nullptr) {
    const std::wstring file = hearth::windows::Widen(request->find("write_dir")->asString()) +
                              L"\\probe-" + std::to_wstring(::GetCurrentProcessId());
    const int64_t err = openError(file, GENERIC_WRITE, CREATE_NEW);
    if (err == 0) ::DeleteFileW(file.c_str());
    out.set("write_error", err);
  }
  // Another process (itself, "idle").
  wchar_t self[MAX_PATH];
  ::GetModuleFileNameW(nullptr, self, MAX_PATH);
  std::wstring cmd = L"probe idle";
  STARTUPINFOW si{};
  si.cb = sizeof si;
  PROCESS_INFORMATION pi{};
  if (::CreateProcessW(self, cmd.data(), nullptr, nullptr, FALSE, CREATE_NO_WINDOW, nullptr,
                       nullptr, &si, &pi)) {
    ::WaitForSingleObject(pi.hProcess, 10000);
    ::CloseHandle(pi.hProcess);
    ::CloseHandle(pi.hThread);
    out.set("spawn_error", 0);
  } else {
    out.set("spawn_error", static_cast<int64_t>(::GetLastError()));
  }
  return hearth::agent::WriteFrame(fd, hearth::json::write(out)).ok() ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "connect") {
    return connectAndHold(hearth::windows::Widen(argv[2]));
  }
  if (argc == 2 && std::string(argv[1]) == "idle") return 0;
  return answer();
}
