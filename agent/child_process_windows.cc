// The agent's children on Windows (see child_process.h): CreateProcessAsUserW with a restricted
// token, a job object that ends the child with the agent, and one instance of a named pipe as the
// channel, connected before the child starts (so no other process can take it) and handed over as
// the child's standard input (child_token_windows.h).
#include <windows.h>

#include <algorithm>
#include <io.h>

#include "hearth/agent/child_process.h"
#include "hearth/agent/child_token_windows.h"
#include "hearth/windows_text.h"

namespace hearth::agent {

namespace {

using Clock = std::chrono::steady_clock;

std::string header(size_t n) {
  const auto v = static_cast<uint32_t>(n);
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

uint32_t lengthOf(const char* head) {
  return (static_cast<uint32_t>(static_cast<unsigned char>(head[0])) << 24) |
         (static_cast<uint32_t>(static_cast<unsigned char>(head[1])) << 16) |
         (static_cast<uint32_t>(static_cast<unsigned char>(head[2])) << 8) |
         static_cast<uint32_t>(static_cast<unsigned char>(head[3]));
}

// This process's environment with `extra` ("NAME=value") added, as CreateProcessW's block.
std::wstring environmentBlock(const std::vector<std::string>& extra) {
  std::wstring block;
  if (wchar_t* env = ::GetEnvironmentStringsW(); env != nullptr) {
    for (const wchar_t* p = env; *p != L'\0'; p += wcslen(p) + 1) {
      block.append(p);
      block.push_back(L'\0');
    }
    ::FreeEnvironmentStringsW(env);
  }
  for (const std::string& e : extra) {
    block += windows::Widen(e);
    block.push_back(L'\0');
  }
  block.push_back(L'\0');
  return block;
}

DWORD millisUntil(std::optional<SteadyTime> deadline) {
  if (!deadline) return INFINITE;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now());
  return static_cast<DWORD>(std::clamp<int64_t>(left.count(), 0, 0x7fffffff));
}

// One overlapped read or write of at most `n` bytes on `pipe`, within `deadline`. Returns the
// bytes moved; Unavailable when the other end is gone, DeadlineExceeded when late (the I/O is
// cancelled).
StatusOr<DWORD> pipeIo(HANDLE pipe, bool write, char* buf, DWORD n,
                       std::optional<SteadyTime> deadline, const std::string& who,
                       const std::string& late) {
  OVERLAPPED ov{};
  ov.hEvent = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
  if (ov.hEvent == nullptr) return windows::Win32ErrorStatus(::GetLastError(), "CreateEvent");
  DWORD done = 0;
  BOOL ok = write ? ::WriteFile(pipe, buf, n, &done, &ov) : ::ReadFile(pipe, buf, n, &done, &ov);
  DWORD err = ok ? ERROR_SUCCESS : ::GetLastError();
  if (!ok && err == ERROR_IO_PENDING) {
    if (::WaitForSingleObject(ov.hEvent, millisUntil(deadline)) != WAIT_OBJECT_0) {
      ::CancelIoEx(pipe, &ov);
      ::GetOverlappedResult(pipe, &ov, &done, TRUE);
      ::CloseHandle(ov.hEvent);
      return DeadlineExceededError(late);
    }
    ok = ::GetOverlappedResult(pipe, &ov, &done, FALSE);
    err = ok ? ERROR_SUCCESS : ::GetLastError();
  }
  ::CloseHandle(ov.hEvent);
  if (!ok) {
    if (err == ERROR_BROKEN_PIPE || err == ERROR_NO_DATA || err == ERROR_PIPE_NOT_CONNECTED) {
      return UnavailableError(who + " ended without a complete answer");
    }
    return UnavailableError(who + " channel: " + windows::Win32ErrorStatus(err, "pipe").message());
  }
  if (done == 0 && !write) return UnavailableError(who + " ended without a complete answer");
  return done;
}

HANDLE channelHandle(int fd) { return reinterpret_cast<HANDLE>(::_get_osfhandle(fd)); }

}  // namespace

std::optional<std::pair<uid_t, gid_t>> FindAccount(const std::string& /*name*/) {
  return std::nullopt;
}

StatusOr<ChildAccount> UnprivilegedAccount(const std::string& /*user*/) {
  return FailedPreconditionError(
      "starting a child as another account is not available on Windows yet");
}

StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(const ChildSpec& spec) {
  if (spec.run || spec.program.empty()) {
    return FailedPreconditionError("cannot start " + spec.name + ": Windows has no fork");
  }
  if (spec.account) {
    return FailedPreconditionError("cannot start " + spec.name +
                                   " as another account: not available on Windows yet");
  }
  // Its own SID, its restricted token and its channel (child_token_windows.h).
  HEARTH_ASSIGN_OR_RETURN(const std::string child_sid, NewChildSid());
  auto token = RestrictedChildToken(child_sid);
  if (!token.ok()) {
    return UnavailableError("cannot start " + spec.name +
                            ": its restricted token: " + token.status().message());
  }
  auto channel = OpenChildChannel(child_sid);
  if (!channel.ok()) {
    return UnavailableError("cannot make the channel for " + spec.name + ": " +
                            channel.status().message());
  }
  HANDLE server = channel->server.release();
  HANDLE client = channel->client.release();
  // The child's stdout and stderr: ours (stderr), so what it says reaches the log.
  HANDLE err_out = nullptr;
  HANDLE our_err = ::GetStdHandle(STD_ERROR_HANDLE);
  if (our_err != nullptr && our_err != INVALID_HANDLE_VALUE) {
    ::DuplicateHandle(::GetCurrentProcess(), our_err, ::GetCurrentProcess(), &err_out, 0, TRUE,
                      DUPLICATE_SAME_ACCESS);
  }
  STARTUPINFOEXW six{};
  STARTUPINFOW& si = six.StartupInfo;
  si.cb = sizeof six;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = client;
  si.hStdOutput = err_out;
  si.hStdError = err_out;
  // It inherits these two handles and nothing else of ours.
  std::vector<HANDLE> inherit = {client};
  if (err_out != nullptr) inherit.push_back(err_out);
  SIZE_T attr_size = 0;
  ::InitializeProcThreadAttributeList(nullptr, 1, 0, &attr_size);
  std::vector<unsigned char> attr_buf(attr_size);
  six.lpAttributeList = reinterpret_cast<LPPROC_THREAD_ATTRIBUTE_LIST>(attr_buf.data());
  if (!::InitializeProcThreadAttributeList(six.lpAttributeList, 1, 0, &attr_size) ||
      !::UpdateProcThreadAttribute(six.lpAttributeList, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST,
                                   inherit.data(), inherit.size() * sizeof(HANDLE), nullptr,
                                   nullptr)) {
    const DWORD err = ::GetLastError();
    ::CloseHandle(client);
    ::CloseHandle(server);
    if (err_out != nullptr) ::CloseHandle(err_out);
    return windows::Win32ErrorStatus(err, "the handles " + spec.name + " inherits");
  }
  std::wstring cmdline = windows::QuoteCommandLineArg(windows::Widen(spec.program));
  for (const std::string& a : spec.args)
    cmdline += L" " + windows::QuoteCommandLineArg(windows::Widen(a));
  std::vector<std::string> env = spec.extra_env;
  env.push_back("HEARTH_CHANNEL=stdin");
  std::wstring block = environmentBlock(env);
  PROCESS_INFORMATION pi{};
  // A restricted copy of our own token: no SeAssignPrimaryTokenPrivilege needed. No console
  // (DETACHED_PROCESS: no conhost.exe started for it under its token); its standard handles are
  // the channel and our stderr.
  BOOL started = ::CreateProcessAsUserW(token->get(), windows::Widen(spec.program).c_str(),
                                        cmdline.data(), nullptr, nullptr, TRUE,
                                        CREATE_UNICODE_ENVIRONMENT | DETACHED_PROCESS |
                                            CREATE_SUSPENDED | EXTENDED_STARTUPINFO_PRESENT,
                                        block.data(), nullptr, &si, &pi);
  DWORD start_err = ::GetLastError();
  ::DeleteProcThreadAttributeList(six.lpAttributeList);
  ::CloseHandle(client);
  if (err_out != nullptr) ::CloseHandle(err_out);
  if (!started) {
    ::CloseHandle(server);
    return UnavailableError("cannot start " + spec.name + " (" + spec.program + "): " +
                            windows::Win32ErrorStatus(start_err, "CreateProcess").message());
  }
  // The child ends with us: its job is killed when our last handle to it closes.
  HANDLE job = ::CreateJobObjectW(nullptr, nullptr);
  if (job != nullptr) {
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits{};
    // It dies with us, and starts no process of its own.
    limits.BasicLimitInformation.LimitFlags =
        JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_ACTIVE_PROCESS;
    limits.BasicLimitInformation.ActiveProcessLimit = 1;
    ::SetInformationJobObject(job, JobObjectExtendedLimitInformation, &limits, sizeof limits);
    ::AssignProcessToJobObject(job, pi.hProcess);
  }
  ::ResumeThread(pi.hThread);
  ::CloseHandle(pi.hThread);
  std::unique_ptr<ChildProcess> child(
      new ChildProcess(static_cast<pid_t>(pi.dwProcessId), -1, spec.name));
  child->process_ = pi.hProcess;
  child->job_ = job;
  child->pipe_ = server;
  return child;
}

ChildProcess::~ChildProcess() {
  closeChannel();
  if (pid_ > 0) kill();
  if (process_ != nullptr) ::CloseHandle(static_cast<HANDLE>(process_));
  if (job_ != nullptr) ::CloseHandle(static_cast<HANDLE>(job_));
}

void ChildProcess::closeChannel() {
  if (pipe_ != nullptr) ::CloseHandle(static_cast<HANDLE>(pipe_));
  pipe_ = nullptr;
}

Status ChildProcess::send(std::string_view payload, SteadyTime deadline, int /*interrupt_fd*/) {
  if (pipe_ == nullptr) return UnavailableError(name_ + ": the channel is closed");
  std::string data = header(payload.size());
  data.append(payload);
  size_t off = 0;
  while (off < data.size()) {
    DWORD n = static_cast<DWORD>(std::min<size_t>(data.size() - off, 1 << 20));
    HEARTH_ASSIGN_OR_RETURN(
        DWORD w, pipeIo(static_cast<HANDLE>(pipe_), true, data.data() + off, n, deadline, name_,
                        name_ + " did not take the request in time"));
    off += w;
  }
  return OkStatus();
}

StatusOr<std::string> ChildProcess::receive(size_t max_bytes, std::optional<SteadyTime> deadline,
                                            int /*interrupt_fd*/) {
  if (pipe_ == nullptr) return UnavailableError(name_ + ": the channel is closed");
  const std::string late = name_ + " did not answer in time";
  auto fill = [&](char* buf, size_t want) -> Status {
    size_t got = 0;
    while (got < want) {
      DWORD n = static_cast<DWORD>(std::min<size_t>(want - got, 1 << 20));
      HEARTH_ASSIGN_OR_RETURN(
          DWORD r, pipeIo(static_cast<HANDLE>(pipe_), false, buf + got, n, deadline, name_, late));
      got += r;
    }
    return OkStatus();
  };
  char head[4];
  HEARTH_RETURN_IF_ERROR(fill(head, 4));
  const uint32_t n = lengthOf(head);
  if (n > max_bytes) {
    return DataLossError("a frame of " + std::to_string(n) + " bytes (at most " +
                         std::to_string(max_bytes) + ")");
  }
  std::string body(n, '\0');
  HEARTH_RETURN_IF_ERROR(fill(body.data(), n));
  return body;
}

StatusOr<int> ChildProcess::wait(std::optional<SteadyTime> deadline, int /*interrupt_fd*/) {
  if (pid_ <= 0 || process_ == nullptr)
    return FailedPreconditionError(name_ + " was reaped already");
  DWORD r = ::WaitForSingleObject(static_cast<HANDLE>(process_), millisUntil(deadline));
  if (r != WAIT_OBJECT_0) return DeadlineExceededError(name_ + " did not finish in time");
  DWORD code = 0;
  ::GetExitCodeProcess(static_cast<HANDLE>(process_), &code);
  pid_ = -1;
  return static_cast<int>(code);
}

std::optional<int> ChildProcess::kill(std::chrono::milliseconds grace) {
  if (pid_ <= 0 || process_ == nullptr) return std::nullopt;
  ::TerminateProcess(static_cast<HANDLE>(process_), 1);
  auto ended = wait(Clock::now() + grace);
  if (!ended.ok()) return std::nullopt;
  return *ended;
}

std::optional<int> ChildProcess::finish(std::chrono::milliseconds grace) {
  closeChannel();
  if (pid_ <= 0) return std::nullopt;
  auto ended = wait(Clock::now() + grace);
  if (ended.ok()) return *ended;
  return kill();
}

// --- in the child -----------------------------------------------------------------------------

Status WriteFrame(int fd, std::string_view payload) {
  HANDLE h = channelHandle(fd);
  std::string data = header(payload.size());
  data.append(payload);
  size_t off = 0;
  while (off < data.size()) {
    DWORD w = 0;
    DWORD n = static_cast<DWORD>(std::min<size_t>(data.size() - off, 1 << 20));
    if (!::WriteFile(h, data.data() + off, n, &w, nullptr) || w == 0) {
      return windows::Win32ErrorStatus(::GetLastError(), "channel");
    }
    off += w;
  }
  return OkStatus();
}

StatusOr<std::string> ReadFrame(int fd, size_t max_bytes) {
  HANDLE h = channelHandle(fd);
  auto fill = [&](char* buf, size_t want) -> Status {
    size_t got = 0;
    while (got < want) {
      DWORD r = 0;
      DWORD n = static_cast<DWORD>(std::min<size_t>(want - got, 1 << 20));
      if (!::ReadFile(h, buf + got, n, &r, nullptr) || r == 0) {
        return UnavailableError("the channel ended");
      }
      got += r;
    }
    return OkStatus();
  };
  char head[4];
  HEARTH_RETURN_IF_ERROR(fill(head, 4));
  const uint32_t n = lengthOf(head);
  if (n > max_bytes) {
    return DataLossError("a frame of " + std::to_string(n) + " bytes (at most " +
                         std::to_string(max_bytes) + ")");
  }
  std::string body(n, '\0');
  HEARTH_RETURN_IF_ERROR(fill(body.data(), n));
  return body;
}

void HardenExecedChild(const char* /*argv0*/) {}

int ChildChannel() {
  char flag[16];
  DWORD n = ::GetEnvironmentVariableA("HEARTH_CHANNEL", flag, sizeof flag);
  if (n == 0 || n >= sizeof flag || std::string_view(flag, n) != "stdin") return -1;
  HANDLE in = ::GetStdHandle(STD_INPUT_HANDLE);
  if (in == nullptr || in == INVALID_HANDLE_VALUE || ::GetFileType(in) != FILE_TYPE_PIPE) return -1;
  ::_setmode(0, 0x8000 /* _O_BINARY */);
  return 0;
}

}  // namespace hearth::agent
