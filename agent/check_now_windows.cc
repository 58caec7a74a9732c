// `hearth-agent check-now` on Windows (check_now_windows.h): the client (RequestCheckNow,
// AskForCheck) and the service's side of the control pipe.
#include "check_now_windows.h"
// After windows.h (check_now_windows.h).
#include <sddl.h>

#include <algorithm>
#include <chrono>

#include "hearth/i18n.h"
#include "hearth/text.h"
#include "hearth/windows_text.h"

namespace hearth::agent {

const wchar_t kControlPipeName[] = L"\\\\.\\pipe\\hearth-agent-control";

namespace {

using Clock = std::chrono::steady_clock;

constexpr DWORD kMaxRequest = 64;
constexpr DWORD kMaxAnswer = 512;
constexpr char kRequest[] = "check-now";
// SYSTEM and Administrators: everything; interactive users: read and write, but not
// FILE_CREATE_PIPE_INSTANCE (0x4), so none of them can serve the pipe in the service's place.
constexpr wchar_t kPipeSddl[] = L"D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;0x12019b;;;IU)";

std::string pipeNameUtf8() { return windows::Narrow(kControlPipeName); }

DWORD millisUntil(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<DWORD>(std::clamp<int64_t>(left.count(), 0, 0x7fffffff));
}

// One overlapped read or write on `pipe` until `deadline` or `stop` (may be null). Returns the
// bytes moved, 0 when the other end closed; DeadlineExceeded when late or stopped.
StatusOr<DWORD> pipeIo(HANDLE pipe, bool write, char* buf, DWORD n, Clock::time_point deadline,
                       HANDLE stop) {
  OVERLAPPED ov{};
  ov.hEvent = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
  if (ov.hEvent == nullptr) return windows::Win32ErrorStatus(::GetLastError(), "CreateEvent");
  DWORD done = 0;
  BOOL ok = write ? ::WriteFile(pipe, buf, n, &done, &ov) : ::ReadFile(pipe, buf, n, &done, &ov);
  DWORD err = ok ? ERROR_SUCCESS : ::GetLastError();
  if (!ok && err == ERROR_IO_PENDING) {
    HANDLE events[2] = {ov.hEvent, stop};
    DWORD r =
        ::WaitForMultipleObjects(stop != nullptr ? 2 : 1, events, FALSE, millisUntil(deadline));
    if (r != WAIT_OBJECT_0) {
      ::CancelIoEx(pipe, &ov);
      ::GetOverlappedResult(pipe, &ov, &done, TRUE);
      ::CloseHandle(ov.hEvent);
      return DeadlineExceededError("the pipe did not answer in time");
    }
    ok = ::GetOverlappedResult(pipe, &ov, &done, FALSE);
    err = ok ? ERROR_SUCCESS : ::GetLastError();
  }
  ::CloseHandle(ov.hEvent);
  if (!ok) {
    if (err == ERROR_BROKEN_PIPE || err == ERROR_NO_DATA || err == ERROR_PIPE_NOT_CONNECTED) {
      return DWORD{0};
    }
    return windows::Win32ErrorStatus(err, write ? "writing to the pipe" : "reading the pipe");
  }
  return done;
}

// Reads one line (up to '\n' or the other end closing) of at most `max` bytes.
StatusOr<std::string> readLine(HANDLE pipe, DWORD max, Clock::time_point deadline, HANDLE stop) {
  std::string line;
  char buf[kMaxAnswer];
  while (line.find('\n') == std::string::npos && line.size() < max) {
    const DWORD want =
        std::min<DWORD>(static_cast<DWORD>(sizeof(buf)), max - static_cast<DWORD>(line.size()));
    HEARTH_ASSIGN_OR_RETURN(DWORD n, pipeIo(pipe, false, buf, want, deadline, stop));
    if (n == 0) break;
    line.append(buf, n);
  }
  return line;
}

// The user (SID) and session of the client connected to `pipe`, after its request was read.
struct Caller {
  std::string person;  // the user's SID; "session N" when it cannot be told
  std::optional<uint32_t> session;
  unsigned long pid = 0;
};

Caller callerOf(HANDLE pipe) {
  Caller c;
  ULONG session = 0;
  if (::GetNamedPipeClientSessionId(pipe, &session)) {
    c.session = session;
  } else if (ULONG pid = 0; ::GetNamedPipeClientProcessId(pipe, &pid)) {
    DWORD s = 0;
    if (::ProcessIdToSessionId(pid, &s)) c.session = s;
  }
  ULONG pid = 0;
  if (::GetNamedPipeClientProcessId(pipe, &pid)) c.pid = pid;
  if (::ImpersonateNamedPipeClient(pipe)) {
    HANDLE token = nullptr;
    if (::OpenThreadToken(::GetCurrentThread(), TOKEN_QUERY, TRUE, &token)) {
      alignas(TOKEN_USER) char buf[256];
      DWORD len = 0;
      if (::GetTokenInformation(token, TokenUser, buf, sizeof(buf), &len)) {
        wchar_t* sid = nullptr;
        if (::ConvertSidToStringSidW(reinterpret_cast<TOKEN_USER*>(buf)->User.Sid, &sid)) {
          c.person = windows::Narrow(sid);
          ::LocalFree(sid);
        }
      }
      ::CloseHandle(token);
    }
    ::RevertToSelf();
  }
  if (c.person.empty()) {
    c.person = c.session ? "session " + std::to_string(*c.session) : "unknown";
  }
  return c;
}

StatusOr<HANDLE> makeInstance() {
  PSECURITY_DESCRIPTOR sd = nullptr;
  if (!::ConvertStringSecurityDescriptorToSecurityDescriptorW(kPipeSddl, SDDL_REVISION_1, &sd,
                                                              nullptr)) {
    return windows::Win32ErrorStatus(::GetLastError(), "the control pipe's security descriptor");
  }
  SECURITY_ATTRIBUTES sa{sizeof(sa), sd, FALSE};
  HANDLE pipe = ::CreateNamedPipeW(
      kControlPipeName, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
      PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1, kMaxAnswer,
      kMaxRequest, 0, &sa);
  const DWORD err = ::GetLastError();
  ::LocalFree(sd);
  if (pipe == INVALID_HANDLE_VALUE) {
    return UnavailableError(windows::Win32ErrorStatus(err, "creating " + pipeNameUtf8()).message() +
                            (err == ERROR_ACCESS_DENIED || err == ERROR_PIPE_BUSY
                                 ? " (another process holds the name)"
                                 : ""));
  }
  return pipe;
}

}  // namespace

StatusOr<std::unique_ptr<ControlPipe>> ControlPipe::Start(Logger& log) {
  HEARTH_ASSIGN_OR_RETURN(HANDLE first, makeInstance());
  std::unique_ptr<ControlPipe> p(new ControlPipe(log, first));
  p->thread_ = std::thread([raw = p.get()] { raw->serve(); });
  return p;
}

ControlPipe::ControlPipe(Logger& log, HANDLE first)
    : log_(log),
      first_(first),
      stop_(::CreateEventW(nullptr, TRUE, FALSE, nullptr)),
      requested_(::CreateEventW(nullptr, FALSE, FALSE, nullptr)) {}

ControlPipe::~ControlPipe() {
  ::SetEvent(stop_);
  if (thread_.joinable()) thread_.join();
  ::CloseHandle(stop_);
  ::CloseHandle(requested_);
}

std::optional<uint32_t> ControlPipe::takeAsker() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(asker_, std::nullopt);
}

