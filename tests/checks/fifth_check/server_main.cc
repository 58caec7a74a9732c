// hearth-server with the test-only fifth check: its entry added to the registry (so policies may
// name it), then the real server program.
#include "hearth/server/main.h"
#include "test_marker.h"

int main(int argc, char** argv) {
  return hearth::testing::RunWithTestMarker(hearth::server::Main, argc, argv);
}
