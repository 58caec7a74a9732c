// `hearth-agent.exe notify-person`: one notification for the person signed in to this session
// (notify_platform.h, NotifyPersonMain). A notification-area balloon where Explorer's
// notification area exists (Windows 10 and 11 show it as a toast); otherwise, or when the
// balloon is clicked, a small window of its own with the texts and the buttons "Check again"
// (check_now.h: the service's control pipe) and "Show details" (the details in place of the
// body), as hearth-notify offers them on Linux.
#include <windows.h>

#include <algorithm>
#include <shellapi.h>
#include <string>
#include <vector>

// objbase.h (through shlobj.h, shellapi.h, userenv.h) defines `interface` as `struct`, and
// RouteInfo (system_view.h, through notify_platform.h) has a member of that name.
#undef interface

#include "hearth/agent/check_now.h"
#include "hearth/windows_text.h"
#include "notify_platform.h"

namespace hearth::agent {

namespace {

constexpr wchar_t kWindowClass[] = L"HearthNotice";
constexpr UINT kTrayMessage = WM_APP + 1;
constexpr UINT_PTR kCloseTimer = 1;
constexpr int kBodyId = 100;
constexpr int kCheckAgainId = 101;
constexpr int kDetailsId = 102;
constexpr size_t kMaxArg = 8192;

struct Args {
  std::wstring title, body, check_again, details, details_title, details_body;
  int urgency = 1;
  int wait_seconds = 3600;
};

// What the window procedure needs (one notification per process).
struct Notifier {
  Args args;
  HWND window = nullptr;  // the panel, once shown
  HWND body = nullptr;
  bool tray = false;
  NOTIFYICONDATAW icon{};
};

Notifier& notifier() {
  static Notifier n;
  return n;
}

// "\n" as the edit and static controls want it ("\r\n").
std::wstring forControl(const std::wstring& s) {
  std::wstring out;
  for (wchar_t c : s) {
    if (c == L'\n') out += L'\r';
    out += c;
  }
  return out;
}

// At most `n` characters (the fixed arrays of NOTIFYICONDATAW), cut with "…".
void copyBounded(wchar_t* dst, size_t n, const std::wstring& s) {
  std::wstring t = s;
  if (t.size() >= n) t = t.substr(0, n - 2) + L"\u2026";
  std::copy(t.begin(), t.end(), dst);
  dst[t.size()] = L'\0';
}

void closeAll() {
  Notifier& n = notifier();
  if (n.tray) {
    ::Shell_NotifyIconW(NIM_DELETE, &n.icon);
    n.tray = false;
  }
  ::PostQuitMessage(0);
}

// The panel: the title as caption, the body, and the buttons, at the bottom right of the work
// area, above other windows. False when no window can be made (no desktop).
bool showPanel(bool details) {
  Notifier& n = notifier();
  const std::wstring& caption = details ? n.args.details_title : n.args.title;
  const std::wstring& text = details ? n.args.details_body : n.args.body;
  if (n.window != nullptr) {
    ::SetWindowTextW(n.window, caption.c_str());
    ::SetWindowTextW(n.body, forControl(text).c_str());
    ::ShowWindow(n.window, SW_SHOWNORMAL);
    return true;
  }
  RECT work{0, 0, 1024, 768};
  ::SystemParametersInfoW(SPI_GETWORKAREA, 0, &work, 0);
  const int width = 460;
  const int height = details ? 420 : 280;
  HWND w = ::CreateWindowExW(WS_EX_TOPMOST | WS_EX_TOOLWINDOW, kWindowClass, caption.c_str(),
                             WS_POPUP | WS_CAPTION | WS_SYSMENU, work.right - width - 16,
                             work.bottom - height - 16, width, height, nullptr, nullptr,
                             ::GetModuleHandleW(nullptr), nullptr);
  if (w == nullptr) return false;
  n.window = w;
  HFONT font = static_cast<HFONT>(::GetStockObject(DEFAULT_GUI_FONT));
  RECT client{};
  ::GetClientRect(w, &client);
  const int buttons_top = client.bottom - 40;
  n.body = ::CreateWindowExW(
      0, L"EDIT", forControl(text).c_str(),
      WS_CHILD | WS_VISIBLE | WS_VSCROLL | ES_MULTILINE | ES_READONLY | ES_AUTOVSCROLL, 12, 12,
      client.right - 24, buttons_top - 20, w,
      reinterpret_cast<HMENU>(static_cast<INT_PTR>(kBodyId)), nullptr, nullptr);
  ::SendMessageW(n.body, WM_SETFONT, reinterpret_cast<WPARAM>(font), TRUE);
  int x = client.right - 12;
  auto button = [&](const std::wstring& label, int id) {
    if (label.empty()) return;
    const int bw = 130;
    x -= bw;
    HWND b = ::CreateWindowExW(0, L"BUTTON", label.c_str(), WS_CHILD | WS_VISIBLE | BS_PUSHBUTTON,
                               x, buttons_top, bw, 28, w,
                               reinterpret_cast<HMENU>(static_cast<INT_PTR>(id)), nullptr, nullptr);
    ::SendMessageW(b, WM_SETFONT, reinterpret_cast<WPARAM>(font), TRUE);
    x -= 8;
  };
  if (!details) button(n.args.details, kDetailsId);
  button(n.args.check_again, kCheckAgainId);
  ::ShowWindow(w, SW_SHOWNORMAL);
  ::SetForegroundWindow(w);
  return true;
}

LRESULT CALLBACK windowProc(HWND w, UINT msg, WPARAM wp, LPARAM lp) {
  Notifier& n = notifier();
  switch (msg) {
    case kTrayMessage:
      // NOTIFYICON_VERSION_4: the event in LOWORD(lp).
      switch (LOWORD(lp)) {
        case NIN_BALLOONUSERCLICK:
        case NIN_SELECT:
        case NIN_KEYSELECT:
        case WM_LBUTTONUP:
          if (!showPanel(!n.args.details_body.empty())) closeAll();
          return 0;
        case NIN_BALLOONTIMEOUT:
          if (n.window == nullptr) closeAll();
          return 0;
        default:
          return 0;
      }
    case WM_COMMAND:
      if (LOWORD(wp) == kDetailsId) {
        ::ShowWindow(reinterpret_cast<HWND>(lp), SW_HIDE);
        showPanel(true);
      } else if (LOWORD(wp) == kCheckAgainId) {
        // The service's answer ("ok: checking now; ..." or "busy: ...") or why it was not asked.
        auto answer = AskForCheck("on");
        std::string line = answer.ok() ? *answer : answer.status().message();
        ::SetWindowTextW(n.body, forControl(windows::Widen(line)).c_str());
        ::EnableWindow(reinterpret_cast<HWND>(lp), FALSE);
      }
      return 0;
    case WM_TIMER:
      if (wp == kCloseTimer) closeAll();
      return 0;
    case WM_CLOSE:
      if (w == n.window) {
        ::DestroyWindow(w);
        n.window = nullptr;
        closeAll();
      }
      return 0;
    default:
      return ::DefWindowProcW(w, msg, wp, lp);
  }
}

bool parseArgs(const std::vector<std::string>& args, Args& out, std::string& error) {
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    const size_t eq = a.find('=');
    if (!a.starts_with("--") || eq == std::string::npos || a.size() > kMaxArg) {
      error = "unexpected argument: " + a.substr(0, 80);
      return false;
    }
    const std::string name = a.substr(2, eq - 2);
    const std::wstring value = windows::Widen(std::string_view(a).substr(eq + 1));
    if (name == "title") {
      out.title = value;
    } else if (name == "body") {
      out.body = value;
    } else if (name == "check-again") {
      out.check_again = value;
    } else if (name == "details") {
      out.details = value;
    } else if (name == "details-title") {
      out.details_title = value;
    } else if (name == "details-body") {
      out.details_body = value;
    } else if (name == "urgency" || name == "wait") {
      const std::string v = a.substr(eq + 1);
      if (v.empty() || v.size() > 7 ||
          !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        error = "--" + name + " takes a number";
        return false;
      }
      (name == "urgency" ? out.urgency : out.wait_seconds) = std::stoi(v);
    } else {
      error = "unknown option --" + name;
      return false;
    }
  }
  if (out.title.empty()) {
    error = "--title is required";
    return false;
  }
  if (out.details_body.empty()) out.details.clear();
  return true;
}

// The one answer line on stdout, then stdout is closed so the service stops reading.
void answer(const std::string& line) {
  HANDLE out = ::GetStdHandle(STD_OUTPUT_HANDLE);
  if (out == nullptr || out == INVALID_HANDLE_VALUE) return;
  const std::string text = line + "\n";
  DWORD written = 0;
  ::WriteFile(out, text.data(), static_cast<DWORD>(text.size()), &written, nullptr);
  HANDLE err = ::GetStdHandle(STD_ERROR_HANDLE);
  ::SetStdHandle(STD_OUTPUT_HANDLE, nullptr);
  ::SetStdHandle(STD_ERROR_HANDLE, nullptr);
  ::CloseHandle(out);
  if (err != out && err != nullptr && err != INVALID_HANDLE_VALUE) ::CloseHandle(err);
}

}  // namespace

