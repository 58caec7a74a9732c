// The hearth-agent program as a function: main() is `return hearth::agent::Main(argc, argv);`.
// Another main() may first add checks of its own to the registry (check_registry.h: AddCheck),
// as the test-only agent of tests/checks/fifth_check does.
#pragma once

namespace hearth::agent {

// Runs the command line on the standard streams; returns the exit status.
int Main(int argc, char** argv);

}  // namespace hearth::agent
