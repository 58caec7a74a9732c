#include <iostream>
#include <string>
#include <unistd.h>
#include <vector>

#include "hearth/agent/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  hearth::agent::CliEnvironment env{std::cout, std::cerr, ::isatty(STDOUT_FILENO) == 1};
  int rc = hearth::agent::RunAgentCli(args, env);
  std::cout.flush();
  return rc;
}