int NotifyPersonMain(const std::vector<std::string>& args) {
  Notifier& n = notifier();
  std::string error;
  if (!parseArgs(args, n.args, error)) {
    answer("hearth-agent notify-person: " + error);
    return 2;
  }
  WNDCLASSEXW wc{};
  wc.cbSize = sizeof(wc);
  wc.lpfnWndProc = windowProc;
  wc.hInstance = ::GetModuleHandleW(nullptr);
  wc.hbrBackground = reinterpret_cast<HBRUSH>(COLOR_WINDOW + 1);
  wc.hCursor = ::LoadCursorW(nullptr, MAKEINTRESOURCEW(32512));  // IDC_ARROW
  wc.lpszClassName = kWindowClass;
  ::RegisterClassExW(&wc);
  // The notification area first: a hidden window of ours receives its events.
  HWND hidden = ::CreateWindowExW(0, kWindowClass, L"Hearth", WS_POPUP, 0, 0, 0, 0, nullptr,
                                  nullptr, wc.hInstance, nullptr);
  if (hidden == nullptr) {
    hidden = ::CreateWindowExW(0, kWindowClass, L"Hearth", 0, 0, 0, 0, 0, HWND_MESSAGE, nullptr,
                               wc.hInstance, nullptr);
  }
  if (hidden != nullptr) {
    NOTIFYICONDATAW& icon = n.icon;
    icon.cbSize = sizeof(icon);
    icon.hWnd = hidden;
    icon.uID = 1;
    icon.uFlags = NIF_MESSAGE | NIF_ICON | NIF_TIP | NIF_INFO;
    icon.uCallbackMessage = kTrayMessage;
    icon.hIcon =  // IDI_INFORMATION, IDI_WARNING (the W forms: this build does not define UNICODE).
        ::LoadIconW(nullptr, MAKEINTRESOURCEW(n.args.urgency == 0 ? 32516 : 32515));
    copyBounded(icon.szTip, std::size(icon.szTip), n.args.title);
    copyBounded(icon.szInfoTitle, std::size(icon.szInfoTitle), n.args.title);
    copyBounded(icon.szInfo, std::size(icon.szInfo), n.args.body);
    icon.dwInfoFlags = n.args.urgency == 0 ? NIIF_INFO : NIIF_WARNING;
    if (::Shell_NotifyIconW(NIM_ADD, &icon)) {
      n.tray = true;
      icon.uVersion = NOTIFYICON_VERSION_4;
      ::Shell_NotifyIconW(NIM_SETVERSION, &icon);
    }
  }
  if (n.tray) {
    answer("shown: notification area");
  } else if (showPanel(false)) {
    answer("shown: window");
  } else {
    answer("no notification area and no desktop to show a window on (error " +
           std::to_string(::GetLastError()) + ")");
    return 3;
  }
  ::SetTimer(hidden != nullptr ? hidden : n.window, kCloseTimer,
             static_cast<UINT>(n.args.wait_seconds) * 1000U, nullptr);
  MSG msg;
  while (::GetMessageW(&msg, nullptr, 0, 0) > 0) {
    ::TranslateMessage(&msg);
    ::DispatchMessageW(&msg);
  }
  if (n.tray) ::Shell_NotifyIconW(NIM_DELETE, &n.icon);
  return 0;
}

}  // namespace hearth::agent
