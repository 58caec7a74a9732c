// hearth-agent's entry on Windows: the command line, with the paths of a Windows machine
// (%ProgramData%\Hearth for the state, agent.conf, enroll.conf and the local policy). Output is
// UTF-8 (the console's code page is set to it while we run).
#include <windows.h>

#include <shlobj.h>

#include <io.h>
#include <iostream>
#include <string>
#include <vector>

// objbase.h (through shlobj.h, shellapi.h, userenv.h) defines `interface` as `struct`, and
// RouteInfo (system_view.h, through notify_platform.h) has a member of that name.
#undef interface

#include "hearth/agent/cli.h"
#include "hearth/agent/main.h"
#include "hearth/i18n.h"
#include "hearth/windows_text.h"
#include "notify_platform.h"

namespace hearth::agent {

namespace {

std::string programData() {
  PWSTR path = nullptr;
  std::string out = "C:/ProgramData";
  if (SUCCEEDED(::SHGetKnownFolderPath(FOLDERID_ProgramData, 0, nullptr, &path)) &&
      path != nullptr) {
    out = windows::Narrow(path);
  }
  ::CoTaskMemFree(path);
  for (char& c : out) c = c == '\\' ? '/' : c;
  return out;
}

}  // namespace

int Main(int argc, char** argv) {
  i18n::InitForCommandLine();
  const UINT code_page = ::GetConsoleOutputCP();
  ::SetConsoleOutputCP(CP_UTF8);
  std::vector<std::string> args(argv + 1, argv + argc);
  // The notifier the service starts in a person's session (notify_windows.cc); not a command
  // for people, so not in the help.
  if (!args.empty() && args[0] == "notify-person") return NotifyPersonMain(args);
  CliEnvironment env{std::cout, std::cerr, ::_isatty(1) != 0};
  const std::string base = programData() + "/Hearth";
  env.default_policy_path = base + "/policy.json";
  env.default_state_dir = base + "/state";
  env.default_config_path = base + "/agent.conf";
  env.default_enroll_file = base + "/enroll.conf";
  int rc = RunAgentCli(args, env);
  std::cout.flush();
  ::SetConsoleOutputCP(code_page);
  return rc;
}

}  // namespace hearth::agent
