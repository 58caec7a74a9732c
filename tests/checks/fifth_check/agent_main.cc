// hearth-agent with the test-only fifth check: its entry added to the registry, then the real
// agent program.
#include "hearth/agent/main.h"
#include "test_marker.h"

int main(int argc, char** argv) {
  return hearth::testing::RunWithTestMarker(hearth::agent::Main, argc, argv);
}
