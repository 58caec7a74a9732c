// RunCommand on Windows (see process.h): CreateProcessW without a shell, the child in a job object
// that is killed as a whole when the deadline passes (JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE: nothing
// it started outlives us either), stdout and stderr drained concurrently and bounded, stdin NUL.
// The environment is the command's plus what Windows programs need to start at all (SystemRoot,
// windir, SystemDrive, PATHEXT, TEMP, TMP, the ProgramData folders), nothing else inherited.
#include <windows.h>

#include <cstdlib>
#include <thread>

#include "hearth/process.h"
#include "hearth/windows_text.h"

namespace hearth {

namespace {

class OwnedHandle {
 public:
  OwnedHandle() = default;
  explicit OwnedHandle(HANDLE h) : h_(h) {}
  ~OwnedHandle() { reset(); }
  OwnedHandle(const OwnedHandle&) = delete;
  OwnedHandle& operator=(const OwnedHandle&) = delete;
  HANDLE get() const { return h_; }
  HANDLE* out() { return &h_; }
  void reset() {
    if (h_ != nullptr && h_ != INVALID_HANDLE_VALUE) ::CloseHandle(h_);
    h_ = nullptr;
  }

 private:
  HANDLE h_ = nullptr;
};

bool isAbsolute(const std::string& p) {
  return (p.size() >= 3 && std::isalpha(static_cast<unsigned char>(p[0])) && p[1] == ':' &&
          (p[2] == '\\' || p[2] == '/')) ||
         p.starts_with("\\\\");
}

std::wstring environmentBlock(const std::map<std::string, std::string>& env) {
  std::map<std::wstring, std::wstring> vars;
  for (const char* name : {"SystemRoot", "windir", "SystemDrive", "PATHEXT", "TEMP", "TMP",
                           "ProgramData", "ALLUSERSPROFILE", "ProgramFiles", "COMPUTERNAME"}) {
    std::wstring wname = windows::Widen(name);
    DWORD n = ::GetEnvironmentVariableW(wname.c_str(), nullptr, 0);
    if (n == 0) continue;
    std::wstring value(n, L'\0');
    n = ::GetEnvironmentVariableW(wname.c_str(), value.data(), n);
    value.resize(n);
    vars[wname] = value;
  }
  for (const auto& [k, v] : env) vars[windows::Widen(k)] = windows::Widen(v);
  std::wstring block;
  for (const auto& [k, v] : vars) block += k + L"=" + v + L'\0';
  block += L'\0';
  return block;
}

void drain(HANDLE pipe, size_t limit, std::string& out, bool& truncated) {
  char buf[8192];
  while (true) {
    DWORD n = 0;
    if (!::ReadFile(pipe, buf, sizeof buf, &n, nullptr) || n == 0) break;
    size_t room = limit > out.size() ? limit - out.size() : 0;
    if (n > room) truncated = true;
    out.append(buf, n < room ? n : room);
  }
}

}  // namespace

StatusOr<CommandResult> RunCommand(const Command& command) {
  if (command.argv.empty() || !isAbsolute(command.argv[0])) {
    return InvalidArgumentError("command must start with an absolute path");
  }
  const std::string& program = command.argv[0];
  if (command.as_user.has_value()) {
    return PermissionDeniedError("running " + program +
                                 " as another user is not supported on "
                                 "Windows");
  }
  std::wstring wprogram = windows::Widen(program);
  if (::GetFileAttributesW(wprogram.c_str()) == INVALID_FILE_ATTRIBUTES) {
    return NotFoundError(program + " is not installed");
  }
  std::wstring cmdline;
  for (const auto& a : command.argv) {
    if (!cmdline.empty()) cmdline += L' ';
    cmdline += windows::QuoteCommandLineArg(windows::Widen(a));
  }
  std::wstring env = environmentBlock(command.env);

  SECURITY_ATTRIBUTES inherit{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  OwnedHandle out_read, out_write, err_read, err_write;
  if (!::CreatePipe(out_read.out(), out_write.out(), &inherit, 0) ||
      !::CreatePipe(err_read.out(), err_write.out(), &inherit, 0)) {
    return windows::Win32ErrorStatus(::GetLastError(), "pipe for " + program);
  }
  ::SetHandleInformation(out_read.get(), HANDLE_FLAG_INHERIT, 0);
  ::SetHandleInformation(err_read.get(), HANDLE_FLAG_INHERIT, 0);
  OwnedHandle null_in(::CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE,
                                    &inherit, OPEN_EXISTING, 0, nullptr));

  OwnedHandle job(::CreateJobObjectW(nullptr, nullptr));
  if (job.get() == nullptr) return windows::Win32ErrorStatus(::GetLastError(), "job object");
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits{};
  limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
  if (!::SetInformationJobObject(job.get(), JobObjectExtendedLimitInformation, &limits,
                                 sizeof limits)) {
    return windows::Win32ErrorStatus(::GetLastError(), "job object limits");
  }

  STARTUPINFOW si{};
  si.cb = sizeof si;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = null_in.get();
  si.hStdOutput = out_write.get();
  si.hStdError = err_write.get();
  PROCESS_INFORMATION pi{};
  if (!::CreateProcessW(wprogram.c_str(), cmdline.data(), nullptr, nullptr, TRUE,
                        CREATE_SUSPENDED | CREATE_NO_WINDOW | CREATE_UNICODE_ENVIRONMENT,
                        env.data(), nullptr, &si, &pi)) {
    return windows::Win32ErrorStatus(::GetLastError(), "start " + program);
  }
  OwnedHandle process(pi.hProcess), thread(pi.hThread);
  if (!::AssignProcessToJobObject(job.get(), process.get())) {
    DWORD err = ::GetLastError();
    ::TerminateProcess(process.get(), 1);
    return windows::Win32ErrorStatus(err, "job object for " + program);
  }
  ::ResumeThread(thread.get());
  // Our copies of the write ends must go, or the readers never see the end of the pipes.
  out_write.reset();
  err_write.reset();
  null_in.reset();

  CommandResult result;
  std::thread err_reader(
      [&] { drain(err_read.get(), command.max_output, result.err, result.err_truncated); });
  std::thread out_reader(
      [&] { drain(out_read.get(), command.max_output, result.out, result.out_truncated); });
  const auto ms = command.timeout.count();
  DWORD wait = ::WaitForSingleObject(process.get(), ms < 0 ? 0 : static_cast<DWORD>(ms));
  bool timed_out = wait != WAIT_OBJECT_0;
  if (timed_out) ::TerminateJobObject(job.get(), 1);
  // Grandchildren holding the pipes die with the job too.
  if (!timed_out) ::TerminateJobObject(job.get(), 0);
  out_reader.join();
  err_reader.join();
  if (timed_out) {
    return DeadlineExceededError(program + " did not finish within " + std::to_string(ms) + " ms");
  }
  DWORD code = 0;
  ::GetExitCodeProcess(process.get(), &code);
  result.exit_code = static_cast<int>(code);
  return result;
}

}  // namespace hearth
