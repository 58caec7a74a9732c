#include <iostream>
#include <string>
#include <vector>

#include "hearth/server/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  hearth::server::ServerCliEnvironment env{std::cout, std::cerr};
  int rc = hearth::server::RunServerCli(args, env);
  std::cout.flush();
  return rc;
}
