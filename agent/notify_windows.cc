// The Windows part of the notifier (notify_platform.h). The service runs as LocalSystem in session
// 0, which has no desktop anyone sees: each person is reached in their own session by starting
// `hearth-agent.exe notify-person ...` (notify_person_windows.cc) there, as them
// (WTSQueryUserToken, CreateProcessAsUserW on winsta0\default). It answers one line once the
// notification is shown ("shown: ...") and stays to handle a click; the service reads that line
// and leaves it. A Desktop here is a session: `uid` is the session id, `user` DOMAIN\name.
#include <windows.h>

#include <wtsapi32.h>

#include <algorithm>
#include <chrono>
#include <userenv.h>
#include <vector>

// objbase.h (through shlobj.h, shellapi.h, userenv.h) defines `interface` as `struct`, and
// RouteInfo (system_view.h, through notify_platform.h) has a member of that name.
#undef interface

#include "agent_os.h"
#include "hearth/text.h"
#include "hearth/windows_text.h"
#include "notify_platform.h"

namespace hearth::agent {

namespace {

constexpr size_t kMaxAnswer = 4096;

std::string sessionInfo(DWORD session, WTS_INFO_CLASS what) {
  LPWSTR buf = nullptr;
  DWORD len = 0;
  std::string out;
  if (::WTSQuerySessionInformationW(WTS_CURRENT_SERVER_HANDLE, session, what, &buf, &len) &&
      buf != nullptr) {
    out = windows::Narrow(buf);
  }
  if (buf != nullptr) ::WTSFreeMemory(buf);
  return out;
}

DWORD ownSession() {
  DWORD s = 0;
  return ::ProcessIdToSessionId(::GetCurrentProcessId(), &s) ? s : 0xffffffff;
}

// The token to start the notifier with in `session`: the signed-in person's (WTSQueryUserToken,
// which needs LocalSystem's SeTcbPrivilege). When that is refused and the agent itself runs in
// that session (`hearth-agent run` started by the person from a console), its own token.
StatusOr<HANDLE> tokenFor(DWORD session) {
  HANDLE token = nullptr;
  if (::WTSQueryUserToken(session, &token)) return token;
  const DWORD err = ::GetLastError();
  if (session == ownSession() &&
      ::OpenProcessToken(::GetCurrentProcess(),
                         TOKEN_QUERY | TOKEN_DUPLICATE | TOKEN_ASSIGN_PRIMARY, &token)) {
    return token;
  }
  return windows::Win32ErrorStatus(err, "WTSQueryUserToken for session " + std::to_string(session));
}

}  // namespace

std::string DefaultNotifyProgram() { return ExecutableDir() + "/hearth-agent.exe"; }

std::vector<Desktop> FindDesktops(const SystemView& view, const NotifyOptions& /*options*/) {
  std::vector<Desktop> out;
  if (view.isRooted()) return out;
  std::vector<DWORD> sessions;
  PWTS_SESSION_INFOW info = nullptr;
  DWORD count = 0;
  if (::WTSEnumerateSessionsW(WTS_CURRENT_SERVER_HANDLE, 0, 1, &info, &count)) {
    for (DWORD i = 0; i < count; ++i) {
      if (info[i].State == WTSActive && info[i].SessionId != 0) {
        sessions.push_back(info[i].SessionId);
      }
    }
  }
  if (info != nullptr) ::WTSFreeMemory(info);
  // Wine lists no sessions at all; its one session is the console's.
  if (count == 0) {
    const DWORD console = ::WTSGetActiveConsoleSessionId();
    if (console != 0xffffffff && console != 0) sessions.push_back(console);
  }
  std::sort(sessions.begin(), sessions.end());
  for (DWORD session : sessions) {
    const std::string name = sessionInfo(session, WTSUserName);
    if (name.empty()) continue;  // the sign-in screen
    const std::string domain = sessionInfo(session, WTSDomainName);
    Desktop d;
    d.user = domain.empty() ? name : domain + "\\" + name;
    d.uid = session;
    out.push_back(std::move(d));
  }
  return out;
}

Status ShowNotice(const SystemView& /*view*/, const Desktop& d, const NotifyOptions& o,
                  const std::string& helper, const Notice& n, const i18n::Catalog* catalog) {
  std::vector<std::string> argv = {helper,
                                   "notify-person",
                                   "--title=" + n.title,
                                   "--body=" + n.body,
                                   "--urgency=" + std::to_string(static_cast<int>(n.urgency)),
                                   "--wait=" + std::to_string(o.action_wait.count())};
  if (n.actions) {
    if (!o.control_socket.empty()) argv.push_back("--check-again=" + CheckAgainLabel(catalog));
    argv.push_back("--details=" + ShowDetailsLabel(catalog));
    argv.push_back("--details-title=" + n.details_title);
    argv.push_back("--details-body=" + n.details_body);
  }
  std::wstring cmdline;
  for (const auto& a : argv) {
    if (!cmdline.empty()) cmdline += L' ';
    std::string arg = a;
    std::replace(arg.begin(), arg.end(), '/', a == helper ? '\\' : '/');
    cmdline += windows::QuoteCommandLineArg(windows::Widen(arg));
  }
  const std::string who = "showing a notification in the session of " + d.user;
  HEARTH_ASSIGN_OR_RETURN(HANDLE token, tokenFor(d.uid));

  // Its first answer ("shown: ..." or why not) on a pipe: stdout and stderr.
  SECURITY_ATTRIBUTES inherit{sizeof(inherit), nullptr, TRUE};
  HANDLE read_end = nullptr;
  HANDLE write_end = nullptr;
  if (!::CreatePipe(&read_end, &write_end, &inherit, 0)) {
    ::CloseHandle(token);
    return UnavailableError(who + ": " +
                            windows::Win32ErrorStatus(::GetLastError(), "CreatePipe").message());
  }
  ::SetHandleInformation(read_end, HANDLE_FLAG_INHERIT, 0);
  void* env = nullptr;
  const bool have_env = ::CreateEnvironmentBlock(&env, token, FALSE) != FALSE;
  STARTUPINFOW si{};
  si.cb = sizeof(si);
  wchar_t desktop[] = L"winsta0\\default";
  si.lpDesktop = desktop;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = nullptr;
  si.hStdOutput = write_end;
  si.hStdError = write_end;
  PROCESS_INFORMATION pi{};
  // Out of the service's job (it outlives the cycle), without a console window.
  const DWORD flags = CREATE_NO_WINDOW | CREATE_UNICODE_ENVIRONMENT | CREATE_BREAKAWAY_FROM_JOB;
  BOOL started = ::CreateProcessAsUserW(token, nullptr, cmdline.data(), nullptr, nullptr, TRUE,
                                        flags, have_env ? env : nullptr, nullptr, &si, &pi);
  if (!started && ::GetLastError() == ERROR_ACCESS_DENIED) {
    // Not allowed to leave a job that forbids it: stay in it.
    started = ::CreateProcessAsUserW(token, nullptr, cmdline.data(), nullptr, nullptr, TRUE,
                                     flags & ~static_cast<DWORD>(CREATE_BREAKAWAY_FROM_JOB),
                                     have_env ? env : nullptr, nullptr, &si, &pi);
  }
  const DWORD start_error = ::GetLastError();
  if (have_env) ::DestroyEnvironmentBlock(env);
  ::CloseHandle(write_end);
  ::CloseHandle(token);
  if (!started) {
    ::CloseHandle(read_end);
    return UnavailableError(
        who + ": " + windows::Win32ErrorStatus(start_error, "CreateProcessAsUser").message());
  }
  ::CloseHandle(pi.hThread);

  // Its answer, until it closes its output, within twice the timeout and a few seconds.
  const auto deadline = std::chrono::steady_clock::now() + o.timeout * 2 + std::chrono::seconds(6);
  std::string answer;
  while (answer.size() < kMaxAnswer) {
    DWORD avail = 0;
    if (!::PeekNamedPipe(read_end, nullptr, 0, nullptr, &avail, nullptr)) break;  // closed
    if (avail == 0) {
      if (std::chrono::steady_clock::now() >= deadline) break;
      if (::WaitForSingleObject(pi.hProcess, 50) == WAIT_OBJECT_0) {
        // Ended: whatever it wrote is still in the pipe.
        if (::PeekNamedPipe(read_end, nullptr, 0, nullptr, &avail, nullptr) && avail == 0) break;
      }
      continue;
    }
    char buf[512];
    DWORD got = 0;
    if (!::ReadFile(read_end, buf, std::min<DWORD>(avail, sizeof(buf)), &got, nullptr) ||
        got == 0) {
      break;
    }
    answer.append(buf, got);
    if (answer.find('\n') != std::string::npos) break;  // its one line
  }
  ::CloseHandle(read_end);
  const std::string first = text::firstLine(text::trim(answer), 300);
  if (first.starts_with("shown:")) {
    ::CloseHandle(pi.hProcess);
    return OkStatus();
  }
  // It said why not and is ending.
  if (!first.empty()) ::WaitForSingleObject(pi.hProcess, 2000);
  DWORD exit_code = STILL_ACTIVE;
  ::GetExitCodeProcess(pi.hProcess, &exit_code);
  if (exit_code == STILL_ACTIVE) {
    ::TerminateProcess(pi.hProcess, 1);
    ::CloseHandle(pi.hProcess);
    return UnavailableError(who + " failed: the notifier did not answer in time");
  }
  ::CloseHandle(pi.hProcess);
  if (exit_code == 3) {
    return NotFoundError("nothing can show notifications in the session of " + d.user + " (" +
                         first + ")");
  }
  return UnavailableError(who + " failed (notify-person exit " + std::to_string(exit_code) + ")" +
                          (first.empty() ? "" : ": " + first));
}

}  // namespace hearth::agent