void ControlPipe::serve() {
  HANDLE pipe = first_;
  while (::WaitForSingleObject(stop_, 0) != WAIT_OBJECT_0) {
    if (pipe == INVALID_HANDLE_VALUE) {
      auto made = makeInstance();
      if (!made.ok()) {
        log_.error("control pipe: " + made.status().message() +
                   "; `hearth-agent check-now` is unavailable until the service restarts");
        return;
      }
      pipe = *made;
    }
    OVERLAPPED ov{};
    ov.hEvent = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
    bool connected = ::ConnectNamedPipe(pipe, &ov) != FALSE;
    DWORD err = connected ? ERROR_SUCCESS : ::GetLastError();
    if (!connected && err == ERROR_IO_PENDING) {
      HANDLE events[2] = {ov.hEvent, stop_};
      if (::WaitForMultipleObjects(2, events, FALSE, INFINITE) == WAIT_OBJECT_0) {
        DWORD ignored = 0;
        connected = ::GetOverlappedResult(pipe, &ov, &ignored, FALSE) != FALSE;
      } else {
        ::CancelIoEx(pipe, &ov);
        DWORD ignored = 0;
        ::GetOverlappedResult(pipe, &ov, &ignored, TRUE);
      }
    } else if (!connected && err == ERROR_PIPE_CONNECTED) {
      connected = true;
    }
    ::CloseHandle(ov.hEvent);
    if (connected) handle(pipe);
    ::DisconnectNamedPipe(pipe);
    ::CloseHandle(pipe);
    pipe = INVALID_HANDLE_VALUE;
  }
  if (pipe != INVALID_HANDLE_VALUE) ::CloseHandle(pipe);
}

