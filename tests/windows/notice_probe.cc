// Looks at the notifications `hearth-agent.exe notify-person` shows as windows of its own (class
// HearthNotice; what a person sees where there is no notification area, as under Wine), from
// another process, as a person's eyes and hands would (tests/windows/agent/notify-under-wine):
//   hearth_notice_probe list                 one line per visible notification window:
//                                            caption TAB body TAB buttons (joined by "|"),
//                                            newlines in the body as "\n"
//   hearth_notice_probe click CAPTION LABEL  presses the button LABEL on the first window
//                                            whose caption is CAPTION; exit 1 when none
//   hearth_notice_probe close-all            closes every notification window (WM_CLOSE)
// Output is UTF-8.
#include <windows.h>

#include <cstdio>
#include <string>
#include <vector>

namespace {

std::string narrow(const std::wstring& w) {
  if (w.empty()) return "";
  int n = ::WideCharToMultiByte(CP_UTF8, 0, w.data(), static_cast<int>(w.size()), nullptr, 0,
                                nullptr, nullptr);
  std::string out(static_cast<size_t>(n), '\0');
  ::WideCharToMultiByte(CP_UTF8, 0, w.data(), static_cast<int>(w.size()), out.data(), n, nullptr,
                        nullptr);
  return out;
}

std::wstring widen(const std::string& s) {
  if (s.empty()) return L"";
  int n = ::MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), nullptr, 0);
  std::wstring out(static_cast<size_t>(n), L'\0');
  ::MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), out.data(), n);
  return out;
}

// WM_GETTEXT works across processes for any window (GetWindowText does not for controls).
std::wstring textOf(HWND w) {
  auto n = static_cast<size_t>(::SendMessageW(w, WM_GETTEXTLENGTH, 0, 0));
  std::wstring out(n + 1, L'\0');
  ::SendMessageW(w, WM_GETTEXT, n + 1, reinterpret_cast<LPARAM>(out.data()));
  out.resize(n);
  return out;
}

std::wstring classOf(HWND w) {
  wchar_t buf[64] = {};
  ::GetClassNameW(w, buf, 64);
  return buf;
}

std::vector<HWND> notices() {
  std::vector<HWND> out;
  ::EnumWindows(
      [](HWND w, LPARAM lp) -> BOOL {
        if (::IsWindowVisible(w) && classOf(w) == L"HearthNotice") {
          reinterpret_cast<std::vector<HWND>*>(lp)->push_back(w);
        }
        return TRUE;
      },
      reinterpret_cast<LPARAM>(&out));
  return out;
}

std::vector<HWND> childrenOf(HWND w) {
  std::vector<HWND> out;
  ::EnumChildWindows(
      w,
      [](HWND c, LPARAM lp) -> BOOL {
        reinterpret_cast<std::vector<HWND>*>(lp)->push_back(c);
        return TRUE;
      },
      reinterpret_cast<LPARAM>(&out));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "list") {
    for (HWND w : notices()) {
      std::string body, buttons;
      for (HWND c : childrenOf(w)) {
        if (!::IsWindowVisible(c)) continue;
        const std::wstring cls = classOf(c);
        if (_wcsicmp(cls.c_str(), L"Edit") == 0) {
          for (char ch : narrow(textOf(c))) {
            if (ch == '\r') continue;
            body += ch == '\n' ? std::string("\\n") : std::string(1, ch);
          }
        } else if (_wcsicmp(cls.c_str(), L"Button") == 0) {
          buttons += (buttons.empty() ? "" : "|") + narrow(textOf(c)) +
                     (::IsWindowEnabled(c) ? "" : " (disabled)");
        }
      }
      std::printf("%s\t%s\t%s\n", narrow(textOf(w)).c_str(), body.c_str(), buttons.c_str());
    }
    return 0;
  }
  if (cmd == "click" && argc == 4) {
    const std::wstring caption = widen(argv[2]);
    const std::wstring label = widen(argv[3]);
    for (HWND w : notices()) {
      if (textOf(w) != caption) continue;
      for (HWND c : childrenOf(w)) {
        if (_wcsicmp(classOf(c).c_str(), L"Button") == 0 && textOf(c) == label) {
          ::SendMessageW(w, WM_COMMAND, MAKEWPARAM(::GetDlgCtrlID(c), BN_CLICKED),
                         reinterpret_cast<LPARAM>(c));
          return 0;
        }
      }
    }
    std::fprintf(stderr, "no window %s with a button %s\n", argv[2], argv[3]);
    return 1;
  }
  if (cmd == "close-all") {
    for (HWND w : notices()) ::SendMessageW(w, WM_CLOSE, 0, 0);
    return 0;
  }
  std::fprintf(stderr, "usage: hearth_notice_probe list | click CAPTION LABEL | close-all\n");
  return 2;
}
