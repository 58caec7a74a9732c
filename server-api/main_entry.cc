#include <iostream>
#include <string>
#include <vector>

#include "hearth/server/cli.h"
#include "hearth/server/main.h"

namespace hearth::server {

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  ServerCliEnvironment env{std::cout, std::cerr};
  int rc = RunServerCli(args, env);
  std::cout.flush();
  return rc;
}

}  // namespace hearth::server
