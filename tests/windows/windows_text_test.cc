// Windows only (hearth_windows_unit_tests, under Wine): a command line made of arguments quoted
// by QuoteCommandLineArg reads back, through CommandLineToArgvW (what the C runtime of the started
// program does too), as exactly those arguments: the agent starts its network side, its checks
// and the person's notifier this way, with paths and texts that hold spaces, quotes and
// backslashes, never through a shell.
#include <windows.h>

#include "hearth/windows_text.h"

#include <shellapi.h>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace hearth::windows {
namespace {

std::vector<std::wstring> RoundTrip(const std::vector<std::wstring>& args) {
  std::wstring line = L"C:\\Program Files\\Hearth\\hearth-agent.exe";
  line = QuoteCommandLineArg(line);
  for (const std::wstring& a : args) line += L" " + QuoteCommandLineArg(a);
  int n = 0;
  LPWSTR* argv = ::CommandLineToArgvW(line.c_str(), &n);
  std::vector<std::wstring> out;
  if (argv == nullptr) return out;
  for (int i = 1; i < n; ++i) out.emplace_back(argv[i]);
  ::LocalFree(argv);
  return out;
}

TEST(WindowsCommandLine, EveryArgumentReadsBackAsItWas) {
  const std::vector<std::wstring> args = {
      L"plain",
      L"",
      L"two words",
      L"C:\\ProgramData\\Hearth\\state",
      L"C:\\Path With Space\\",
      L"ends in two backslashes\\\\",
      L"say \"hi\"",
      L"\\\"quoted backslash\\\"",
      L"tab\there",
      L"Skærmlås skal slås til – også på din pc",
      L"--title=Hearth: Screen lock needs attention",
  };
  EXPECT_EQ(RoundTrip(args), args);
}

TEST(WindowsCommandLine, PlainArgumentsStayUnquoted) {
  EXPECT_EQ(QuoteCommandLineArg(L"notify-person"), L"notify-person");
  EXPECT_EQ(QuoteCommandLineArg(L""), L"\"\"");
  EXPECT_EQ(QuoteCommandLineArg(L"a b"), L"\"a b\"");
  EXPECT_EQ(QuoteCommandLineArg(L"C:\\x y\\"), L"\"C:\\x y\\\\\"");
}

}  // namespace
}  // namespace hearth::windows
