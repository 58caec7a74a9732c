// The hearth-server program as a function: main() is `return hearth::server::Main(argc, argv);`.
// Another main() may first add the policy parts of checks of its own (check_spec.h:
// AddPolicyCheck), as the test-only server of tests/checks/fifth_check does.
#pragma once

namespace hearth::server {

// Runs the command line on the standard streams; returns the exit status.
int Main(int argc, char** argv);

}  // namespace hearth::server
