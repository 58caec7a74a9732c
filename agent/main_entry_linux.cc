#include <iostream>
#include <string>
#include <unistd.h>
#include <vector>

#include "hearth/agent/cli.h"
#include "hearth/agent/main.h"
#include "hearth/i18n.h"

namespace hearth::agent {

int Main(int argc, char** argv) {
  i18n::InitForCommandLine();  // the person's language (po/README.md)
  std::vector<std::string> args(argv + 1, argv + argc);
  CliEnvironment env{std::cout, std::cerr, ::isatty(STDOUT_FILENO) == 1};
  int rc = RunAgentCli(args, env);
  std::cout.flush();
  return rc;
}

}  // namespace hearth::agent