// One request: read within 2 s, the caller identified, the gate's answer written, then the
// client is given 2 s to read it before the instance is closed (closing discards unread data).
void ControlPipe::handle(HANDLE pipe) {
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  auto line = readLine(pipe, kMaxRequest, deadline, stop_);
  if (!line.ok() || text::trim(*line) != kRequest) return;
  const Caller caller = callerOf(pipe);
  CheckNowGate::Answer answer;
  {
    std::lock_guard<std::mutex> lock(mu_);
    answer = gate_.ask(caller.person, Clock::now());
    if (answer.start) asker_ = caller.session;
  }
  const std::string who = caller.person + " (session " +
                          (caller.session ? std::to_string(*caller.session) : "?") + ", pid " +
                          std::to_string(caller.pid) + ")";
  if (answer.start) {
    log_.info("check requested by " + who);
    ::SetEvent(requested_);
  } else {
    log_.debug("check request from " + who + " refused: " + text::trim(answer.line));
  }
  (void)pipeIo(pipe, true, answer.line.data(), static_cast<DWORD>(answer.line.size()), deadline,
               stop_);
  char drain[16];
  (void)pipeIo(pipe, false, drain, sizeof(drain), Clock::now() + std::chrono::seconds(2), stop_);
}

std::unique_ptr<ControlPipe> OpenControlPipe(const std::string& control_socket, Logger& log) {
  if (control_socket.empty()) {
    log.info(
        "no control pipe (control_socket is empty in agent.conf): `hearth-agent check-now` "
        "is turned off");
    return nullptr;
  }
  auto pipe = ControlPipe::Start(log);
  if (!pipe.ok()) {
    log.warning("no control pipe (`hearth-agent check-now` will not work): " +
                pipe.status().message());
    return nullptr;
  }
  return std::move(pipe).value();
}

StatusOr<std::string> AskForCheck(const std::string& socket_path) {
  if (socket_path.empty()) {
    return FailedPreconditionError(
        i18n::Tr("the control socket is turned off (control_socket in agent.conf)"));
  }
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  HANDLE pipe = INVALID_HANDLE_VALUE;
  while (true) {
    // Identification only: whoever serves the pipe may learn who asks, never act as them.
    pipe = ::CreateFileW(kControlPipeName, GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING,
                         FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION,
                         nullptr);
    if (pipe != INVALID_HANDLE_VALUE) break;
    const DWORD err = ::GetLastError();
    if (err == ERROR_PIPE_BUSY && Clock::now() < deadline) {
      ::WaitNamedPipeW(kControlPipeName, std::max<DWORD>(millisUntil(deadline), 1));
      continue;
    }
    if (err == ERROR_PIPE_BUSY) return DeadlineExceededError(i18n::Tr("no answer from the agent"));
    return UnavailableError(i18n::Subst(
        i18n::Tr("the agent is not running ({1}: {2})"),
        {pipeNameUtf8(), windows::Win32ErrorStatus(err, "opening the pipe").message()}));
  }
  std::string request = std::string(kRequest) + "\n";
  auto wrote =
      pipeIo(pipe, true, request.data(), static_cast<DWORD>(request.size()), deadline, nullptr);
  StatusOr<std::string> answer =
      wrote.ok() ? readLine(pipe, kMaxAnswer - 1, deadline, nullptr) : wrote.status();
  ::CloseHandle(pipe);
  if (!answer.ok() || answer->empty()) {
    return DeadlineExceededError(i18n::Tr("no answer from the agent"));
  }
  return std::move(answer).value();
}

}  // namespace hearth::agent
